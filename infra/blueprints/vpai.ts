import { DOCKER_API_URL } from "../../components/container/docker-api-proxy-spec";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { secretFileTarget } from "../../components/container/secret-files";
import { REDIS_AUTH_CONFIG_PATH, REDIS_PASSWORD_FILE, redisAuthFiles, redisHealthcheck } from "../../components/container/redis-auth";
import type { NetworkSpec } from "../../components/container/network-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import type { CaddyRoute } from "../../components/ingress/caddyfile";
import type { MonitoringDesign } from "../../components/monitoring/design";
import { adminRoutes } from "../../components/monitoring/admin-access";
import { observability } from "../../components/monitoring/observability";
import {
  ADMIN_PASSWORD_HASH_SECRET,
  ADMIN_PASSWORD_SECRET,
  GRAFANA_ADMIN_PASSWORD_SECRET,
  withMonitoringDefaults,
  type MonitoringSettings,
} from "../../components/monitoring/settings";
import {
  blueprintPath,
  proxiedRoute,
  withStackIngress,
  withUpstreams,
  type Blueprint,
  type BlueprintEnvironment,
  type PlatformSpec,
  type RouteSpec,
} from "./blueprint";

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
const OPENCLAW_GATEWAY_TOKEN = "infra:openclawGatewayToken";
const N8N_PASSWORD_HASH = "infra:n8nPasswordHash";
/** OpenClaw's gateway port: it reads OPENCLAW_GATEWAY_PORT (18789 by default), not PORT. */
const OPENCLAW_PORT = 8080;

/** n8n's encryption key, which its entrypoint reads into N8N_ENCRYPTION_KEY for n8n's process. */
const N8N_KEY_FILE = "n8n-encryption-key";

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
  n8n: 512,
  litellm: 640,
  openclaw: 448,
  postgres: 512,
  redis: 128,
  qdrant: 384,
  diun: 32,
} as const;

/**
 * Seed 002's monitoring: VictoriaMetrics (with vmalert for the rules), Loki,
 * Alloy and Grafana on the monitoring network, Alloy also on backend to reach
 * what it scrapes, Grafana also on frontend for Caddy. Alloy runs the
 * node, cAdvisor, PostgreSQL, Redis and blackbox exporters as built-in
 * components, so they cost one container instead of five; that, and trimming
 * VictoriaMetrics and Loki to what a single host's series and logs need, pays
 * for vmalert and Alertmanager within the CX23 budget.
 *
 * Grafana is the one admin UI Caddy may serve: seed 002's service matrix
 * keeps Caddy on frontend and backend, and Grafana is the only UI on
 * frontend. VictoriaMetrics, Alertmanager and Loki get no route whatever
 * `adminAccess` says; they listen on 127.0.0.1 for an SSH tunnel, and are
 * meant to be reached through seed 002's VPN (Headscale on the ops host,
 * built apart from this blueprint).
 */
export const VPAI_MONITORING: MonitoringDesign = {
  store: "victoriametrics",
  agent: "alloy",
  networks: { monitoring: "monitoring", frontend: "frontend", egress: "egress", agent: ["backend", "monitoring"] },
  routableUIs: ["grafana"],
  memoryMb: {
    victoriametrics: 192,
    vmalert: 32,
    prometheus: 0,
    alertmanager: 32,
    loki: 192,
    alloy: 224,
    promtail: 0,
    grafana: 160,
    "node-exporter": 0,
    cadvisor: 0,
    "postgres-exporter": 0,
    "redis-exporter": 0,
    "nginx-exporter": 0,
    "blackbox-exporter": 0,
  },
};

/** Caddy's metrics listener, inside the Docker networks only. */
const CADDY_METRICS_PORT = 2020;

/**
 * n8n 1.x gives its owner account to whoever first completes /setup, and
 * the pinned 1.72 cannot take the owner from its environment (n8n added
 * N8N_INSTANCE_OWNER_MANAGED_BY_ENV only later). So Caddy asks for a
 * password of n8n's own before anything of it, its editor, its REST API and
 * the setup among them; only production webhooks, which their callers reach
 * by a path of their own, stay public. Test webhooks (/webhook-test/), forms
 * and wait resumptions ask for it too.
 */
export const N8N_CREDENTIAL = { user: "n8n", passwordHashSecret: N8N_PASSWORD_HASH } as const;
export const N8N_PUBLIC_PATHS: readonly string[] = ["/webhook/"];
/** Where n8n's first visitor claims it: the setup page and the call it makes (E1). */
const N8N_SETUP_PATHS: readonly string[] = ["/rest/owner/setup", "/setup"];

/** A route as Caddy serves it: the monitoring admin's password for `basicAuth: true`, a route's own credential otherwise. */
function caddyRoute(route: RouteSpec, domain: string, adminUser: string): CaddyRoute {
  const credential =
    route.basicAuth === true
      ? { user: adminUser }
      : route.basicAuth
        ? { user: route.basicAuth.user, passwordHashSecret: route.basicAuth.passwordHashSecret }
        : undefined;
  return { ...proxiedRoute(route, domain), ...(credential ? { basicAuth: credential } : {}) };
}

function services(environment: BlueprintEnvironment, routes: readonly RouteSpec[], settings: MonitoringSettings): ServiceSpec[] {
  // The monitoring admin's route to Grafana (basicAuth: true), as opposed to n8n's, which has a credential of its own.
  const adminRouted = routes.some((route) => route.basicAuth === true);
  const url = (subdomain: string) => `https://${subdomain}.${environment.domain}`;
  return [
    {
      ...caddyServiceSpec(
        routes.map((route) => caddyRoute(route, environment.domain, settings.adminUser)),
        {
          // Seed 002's matrix: Caddy on frontend and backend only. It reaches
          // Grafana, the one admin UI it serves, on frontend; nothing of the
          // monitoring network is within its reach.
          networks: ["frontend", "backend"],
          memoryMb: MEMORY_MB.caddy,
          dependsOn: ["n8n", "litellm"],
          metricsPort: CADDY_METRICS_PORT,
          // `caddy` holds the password, which Caddy hashes at start; `ingress` the bcrypt hash, as every proxy takes it.
          ...(adminRouted
            ? settings.adminAccess === "ingress"
              ? { basicAuthPasswordHashSecret: ADMIN_PASSWORD_HASH_SECRET }
              : { basicAuthPasswordSecret: ADMIN_PASSWORD_SECRET }
            : {}),
        },
      ),
      waivers: [
        { rule: "C6", reason: "the Caddyfile is uploaded into /etc/caddy before start, and Docker refuses uploads into a read-only root filesystem" },
        { rule: "C9", reason: "the caddy image has no unprivileged user; it binds 80/443 with NET_BIND_SERVICE as its only capability" },
      ],
    },
    service({
      name: "postgres",
      description: "PostgreSQL for n8n, LiteLLM and OpenClaw",
      role: "data",
      image: { repository: "postgres", tag: "16.6-alpine" },
      networks: ["backend"],
      ports: [{ container: 5432 }],
      env: { POSTGRES_USER: "postgres", PGDATA: "/var/lib/postgresql/data/pgdata" },
      // The entrypoint reads POSTGRES_PASSWORD_FILE; it runs as postgres, uid 70 in the alpine image.
      secretFiles: [{ name: "postgres-password", content: { secret: POSTGRES_PASSWORD }, variable: "POSTGRES_PASSWORD_FILE", uid: 70 }],
      volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
      files: [{ path: "/docker-entrypoint-initdb.d/10-databases.sh", content: createDatabasesScript(), executable: true }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres -d postgres"]),
      memoryMb: MEMORY_MB.postgres,
      exporter: { kind: "postgres", user: "postgres", database: "postgres", passwordSecret: POSTGRES_PASSWORD },
      // Seed 002: pg_dump of the three databases.
      backup: { dump: { kind: "postgres", user: "postgres", databases: VPAI_DATABASES } },
      // The image's postgres user (uid 70) owns PGDATA in a new volume, so
      // the entrypoint needs no chown or setuid and every capability stays dropped.
      user: "postgres",
      tmpfs: ["/var/run/postgresql"],
      waivers: [
        {
          rule: "C6",
          reason:
            "the database-creation script is uploaded into /docker-entrypoint-initdb.d before start, and Docker refuses uploads into a read-only root filesystem",
        },
      ],
    }),
    service({
      name: "redis",
      description: "Redis cache for LiteLLM and OpenClaw",
      role: "data",
      image: { repository: "redis", tag: "7.4.1-alpine" },
      networks: ["backend"],
      ports: [{ container: 6379 }],
      // requirepass comes from a configuration file (redis-auth.ts), so the
      // password is in neither the environment nor the command line.
      command: ["sh", "-c", `exec redis-server ${REDIS_AUTH_CONFIG_PATH} --appendonly yes --maxmemory 96mb --maxmemory-policy allkeys-lru`],
      // The image's redis user is uid 999.
      secretFiles: redisAuthFiles(REDIS_PASSWORD, 999),
      volumes: [{ volume: "data", target: "/data" }],
      healthcheck: redisHealthcheck(),
      memoryMb: MEMORY_MB.redis,
      exporter: { kind: "redis", passwordSecret: REDIS_PASSWORD },
      backup: { dump: { kind: "redis", passwordFile: REDIS_PASSWORD_FILE } },
      // `sh -c` skips the entrypoint's switch to the redis user, and root
      // without capabilities cannot write the redis-owned /data: run as redis.
      user: "redis",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
    }),
    service({
      name: "qdrant",
      description: "Qdrant vector database for OpenClaw",
      role: "data",
      image: { repository: "qdrant/qdrant", tag: "v1.12.5" },
      networks: ["backend"],
      ports: [{ container: 6333 }],
      env: { QDRANT__TELEMETRY_DISABLED: "true" },
      // Qdrant has no _FILE variable, but merges config/local.yaml (under its
      // working directory /qdrant) over its own configuration before the
      // QDRANT__ variables; it runs as root (C9 below).
      secretFiles: [
        {
          name: "qdrant-local.yaml",
          content: { secretTemplate: `service:\n  api_key: {{${QDRANT_API_KEY}}}\n`, encoding: "json" },
          target: "/qdrant/config/local.yaml",
          uid: 0,
        },
      ],
      volumes: [
        { volume: "storage", target: "/qdrant/storage" },
        { volume: "snapshots", target: "/qdrant/snapshots" },
      ],
      healthcheck: healthcheck(["CMD-SHELL", "bash -c ':> /dev/tcp/127.0.0.1/6333'"]),
      memoryMb: MEMORY_MB.qdrant,
      // The snapshots volume is where the API writes; the job downloads and deletes them.
      backup: { dump: { kind: "qdrant", port: 6333, apiKeySecret: QDRANT_API_KEY } },
      waivers: [
        { rule: "C6", reason: "qdrant writes .qdrant-initialized into its working directory /qdrant, next to its binary, so no tmpfs can cover it" },
        {
          rule: "C9",
          reason: "the pinned image runs as root and owns /qdrant as root; the -unprivileged variant is a different image, to roll out and verify on its own",
        },
      ],
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
        N8N_HOST: `n8n.${environment.domain}`,
        N8N_PROTOCOL: "https",
        WEBHOOK_URL: `${url("n8n")}/`,
        N8N_DIAGNOSTICS_ENABLED: "false",
        N8N_METRICS: "true",
      },
      // n8n's configuration reads any of its variables from the file named by
      // <variable>_FILE (@n8n/config), DB_POSTGRESDB_PASSWORD among them. The
      // encryption key it reads from N8N_ENCRYPTION_KEY only (n8n 1.72: the
      // _FILE variant came with n8n pull request 20230, 2025), so the
      // entrypoint sets that one for n8n's own process from its file, then
      // runs the image's entrypoint. The image's node user is uid 1000.
      secretFiles: [
        { name: "postgres-password", content: { secret: POSTGRES_PASSWORD }, variable: "DB_POSTGRESDB_PASSWORD_FILE", uid: 1000 },
        { name: N8N_KEY_FILE, content: { secret: N8N_ENCRYPTION_KEY }, uid: 1000 },
      ],
      entrypoint: [
        "tini",
        "--",
        "sh",
        "-c",
        `N8N_ENCRYPTION_KEY="$(cat ${secretFileTarget({ name: N8N_KEY_FILE })})" && export N8N_ENCRYPTION_KEY && exec /docker-entrypoint.sh "$@"`,
        "n8n",
      ],
      volumes: [{ volume: "data", target: "/home/node/.n8n" }],
      user: "node",
      healthcheck: healthcheck(["CMD-SHELL", "wget -q --spider http://127.0.0.1:5678/healthz"], 60),
      memoryMb: MEMORY_MB.n8n,
      // Seed 002 exports the workflows; the volume keeps n8n's own config and binary data.
      backup: { dump: { kind: "n8n-workflows" }, volumes: ["data"] },
      waivers: [
        {
          rule: "C6",
          reason:
            "n8n writes caches and task-runner files under /home/node and /tmp outside its .n8n volume; a read-only root needs the image's write paths mapped to tmpfs and checked on a running container first",
        },
      ],
      dependsOn: ["postgres"],
      // Scraped over the backend network; Caddy never serves it (E2).
      metrics: { port: 5678, path: "/metrics" },
      firstVisitorSetup: { paths: N8N_SETUP_PATHS },
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
      waivers: [
        {
          rule: "C6",
          reason:
            "the proxy runs its Prisma migrations at start and Prisma keeps its engines under the image's home directory; a read-only root needs the image's write paths mapped to tmpfs and checked on a running container first",
        },
        { rule: "C9", reason: "the litellm image defines no unprivileged user; running it under another uid needs the same start-up verification" },
        {
          rule: "C15",
          reason:
            "LiteLLM reads DATABASE_URL, LITELLM_MASTER_KEY and REDIS_PASSWORD from its environment only; it has no *_FILE variant, and wrapping its start script needs the same start-up verification",
        },
      ],
      dependsOn: ["postgres", "redis"],
    }),
    service({
      name: "openclaw",
      description: "OpenClaw agent gateway, using LiteLLM as its model API",
      role: "app",
      image: { repository: "ghcr.io/openclaw/openclaw", tag: "2026.1.30" },
      networks: ["backend", "egress"],
      ports: [{ container: OPENCLAW_PORT }],
      env: {
        DATABASE_URL: postgresURL("openclaw"),
        REDIS_URL: { secretTemplate: `redis://:{{${REDIS_PASSWORD}}}@redis:6379/1` },
        QDRANT_URL: "http://qdrant:6333",
        QDRANT_API_KEY: { secret: QDRANT_API_KEY },
        OPENAI_BASE_URL: "http://litellm:4000",
        OPENAI_API_KEY: { secret: LITELLM_MASTER_KEY },
        OPENCLAW_GATEWAY_PORT: String(OPENCLAW_PORT),
        // The gateway listens beyond 127.0.0.1 (where Caddy reaches it) only with a token.
        OPENCLAW_GATEWAY_TOKEN: { secret: OPENCLAW_GATEWAY_TOKEN },
      },
      command: ["node", "openclaw.mjs", "gateway", "--allow-unconfigured", "--bind", "lan"],
      // The image has no /home/node/.openclaw: a volume mounted there would be
      // root's, and the gateway, as node, could not write its state. Mounted on
      // node's home, the volume takes the home's owner when first created.
      volumes: [{ volume: "data", target: "/home/node" }],
      user: "node",
      healthcheck: healthcheck(
        ["CMD-SHELL", `node -e "fetch('http://127.0.0.1:${OPENCLAW_PORT}/').then(r=>process.exit(r.status<500?0:1),()=>process.exit(1))"`],
        60,
      ),
      memoryMb: MEMORY_MB.openclaw,
      backup: { volumes: ["data"] },
      waivers: [
        {
          rule: "C6",
          reason:
            "OpenClaw writes caches under /home/node outside its .openclaw volume; a read-only root needs the image's write paths mapped to tmpfs and checked on a running container first",
        },
        { rule: "C15", reason: "OpenClaw reads its database and Redis URLs and its API keys from its environment only; its image documents no *_FILE variant" },
      ],
      dependsOn: ["postgres", "redis", "qdrant"],
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
        DIUN_PROVIDERS_DOCKER_ENDPOINT: DOCKER_API_URL,
      },
      volumes: [{ volume: "data", target: "/data" }],
      // Seed 002 gives DIUN the Docker socket; it gets the socket proxy instead
      // (C14): the server's version, the container list and each image's
      // metadata (crazy-max/diun pkg/docker), and no container's environment.
      dockerAPI: ["ping", "version", "container-list", "image-inspect"],
      healthcheck: healthcheck(["CMD-SHELL", "pgrep diun >/dev/null"]),
      memoryMb: MEMORY_MB.diun,
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
      waivers: [
        {
          rule: "C9",
          reason:
            "the image defines no user and Docker creates its /data volume root-owned, where DIUN keeps its database; another uid needs that volume chowned first",
        },
      ],
    }),
  ];
}

/**
 * Seed 002: Caddy reverse-proxies n8n, LiteLLM, OpenClaw and Grafana. Grafana
 * is an admin UI, so its route comes with the monitoring stack's, behind
 * basic_auth, when the stack sets `adminAccess: caddy` (or `ingress`); it is
 * the only admin route (VPAI_MONITORING.routableUIs).
 */
export const VPAI_ROUTES: readonly RouteSpec[] = [
  { subdomain: "n8n", service: "n8n", port: 5678, basicAuth: N8N_CREDENTIAL, publicPaths: N8N_PUBLIC_PATHS },
  { subdomain: "llm", service: "litellm", port: 4000 },
  { subdomain: "openclaw", service: "openclaw", port: OPENCLAW_PORT },
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
    { key: OPENCLAW_GATEWAY_TOKEN, purpose: "OpenClaw gateway token: its gateway listens beyond localhost only with one" },
    {
      key: N8N_PASSWORD_HASH,
      purpose:
        "bcrypt hash of the password Caddy asks user n8n for before n8n's editor and its owner setup (webhooks stay public): htpasswd -nbBC 10 n8n <password> | cut -d: -f2",
      bcryptHash: true,
    },
    { key: GRAFANA_ADMIN_PASSWORD_SECRET, purpose: "Grafana admin password", adminPassword: true },
  ],
  roles: ["ingress", "app", "data", "monitoring"],
  systemReserveMb: 512,
  build(environment): PlatformSpec {
    const settings = environment.monitoring ?? withMonitoringDefaults();
    const routes = withUpstreams(withStackIngress([...VPAI_ROUTES, ...adminRoutes(VPAI_MONITORING, settings)], environment.ingress), environment.upstreams);
    const platform = services(environment, routes, settings);
    const monitoring = observability({
      design: VPAI_MONITORING,
      designPath: blueprintPath("vpai"),
      settings,
      environment: environment.environment,
      hostname: environment.servers?.find((server) => server.roles.includes("monitoring"))?.name ?? "host",
      domain: environment.domain,
      services: platform,
      routes,
      containerName: (service) => `vpai-${service}`,
      released: Object.keys(environment.upstreams ?? {}),
    });
    return {
      networks: VPAI_NETWORKS,
      services: [...platform, ...monitoring.services],
      routes,
      monitoring: monitoring.plan,
      buckets: [
        { key: "backups", purpose: "restic repository (encrypted), GFS retention" },
        { key: "shared", purpose: "raw seed data and exports; preprod is seeded from it" },
      ],
      ...(monitoring.problems.length > 0 ? { problems: monitoring.problems } : {}),
    };
  },
};
