import { bindFindings, type BindView, type ContainerView } from "./container-rules";
import { containsMasked, containsUnresolved, parseBool } from "./input-values";
import type { Finding } from "./report";

/**
 * Every field of @pulumi/docker's ContainerArgs, and of the mounts and
 * volumes inside it, with what the policy makes of it: the rule(s) that judge
 * it, or why it cannot weaken the container's isolation. A test reads the
 * installed provider's declarations and fails on a field that is in neither,
 * so a provider upgrade that adds one (a new namespace or device option) is
 * judged before it can be used.
 */
export type FieldVerdict = { readonly rules: readonly string[] } | { readonly harmless: string };

const judged = (...rules: string[]): FieldVerdict => ({ rules });
const harmless = (reason: string): FieldVerdict => ({ harmless: reason });

const LIFECYCLE = harmless("how the provider starts, waits for, stops or removes the container; nothing the container may do");
const CPU = harmless("CPU scheduling within the host's share; it limits the container, never grants it anything");
const THROTTLE = harmless("throttles I/O on a device the container already has; it grants no device");
const INSIDE = harmless("runs or resolves inside the container's own namespaces, with its capabilities and profiles");

export const CONTAINER_FIELDS = {
  ContainerArgs: {
    attach: LIFECYCLE,
    capabilities: judged("C5"),
    cgroupParent: harmless("only which parent cgroup holds the container; its own memory and pids limits still apply"),
    cgroupnsMode: judged("C2"),
    command: INSIDE,
    containerReadRefreshTimeoutMilliseconds: LIFECYCLE,
    cpuPeriod: CPU,
    cpuQuota: CPU,
    cpuSet: CPU,
    cpuShares: CPU,
    cpus: CPU,
    destroyGraceSeconds: LIFECYCLE,
    deviceCgroupRules: judged("C16"),
    deviceReadBps: THROTTLE,
    deviceReadIops: THROTTLE,
    deviceRequests: judged("C16"),
    deviceWriteBps: THROTTLE,
    deviceWriteIops: THROTTLE,
    devices: judged("C16"),
    dns: INSIDE,
    dnsOpts: INSIDE,
    dnsSearches: INSIDE,
    domainname: INSIDE,
    entrypoints: INSIDE,
    envs: harmless("the environment of the container's own processes; how secrets reach it is C15's concern, not isolation"),
    gpus: judged("C16"),
    groupAdds: judged("C9"),
    healthcheck: judged("C8"),
    hostname: INSIDE,
    hosts: harmless("entries of the container's own /etc/hosts"),
    image: judged("C10"),
    init: harmless("an init process (tini) inside the container that reaps its zombies"),
    ipcMode: judged("C2"),
    labels: harmless("metadata only; the policy takes a container's role from the platform model, never from its labels"),
    logDriver: judged("C12"),
    logOpts: judged("C12"),
    logs: LIFECYCLE,
    maxRetryCount: judged("C13"),
    memory: judged("C7"),
    memoryReservation: harmless("a soft reservation below the hard memory limit that C7 judges"),
    memorySwap: judged("C7"),
    mounts: judged("C3"),
    mustRun: LIFECYCLE,
    name: harmless("the container's name, which findings are reported under"),
    networkMode: judged("C2"),
    networksAdvanced: judged("C2"),
    pidMode: judged("C2"),
    platform: harmless("which architecture of the image is pulled"),
    ports: judged("C11"),
    privileged: judged("C1"),
    publishAllPorts: judged("C11"),
    readOnly: judged("C6"),
    removeVolumes: LIFECYCLE,
    restart: judged("C13"),
    rm: LIFECYCLE,
    runtime: judged("C16"),
    securityOpts: judged("C4", "C16"),
    shmSize: harmless("the size of the container's own /dev/shm, inside its memory limit"),
    start: LIFECYCLE,
    stdinOpen: LIFECYCLE,
    stopSignal: LIFECYCLE,
    stopTimeout: LIFECYCLE,
    storageOpts: harmless("the size of the container's own writable layer"),
    sysctls: judged("C16"),
    tmpfs: harmless("memory-backed scratch directories inside the container; C14 reads them only as hiding what a bind above shows there"),
    tty: LIFECYCLE,
    ulimits: judged("C7"),
    uploads: judged("C6"),
    user: judged("C9"),
    usernsMode: judged("C2"),
    volumes: judged("C3"),
    wait: LIFECYCLE,
    waitTimeout: LIFECYCLE,
    workingDir: INSIDE,
  },
  ContainerMount: {
    bindOptions: judged("C3"),
    readOnly: judged("C3"),
    source: judged("C3"),
    target: harmless("where the mount appears inside the container; what it exposes is decided by its source"),
    tmpfsOptions: harmless("size and mode of a memory-backed scratch mount"),
    type: judged("C3"),
    volumeOptions: judged("C3"),
  },
  ContainerVolume: {
    containerPath: harmless("where the volume appears inside the container; what it exposes is decided by its host path or volume"),
    fromContainer: judged("C3"),
    hostPath: judged("C3"),
    readOnly: judged("C3"),
    selinuxRelabel: harmless("relabels the host path for SELinux, which the Debian and Ubuntu hosts do not run (they confine with AppArmor)"),
    volumeName: harmless("a named Docker volume; a volume that binds a host directory is judged as the docker.Volume it is (volumeFindings)"),
  },
} as const satisfies Record<string, Record<string, FieldVerdict>>;

type Inputs = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const strings = (value: unknown): string[] => list(value).filter((item): item is string => typeof item === "string");

/**
 * Reads the fields of one resource's inputs for the rules: a field holding
 * anything unresolved is left out (judged again once resolved), and one
 * holding a masked secret is recorded as unreadable under its rule.
 */
class FieldReader {
  readonly unreadable: { field: string; rule: string }[] = [];

  constructor(private readonly inputs: Inputs) {}

  /** The field's value when it can be judged now; undefined when absent, unresolved or masked. */
  read(field: keyof typeof CONTAINER_FIELDS.ContainerArgs, rule: string): unknown {
    const value = this.inputs[field];
    if (value === undefined || value === null) return undefined;
    if (containsMasked(value)) {
      this.unreadable.push({ field, rule });
      return undefined;
    }
    return containsUnresolved(value) ? undefined : value;
  }
}

/** The host directory a local-driver volume binds (`type=none,o=bind,device=<path>`), if it binds one. */
export function boundDevice(driverOptions: unknown): string | undefined {
  const options = record(driverOptions);
  const mountOptions =
    text(options.o)
      ?.split(",")
      .map((option) => option.trim().toLowerCase()) ?? [];
  const device = text(options.device);
  return mountOptions.includes("bind") || mountOptions.includes("rbind") ? device : undefined;
}

function bindsOf(volumes: unknown, mounts: unknown, tmpfs: unknown): { binds: BindView[]; volumesFrom: string[]; otherMounts: string[]; masks: string[] } {
  const binds: BindView[] = [];
  const volumesFrom: string[] = [];
  const otherMounts: string[] = [];
  // A tmpfs not resolved yet hides nothing until it is.
  const masks = containsUnresolved(tmpfs) || containsMasked(tmpfs) ? [] : Object.keys(record(tmpfs));
  for (const item of list(volumes)) {
    const volume = record(item);
    const readOnly = parseBool(volume.readOnly) === true;
    if (typeof volume.hostPath === "string") binds.push({ hostPath: volume.hostPath, containerPath: String(volume.containerPath ?? ""), readOnly });
    if (typeof volume.fromContainer === "string" && volume.fromContainer !== "") volumesFrom.push(volume.fromContainer);
  }
  for (const item of list(mounts)) {
    const mount = record(item);
    const type = String(mount.type ?? "")
      .trim()
      .toLowerCase();
    const readOnly = parseBool(mount.readOnly) === true;
    const containerPath = String(mount.target ?? "");
    if (type === "bind") {
      const propagation = text(record(mount.bindOptions).propagation);
      binds.push({ hostPath: String(mount.source ?? "/"), containerPath, readOnly, ...(propagation === undefined ? {} : { propagation }) });
    } else if (type === "volume") {
      const device = boundDevice(record(mount.volumeOptions).driverOptions);
      if (device !== undefined) binds.push({ hostPath: device, containerPath, readOnly });
    } else if (type === "tmpfs") masks.push(containerPath);
    else otherMounts.push(type || "(none)");
  }
  return { binds, volumesFrom, otherMounts, masks };
}

/**
 * The view of a registered docker.Container. `image` is given separately,
 * because the container holds the RemoteImage's id, not its name; `role` and
 * `service` are the platform model's for a container of that name.
 */
export function viewOfContainerInputs(inputs: Inputs, image?: string, role?: string, service?: string): ContainerView {
  const fields = new FieldReader(inputs);
  const privileged = fields.read("privileged", "C1");
  const namespaces = (["networkMode", "pidMode", "ipcMode", "usernsMode", "cgroupnsMode"] as const).flatMap((field) => {
    const value = text(fields.read(field, "C2"));
    return value === undefined ? [] : [{ field: field.replace(/Mode$/, "_mode").toLowerCase(), value }];
  });
  const networks = list(fields.read("networksAdvanced", "C2")).map((network) => text(record(network).name) ?? "");
  const volumes = fields.read("volumes", "C3");
  const mounts = fields.read("mounts", "C3");
  const securityOpts = fields.read("securityOpts", "C4");
  const capabilities = fields.read("capabilities", "C5");
  const readOnly = fields.read("readOnly", "C6");
  const memory = fields.read("memory", "C7");
  const memorySwap = fields.read("memorySwap", "C7");
  const ulimits = fields.read("ulimits", "C7");
  const healthcheck = fields.read("healthcheck", "C8");
  const user = fields.read("user", "C9");
  const ports = fields.read("ports", "C11");
  const logDriver = fields.read("logDriver", "C12");
  const logOpts = fields.read("logOpts", "C12");
  const restart = fields.read("restart", "C13");
  const maxRetryCount = fields.read("maxRetryCount", "C13");
  const runtime = text(fields.read("runtime", "C16"));
  const gpus = text(fields.read("gpus", "C16"));
  const uploads = inputs.uploads;
  const nproc = list(ulimits)
    .map(record)
    .find((limit) => limit.name === "nproc")?.hard;
  const containerName = text(inputs.name);
  const view: ContainerView = {
    resource: `container ${containerName ?? "(unnamed)"}`,
    ...(role === undefined ? {} : { role }),
    ...(service === undefined ? {} : { service }),
    ...(image === undefined ? {} : { image }),
    ...(privileged === undefined ? {} : { privileged: parseBool(privileged) ?? true }),
    namespaces,
    networks,
    ...bindsOf(volumes, mounts, inputs.tmpfs),
    devices: list(fields.read("devices", "C16")).map((device) => String(record(device).hostPath ?? "")),
    deviceCgroupRules: strings(fields.read("deviceCgroupRules", "C16")),
    deviceRequests: list(fields.read("deviceRequests", "C16")).length,
    ...(gpus === undefined ? {} : { gpus }),
    ...(inputs.securityOpts === undefined ? { securityOpts: [] } : securityOpts === undefined ? {} : { securityOpts: strings(securityOpts) }),
    ...(inputs.capabilities === undefined
      ? { capabilities: { drops: [], adds: [] } }
      : capabilities === undefined
        ? {}
        : { capabilities: { drops: strings(record(capabilities).drops), adds: strings(record(capabilities).adds) } }),
    ...(inputs.readOnly === undefined ? { readOnly: false } : readOnly === undefined ? {} : { readOnly: parseBool(readOnly) === true }),
    uploads: Array.isArray(uploads) ? uploads.length : 0,
    ...(inputs.memory === undefined ? { memoryMb: 0 } : memory === undefined ? {} : { memoryMb: Number(memory) || 0 }),
    ...(memorySwap === undefined ? {} : { memorySwapMb: Number(memorySwap) }),
    ...(inputs.ulimits === undefined ? { pidsLimit: 0 } : ulimits === undefined ? {} : { pidsLimit: Number(nproc) || 0 }),
    ...(inputs.healthcheck === undefined ? { healthcheck: [] } : healthcheck === undefined ? {} : { healthcheck: strings(record(healthcheck).tests) }),
    ...(text(user) === undefined ? {} : { user: text(user)! }),
    groupAdds: strings(fields.read("groupAdds", "C9")),
    ...(runtime === undefined ? {} : { runtime }),
    sysctls: Object.fromEntries(Object.entries(record(fields.read("sysctls", "C16"))).map(([name, value]) => [name, String(value)])),
    ports: list(ports).map((port) => {
      const { external, internal, ip } = record(port);
      return { external: Number(external ?? internal), ...(typeof ip === "string" ? { ip } : {}) };
    }),
    publishAllPorts: parseBool(fields.read("publishAllPorts", "C11")) === true,
    ...(inputs.logDriver === undefined ? { logDriver: "json-file" } : logDriver === undefined ? {} : { logDriver: String(logDriver) }),
    ...(inputs.logOpts === undefined ? { logOpts: {} } : logOpts === undefined ? {} : { logOpts: record(logOpts) as Record<string, string> }),
    ...(inputs.restart === undefined ? { restart: "no" } : restart === undefined ? {} : { restart: String(restart) }),
    ...(typeof maxRetryCount === "number" ? { maxRetryCount } : {}),
    ...(inputs.user !== undefined && user === undefined ? { userUnresolved: true } : {}),
    unreadable: fields.unreadable,
  };
  return view;
}

/** C3 on a docker.Volume whose local driver binds a host directory: any container that mounts it mounts that directory. */
export function volumeFindings(name: string, inputs: Inputs): Finding[] {
  if (containsMasked(inputs.driverOpts))
    return [{ rule: "C3", resource: `volume ${name}`, message: "driverOpts is a secret, which the policy cannot read: give it as a plain value" }];
  if (containsUnresolved(inputs.driverOpts)) return [];
  const device = boundDevice(inputs.driverOpts);
  if (device === undefined) return [];
  return bindFindings(`volume ${name}`, { hostPath: device, containerPath: "", readOnly: false }, { socketProxy: false, masks: [] });
}
