import { DOCKER_API_URL } from "../container/docker-api-proxy-spec";
import { healthcheck, service, type SecretFileSpec, type ServiceSpec } from "../container/service-spec";
import { ALLOY_PORT, EXPORTER_SECRET_FILES } from "./alloy-config";
import { imageOf } from "./design";
import { HOST_ROOT_BINDS, HOST_RUN_MASK } from "./exporters";
import { storeService } from "./ports";
import { UPLOAD_WAIVER, type StackBuild } from "./stack-services";

/**
 * What ships the containers' logs to Loki: Grafana Alloy in seed 002's
 * design, which also runs the exporters and scrapes everything; Promtail on
 * every server in the exporters design.
 */

export const ALLOY_CONFIG_PATH = "/etc/alloy/config.alloy";
export const PROMTAIL_CONFIG_PATH = "/etc/promtail/config.yml";

/** Where Alloy keeps its write-ahead log and state: its data volume. */
const ALLOY_STORAGE_PATH = "/var/lib/alloy-storage";

/** The agent that ships the logs: Alloy, or Promtail beside the exporter containers. */
export function logShipper(build: StackBuild): ServiceSpec {
  return build.design.agent === "alloy" ? alloyService(build) : promtailService(build);
}

/**
 * The built-in exporters' credentials, as files Alloy's configuration reads
 * (alloy-config.ts); Alloy runs as root (C9 below). One file per kind: the
 * last service of a kind wins, as the configuration names one.
 */
export function alloyExporterSecretFiles(others: readonly ServiceSpec[]): SecretFileSpec[] {
  const files = new Map<string, SecretFileSpec>();
  for (const other of others) {
    const exporter = other.exporter;
    if (exporter?.kind === "postgres") {
      const name = EXPORTER_SECRET_FILES.postgres;
      files.set(name, {
        name,
        content: {
          secretTemplate: `postgresql://${exporter.user}:{{${exporter.passwordSecret}}}@${other.name}:${other.ports[0]?.container ?? 5432}/${exporter.database}?sslmode=disable`,
        },
        uid: 0,
      });
    }
    if (exporter?.kind === "redis" && exporter.passwordSecret)
      files.set(EXPORTER_SECRET_FILES.redis, { name: EXPORTER_SECRET_FILES.redis, content: { secret: exporter.passwordSecret }, uid: 0 });
  }
  return [...files.values()];
}

function alloyService({ design, others }: StackBuild): ServiceSpec {
  return service({
    name: "alloy",
    description: "Grafana Alloy: container logs to Loki; host, container, database and probe metrics to the store",
    role: "monitoring",
    image: imageOf(design, "alloy"),
    networks: [...design.networks.agent],
    ports: [{ container: ALLOY_PORT }],
    // Not under the image's /var/lib/alloy: that is alloy's (uid 473, 0770),
    // and root without capabilities cannot enter it, so Alloy would exit at
    // start. A mount point the image lacks is made root's by Docker.
    command: ["run", `--server.http.listen-addr=0.0.0.0:${ALLOY_PORT}`, `--storage.path=${ALLOY_STORAGE_PATH}`, ALLOY_CONFIG_PATH],
    secretFiles: alloyExporterSecretFiles(others),
    volumes: [{ volume: "data", target: ALLOY_STORAGE_PATH }],
    binds: HOST_ROOT_BINDS,
    tmpfs: [HOST_RUN_MASK],
    // Container discovery and logs (discovery.docker, loki.source.docker) and
    // cAdvisor's container details, through the socket proxy (C14).
    dockerAPI: ["ping", "version", "info", "container-list", "container-inspect", "container-logs", "network-list"],
    waivers: [
      UPLOAD_WAIVER("its configuration"),
      {
        rule: "C9",
        reason:
          "Docker creates its storage volume root-owned (the image's own /var/lib/alloy is alloy's, 0770, see the command), and its node and cAdvisor exporters read host paths only root may read; running it as alloy needs both checked on a running container first",
      },
      {
        rule: "C3",
        reason:
          "node-exporter's filesystem collector needs the host's root, read-only, to report free disk on every mount (seed 000's 20 GB alert) and to read the backup job's textfile metrics (B9); Alloy runs with every capability dropped and no-new-privileges",
      },
    ],
    healthcheck: healthcheck(["CMD-SHELL", `bash -c ':> /dev/tcp/127.0.0.1/${ALLOY_PORT}'`]),
    memoryMb: design.memoryMb.alloy,
    dependsOn: [storeService(design).name, "loki"],
    metrics: { port: ALLOY_PORT, path: "/metrics" },
  });
}

/** Promtail's configuration: every container's logs, through the socket proxy (C14), labelled by container and service. */
export function promtailConfig(ports: { readonly promtail: number; readonly loki: number }): string {
  return [
    "server:",
    `  http_listen_port: ${ports.promtail}`,
    "positions:",
    "  filename: /var/lib/promtail/positions.yaml",
    "clients:",
    `  - url: http://loki:${ports.loki}/loki/api/v1/push`,
    "scrape_configs:",
    "  - job_name: containers",
    "    docker_sd_configs:",
    `      - host: ${DOCKER_API_URL}`,
    "    relabel_configs:",
    "      - source_labels: [__meta_docker_container_name]",
    "        regex: /(.*)",
    "        target_label: container",
    "      - source_labels: [__meta_docker_container_label_infra_service]",
    "        target_label: service",
    "",
  ].join("\n");
}

function promtailService({ design, ports }: StackBuild): ServiceSpec {
  return service({
    name: "promtail",
    description: "Promtail: ships container logs to Loki",
    role: "monitoring",
    // Every server's containers log locally; on the others Loki is reached through a forwarder.
    placement: "host",
    image: imageOf(design, "promtail"),
    networks: [design.networks.monitoring],
    ports: [{ container: ports.promtail }],
    command: [`-config.file=${PROMTAIL_CONFIG_PATH}`],
    files: [{ path: PROMTAIL_CONFIG_PATH, content: promtailConfig(ports) }],
    volumes: [{ volume: "positions", target: "/var/lib/promtail" }],
    // docker_sd_configs lists containers and networks, then follows each one's logs, through the socket proxy (C14).
    dockerAPI: ["ping", "version", "container-list", "container-inspect", "container-logs", "network-list"],
    waivers: [
      UPLOAD_WAIVER("its configuration"),
      { rule: "C9", reason: "the image runs as root and Docker creates its positions volume root-owned; another uid needs that volume chowned first" },
    ],
    healthcheck: healthcheck(["CMD-SHELL", `bash -c ':> /dev/tcp/127.0.0.1/${ports.promtail}'`]),
    memoryMb: design.memoryMb.promtail,
    dependsOn: ["loki"],
    metrics: { port: ports.promtail, path: "/metrics" },
  });
}
