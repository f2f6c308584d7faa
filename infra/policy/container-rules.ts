import { posix } from "node:path";
import { containerSettings } from "../../components/container/container-settings";
import { DOCKER_API_PROXY, DOCKER_API_PROXY_IMAGE, DOCKER_API_URL } from "../../components/container/docker-api-proxy-spec";
import { imageName, type ServiceSpec } from "../../components/container/service-spec";
import { isPublicAddress } from "../platform-model";
import { parseBool } from "./input-values";
import type { Finding } from "./report";

/** A host path mounted into the container, however the container asked for it (a volume, a bind mount, a volume driver's bind). */
export interface BindView {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
  /** Mount propagation (bind mounts): shared and rshared carry mounts back to the host. */
  readonly propagation?: string;
}

/**
 * A container as the policy sees it: every docker.Container input that can
 * weaken its isolation (the catalogue is CONTAINER_FIELDS in
 * container-inputs.ts). It is built either from a ServiceSpec through
 * containerSettings (the values the Service component will register) or from
 * a registered docker.Container's inputs, so both levels run the same checks.
 * An optional field left undefined is unknown (an Output not resolved yet)
 * and judged once it is resolved; a value the policy can never read (a
 * masked secret) is listed in `unreadable` and is a finding itself.
 */
export interface ContainerView {
  /** `container <name>`. */
  readonly resource: string;
  /** The service's role in the platform model; never taken from the container's own labels. */
  readonly role?: string;
  /** The platform model's service this container runs, found by its name; never taken from its labels. */
  readonly service?: string;
  /** `repository:tag[@digest]`. */
  readonly image?: string;
  readonly privileged?: boolean;
  /** Namespace settings that are not private, by Docker's name: network_mode, pid_mode, ipc_mode, userns_mode, cgroupns_mode. */
  readonly namespaces: readonly { readonly field: string; readonly value: string }[];
  /** Names of the networks it is attached to besides network_mode. */
  readonly networks: readonly string[];
  readonly binds: readonly BindView[];
  /** Containers whose volumes it takes (volumes_from). */
  readonly volumesFrom: readonly string[];
  /** Mount types other than bind, volume and tmpfs. */
  readonly otherMounts: readonly string[];
  /** Container paths a tmpfs covers: what a bind above them shows there is hidden. */
  readonly masks: readonly string[];
  /** Host device paths it is given. */
  readonly devices: readonly string[];
  readonly deviceCgroupRules: readonly string[];
  readonly deviceRequests: number;
  readonly gpus?: string;
  readonly securityOpts?: readonly string[];
  readonly capabilities?: { readonly drops: readonly string[]; readonly adds: readonly string[] };
  readonly readOnly?: boolean;
  /** Files the provider copies into the container before it starts. */
  readonly uploads: number;
  readonly memoryMb?: number;
  /** -1 is unlimited swap. */
  readonly memorySwapMb?: number;
  readonly pidsLimit?: number;
  readonly healthcheck?: readonly string[];
  /** Absent: the image's default user. */
  readonly user?: string;
  /** The user is given but not resolved yet (or masked, which `unreadable` reports): C9 waits for it. */
  readonly userUnresolved?: boolean;
  readonly groupAdds: readonly string[];
  readonly runtime?: string;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly external: number; readonly ip?: string }[];
  readonly publishAllPorts: boolean;
  readonly logDriver?: string;
  readonly logOpts?: Readonly<Record<string, string>>;
  readonly restart?: string;
  readonly maxRetryCount?: number;
  /** Fields whose value is a secret the policy cannot read, with the rule each is judged under. */
  readonly unreadable: readonly { readonly field: string; readonly rule: string }[];
}

/**
 * Whether the container is the host's Docker socket proxy (C14): the
 * platform's service of that name (a name no blueprint may take) running the
 * proxy's image. It alone mounts docker.sock; anyone else with the socket can
 * start a privileged container and own the host.
 */
export function isDockerSocketProxy(service: string | undefined, repository: string | undefined): boolean {
  return service === DOCKER_API_PROXY && repository === DOCKER_API_PROXY_IMAGE.repository;
}

/**
 * Sockets that hand out the container runtime's whole API, where the host
 * keeps them after canonicalHostPath; a bind of one of them or of a directory
 * above it reaches the API, read-only or not (C14: connecting to a socket is
 * not a write to the filesystem).
 */
const RUNTIME_SOCKETS: readonly { readonly path: string; readonly name: string }[] = [
  { path: "/run/docker.sock", name: "Docker socket" },
  { path: "/run/containerd/containerd.sock", name: "containerd socket" },
  { path: "/run/docker/containerd/containerd.sock", name: "containerd socket" },
  { path: "/run/podman/podman.sock", name: "Podman socket" },
];
/** Bound read-only at most; canonical paths (canonicalHostPath). */
const SENSITIVE_HOST_PATHS = [
  "/etc",
  "/proc",
  "/sys",
  "/boot",
  "/dev",
  "/root",
  "/run",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
];

/**
 * Symbolic links every Debian and Ubuntu host has, link to target: a bind of
 * the link is a bind of the target (Docker resolves the host path).
 */
const HOST_SYMLINKS: readonly (readonly [string, string])[] = [
  ["/var/run", "/run"],
  ["/var/lock", "/run/lock"],
];

/**
 * Where a bind's host path points, however it is written: `.` and `..`
 * resolved, repeated and trailing slashes dropped, and the host's standard
 * symbolic links followed, so `//var/run/docker.sock`, `/run/./docker.sock`
 * and `/home/../run/docker.sock/` are all `/run/docker.sock`, and
 * `/proc/1/root/etc` is `/etc`.
 */
export function canonicalHostPath(path: string): string {
  let canonical = posix.normalize(`/${path}`).replace(/\/+$/, "") || "/";
  // A process's root is a link to the filesystem it sees: the host's, for the host's processes.
  canonical = canonical.replace(/^\/proc\/(\d+|self|thread-self)\/root(?=\/|$)/, "") || "/";
  for (let changed = true; changed;) {
    changed = false;
    for (const [link, target] of HOST_SYMLINKS) {
      if (under(canonical, link)) {
        canonical = target + canonical.slice(link.length);
        changed = true;
      }
    }
  }
  return canonical;
}

/**
 * Capabilities a service may add back after dropping ALL without a waiver:
 * each is in Docker's default set and none reaches past the container's own
 * files, ports or processes (NET_RAW, MKNOD and the like are left out).
 * Anything else needs a C5 waiver with its reason.
 */
export const REVIEWED_CAPABILITIES: readonly string[] = ["NET_BIND_SERVICE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETGID", "SETUID", "KILL"];

const WEB_PORTS = [80, 443];

/** Whether canonical `path` is `directory` or lies below it. */
function under(path: string, directory: string): boolean {
  return directory === "/" || path === directory || path.startsWith(`${directory}/`);
}

/** A capability as Docker reads it: any case, with or without CAP_. */
function capability(name: string): string {
  return name.trim().toUpperCase().replace(/^CAP_/, "");
}

/**
 * Capabilities that amount to most of `privileged` (mount, module loading,
 * raw I/O, tracing other processes, reading any file): no waiver adds them back.
 */
export const ESCAPE_CAPABILITIES: readonly string[] = ["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "DAC_READ_SEARCH", "BPF", "SYS_BOOT"];

/** Runtimes that isolate at least as well as Docker's default runc (gVisor and Kata isolate more). */
const REVIEWED_RUNTIMES: readonly string[] = [
  "runc",
  "io.containerd.runc.v2",
  "runsc",
  "io.containerd.runsc.v1",
  "kata",
  "kata-runtime",
  "io.containerd.kata.v2",
];

/** Sysctls a container's own namespaces hold, the ones Docker accepts (moby's opts.ValidateSysctl); others would be the host's. */
const NAMESPACED_SYSCTLS: readonly string[] = [
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
];
const NAMESPACED_SYSCTL_PREFIXES: readonly string[] = ["fs.mqueue.", "net."];

/** Groups that reach the host's disks, logs, Docker or root-owned files. */
const PRIVILEGED_GROUPS: readonly string[] = ["0", "root", "docker", "disk", "sudo", "adm", "shadow", "kmem", "lxd", "wheel", "systemd-journal"];

/** What the daemon makes of security_opts, in order, the last value of each key winning (moby's parseSecurityOpt). */
export interface SecurityOptions {
  readonly noNewPrivileges: boolean;
  readonly seccomp?: string;
  readonly apparmor?: string;
  readonly labels: readonly string[];
  readonly systemPathsUnconfined: boolean;
  readonly writableCgroups: boolean;
  /** Each option that turns confinement off, as written. */
  readonly unconfined: readonly string[];
}

export function securityOptions(options: readonly string[]): SecurityOptions {
  let noNewPrivileges = false;
  let seccomp: string | undefined;
  let apparmor: string | undefined;
  let systemPathsUnconfined = false;
  let writableCgroups = false;
  const labels: string[] = [];
  const unconfined: string[] = [];
  for (const written of options) {
    const option = written.trim();
    if (option === "no-new-privileges") {
      noNewPrivileges = true;
      continue;
    }
    if (option === "disable") {
      labels.push("disable");
      unconfined.push(written);
      continue;
    }
    // `=` first; `:` is the deprecated separator Docker still accepts.
    const separator = option.includes("=") ? "=" : ":";
    const at = option.indexOf(separator);
    if (at < 0) continue;
    const key = option.slice(0, at).trim().toLowerCase();
    const value = option.slice(at + 1).trim();
    if (key === "no-new-privileges") noNewPrivileges = parseBool(value) ?? false;
    else if (key === "seccomp") seccomp = value;
    else if (key === "apparmor") apparmor = value;
    else if (key === "label") {
      labels.push(value);
      if (/^disable$|^type:(spc_t|unconfined_t)$/i.test(value)) unconfined.push(written);
    } else if (key === "systempaths" && value.toLowerCase() === "unconfined") {
      systemPathsUnconfined = true;
      unconfined.push(written);
    } else if (key === "writable-cgroups" && parseBool(value) === true) {
      writableCgroups = true;
      unconfined.push(written);
    }
  }
  if (seccomp?.toLowerCase() === "unconfined") unconfined.push(options.filter((option) => /^\s*seccomp\s*[=:]/i.test(option)).at(-1)!);
  if (apparmor?.toLowerCase() === "unconfined") unconfined.push(options.filter((option) => /^\s*apparmor\s*[=:]/i.test(option)).at(-1)!);
  return {
    noNewPrivileges,
    ...(seccomp === undefined ? {} : { seccomp }),
    ...(apparmor === undefined ? {} : { apparmor }),
    labels,
    systemPathsUnconfined,
    writableCgroups,
    unconfined,
  };
}

function sysctlIsNamespaced(name: string): boolean {
  return NAMESPACED_SYSCTLS.includes(name) || NAMESPACED_SYSCTL_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Every C-rule the container breaks, before waivers. */
export function containerFindings(view: ContainerView): Finding[] {
  const findings: Finding[] = [];
  const report = (rule: string, message: string) => findings.push({ rule, resource: view.resource, message });
  // What no waiver silences (NEVER_WAIVED in waivers.ts).
  const refuse = (rule: string, message: string) => findings.push({ rule, resource: view.resource, message, unwaivable: true });

  for (const { field, rule } of view.unreadable) refuse(rule, `${field} is a secret, which the policy cannot read: give it as a plain value`);

  if (view.privileged === true) report("C1", "runs privileged, which gives it every device and capability of the host");
  for (const { field, value } of view.namespaces) {
    if (value.trim().toLowerCase() === "host") report("C2", `${field} is host: it shares the host's namespace`);
  }
  for (const network of view.networks) {
    if (network.trim().toLowerCase() === "host") report("C2", "is attached to the network host: it shares the host's network namespace");
  }

  const repository = view.image?.split("@")[0]?.replace(/:[^/:]+$/, "");
  const holder = { socketProxy: isDockerSocketProxy(view.service, repository), masks: view.masks };
  for (const bind of view.binds) findings.push(...bindFindings(view.resource, bind, holder));
  for (const container of view.volumesFrom)
    report("C3", `takes the volumes of container ${container} (volumes_from), host mounts included, which this container's policy cannot see`);
  for (const type of view.otherMounts) report("C3", `has a mount of type ${type}, which the policy does not know (bind, volume and tmpfs are judged)`);

  for (const device of view.devices) report("C16", `is given the host device ${device}`);
  for (const rule of view.deviceCgroupRules) report("C16", `has the device cgroup rule "${rule}", which opens host devices to it`);
  if (view.deviceRequests > 0) report("C16", `has ${view.deviceRequests} device request(s), which hand it host devices`);
  if (view.gpus !== undefined && view.gpus.trim() !== "") report("C16", `is given the host's GPUs (${view.gpus})`);

  if (view.securityOpts !== undefined) {
    const security = securityOptions(view.securityOpts);
    if (!security.noNewPrivileges) report("C4", "no-new-privileges is not set");
    for (const option of security.unconfined) refuse("C16", `security_opts ${option} turns the kernel's confinement of the container off`);
  }

  if (view.capabilities !== undefined) {
    if (!view.capabilities.drops.map(capability).includes("ALL")) report("C5", "does not drop ALL capabilities");
    const adds = view.capabilities.adds.map(capability);
    if (adds.includes("ALL")) refuse("C5", "adds back every capability (ALL), as much as privileged");
    const escapes = adds.filter((name) => name !== "ALL" && ESCAPE_CAPABILITIES.includes(name));
    if (escapes.length > 0) refuse("C5", `adds back ${escapes.join(", ")}, which amount to most of privileged`);
    const unreviewed = adds.filter((name) => !ESCAPE_CAPABILITIES.includes(name) && !REVIEWED_CAPABILITIES.includes(name));
    if (unreviewed.length > 0) report("C5", `adds back ${unreviewed.join(", ")}, beyond the reviewed set (${REVIEWED_CAPABILITIES.join(", ")})`);
  }

  if (view.readOnly === false) report("C6", "root filesystem is writable");
  else if (view.readOnly === true && view.uploads > 0) {
    // The provider copies uploads through the archive API, which Docker
    // refuses for a read-only root filesystem: the container would never start.
    report(
      "C6",
      `root filesystem is read-only but ${view.uploads} file(s) are uploaded into it, which Docker refuses ("container rootfs is marked read-only")`,
    );
  }

  if (view.memoryMb !== undefined && !(view.memoryMb > 0)) report("C7", "has no memory limit");
  if (view.memorySwapMb === -1) report("C7", "may swap without limit (memory_swap -1), so its memory limit holds only in RAM");
  if (view.pidsLimit !== undefined && !(view.pidsLimit > 0)) report("C7", "has no pids limit");

  if (view.healthcheck !== undefined && (view.healthcheck.length < 2 || view.healthcheck[0] === "NONE")) report("C8", "has no healthcheck");

  const user = view.user?.trim();
  const runsAsRoot = user === undefined || user === "" || /^(root|0)(:|$)/.test(user);
  if (runsAsRoot && !view.userUnresolved) report("C9", user ? `runs as ${user}` : "runs as the image's default user (root unless the image says otherwise)");
  for (const group of view.groupAdds) {
    if (PRIVILEGED_GROUPS.includes(group.trim().toLowerCase()))
      report("C9", `runs with the supplementary group ${group}, which reaches root-owned files, disks or Docker`);
  }

  if (view.runtime !== undefined && view.runtime.trim() !== "" && !REVIEWED_RUNTIMES.includes(view.runtime.trim())) {
    report("C16", `runs under the runtime ${view.runtime}, which is not a reviewed one (${REVIEWED_RUNTIMES.join(", ")})`);
  }
  for (const name of Object.keys(view.sysctls)) {
    if (!sysctlIsNamespaced(name.trim())) report("C16", `sets the sysctl ${name}, which is not namespaced: it would change the host`);
  }

  if (view.image !== undefined) {
    for (const problem of imageProblems(view.image)) report("C10", problem);
  }

  for (const port of view.ports) {
    const address = port.ip ?? "";
    const published = address === "" ? "0.0.0.0" : address;
    if (!isPublicAddress(published)) continue;
    if (view.role !== "ingress") refuse("C11", `publishes ${port.external} on the public address ${published}; only the ingress may publish publicly`);
    else if (!WEB_PORTS.includes(port.external)) report("C11", `publishes ${port.external} on ${published}; the ingress publishes only 80 and 443 publicly`);
  }
  if (view.publishAllPorts) refuse("C11", "publishes every exposed port of its image on every address (publish_all_ports)");
  if (holder.socketProxy && (view.ports.length > 0 || view.publishAllPorts)) {
    refuse(
      "C14",
      `is the Docker socket proxy but publishes ${view.publishAllPorts ? "every exposed port" : view.ports.map((port) => `${port.ip ?? "0.0.0.0"}:${port.external}`).join(", ")}: only its consumers' networks may reach it`,
    );
  }

  if (view.logDriver !== undefined && view.logDriver !== "json-file") report("C12", `logs with ${view.logDriver}, not the rotated json-file driver`);
  else if (view.logOpts !== undefined && (!view.logOpts["max-size"] || !view.logOpts["max-file"]))
    report("C12", "json-file logs do not rotate (max-size and max-file unset)");

  if (view.restart !== undefined) {
    const onFailure = view.restart === "on-failure" && (view.maxRetryCount ?? 0) > 0;
    if (view.restart !== "unless-stopped" && !onFailure) report("C13", `restart policy is ${view.restart || "none"}`);
  }
  return findings;
}

/** Who holds a bind: the socket proxy or not, and the container paths a tmpfs hides. */
export interface BindHolder {
  readonly socketProxy: boolean;
  readonly masks: readonly string[];
}

/** A container path as the kernel resolves it lexically: `.`, `..` and repeated or trailing slashes gone. */
function containerPath(path: string): string {
  return posix.normalize(`/${path}`).replace(/\/+$/, "") || "/";
}

/**
 * Where a socket under a bound directory appears in the container, unless a
 * tmpfs below the bind's own mount point hides it (Docker mounts deeper
 * paths after shallower ones, so the tmpfs lands on top of the bind).
 */
function visibleAt(socket: string, hostDirectory: string, bind: BindView, masks: readonly string[]): string | undefined {
  const mountPoint = containerPath(bind.containerPath);
  const inside = containerPath(`${mountPoint}/${hostDirectory === "/" ? socket : socket.slice(hostDirectory.length)}`);
  const hidden = masks.map(containerPath).some((mask) => mask !== mountPoint && under(mask, mountPoint) && under(inside, mask));
  return hidden ? undefined : inside;
}

/**
 * C3 and C14 on one bind, judged on where its host path points. C14: only
 * the socket proxy mounts docker.sock, read-only; no other container may
 * reach a runtime socket through any bind, whatever its spelling, read-only
 * or not, unless a tmpfs hides the socket inside the container.
 */
export function bindFindings(resource: string, bind: BindView, holder: BindHolder): Finding[] {
  const findings: Finding[] = [];
  const report = (message: string) => findings.push({ rule: "C3", resource, message });
  const refuse = (message: string) => findings.push({ rule: "C3", resource, message, unwaivable: true });
  const proxyOnly = (message: string) => findings.push({ rule: "C14", resource, message, unwaivable: true });
  const path = canonicalHostPath(bind.hostPath);
  const shown = path === bind.hostPath ? path : `${path} (written ${bind.hostPath})`;
  const socket = RUNTIME_SOCKETS.find((candidate) => candidate.path === path);
  // A directory above a socket hands it out as well, where nothing hides it.
  const held = socket ? [] : RUNTIME_SOCKETS.filter((candidate) => under(candidate.path, path));
  const reachable = held.filter((candidate) => visibleAt(candidate.path, path, bind, holder.masks) !== undefined);
  const directory = path === "/" ? `the host's root filesystem${bind.hostPath === "/" ? "" : ` (written ${bind.hostPath})`}` : shown;
  if (socket) {
    if (!bind.readOnly) refuse(`mounts the ${socket.name} ${shown} read-write`);
    if (socket.name !== "Docker socket") refuse(`mounts the ${socket.name} ${shown}: only the Docker socket is mounted, and only into the socket proxy`);
    else if (!holder.socketProxy) {
      proxyOnly(
        `mounts the ${socket.name} ${shown}: read-only or not, whoever connects to it holds the whole Docker API; declare the read endpoints it needs (dockerAPI) and reach them through the socket proxy at ${DOCKER_API_URL}`,
      );
    }
  } else if (reachable.length > 0) {
    const sockets = reachable.map((candidate) => `${candidate.path} (at ${visibleAt(candidate.path, path, bind, holder.masks)})`).join(", ");
    proxyOnly(
      `mounts ${directory}${bind.readOnly ? "" : " read-write"}, which holds the runtime sockets ${sockets}: connecting to one is not a write, so whoever does controls the host; bind a narrower path, or hide the sockets under a tmpfs`,
    );
    if (!bind.readOnly) refuse(`mounts ${directory} read-write, which holds the runtime sockets`);
  }
  const propagation = bind.propagation?.trim().toLowerCase();
  if (propagation === "shared" || propagation === "rshared")
    report(`mounts ${shown} with propagation ${propagation}: mounts made inside the container appear on the host`);
  // The root's own finding, once its sockets are hidden; while they are not, C14's above says more.
  if (path === "/" && reachable.length === 0) report(`mounts ${directory}${bind.readOnly ? "" : " read-write"}`);
  else if (!bind.readOnly && !socket && reachable.length === 0 && SENSITIVE_HOST_PATHS.some((candidate) => under(path, candidate)))
    report(`mounts the host directory ${shown} read-write`);
  return findings;
}

/** C10: what is wrong with an image reference; empty when it is pinned. */
export function imageProblems(reference: string): string[] {
  const [name, digest, ...extra] = reference.split("@");
  const problems: string[] = [];
  if (extra.length > 0) problems.push(`image ${reference} has more than one digest`);
  const tag = /:([^/:]+)$/.exec(name ?? "")?.[1];
  if (!tag) problems.push(`image ${reference} has no tag (Docker would pull latest)`);
  else if (tag === "latest") problems.push(`image ${reference} uses the moving tag latest`);
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) problems.push(`image ${reference} has a malformed digest (want sha256:<64 hex>)`);
  return problems;
}

/** The view of a spec: exactly what the Service component will register for it. */
export function viewOfSpec(spec: ServiceSpec, containerName: string): ContainerView {
  const settings = containerSettings(spec);
  return {
    resource: `container ${containerName}`,
    role: spec.role,
    service: spec.name,
    image: imageName(spec.image),
    namespaces: [],
    networks: [],
    binds: settings.binds,
    volumesFrom: [],
    otherMounts: [],
    masks: Object.keys(settings.tmpfs),
    devices: [],
    deviceCgroupRules: [],
    deviceRequests: 0,
    securityOpts: settings.securityOpts,
    capabilities: settings.capabilities,
    readOnly: settings.readOnly,
    uploads: settings.uploads.length,
    memoryMb: settings.memory,
    memorySwapMb: settings.memorySwap,
    pidsLimit: settings.ulimits.find((limit) => limit.name === "nproc")?.hard ?? 0,
    healthcheck: settings.healthcheck.tests,
    ...(settings.user === undefined ? {} : { user: settings.user }),
    groupAdds: [],
    sysctls: {},
    ports: settings.ports,
    publishAllPorts: false,
    logDriver: settings.logDriver,
    logOpts: settings.logOpts,
    restart: settings.restart,
    ...(settings.maxRetryCount === undefined ? {} : { maxRetryCount: settings.maxRetryCount }),
    unreadable: [],
  };
}
