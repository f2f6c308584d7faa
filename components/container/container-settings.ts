import { secretFileBinds } from "./secret-files";
import { LOG_OPTIONS, publishAddress, type ServiceSpec } from "./service-spec";

/** The plain part of a docker.Container's inputs, computed from a spec alone. */
export interface ContainerSettings {
  readonly ports: { internal: number; external: number; ip: string; protocol: string }[];
  readonly healthcheck: { tests: string[]; interval: string; timeout: string; retries: number; startPeriod: string };
  readonly memory: number;
  readonly memorySwap: number;
  readonly restart: string;
  readonly maxRetryCount?: number;
  readonly logDriver: "json-file";
  readonly logOpts: Record<string, string>;
  readonly securityOpts: string[];
  readonly capabilities: { drops: string[]; adds: string[] };
  readonly ulimits: { name: string; soft: number; hard: number }[];
  readonly readOnly: boolean;
  readonly tmpfs: Record<string, string>;
  readonly user?: string;
  readonly command?: string[];
  readonly entrypoints?: string[];
  readonly uploads: { file: string; content: string; executable: boolean }[];
  readonly binds: { hostPath: string; containerPath: string; readOnly: boolean }[];
  readonly labels: { label: string; value: string }[];
}

/**
 * A duration as Go prints one (`30s`, `2m0s`, `1h0m0s`): the Docker provider
 * reads health-check durations back in that form, so any other spelling of
 * the same value (`120s`) is a difference on every deploy.
 */
export function goDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/**
 * The container's settings. With its name, the binds include its secret
 * files, whose host paths are named for the container.
 */
export function containerSettings(spec: ServiceSpec, containerName?: string): ContainerSettings {
  return {
    ports: spec.ports
      .filter((port) => port.publish !== undefined)
      .map((port) => ({
        internal: port.container,
        external: port.publish!.host,
        ip: publishAddress(port)!,
        protocol: port.protocol ?? "tcp",
      })),
    healthcheck: {
      tests: [...spec.healthcheck.test],
      interval: goDuration(spec.healthcheck.intervalSeconds),
      timeout: goDuration(spec.healthcheck.timeoutSeconds),
      retries: spec.healthcheck.retries,
      startPeriod: goDuration(spec.healthcheck.startPeriodSeconds),
    },
    memory: spec.memoryMb,
    // Swap equal to the limit means no swap: a container over budget is
    // killed and restarted rather than slowing the whole host down.
    memorySwap: spec.memoryMb,
    restart: spec.restart,
    ...(spec.restart === "on-failure" ? { maxRetryCount: 5 } : {}),
    logDriver: "json-file",
    logOpts: { ...LOG_OPTIONS },
    securityOpts: ["no-new-privileges:true"],
    // Docker reports added capabilities as CAP_<NAME>; any other spelling reads back as drift on every refresh.
    capabilities: { drops: ["ALL"], adds: spec.capAdd.map((name) => `CAP_${name.toUpperCase().replace(/^CAP_/, "")}`) },
    // The Docker provider has no pids-limit argument. With every capability
    // dropped the nproc rlimit is enforced for root too, so it caps the
    // processes a runaway container can fork (C7).
    ulimits: [{ name: "nproc", soft: spec.pidsLimit, hard: spec.pidsLimit }],
    readOnly: spec.readOnlyRootFilesystem,
    tmpfs: Object.fromEntries(spec.tmpfs.map((path) => [path, "rw,noexec,nosuid,size=64m"])),
    ...(spec.user === undefined ? {} : { user: spec.user }),
    ...(spec.command === undefined ? {} : { command: [...spec.command] }),
    ...(spec.entrypoint === undefined ? {} : { entrypoints: [...spec.entrypoint] }),
    // Live files are written on the host and reloaded (live-config.ts), never uploaded.
    uploads: spec.files.filter((file) => file.live !== true).map((file) => ({ file: file.path, content: file.content, executable: file.executable ?? false })),
    binds: [
      ...spec.binds.map((bind) => ({ hostPath: bind.hostPath, containerPath: bind.target, readOnly: bind.readOnly })),
      ...(containerName === undefined ? [] : secretFileBinds(spec, containerName)),
    ],
    labels: [
      { label: "infra.service", value: spec.name },
      { label: "infra.role", value: spec.role },
    ],
  };
}
