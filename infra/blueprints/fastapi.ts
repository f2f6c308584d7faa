import { stringify } from "yaml";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import { MONITORING_IMAGES } from "../../components/monitoring/design";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { certbotServiceSpec, nginxServiceSpec } from "../../components/ingress/nginx-spec";
import type { Blueprint, PlatformSpec, RouteSpec } from "./blueprint";

/**
 * FastAPI on one small server (seed 001, a 2 vCPU / 4 GB Vultr machine):
 * nginx with TLS and rate limiting in front of the backend, PostgreSQL 16,
 * Prometheus, Loki with Promtail, Grafana, Alertmanager, node and PostgreSQL
 * exporters. Grafana is reachable through an SSH tunnel only.
 */

const POSTGRES_PASSWORD = "infra:postgresPassword";
const JWT_SECRET = "infra:jwtSecret";
const GRAFANA_ADMIN_PASSWORD = "infra:grafanaAdminPassword";
const ACME_TOKEN = "infra:acmeCloudflareToken";

/** Seed 001's resource table, per component; "Other (exporters) ~100MB" split between the two exporters. */
export const FASTAPI_MEMORY_MB: Readonly<Record<string, number>> = {
  nginx: 32,
  certbot: 64,
  backend: 300,
  postgres: 512,
  prometheus: 400,
  grafana: 200,
  loki: 300,
  promtail: 64,
  alertmanager: 48,
  "node-exporter": 48,
  "postgres-exporter": 48,
};

/** Seed 001, "Port Mapping": the internal ports. */
export const FASTAPI_PORTS: Readonly<Record<string, number>> = {
  backend: 8000,
  postgres: 5432,
  prometheus: 9090,
  loki: 3100,
  promtail: 9080,
  alertmanager: 9093,
  "node-exporter": 9100,
  "postgres-exporter": 9187,
  grafana: 3000,
};

export const FASTAPI_NETWORKS: readonly NetworkSpec[] = [
  { key: "edge", subnet: "172.26.1.0/24", internal: false, purpose: "nginx and the backend; Let's Encrypt and alert email go out from here" },
  { key: "internal", subnet: "172.26.2.0/24", internal: true, purpose: "seed 001's Docker bridge network for internal communication; no route out" },
];

export const FASTAPI_ROUTES: readonly RouteSpec[] = [{ subdomain: "api", service: "backend", port: 8000 }];

/** Seed 001 rate-limits at nginx; 100 a minute per client, the lower end of seed 004's range. */
export const FASTAPI_RATE_LIMIT_PER_MINUTE = 100;

const CERTIFICATE_HOST_PATH = "/var/lib/fastapi/letsencrypt";

/** Seed 001: scrape every 15 s, evaluate every 30 s, alert on error rate > 5% for 2 minutes. */
export function fastapiPrometheusConfig(): string {
  return stringify(
    {
      global: { scrape_interval: "15s", evaluation_interval: "30s" },
      alerting: { alertmanagers: [{ static_configs: [{ targets: ["alertmanager:9093"] }] }] },
      rule_files: ["/etc/prometheus/rules.yml"],
      scrape_configs: [
        { job_name: "backend", static_configs: [{ targets: ["backend:8000"] }] },
        { job_name: "node", static_configs: [{ targets: ["node-exporter:9100"] }] },
        { job_name: "postgres", static_configs: [{ targets: ["postgres-exporter:9187"] }] },
        { job_name: "prometheus", static_configs: [{ targets: ["localhost:9090"] }] },
      ],
    },
    { lineWidth: 0 },
  );
}

export function fastapiAlertRules(): string {
  return stringify(
    {
      groups: [
        {
          name: "backend",
          rules: [
            {
              alert: "HighErrorRate",
              expr: 'sum(rate(http_requests_total{job="backend",status=~"5.."}[5m])) / sum(rate(http_requests_total{job="backend"}[5m])) > 0.05',
              for: "2m",
              labels: { severity: "critical" },
              annotations: { summary: "more than 5% of backend requests fail (seed 001)" },
            },
          ],
        },
      ],
    },
    { lineWidth: 0 },
  );
}

const PROMTAIL_CONFIG = stringify(
  {
    server: { http_listen_port: 9080 },
    positions: { filename: "/tmp/positions.yaml" },
    clients: [{ url: "http://loki:3100/loki/api/v1/push" }],
    scrape_configs: [
      {
        job_name: "containers",
        docker_sd_configs: [{ host: "unix:///var/run/docker.sock", refresh_interval: "15s" }],
        relabel_configs: [{ source_labels: ["__meta_docker_container_name"], regex: "/(.*)", target_label: "container" }],
      },
    ],
  },
  { lineWidth: 0 },
);

const uploaded = (what: string) => ({ rule: "C6", reason: `${what} is uploaded before start, and Docker refuses uploads into a read-only root filesystem` });

function services(domain: string): ServiceSpec[] {
  const memory = (name: string) => FASTAPI_MEMORY_MB[name]!;
  const port = (name: string) => ({ container: FASTAPI_PORTS[name]! });
  return [
    certbotServiceSpec({ hostnames: FASTAPI_ROUTES.map((route) => `${route.subdomain}.${domain}`), certificateName: "fastapi", cloudflareTokenSecret: ACME_TOKEN, networks: ["edge"], certificateHostPath: CERTIFICATE_HOST_PATH }),
    nginxServiceSpec(
      FASTAPI_ROUTES.map((route) => ({ hostname: `${route.subdomain}.${domain}`, service: route.service, port: route.port })),
      {
        networks: ["edge"],
        memoryMb: memory("nginx"),
        dependsOn: ["certbot", "backend"],
        certificateHostPath: CERTIFICATE_HOST_PATH,
        certificateName: "fastapi",
        rateLimitPerMinute: FASTAPI_RATE_LIMIT_PER_MINUTE,
        burst: 30,
        realIpFrom: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6],
        realIpHeader: "CF-Connecting-IP",
        clientMaxBodyMb: 10,
        healthPath: "/healthz",
        statusPort: 8081,
        statusPath: "/stub_status",
      },
    ),
    service({
      name: "backend",
      description: "FastAPI backend: JWT auth, REST API, /metrics",
      role: "app",
      image: { repository: "ghcr.io/fastapi-app/backend", tag: "1.0.0" },
      networks: ["edge", "internal"],
      ports: [port("backend")],
      env: { DATABASE_URL: { secretTemplate: `postgresql://postgres:{{${POSTGRES_PASSWORD}}}@postgres:5432/app` }, JWT_SECRET: { secret: JWT_SECRET } },
      user: "1000",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
      volumes: [{ volume: "logs", target: "/app/logs" }],
      healthcheck: healthcheck(["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"], 20),
      memoryMb: memory("backend"),
      dependsOn: ["postgres"],
      metrics: { port: 8000, path: "/metrics" },
    }),
    service({
      name: "postgres",
      description: "PostgreSQL 16: users, posts, connections",
      role: "data",
      image: { repository: "postgres", tag: "16.6-alpine" },
      networks: ["internal"],
      ports: [port("postgres")],
      env: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: { secret: POSTGRES_PASSWORD }, POSTGRES_DB: "app", PGDATA: "/var/lib/postgresql/data/pgdata" },
      volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres -d app"]),
      memoryMb: memory("postgres"),
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      readOnlyRootFilesystem: true,
      tmpfs: ["/var/run/postgresql", "/tmp"],
      // Seed 001: a daily pg_dump, kept 7 days locally; here it also leaves the server (B7).
      backup: { dump: { kind: "postgres", user: "postgres", databases: ["app"] } },
      waivers: [{ rule: "C9", reason: "the official image starts as root to own its data directory, then runs postgres as the postgres user" }],
    }),
    service({
      name: "prometheus",
      description: "Prometheus: metrics and alert rules",
      role: "monitoring",
      image: MONITORING_IMAGES.prometheus,
      networks: ["internal"],
      ports: [port("prometheus")],
      command: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=15d"],
      files: [
        { path: "/etc/prometheus/prometheus.yml", content: fastapiPrometheusConfig() },
        { path: "/etc/prometheus/rules.yml", content: fastapiAlertRules() },
      ],
      volumes: [{ volume: "data", target: "/prometheus" }],
      user: "65534",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9090/-/healthy"]),
      memoryMb: memory("prometheus"),
      waivers: [uploaded("prometheus.yml")],
    }),
    service({
      name: "alertmanager",
      description: "Alertmanager: groups and routes alerts",
      role: "monitoring",
      image: MONITORING_IMAGES.alertmanager,
      networks: ["internal", "edge"],
      ports: [port("alertmanager")],
      command: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
      files: [{ path: "/etc/alertmanager/alertmanager.yml", content: stringify({ route: { receiver: "operators", group_by: ["alertname"] }, receivers: [{ name: "operators" }] }) }],
      volumes: [{ volume: "data", target: "/alertmanager" }],
      user: "65534",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9093/-/healthy"]),
      memoryMb: memory("alertmanager"),
      waivers: [uploaded("alertmanager.yml")],
    }),
    service({
      name: "loki",
      description: "Loki: log store",
      role: "monitoring",
      image: MONITORING_IMAGES.loki,
      networks: ["internal"],
      ports: [port("loki")],
      command: ["-config.file=/etc/loki/local-config.yaml"],
      volumes: [{ volume: "data", target: "/loki" }],
      user: "10001",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3100/ready"], 30),
      memoryMb: memory("loki"),
    }),
    service({
      name: "promtail",
      description: "Promtail: container logs to Loki",
      role: "monitoring",
      image: MONITORING_IMAGES.promtail,
      networks: ["internal"],
      ports: [port("promtail")],
      command: ["-config.file=/etc/promtail/config.yml"],
      files: [{ path: "/etc/promtail/config.yml", content: PROMTAIL_CONFIG }],
      // A log shipper reading the Docker socket read-only is on the checklist's allow-list (C3).
      binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
      tmpfs: ["/tmp"],
      healthcheck: healthcheck(["CMD-SHELL", "bash -c ':> /dev/tcp/127.0.0.1/9080'"]),
      memoryMb: memory("promtail"),
      dependsOn: ["loki"],
      waivers: [uploaded("config.yml"), { rule: "C9", reason: "it reads the Docker socket (root:docker 0660), whose group id differs from host to host" }],
    }),
    service({
      name: "grafana",
      description: "Grafana: dashboards; reached through an SSH tunnel only (seed 001)",
      role: "monitoring",
      image: MONITORING_IMAGES.grafana,
      networks: ["internal"],
      // Seed 001: "Internal access only, expose via SSH tunnel".
      ports: [{ container: 3000, publish: { host: 3000, address: "127.0.0.1" } }],
      env: { GF_SECURITY_ADMIN_USER: "admin", GF_SECURITY_ADMIN_PASSWORD: { secret: GRAFANA_ADMIN_PASSWORD }, GF_USERS_ALLOW_SIGN_UP: "false", GF_ANALYTICS_REPORTING_ENABLED: "false" },
      volumes: [{ volume: "data", target: "/var/lib/grafana" }],
      user: "472",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3000/api/health"], 30),
      memoryMb: memory("grafana"),
      dependsOn: ["prometheus", "loki"],
    }),
    service({
      name: "node-exporter",
      description: "node-exporter: CPU, memory, disk and network of the host",
      role: "monitoring",
      image: MONITORING_IMAGES["node-exporter"],
      networks: ["internal"],
      ports: [port("node-exporter")],
      command: ["--path.rootfs=/host"],
      binds: [{ hostPath: "/", target: "/host", readOnly: true }],
      user: "65534",
      readOnlyRootFilesystem: true,
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9100/metrics"]),
      memoryMb: memory("node-exporter"),
      waivers: [{ rule: "C3", reason: "node-exporter reads the host's filesystems to report disk usage; the root is mounted read-only" }],
    }),
    service({
      name: "postgres-exporter",
      description: "PostgreSQL exporter: connections, query performance, database size",
      role: "monitoring",
      image: MONITORING_IMAGES["postgres-exporter"],
      networks: ["internal"],
      ports: [port("postgres-exporter")],
      env: { DATA_SOURCE_NAME: { secretTemplate: `postgresql://postgres:{{${POSTGRES_PASSWORD}}}@postgres:5432/app?sslmode=disable` } },
      user: "65534",
      readOnlyRootFilesystem: true,
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9187/metrics"]),
      memoryMb: memory("postgres-exporter"),
      dependsOn: ["postgres"],
    }),
  ];
}

export const fastapi: Blueprint = {
  name: "fastapi",
  title: "FastAPI and PostgreSQL behind nginx, with Prometheus, Loki and Grafana",
  seed: "001",
  namePrefix: "fastapi",
  secrets: [
    { key: POSTGRES_PASSWORD, purpose: "PostgreSQL superuser password" },
    { key: JWT_SECRET, purpose: "JWT signing secret of the backend" },
    // A login password: validation refuses empty, short and well-known default values.
    { key: GRAFANA_ADMIN_PASSWORD, purpose: "Grafana admin password", adminPassword: true },
    { key: ACME_TOKEN, purpose: "Cloudflare API token limited to DNS edit on the zone, for Let's Encrypt DNS-01" },
  ],
  roles: ["ingress", "app", "data", "monitoring"],
  // Seed 001: "OS & Overhead ~1GB".
  systemReserveMb: 1024,
  build(environment): PlatformSpec {
    return {
      networks: FASTAPI_NETWORKS,
      services: services(environment.domain),
      routes: FASTAPI_ROUTES,
      buckets: [{ key: "backups", purpose: "off-site copy of the daily database dumps (seed 001: daily, 7 days)" }],
      ingress: "nginx",
      healthCheck: { port: 80, path: "/healthz" },
    };
  },
};
