import { healthcheck, service, type ServiceSpec } from "../container/service-spec";
import { externalURL, publishedPort, type ReachedAdminUI } from "./admin-access";
import { ALERTMANAGER_CONFIG_PATH } from "./alertmanager-config";
import { imageOf, type MonitoringDesign } from "./design";
import { peerEgress, reachingNetworks, runsAtHome, withEgress, type ServerPlacement } from "./placement";
import { PORTS, storeService, type Ports } from "./ports";
import { PROMETHEUS_CONFIG_PATH, RULES_PATH } from "./scrape-config";
import { GRAFANA_ADMIN_PASSWORD_SECRET, type MonitoringSettings } from "./settings";

/**
 * The services at the core of every monitoring stack: the metrics store and
 * its rule evaluator, Alertmanager, Loki and Grafana. Their generated files
 * (rules, scrape config, dashboards) are added later, by service name, once
 * the targets are known; Alertmanager's comes from the settings alone.
 */

/** What the stack's services are built from. */
export interface StackBuild {
  readonly design: MonitoringDesign;
  readonly settings: MonitoringSettings;
  /** Label of the environment, on every alert. */
  readonly environment: string;
  readonly ports: Ports;
  readonly uis: readonly ReachedAdminUI[];
  /** Every other service of the platform: what the scrapers and probers join networks to reach. */
  readonly others: readonly ServiceSpec[];
  readonly placement: ServerPlacement;
}

/** Docker copies files into a container before it starts, and refuses to when its root filesystem is read-only. */
export const UPLOAD_WAIVER = (what: string) => ({
  rule: "C6",
  reason: `Docker refuses uploads into a read-only root filesystem, and ${what} must be uploaded before start`,
});

/** Seed 002's store: VictoriaMetrics, with vmalert evaluating the rules; the others' Prometheus does both. */
export function storeServices(build: StackBuild): ServiceSpec[] {
  return build.design.store === "victoriametrics" ? [victoriaMetricsService(build), vmalertService(build)] : [prometheusService(build)];
}

function victoriaMetricsService({ design, settings, ports, uis }: StackBuild): ServiceSpec {
  return service({
    name: "victoriametrics",
    description: "VictoriaMetrics time-series store",
    role: "monitoring",
    image: imageOf(design, "victoriametrics"),
    networks: [design.networks.monitoring],
    ports: [publishedPort(uis, "victoriametrics", ports.victoriametrics)],
    command: [
      "-storageDataPath=/storage",
      `-retentionPeriod=${settings.retentionDays}d`,
      `-httpListenAddr=:${ports.victoriametrics}`,
      // The store's UI shows vmalert's alerts and rules through this proxy.
      `-vmalert.proxyURL=http://vmalert:${ports.vmalert}`,
    ],
    volumes: [{ volume: "data", target: "/storage" }],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.victoriametrics}/health`]),
    memoryMb: design.memoryMb.victoriametrics,
    readOnlyRootFilesystem: true,
    waivers: [
      { rule: "C9", reason: "the image defines no user and Docker creates its /storage volume root-owned; another uid needs that volume chowned first" },
    ],
    metrics: { port: ports.victoriametrics, path: "/metrics" },
  });
}

function vmalertService({ design, settings, environment, ports, uis }: StackBuild): ServiceSpec {
  return service({
    name: "vmalert",
    description: "vmalert: evaluates the alert rules against VictoriaMetrics",
    role: "monitoring",
    image: imageOf(design, "vmalert"),
    networks: [design.networks.monitoring],
    ports: [{ container: ports.vmalert }],
    command: [
      `-rule=${RULES_PATH.victoriametrics}`,
      `-datasource.url=http://victoriametrics:${ports.victoriametrics}`,
      `-notifier.url=http://alertmanager:${ports.alertmanager}`,
      // Alert state is written to the store and read back on start, so a
      // restart does not reset the `for` clocks (36 hours for backups).
      `-remoteWrite.url=http://victoriametrics:${ports.victoriametrics}`,
      `-remoteRead.url=http://victoriametrics:${ports.victoriametrics}`,
      `-evaluationInterval=${settings.evaluationIntervalSeconds}s`,
      `-httpListenAddr=:${ports.vmalert}`,
      `-external.url=${externalURL(uis, "metrics")}`,
      `-external.label=environment=${environment}`,
    ],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.vmalert}/health`]),
    memoryMb: design.memoryMb.vmalert,
    // It keeps nothing on disk, so it runs as nobody.
    user: "65534",
    waivers: [UPLOAD_WAIVER("its rule file")],
    dependsOn: ["victoriametrics", "alertmanager"],
    metrics: { port: ports.vmalert, path: "/metrics" },
  });
}

function prometheusService({ design, settings, ports, uis, others, placement }: StackBuild): ServiceSpec {
  const scraped = others.filter((other) => other.metrics && runsAtHome(placement, other));
  return service({
    name: "prometheus",
    description: "Prometheus: scrapes, stores and evaluates the alert rules",
    role: "monitoring",
    image: imageOf(design, "prometheus"),
    // It scrapes the services' own endpoints, so it joins their networks.
    networks: withEgress(reachingNetworks(scraped, design.networks.monitoring), peerEgress(placement, others, design.networks.egress)),
    ports: [publishedPort(uis, "prometheus", ports.prometheus)],
    command: [
      `--config.file=${PROMETHEUS_CONFIG_PATH}`,
      "--storage.tsdb.path=/prometheus",
      `--storage.tsdb.retention.time=${settings.retentionDays}d`,
      `--web.external-url=${externalURL(uis, "metrics")}`,
    ],
    volumes: [{ volume: "data", target: "/prometheus" }],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.prometheus}/-/healthy`]),
    memoryMb: design.memoryMb.prometheus,
    user: "65534",
    waivers: [UPLOAD_WAIVER("its configuration and rule file")],
    dependsOn: ["alertmanager"],
    metrics: { port: ports.prometheus, path: "/metrics" },
  });
}

/** Alertmanager, with its configuration: the stack's receivers (alertmanager-config.ts). */
export function alertmanagerService({ design, ports, uis }: StackBuild, config: string): ServiceSpec {
  return service({
    name: "alertmanager",
    description: "Alertmanager: groups alerts and sends them to the stack's receivers",
    role: "monitoring",
    image: imageOf(design, "alertmanager"),
    // It sends email and webhooks, so it needs the network with a route out.
    networks: [design.networks.monitoring, design.networks.egress],
    ports: [publishedPort(uis, "alertmanager", ports.alertmanager)],
    command: [
      `--config.file=${ALERTMANAGER_CONFIG_PATH}`,
      "--storage.path=/alertmanager",
      `--web.listen-address=:${ports.alertmanager}`,
      `--web.external-url=${externalURL(uis, "alerts")}`,
      // A single instance: no gossip port to open.
      "--cluster.listen-address=",
    ],
    files: [{ path: ALERTMANAGER_CONFIG_PATH, content: config }],
    volumes: [{ volume: "data", target: "/alertmanager" }],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.alertmanager}/-/healthy`]),
    memoryMb: design.memoryMb.alertmanager,
    // The image's nobody owns /alertmanager, which a new volume inherits.
    user: "65534",
    waivers: [UPLOAD_WAIVER("its configuration and the receivers' credential files")],
    metrics: { port: ports.alertmanager, path: "/metrics" },
  });
}

export function lokiService({ design, ports, uis }: StackBuild): ServiceSpec {
  return service({
    name: "loki",
    description: "Loki log store",
    role: "monitoring",
    image: imageOf(design, "loki"),
    networks: [design.networks.monitoring],
    ports: [publishedPort(uis, "loki", ports.loki)],
    command: ["-config.file=/etc/loki/local-config.yaml"],
    volumes: [{ volume: "data", target: "/loki" }],
    user: "10001",
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.loki}/ready`], 30),
    memoryMb: design.memoryMb.loki,
    // Every path of the packaged config is under /loki, the volume.
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    metrics: { port: ports.loki, path: "/metrics" },
  });
}

export function grafanaService({ design, ports, uis }: StackBuild): ServiceSpec {
  return service({
    name: "grafana",
    description: `Grafana dashboards over ${design.store === "victoriametrics" ? "VictoriaMetrics" : "Prometheus"} and Loki`,
    role: "monitoring",
    image: imageOf(design, "grafana"),
    networks: [...new Set([design.networks.frontend, design.networks.monitoring])],
    ports: [publishedPort(uis, "grafana", ports.grafana)],
    env: {
      ...(ports.grafana === PORTS.grafana ? {} : { GF_SERVER_HTTP_PORT: String(ports.grafana) }),
      GF_SECURITY_ADMIN_USER: "admin",
      GF_SERVER_ROOT_URL: externalURL(uis, "grafana"),
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_AUTH_ANONYMOUS_ENABLED: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
    },
    // The image's start script reads every GF_<SECTION>_<KEY>__FILE into GF_<SECTION>_<KEY> for Grafana.
    secretFiles: [
      { name: "grafana-admin-password", content: { secret: GRAFANA_ADMIN_PASSWORD_SECRET }, variable: "GF_SECURITY_ADMIN_PASSWORD__FILE", uid: 472 },
    ],
    volumes: [{ volume: "data", target: "/var/lib/grafana" }],
    user: "472",
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.grafana}/api/health`], 30),
    memoryMb: design.memoryMb.grafana,
    waivers: [UPLOAD_WAIVER("its datasources and dashboards")],
    dependsOn: [storeService(design).name, "loki"],
    metrics: { port: ports.grafana, path: "/metrics" },
  });
}
