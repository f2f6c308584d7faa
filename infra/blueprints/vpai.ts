import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import type { Blueprint, BlueprintEnvironment, PlatformSpec, RouteSpec } from "./blueprint";

/**
 * VPAI, the self-hosted AI stack of seed 002: four segmented Docker networks,
 * Caddy in front of n8n, LiteLLM, OpenClaw and Grafana, PostgreSQL, Redis and
 * Qdrant behind them, VictoriaMetrics, Loki and Alloy for monitoring, DIUN for
 * image updates, and two buckets (backups, shared).
 */

const POSTGRES_PASSWORD = "infra:postgresPassword";
const REDIS_PASSWORD = "infra:redisPassword";
const QDRANT_API_KEY = "infra:qdrantApiKey";
const N8N_ENCRYPTION_KEY = "infra:n8nEncryptionKey";
const LITELLM_MASTER_KEY = "infra:litellmMasterKey";
const GRAFANA_ADMIN_PASSWORD = "infra:grafanaAdminPassword";

/** Seed 002, section 2: the four networks and their subnets. */
export const VPAI_NETWORKS: readonly NetworkSpec[] = [
  { key: "frontend", subnet: "172.20.1.0/24", internal: false, purpose: "Caddy and Grafana, reachable from the host's published ports" },
  { key: "backend", subnet: "172.20.2.0/24", internal: true, purpose: "applications and their databases; no route out" },
  { key: "monitoring", subnet: "172.20.3.0/24", internal: true, purpose: "metrics and logs; no route out" },
  { key: "egress", subnet: "172.20.4.0/24", internal: false, purpose: "outbound access for services that call external APIs" },
];

/** Databases each application owns in the shared PostgreSQL (seed 002 dumps three). */
export const VPAI_DATABASES = ["n8n", "litellm", "openclaw"] as const;

function createDatabasesScript(): string {
  // Runs once, on the first start of an empty data volume.
  return [
    "#!/bin/sh",
    "set -eu",
    ...VPAI_DATABASES.map((database) => `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c 'CREATE DATABASE ${database}'`),
    "",
  ].join("\n");
}

function postgresURL(database: string): { secretTemplate: string } {
  return { secretTemplate: `postgresql://postgres:{{${POSTGRES_PASSWORD}}}@postgres:5432/${database}` };
}

/** Memory limits sized so the whole stack fits a 4 GB CX23 (seed 002's preprod) with 512 MB for the OS. */
const MEMORY_MB = {
  caddy: 64,
  grafana: 192,
  n8n: 512,
  litellm: 640,
  openclaw: 448,
  postgres: 512,
  redis: 128,
  qdrant: 384,
  victoriametrics: 256,
  loki: 256,
  alloy: 128,
  diun: 32,
} as const;

const ALLOY_CONFIG = `// Ships container logs to Loki and the stack's own metrics to VictoriaMetrics.
discovery.docker "containers" {
  host = "unix:///var/run/docker.sock"
}

discovery.relabel "containers" {
  targets = discovery.docker.containers.targets
  rule {
    source_labels = ["__meta_docker_container_name"]
    regex         = "/(.*)"
    target_label  = "container"
  }
}

loki.source.docker "containers" {
  host          = "unix:///var/run/docker.sock"
  targets       = discovery.relabel.containers.output
  relabel_rules = discovery.relabel.containers.rules
  forward_to    = [loki.write.local.receiver]
}

loki.write "local" {
  endpoint {
    url = "http://loki:3100/loki/api/v1/push"
  }
}

prometheus.scrape "stack" {
  targets = [
    {"__address__" = "victoriametrics:8428", "job" = "victoriametrics"},
    {"__address__" = "loki:3100", "job" = "loki"},
    {"__address__" = "127.0.0.1:12345", "job" = "alloy"},
  ]
  scrape_interval = "15s"
  forward_to      = [prometheus.remote_write.victoriametrics.receiver]
}

prometheus.remote_write "victoriametrics" {
  endpoint {
    url = "http://victoriametrics:8428/api/v1/write"
  }
}
`;

function services(environment: BlueprintEnvironment, routes: readonly RouteSpec[]): ServiceSpec[] {
  const url = (subdomain: string) => `https://${subdomain}.${environment.domain}`;
  const dockerSocketReadOnly = { hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true };
  return [
    caddyServiceSpec(
      routes.map((route) => ({ hostname: `${route.subdomain}.${environment.domain}`, service: route.service, port: route.port })),
      { networks: ["frontend", "backend"], memoryMb: MEMORY_MB.caddy, dependsOn: ["n8n", "litellm"] },
    ),
    service({
      name: "postgres",
      description: "PostgreSQL for n8n, LiteLLM and OpenClaw",
      role: "data",
      image: { repository: "postgres", tag: "16.6-alpine" },
      networks: ["backend"],
      ports: [{ container: 5432 }],
      env: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: { secret: POSTGRES_PASSWORD }, PGDATA: "/var/lib/postgresql/data/pgdata" },
      volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
      files: [{ path: "/docker-entrypoint-initdb.d/10-databases.sh", content: createDatabasesScript(), executable: true }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres -d postgres"]),
      memoryMb: MEMORY_MB.postgres,
      // The entrypoint fixes data-directory ownership, then drops to the postgres user.
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      tmpfs: ["/var/run/postgresql"],
    }),
    service({
      name: "redis",
      description: "Redis cache for LiteLLM and OpenClaw",
      role: "data",
      image: { repository: "redis", tag: "7.4.1-alpine" },
      networks: ["backend"],
      ports: [{ container: 6379 }],
      // The password comes from the environment so it never shows in the command line.
      command: ["sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --maxmemory 96mb --maxmemory-policy allkeys-lru'],
      env: { REDIS_PASSWORD: { secret: REDIS_PASSWORD }, REDISCLI_AUTH: { secret: REDIS_PASSWORD } },
      volumes: [{ volume: "data", target: "/data" }],
      healthcheck: healthcheck(["CMD-SHELL", "redis-cli ping | grep -q PONG"]),
      memoryMb: MEMORY_MB.redis,
      capAdd: ["SETGID", "SETUID"],
    }),
    service({
      name: "qdrant",
      description: "Qdrant vector database for OpenClaw",
      role: "data",
      image: { repository: "qdrant/qdrant", tag: "v1.12.5" },
      networks: ["backend"],
      ports: [{ container: 6333 }],
      env: { QDRANT__SERVICE__API_KEY: { secret: QDRANT_API_KEY }, QDRANT__TELEMETRY_DISABLED: "true" },
      volumes: [{ volume: "storage", target: "/qdrant/storage" }, { volume: "snapshots", target: "/qdrant/snapshots" }],
      healthcheck: healthcheck(["CMD-SHELL", "bash -c ':> /dev/tcp/127.0.0.1/6333'"]),
      memoryMb: MEMORY_MB.qdrant,
    }),
    service({
      name: "n8n",
      description: "n8n workflow automation",
      role: "app",
      image: { repository: "n8nio/n8n", tag: "1.72.1" },
      networks: ["backend", "egress"],
      ports: [{ container: 5678 }],
      env: {
        DB_TYPE: "postgresdb",
        DB_POSTGRESDB_HOST: "postgres",
        DB_POSTGRESDB_DATABASE: "n8n",
        DB_POSTGRESDB_USER: "postgres",
        DB_POSTGRESDB_PASSWORD: { secret: POSTGRES_PASSWORD },
        N8N_ENCRYPTION_KEY: { secret: N8N_ENCRYPTION_KEY },
        N8N_HOST: `n8n.${environment.domain}`,
        N8N_PROTOCOL: "https",
        WEBHOOK_URL: `${url("n8n")}/`,
        N8N_DIAGNOSTICS_ENABLED: "false",
        N8N_METRICS: "true",
      },
      volumes: [{ volume: "data", target: "/home/node/.n8n" }],
      user: "node",
      healthcheck: healthcheck(["CMD-SHELL", "wget -q --spider http://127.0.0.1:5678/healthz"], 60),
      memoryMb: MEMORY_MB.n8n,
      dependsOn: ["postgres"],
      metrics: { port: 5678, path: "/metrics" },
    }),
    service({
      name: "litellm",
      description: "LiteLLM proxy to OpenAI and Anthropic",
      role: "app",
      image: { repository: "ghcr.io/berriai/litellm", tag: "main-v1.55.8" },
      networks: ["backend", "egress"],
      ports: [{ container: 4000 }],
      env: {
        DATABASE_URL: postgresURL("litellm"),
        LITELLM_MASTER_KEY: { secret: LITELLM_MASTER_KEY },
        REDIS_HOST: "redis",
        REDIS_PORT: "6379",
        REDIS_PASSWORD: { secret: REDIS_PASSWORD },
        STORE_MODEL_IN_DB: "True",
      },
      healthcheck: healthcheck(["CMD-SHELL", "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness')\""], 60),
      memoryMb: MEMORY_MB.litellm,
      dependsOn: ["postgres", "redis"],
    }),
    service({
      name: "openclaw",
      description: "OpenClaw agent gateway, using LiteLLM as its model API",
      role: "app",
      image: { repository: "ghcr.io/openclaw/openclaw", tag: "2026.1.30" },
      networks: ["backend", "egress"],
      ports: [{ container: 8080 }],
      env: {
        DATABASE_URL: postgresURL("openclaw"),
        REDIS_URL: { secretTemplate: `redis://:{{${REDIS_PASSWORD}}}@redis:6379/1` },
        QDRANT_URL: "http://qdrant:6333",
        QDRANT_API_KEY: { secret: QDRANT_API_KEY },
        OPENAI_BASE_URL: "http://litellm:4000",
        OPENAI_API_KEY: { secret: LITELLM_MASTER_KEY },
        PORT: "8080",
      },
      volumes: [{ volume: "data", target: "/home/node/.openclaw" }],
      user: "node",
      healthcheck: healthcheck(["CMD-SHELL", "node -e \"fetch('http://127.0.0.1:8080/').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))\""], 60),
      memoryMb: MEMORY_MB.openclaw,
      dependsOn: ["postgres", "redis", "qdrant"],
    }),
    service({
      name: "victoriametrics",
      description: "VictoriaMetrics time-series store",
      role: "monitoring",
      image: { repository: "victoriametrics/victoria-metrics", tag: "v1.108.1" },
      networks: ["monitoring"],
      ports: [{ container: 8428 }],
      command: ["-storageDataPath=/storage", "-retentionPeriod=90d", "-httpListenAddr=:8428"],
      volumes: [{ volume: "data", target: "/storage" }],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8428/health"]),
      memoryMb: MEMORY_MB.victoriametrics,
      readOnlyRootFilesystem: true,
      metrics: { port: 8428, path: "/metrics" },
    }),
    service({
      name: "loki",
      description: "Loki log store",
      role: "monitoring",
      image: { repository: "grafana/loki", tag: "3.3.2" },
      networks: ["monitoring"],
      ports: [{ container: 3100 }],
      command: ["-config.file=/etc/loki/local-config.yaml"],
      volumes: [{ volume: "data", target: "/loki" }],
      user: "10001",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3100/ready"], 30),
      memoryMb: MEMORY_MB.loki,
      metrics: { port: 3100, path: "/metrics" },
    }),
    service({
      name: "alloy",
      description: "Grafana Alloy: container logs to Loki, metrics to VictoriaMetrics",
      role: "monitoring",
      image: { repository: "grafana/alloy", tag: "v1.5.1" },
      networks: ["backend", "monitoring"],
      ports: [{ container: 12345 }],
      command: ["run", "--server.http.listen-addr=0.0.0.0:12345", "--storage.path=/var/lib/alloy/data", "/etc/alloy/config.alloy"],
      files: [{ path: "/etc/alloy/config.alloy", content: ALLOY_CONFIG }],
      volumes: [{ volume: "data", target: "/var/lib/alloy/data" }],
      // Reading container logs is what a log shipper is for; read-only (C3 allow-list).
      binds: [dockerSocketReadOnly],
      healthcheck: healthcheck(["CMD-SHELL", "bash -c ':> /dev/tcp/127.0.0.1/12345'"]),
      memoryMb: MEMORY_MB.alloy,
      dependsOn: ["victoriametrics", "loki"],
      metrics: { port: 12345, path: "/metrics" },
    }),
    service({
      name: "grafana",
      description: "Grafana dashboards over VictoriaMetrics and Loki",
      role: "monitoring",
      image: { repository: "grafana/grafana", tag: "11.4.0" },
      networks: ["frontend", "monitoring"],
      ports: [{ container: 3000 }],
      env: {
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SECURITY_ADMIN_PASSWORD: { secret: GRAFANA_ADMIN_PASSWORD },
        GF_SERVER_ROOT_URL: url("grafana"),
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
      },
      volumes: [{ volume: "data", target: "/var/lib/grafana" }],
      user: "472",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3000/api/health"], 30),
      memoryMb: MEMORY_MB.grafana,
      dependsOn: ["victoriametrics", "loki"],
      metrics: { port: 3000, path: "/metrics" },
    }),
    service({
      name: "diun",
      description: "DIUN: notifies when a pinned image has a newer tag",
      role: "monitoring",
      image: { repository: "crazymax/diun", tag: "4.29.0" },
      // DIUN is on none of the seed's four networks; it still needs the
      // registries, so it joins egress, where nothing internal listens.
      networks: ["egress"],
      env: {
        TZ: "UTC",
        DIUN_WATCH_SCHEDULE: "0 */6 * * *",
        DIUN_PROVIDERS_DOCKER: "true",
        DIUN_PROVIDERS_DOCKER_WATCHBYDEFAULT: "true",
      },
      volumes: [{ volume: "data", target: "/data" }],
      // Seed 002: DIUN reads the Docker socket, read-only (C3 allow-list).
      binds: [dockerSocketReadOnly],
      healthcheck: healthcheck(["CMD-SHELL", "pgrep diun >/dev/null"]),
      memoryMb: MEMORY_MB.diun,
    }),
  ];
}

/** Seed 002: Caddy reverse-proxies these four. */
export const VPAI_ROUTES: readonly RouteSpec[] = [
  { subdomain: "n8n", service: "n8n", port: 5678 },
  { subdomain: "llm", service: "litellm", port: 4000 },
  { subdomain: "openclaw", service: "openclaw", port: 8080 },
  { subdomain: "grafana", service: "grafana", port: 3000 },
];

export const vpai: Blueprint = {
  name: "vpai",
  title: "VPAI self-hosted AI stack",
  seed: "002",
  namePrefix: "vpai",
  secrets: [
    { key: POSTGRES_PASSWORD, purpose: "PostgreSQL superuser password" },
    { key: REDIS_PASSWORD, purpose: "Redis requirepass" },
    { key: QDRANT_API_KEY, purpose: "Qdrant API key" },
    { key: N8N_ENCRYPTION_KEY, purpose: "n8n credentials encryption key" },
    { key: LITELLM_MASTER_KEY, purpose: "LiteLLM master key (also OpenClaw's API key to it)" },
    { key: GRAFANA_ADMIN_PASSWORD, purpose: "Grafana admin password" },
  ],
  roles: ["ingress", "app", "data", "monitoring"],
  systemReserveMb: 512,
  build(environment): PlatformSpec {
    return {
      networks: VPAI_NETWORKS,
      services: services(environment, VPAI_ROUTES),
      routes: VPAI_ROUTES,
      buckets: [
        { key: "backups", purpose: "restic repository (encrypted), GFS retention" },
        { key: "shared", purpose: "raw seed data and exports; preprod is seeded from it" },
      ],
    };
  },
};
