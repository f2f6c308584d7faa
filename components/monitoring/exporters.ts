import { TEXTFILE_DIR } from "../backup/metrics";
import { DOCKER_API_URL } from "../container/docker-api-proxy-spec";
import { healthcheck, service, type ServiceSpec } from "../container/service-spec";
import { HOST_MOUNTS } from "./alloy-config";
import { imageOf } from "./design";
import type { ExporterSpec } from "./exporter-spec";
import { peerEgress, reachingNetworks, runsAtHome, withEgress } from "./placement";
import { PORTS } from "./ports";
import { UPLOAD_WAIVER, type StackBuild } from "./stack-services";

/**
 * The exporters design (seeds 000 and 001): one container per exporter.
 * node-exporter and cAdvisor run on every server; the exporter of a service
 * runs wherever that service does (same role and placement), on the
 * monitoring network and, unless the service is on it too, the service's own
 * network; the blackbox exporter probes from home. Images without a shell or
 * wget (scratch) are checked by running their binary.
 */

/**
 * The host's /proc, /sys and root filesystem, read-only, for node-exporter's
 * collectors (free disk on every mount, the backup job's textfile metrics).
 */
export const HOST_ROOT_BINDS = [
  { hostPath: "/proc", target: HOST_MOUNTS.proc, readOnly: true },
  { hostPath: "/sys", target: HOST_MOUNTS.sys, readOnly: true },
  { hostPath: "/", target: HOST_MOUNTS.root, readOnly: true },
] as const;

/**
 * The host's /run under the root bind holds docker.sock and containerd's
 * socket, which a read-only bind does not close (C14): a tmpfs over it
 * hides them. /run holds no disk, so free-disk reports lose nothing.
 */
export const HOST_RUN_MASK = `${HOST_MOUNTS.root}/run`;

export const BLACKBOX_EXPORTER_CONFIG_PATH = "/etc/blackbox_exporter/config.yml";

/** Every exporter container, in the order they start: the host's, each service's, then the prober. */
export function exporterServices(build: StackBuild): ServiceSpec[] {
  const services = build.others.flatMap((other) => (other.exporter ? [serviceExporter(build, other, other.exporter)] : []));
  return [nodeExporterService(build), cadvisorService(build), ...services, blackboxExporterService(build)];
}

function nodeExporterService({ design, ports }: StackBuild): ServiceSpec {
  return service({
    name: "node-exporter",
    description: "node-exporter: the host's CPU, memory, disks and the backup job's textfile metrics",
    role: "monitoring",
    placement: "host",
    image: imageOf(design, "node-exporter"),
    networks: [design.networks.monitoring],
    ports: [{ container: ports.node }],
    command: [
      `--path.procfs=${HOST_MOUNTS.proc}`,
      `--path.sysfs=${HOST_MOUNTS.sys}`,
      `--path.rootfs=${HOST_MOUNTS.root}`,
      `--collector.textfile.directory=${HOST_MOUNTS.root}${TEXTFILE_DIR}`,
    ],
    binds: HOST_ROOT_BINDS,
    tmpfs: [HOST_RUN_MASK],
    waivers: [
      {
        rule: "C3",
        reason: "the filesystem collector needs the host's root, read-only, to report free disk on every mount and to read the backup job's textfile metrics",
      },
    ],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.node}/metrics`]),
    memoryMb: design.memoryMb["node-exporter"],
    readOnlyRootFilesystem: true,
    user: "65534",
  });
}

function cadvisorService({ design, ports }: StackBuild): ServiceSpec {
  return service({
    name: "cadvisor",
    description: "cAdvisor: per-container CPU, memory and restarts",
    role: "monitoring",
    placement: "host",
    image: imageOf(design, "cadvisor"),
    networks: [design.networks.monitoring],
    ports: [{ container: ports.cadvisor }],
    command: [
      "--docker_only=true",
      "--housekeeping_interval=15s",
      "--disable_metrics=disk,diskIO,tcp,udp,percpu,sched,process,hugetlb,referenced_memory,cpu_topology,resctrl",
      `--docker=${DOCKER_API_URL}`,
      ...(ports.cadvisor === PORTS.cadvisor ? [] : [`--port=${ports.cadvisor}`]),
    ],
    binds: [
      { hostPath: "/sys", target: "/sys", readOnly: true },
      { hostPath: "/var/lib/docker/image", target: "/var/lib/docker/image", readOnly: true },
    ],
    // It finds containers by their cgroups, then asks the daemon about each,
    // through the socket proxy (C14): the daemon's facts, and each container's.
    dockerAPI: ["ping", "version", "info", "container-inspect"],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.cadvisor}/healthz`]),
    memoryMb: design.memoryMb.cadvisor,
    readOnlyRootFilesystem: true,
    waivers: [
      { rule: "C9", reason: "it reads every container's cgroup under /sys and the image layers under /var/lib/docker/image, which only root may read" },
    ],
  });
}

/** Where the exporter of `other` runs: beside it (same role and placement), on the monitoring network and, unless `other` is on that too, its first network. */
interface Beside {
  readonly other: ServiceSpec;
  readonly placed: Pick<ServiceSpec, "role" | "placement">;
  readonly networks: string[];
  /** The port `other` listens on, when it declares one. */
  readonly port: number | undefined;
}

function serviceExporter(build: StackBuild, other: ServiceSpec, exporter: ExporterSpec): ServiceSpec {
  const monitoring = build.design.networks.monitoring;
  const beside: Beside = {
    other,
    placed: { role: other.role, ...(other.placement ? { placement: other.placement } : {}) },
    networks: other.networks.includes(monitoring) ? [monitoring] : [monitoring, ...other.networks.slice(0, 1)],
    port: other.ports[0]?.container,
  };
  if (exporter.kind === "postgres") return postgresExporterService(build, beside, exporter);
  if (exporter.kind === "redis") return redisExporterService(build, beside, exporter);
  return nginxExporterService(build, beside, exporter);
}

function postgresExporterService(
  { design, ports }: StackBuild,
  { other, placed, networks, port }: Beside,
  exporter: Extract<ExporterSpec, { kind: "postgres" }>,
): ServiceSpec {
  return service({
    name: `${other.name}-exporter`,
    description: `postgres_exporter for ${other.name}`,
    ...placed,
    image: imageOf(design, "postgres-exporter"),
    networks,
    ports: [{ container: ports.postgres }],
    // postgres_exporter builds its connection from DATA_SOURCE_URI and
    // _USER, with the password read from DATA_SOURCE_PASS_FILE.
    env: { DATA_SOURCE_URI: `${other.name}:${port ?? 5432}/${exporter.database}?sslmode=disable`, DATA_SOURCE_USER: exporter.user },
    secretFiles: [{ name: "postgres-password", content: { secret: exporter.passwordSecret }, variable: "DATA_SOURCE_PASS_FILE", uid: 65534 }],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.postgres}/metrics`]),
    memoryMb: design.memoryMb["postgres-exporter"],
    readOnlyRootFilesystem: true,
    // The image's own user, nobody.
    user: "65534",
    dependsOn: [other.name],
  });
}

function redisExporterService(
  { design, ports }: StackBuild,
  { other, placed, networks, port }: Beside,
  exporter: Extract<ExporterSpec, { kind: "redis" }>,
): ServiceSpec {
  const redisAddress = `redis://${other.name}:${port ?? 6379}`;
  return service({
    name: `${other.name}-exporter`,
    description: `redis_exporter for ${other.name}`,
    ...placed,
    image: imageOf(design, "redis-exporter"),
    networks,
    ports: [{ container: ports.redis }],
    env: { REDIS_ADDR: redisAddress },
    // REDIS_PASSWORD_FILE is a JSON map of passwords by the exact address scraped (redis_exporter's LoadPwdFile).
    ...(exporter.passwordSecret
      ? {
          secretFiles: [
            {
              name: "redis-passwords.json",
              content: { secretTemplate: `{${JSON.stringify(redisAddress)}: {{${exporter.passwordSecret}}}}\n`, encoding: "json" as const },
              variable: "REDIS_PASSWORD_FILE",
              uid: 59000,
            },
          ],
        }
      : {}),
    // A scratch image: nothing but the exporter's binary to run.
    healthcheck: healthcheck(["CMD", "/redis_exporter", "--version"]),
    memoryMb: design.memoryMb["redis-exporter"],
    readOnlyRootFilesystem: true,
    // The image's own user (USER 59000:59000 in its Dockerfile).
    user: "59000",
    dependsOn: [other.name],
  });
}

function nginxExporterService(
  { design, ports }: StackBuild,
  { other, placed, networks }: Beside,
  exporter: Extract<ExporterSpec, { kind: "nginx" }>,
): ServiceSpec {
  return service({
    name: `${other.name}-exporter`,
    description: `nginx-prometheus-exporter for ${other.name}`,
    ...placed,
    image: imageOf(design, "nginx-exporter"),
    networks,
    ports: [{ container: ports.nginx }],
    command: [`--nginx.scrape-uri=http://${other.name}:${exporter.statusPort}${exporter.statusPath}`],
    // A scratch image: nothing but the exporter's binary to run.
    healthcheck: healthcheck(["CMD", "/usr/bin/nginx-prometheus-exporter", "--version"]),
    memoryMb: design.memoryMb["nginx-exporter"],
    readOnlyRootFilesystem: true,
    // The image's own user (USER 1001:1001 in its Dockerfile).
    user: "1001",
    dependsOn: [other.name],
  });
}

/** Probes the routes and every service port; at home, on a network of each service it probes there, and off the host when peers are probed too. */
function blackboxExporterService({ design, ports, others, placement }: StackBuild): ServiceSpec {
  const probedAtHome = others.filter((other) => other.ports.length > 0 && runsAtHome(placement, other));
  return service({
    name: "blackbox-exporter",
    description: "blackbox_exporter: probes the routes (uptime, TLS expiry) and every service's port",
    role: "monitoring",
    image: imageOf(design, "blackbox-exporter"),
    networks: withEgress(reachingNetworks(probedAtHome, design.networks.monitoring), peerEgress(placement, others, design.networks.egress)),
    ports: [{ container: ports.blackbox }],
    command: [`--config.file=${BLACKBOX_EXPORTER_CONFIG_PATH}`],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.blackbox}/-/healthy`]),
    memoryMb: design.memoryMb["blackbox-exporter"],
    // TCP and HTTP probes need no privilege (ICMP would).
    user: "65534",
    waivers: [UPLOAD_WAIVER("its module configuration")],
  });
}
