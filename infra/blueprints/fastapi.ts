import type { BalancerInFront } from "../../components/ingress/nginx-conf";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import { FASTAPI_REQUESTS } from "../../components/monitoring/alert-rules";
import { memoryLimits, type MonitoringDesign } from "../../components/monitoring/design";
import type { AdminRoute } from "../../components/monitoring/admin-access";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { certbotServiceSpec, nginxServiceSpec } from "../../components/ingress/nginx-spec";
import { protectedRoute, type Blueprint, type PlatformSpec, type RouteSpec } from "./blueprint";
import { monitoredPlatform } from "./monitored-platform";

/**
 * FastAPI on one small server (seed 001, a 2 vCPU / 4 GB Vultr machine):
 * nginx with TLS and rate limiting in front of the backend, PostgreSQL 16,
 * and the generated Prometheus stack: Prometheus, Loki with Promtail,
 * Grafana, Alertmanager (email from the stack's receivers), node and
 * PostgreSQL exporters, plus cAdvisor and the blackbox exporter the
 * generated container and route alerts read. Every admin UI is reached
 * through an SSH tunnel only (seed 001), unless the stack sets
 * `adminAccess: ingress`: then nginx routes them behind basic auth.
 */

const POSTGRES_PASSWORD = "infra:postgresPassword";
const JWT_SECRET = "infra:jwtSecret";
const GRAFANA_ADMIN_PASSWORD = "infra:grafanaAdminPassword";
const ACME_TOKEN = "infra:acmeCloudflareToken";

/** Seed 001's resource table for the application side, per component. */
export const FASTAPI_MEMORY_MB: Readonly<Record<string, number>> = {
  nginx: 32,
  certbot: 64,
  backend: 300,
  postgres: 512,
};

/**
 * Seed 001's monitoring on its one bridge network (`internal`), Alertmanager
 * also on `edge` to send its email. Prometheus ~400 MB, Grafana ~200 MB and
 * Loki ~300 MB as in the seed's resource table; the small parts (the seed's
 * "Other (exporters) ~100MB", Promtail and Alertmanager) share 224 MB, so the
 * 4 GB server keeps the seed's ~1 GB available beside its ~1 GB for the OS.
 */
export const FASTAPI_MONITORING: MonitoringDesign = {
  store: "prometheus",
  agent: "exporters",
  networks: { monitoring: "internal", frontend: "internal", egress: "edge", agent: [] },
  memoryMb: memoryLimits({
    prometheus: 400,
    grafana: 200,
    loki: 300,
    promtail: 48,
    alertmanager: 32,
    "node-exporter": 32,
    "postgres-exporter": 32,
    cadvisor: 64,
    "blackbox-exporter": 16,
  }),
};

/** Seed 001, "Port Mapping": the application's internal ports (the monitoring stack's are the images' own, as in the seed). */
export const FASTAPI_PORTS: Readonly<Record<string, number>> = {
  backend: 8000,
  postgres: 5432,
};

export const FASTAPI_NETWORKS: readonly NetworkSpec[] = [
  { key: "edge", subnet: "172.26.1.0/24", internal: false, purpose: "nginx and the backend; Let's Encrypt and alert email go out from here" },
  { key: "internal", subnet: "172.26.2.0/24", internal: true, purpose: "seed 001's Docker bridge network for internal communication; no route out" },
];

export const FASTAPI_ROUTES: readonly RouteSpec[] = [{ subdomain: "api", service: "backend", port: 8000 }];

/** Seed 001 rate-limits at nginx; 100 a minute per client, the lower end of seed 004's range. */
export const FASTAPI_RATE_LIMIT_PER_MINUTE = 100;

const CERTIFICATE_HOST_PATH = "/var/lib/fastapi/letsencrypt";

function services(
  domain: string,
  routes: readonly RouteSpec[],
  admin: readonly AdminRoute[],
  adminUser: string,
  loadBalancer?: BalancerInFront,
): ServiceSpec[] {
  const memory = (name: string) => FASTAPI_MEMORY_MB[name]!;
  const port = (name: string) => ({ container: FASTAPI_PORTS[name]! });
  const adminServices = admin.map((route) => route.service);
  return [
    // One certificate for every name nginx serves, the admin UIs' included.
    certbotServiceSpec({
      hostnames: routes.map((route) => `${route.subdomain}.${domain}`),
      certificateName: "fastapi",
      cloudflareTokenSecret: ACME_TOKEN,
      networks: ["edge"],
      certificateHostPath: CERTIFICATE_HOST_PATH,
    }),
    nginxServiceSpec(
      routes.map((route) => protectedRoute(route, domain, adminUser)),
      {
        // The admin UIs live on the internal network.
        networks: admin.length > 0 ? ["edge", "internal"] : ["edge"],
        memoryMb: memory("nginx"),
        dependsOn: ["certbot", "backend", ...adminServices],
        // The monitoring stack is registered apart from nginx, which may start first.
        resolvePerRequest: adminServices,
        certificateHostPath: CERTIFICATE_HOST_PATH,
        certificateName: "fastapi",
        rateLimitPerMinute: FASTAPI_RATE_LIMIT_PER_MINUTE,
        burst: 30,
        realIpFrom: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6],
        realIpHeader: "CF-Connecting-IP",
        ...(loadBalancer ? { loadBalancer } : {}),
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
      waivers: [
        {
          rule: "C15",
          reason:
            "the FastAPI backend's image reads DATABASE_URL and JWT_SECRET from its environment; it has no *_FILE variant, which the application must add first",
        },
      ],
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
      env: { POSTGRES_USER: "postgres", POSTGRES_DB: "app", PGDATA: "/var/lib/postgresql/data/pgdata" },
      // The entrypoint reads POSTGRES_PASSWORD_FILE as root, before it drops to postgres.
      secretFiles: [{ name: "postgres-password", content: { secret: POSTGRES_PASSWORD }, variable: "POSTGRES_PASSWORD_FILE", uid: 0 }],
      volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres -d app"]),
      memoryMb: memory("postgres"),
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      readOnlyRootFilesystem: true,
      tmpfs: ["/var/run/postgresql", "/tmp"],
      // Seed 001: a daily pg_dump, kept 7 days locally; here it also leaves the server (B7).
      backup: { dump: { kind: "postgres", user: "postgres", databases: ["app"] } },
      // Seed 001's postgres-exporter: connections, query performance, database size.
      exporter: { kind: "postgres", user: "postgres", database: "app", passwordSecret: POSTGRES_PASSWORD },
      waivers: [{ rule: "C9", reason: "the official image starts as root to own its data directory, then runs postgres as the postgres user" }],
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
      // Seed 001: "Internal access only, expose via SSH tunnel", unless the stack routes the admin UIs.
      ...monitoredPlatform({
        blueprint: "fastapi",
        environment,
        design: FASTAPI_MONITORING,
        ingress: "nginx",
        namePrefix: "fastapi",
        routes: FASTAPI_ROUTES,
        services: ({ routes, admin, settings }) => services(environment.domain, routes, admin, settings.adminUser, environment.loadBalancer),
        // Seed 001: the backend's /metrics counts requests by status; "error_rate > 5% for 2 minutes" is read from it.
        httpCounters: [{ service: "backend", ...FASTAPI_REQUESTS }],
      }),
      buckets: [{ key: "backups", purpose: "off-site copy of the daily database dumps (seed 001: daily, 7 days)" }],
      healthCheck: { port: 80, path: "/healthz" },
    };
  },
};
