import { posix } from "node:path";
import { containerSettings } from "../../components/container/container-settings";
import { imageName, type ServiceSpec } from "../../components/container/service-spec";
import { isPublicAddress } from "../platform-model";
import type { Finding } from "./report";

/**
 * A container as the policy sees it: the docker.Container inputs that the
 * C-rules are about. It is built either from a ServiceSpec through
 * containerSettings (the values the Service component will register) or from
 * a registered docker.Container's inputs, so both levels run the same checks.
 * A field left undefined is unknown (an Output during preview) and not judged.
 */
export interface ContainerView {
  /** `container <name>`. */
  readonly resource: string;
  readonly role?: string;
  /** `repository:tag[@digest]`. */
  readonly image?: string;
  readonly privileged?: boolean;
  readonly networkMode?: string;
  readonly pidMode?: string;
  readonly ipcMode?: string;
  readonly binds: readonly { readonly hostPath: string; readonly containerPath: string; readonly readOnly: boolean }[];
  readonly securityOpts: readonly string[];
  readonly capabilities: { readonly drops: readonly string[]; readonly adds: readonly string[] };
  readonly readOnly: boolean;
  /** Files the provider copies into the container before it starts. */
  readonly uploads: number;
  readonly memoryMb?: number;
  readonly pidsLimit?: number;
  readonly healthcheck: readonly string[];
  readonly user?: string;
  readonly ports: readonly { readonly external: number; readonly ip?: string }[];
  readonly logDriver?: string;
  readonly logOpts: Readonly<Record<string, string>>;
  readonly restart?: string;
  readonly maxRetryCount?: number;
}

/**
 * Images whose job is to read the Docker API (C3 allow-list): DIUN, cAdvisor,
 * log shippers and socket proxies. Anyone else with the socket can start a
 * privileged container and own the host.
 */
export const DOCKER_SOCKET_CONSUMERS: readonly string[] = [
  "crazymax/diun",
  "grafana/alloy",
  "grafana/promtail",
  "gcr.io/cadvisor/cadvisor",
  "tecnativa/docker-socket-proxy",
  "lscr.io/linuxserver/socket-proxy",
];

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
const SENSITIVE_HOST_PATHS = ["/etc", "/proc", "/sys", "/boot", "/dev", "/root", "/run", "/var/lib/docker", "/var/lib/containerd", "/usr", "/bin", "/sbin", "/lib"];

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
  for (let changed = true; changed; ) {
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

function capability(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, "");
}

/** Every C-rule the container breaks, before waivers. */
export function containerFindings(view: ContainerView): Finding[] {
  const findings: Finding[] = [];
  const report = (rule: string, message: string) => findings.push({ rule, resource: view.resource, message });

  if (view.privileged === true) report("C1", "runs privileged, which gives it every device and capability of the host");
  for (const [field, value] of [["network_mode", view.networkMode], ["pid_mode", view.pidMode], ["ipc_mode", view.ipcMode]] as const) {
    if (value === "host") report("C2", `${field} is host: it shares the host's namespace`);
  }

  const repository = view.image?.split("@")[0]?.replace(/:[^/:]+$/, "");
  for (const bind of view.binds) findings.push(...bindFindings(view.resource, bind, repository));

  if (!view.securityOpts.some((option) => /^no-new-privileges(:true|=true)?$/.test(option))) report("C4", "no-new-privileges is not set");

  if (!view.capabilities.drops.map(capability).includes("ALL")) report("C5", "does not drop ALL capabilities");
  const unreviewed = view.capabilities.adds.map(capability).filter((name) => !REVIEWED_CAPABILITIES.includes(name));
  if (unreviewed.length > 0) report("C5", `adds back ${unreviewed.join(", ")}, beyond the reviewed set (${REVIEWED_CAPABILITIES.join(", ")})`);

  if (!view.readOnly) report("C6", "root filesystem is writable");
  else if (view.uploads > 0) {
    // The provider copies uploads through the archive API, which Docker
    // refuses for a read-only root filesystem: the container would never start.
    report("C6", `root filesystem is read-only but ${view.uploads} file(s) are uploaded into it, which Docker refuses ("container rootfs is marked read-only")`);
  }

  if (view.memoryMb !== undefined && !(view.memoryMb > 0)) report("C7", "has no memory limit");
  if (view.pidsLimit !== undefined && !(view.pidsLimit > 0)) report("C7", "has no pids limit");

  const test = view.healthcheck;
  if (test.length < 2 || test[0] === "NONE") report("C8", "has no healthcheck");

  const user = view.user?.trim();
  if (user === undefined || user === "" || /^(root|0)(:|$)/.test(user)) report("C9", user ? `runs as ${user}` : "runs as the image's default user (root unless the image says otherwise)");

  if (view.image !== undefined) {
    for (const problem of imageProblems(view.image)) report("C10", problem);
  }

  for (const port of view.ports) {
    const address = port.ip ?? "";
    const published = address === "" ? "0.0.0.0" : address;
    if (!isPublicAddress(published)) continue;
    if (view.role !== "ingress") report("C11", `publishes ${port.external} on the public address ${published}; only the ingress may publish publicly`);
    else if (!WEB_PORTS.includes(port.external)) report("C11", `publishes ${port.external} on ${published}; the ingress publishes only 80 and 443 publicly`);
  }

  if (view.logDriver !== undefined && view.logDriver !== "json-file") report("C12", `logs with ${view.logDriver}, not the rotated json-file driver`);
  else if (!view.logOpts["max-size"] || !view.logOpts["max-file"]) report("C12", "json-file logs do not rotate (max-size and max-file unset)");

  if (view.restart !== undefined) {
    const onFailure = view.restart === "on-failure" && (view.maxRetryCount ?? 0) > 0;
    if (view.restart !== "unless-stopped" && !onFailure) report("C13", `restart policy is ${view.restart || "none"}`);
  }
  return findings;
}

/** C3 on one bind, judged on where its host path points. */
function bindFindings(resource: string, bind: ContainerView["binds"][number], repository: string | undefined): Finding[] {
  const findings: Finding[] = [];
  const report = (message: string) => findings.push({ rule: "C3", resource, message });
  const path = canonicalHostPath(bind.hostPath);
  const shown = path === bind.hostPath ? path : `${path} (written ${bind.hostPath})`;
  const socket = RUNTIME_SOCKETS.find((candidate) => candidate.path === path);
  // A directory above a socket hands it out as well.
  const held = socket ? [] : RUNTIME_SOCKETS.filter((candidate) => under(candidate.path, path));
  if (socket) {
    if (!bind.readOnly) report(`mounts the ${socket.name} ${shown} read-write`);
    if (socket.name !== "Docker socket") report(`mounts the ${socket.name} ${shown}: only the Docker socket goes to an allow-listed consumer`);
    else if (repository !== undefined && !DOCKER_SOCKET_CONSUMERS.includes(repository)) {
      report(`mounts the ${socket.name} ${shown} but ${repository} is not an allow-listed socket consumer (${DOCKER_SOCKET_CONSUMERS.join(", ")})`);
    }
  } else if (held.length > 0) {
    const sockets = held.map((candidate) => candidate.path).join(", ");
    report(`mounts ${path === "/" ? "the host's root filesystem" : shown}${bind.readOnly ? "" : " read-write"}, which holds the runtime sockets ${sockets}: whoever connects to one controls the host`);
  }
  if (path === "/") report(`mounts the host's root filesystem${bind.hostPath === "/" ? "" : ` (written ${bind.hostPath})`}`);
  else if (!bind.readOnly && !socket && held.length === 0 && SENSITIVE_HOST_PATHS.some((directory) => under(path, directory))) report(`mounts the host directory ${shown} read-write`);
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
    image: imageName(spec.image),
    binds: settings.binds,
    securityOpts: settings.securityOpts,
    capabilities: settings.capabilities,
    readOnly: settings.readOnly,
    uploads: settings.uploads.length,
    memoryMb: settings.memory,
    pidsLimit: settings.ulimits.find((limit) => limit.name === "nproc")?.hard ?? 0,
    healthcheck: settings.healthcheck.tests,
    ...(settings.user === undefined ? {} : { user: settings.user }),
    ports: settings.ports,
    logDriver: settings.logDriver,
    logOpts: settings.logOpts,
    restart: settings.restart,
    ...(settings.maxRetryCount === undefined ? {} : { maxRetryCount: settings.maxRetryCount }),
  };
}

type Inputs = Record<string, unknown>;

const known = (value: unknown): boolean => value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value) || !("__pulumiOutput" in value));
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

/**
 * The view of a registered docker.Container. `image` is given separately,
 * because the container holds the RemoteImage's id, not its name.
 */
export function viewOfContainerInputs(inputs: Inputs, image?: string): ContainerView {
  const labels = list<{ label?: unknown; value?: unknown }>(inputs.labels);
  const capabilities = (inputs.capabilities ?? {}) as { drops?: unknown; adds?: unknown };
  const ulimits = list<{ name?: unknown; hard?: unknown }>(inputs.ulimits);
  const healthcheck = (inputs.healthcheck ?? {}) as { tests?: unknown };
  const role = text(labels.find((label) => label.label === "infra.role")?.value);
  const memory = inputs.memory;
  const nproc = ulimits.find((limit) => limit.name === "nproc")?.hard;
  return {
    resource: `container ${text(inputs.name) ?? "(unnamed)"}`,
    ...(role === undefined ? {} : { role }),
    ...(image === undefined ? {} : { image }),
    ...(typeof inputs.privileged === "boolean" ? { privileged: inputs.privileged } : {}),
    ...(text(inputs.networkMode) === undefined ? {} : { networkMode: text(inputs.networkMode)! }),
    ...(text(inputs.pidMode) === undefined ? {} : { pidMode: text(inputs.pidMode)! }),
    ...(text(inputs.ipcMode) === undefined ? {} : { ipcMode: text(inputs.ipcMode)! }),
    binds: list<{ hostPath?: unknown; containerPath?: unknown; readOnly?: unknown }>(inputs.volumes)
      .filter((volume) => typeof volume.hostPath === "string")
      .map((volume) => ({ hostPath: volume.hostPath as string, containerPath: String(volume.containerPath ?? ""), readOnly: volume.readOnly === true })),
    securityOpts: list<string>(inputs.securityOpts),
    capabilities: { drops: list<string>(capabilities.drops), adds: list<string>(capabilities.adds) },
    readOnly: inputs.readOnly === true,
    uploads: list(inputs.uploads).length,
    ...(known(memory) ? { memoryMb: typeof memory === "number" ? memory : 0 } : {}),
    pidsLimit: typeof nproc === "number" ? nproc : 0,
    healthcheck: list<string>(healthcheck.tests),
    ...(text(inputs.user) === undefined ? {} : { user: text(inputs.user)! }),
    ports: list<{ external?: unknown; ip?: unknown }>(inputs.ports).map((port) => ({ external: Number(port.external), ...(typeof port.ip === "string" ? { ip: port.ip } : {}) })),
    logDriver: text(inputs.logDriver) ?? "json-file",
    logOpts: (typeof inputs.logOpts === "object" && inputs.logOpts !== null ? inputs.logOpts : {}) as Record<string, string>,
    restart: text(inputs.restart) ?? "no",
    ...(typeof inputs.maxRetryCount === "number" ? { maxRetryCount: inputs.maxRetryCount } : {}),
  };
}
