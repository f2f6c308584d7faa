import { healthcheck, service, type EnvValue, type PortSpec, type SecretFileSpec, type ServiceSpec } from "../../components/container/service-spec";
import { REDIS_AUTH_CONFIG_PATH, REDIS_PASSWORD_FILE, redisAuthFiles, redisHealthcheck } from "../../components/container/redis-auth";
import { secretFileTarget } from "../../components/container/secret-files";
import type { NetworkSpec } from "../../components/container/network-spec";
import { certbotServiceSpec, nginxServiceSpec } from "../../components/ingress/nginx-spec";
import type { ProxyCacheZone } from "../../components/ingress/nginx-conf";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { singleAddressCIDR } from "../../components/network/ip-ranges";
import { FASTAPI_REQUESTS } from "../../components/monitoring/alert-rules";
import { memoryLimits, type MonitoringDesign } from "../../components/monitoring/design";
import type { AdminRoute } from "../../components/monitoring/admin-access";
import { GRAFANA_ADMIN_PASSWORD_SECRET } from "../../components/monitoring/settings";
import { protectedRoute, type Blueprint, type BlueprintEnvironment, type MemoryProfile, type PlatformSpec, type RouteSpec } from "./blueprint";
import { monitoredPlatform } from "./monitored-platform";

/**
 * GALION (seed 004): nginx in front of two applications (GALION.APP and
 * GALION.STUDIO), each a frontend and an API, plus a voice and a realtime
 * service; PgBouncer in front of PostgreSQL 15 with WAL archiving and weekly
 * base backups for point-in-time recovery; Redis 7; the generated Prometheus
 * stack with node, cAdvisor, PostgreSQL, Redis and nginx exporters, plus the
 * PgBouncer exporter, Alertmanager, Loki with Promtail, Grafana and the
 * blackbox exporter. Databases and monitoring listen on localhost only.
 *
 * The same blueprint runs seed 004's five scaling phases, chosen by the
 * stack's servers alone (examples/galion/): app services run on every server
 * with the app role, the data tier on the first with the data role, a
 * streaming replica where a server takes the replica role. node-exporter,
 * cAdvisor and Promtail run on every server, each exporter beside what it
 * reads, and Prometheus on the monitoring server scrapes the others at their
 * private addresses.
 */

const POSTGRES_PASSWORD = "infra:postgresPassword";
const REDIS_PASSWORD = "infra:redisPassword";
const REPLICATION_PASSWORD = "infra:replicationPassword";
const JWT_SECRET = "infra:jwtSecret";
const OPENAI_API_KEY = "infra:openaiApiKey";
const ELEVENLABS_API_KEY = "infra:elevenlabsApiKey";
const ACME_TOKEN = "infra:acmeCloudflareToken";

/** Seed 004 names two databases: galion and galion_studio. */
export const GALION_DATABASES = ["galion", "galion_studio"] as const;

export const GALION_NETWORKS: readonly NetworkSpec[] = [
  // First of the non-internal networks: cross-server forwarders leave the host through it.
  { key: "egress", subnet: "172.24.4.0/24", internal: false, purpose: "outbound: OpenAI and ElevenLabs, Let's Encrypt, peers on the private network" },
  { key: "web", subnet: "172.24.1.0/24", internal: false, purpose: "nginx and the services it proxies" },
  { key: "data", subnet: "172.24.2.0/24", internal: true, purpose: "PgBouncer, PostgreSQL, Redis and their clients; no route out" },
  { key: "monitoring", subnet: "172.24.3.0/24", internal: true, purpose: "Prometheus and what it scrapes; no route out" },
];

/**
 * Seed 004, "Memory Allocation Strategy": 16 GB, ~3 GB system reserve,
 * ~11 GB for containers. nginx and certbot are not in the seed's table (its
 * nginx ran on the host); the 128 MB for nginx is generous next to seed 001's
 * ~20 MB. The five exporters at 128 MB each are node, PostgreSQL, Redis,
 * nginx and PgBouncer. Alertmanager, Loki, Promtail, Grafana and the blackbox
 * exporter are not in the table either (the seed's Grafana was Grafana
 * Cloud); they take the generated stack's own limits (PROMETHEUS_STACK_MEMORY_MB
 * in components/monitoring/design.ts), and everything still fits 13 GB.
 */
export const GALION_MEMORY_MB: Readonly<Record<string, number>> = {
  nginx: 128,
  certbot: 64,
  "app-frontend": 384,
  "app-api": 1536,
  "studio-frontend": 512,
  "studio-api": 1536,
  voice: 1536,
  realtime: 512,
  pgbouncer: 128,
  postgres: 1536,
  "postgres-replica": 1536,
  // Not in the seed's table: pg_basebackup streams and gzips, and holds little.
  "postgres-base-backup": 64,
  redis: 2048,
  prometheus: 512,
  cadvisor: 256,
  "node-exporter": 128,
  "postgres-exporter": 128,
  "redis-exporter": 128,
  "nginx-exporter": 128,
  "pgbouncer-exporter": 128,
  alertmanager: 48,
  loki: 256,
  promtail: 64,
  grafana: 192,
  "blackbox-exporter": 32,
};

/** For a 4 GB preprod mirror: the same services, the settings below scaled with them. */
const COMPACT_MEMORY_MB: Readonly<Record<string, number>> = {
  nginx: 48,
  certbot: 48,
  "app-frontend": 96,
  "app-api": 320,
  "studio-frontend": 96,
  "studio-api": 320,
  voice: 320,
  realtime: 128,
  pgbouncer: 32,
  postgres: 512,
  "postgres-replica": 512,
  "postgres-base-backup": 32,
  redis: 256,
  prometheus: 256,
  cadvisor: 96,
  "node-exporter": 32,
  "postgres-exporter": 32,
  "redis-exporter": 24,
  "nginx-exporter": 16,
  "pgbouncer-exporter": 16,
  alertmanager: 32,
  loki: 160,
  promtail: 48,
  grafana: 128,
  "blackbox-exporter": 16,
};

/**
 * Seed 004's monitoring on its internal monitoring network; Prometheus and
 * the blackbox exporter also join egress once servers are spread, to reach
 * the peers' private addresses, and Alertmanager to send mail.
 */
function galionMonitoring(memory: (name: string) => number): MonitoringDesign {
  const parts = [
    "prometheus",
    "alertmanager",
    "loki",
    "promtail",
    "grafana",
    "node-exporter",
    "cadvisor",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
    "blackbox-exporter",
  ] as const;
  return {
    store: "prometheus",
    agent: "exporters",
    networks: { monitoring: "monitoring", frontend: "monitoring", egress: "egress", agent: [] },
    memoryMb: memoryLimits(Object.fromEntries(parts.map((part) => [part, memory(part)]))),
  };
}

/** Seed 004, "Network Flow": each container port and the localhost port users see it on. */
export const GALION_APP_PORTS: Readonly<Record<string, { container: number; host: number }>> = {
  "app-frontend": { container: 3000, host: 3001 },
  "app-api": { container: 8000, host: 8001 },
  voice: { container: 8000, host: 8002 },
  "studio-frontend": { container: 3000, host: 3003 },
  "studio-api": { container: 8000, host: 8003 },
  realtime: { container: 8000, host: 8004 },
};

/**
 * Seed 004's nginx proxy cache: 1.5 GB, 1 GB for the two APIs' responses and
 * 500 MB for the two frontends' static files, on disk. What is kept, and for
 * how long, is the applications' to say with Cache-Control (the seed's 1-60
 * minutes for API responses, 7 days for static files): a response without
 * it, one that sets a cookie, and any request with credentials go to the
 * application every time (ProxyCacheZone). Voice, realtime and the admin UIs
 * are never cached. `inactive` drops an entry nobody asked for within the
 * seed's longest lifetime of its kind. The keys take 12 MB of nginx's memory
 * limit, room for about 100,000 entries.
 */
export const GALION_PROXY_CACHE: readonly ProxyCacheZone[] = [
  { name: "api", services: ["app-api", "studio-api"], maxSizeMb: 1024, keysMb: 8, inactiveMinutes: 60 },
  { name: "static", services: ["app-frontend", "studio-frontend"], maxSizeMb: 512, keysMb: 4, inactiveMinutes: 7 * 24 * 60 },
];

/** Seed 004 rate-limits at nginx with 100-200 requests a minute; 150 sits in the middle. */
export const GALION_RATE_LIMIT_PER_MINUTE = 150;
/** Prometheus keeps 30 days (seed 004). */
export const GALION_METRICS_RETENTION_DAYS = 30;
/**
 * Seed 004's daily database backup has a "30-day retention": the job keeps
 * at least 30 daily snapshots, whatever `infra:backup.retention.daily` says;
 * the stack's weekly, monthly and yearly counts reach further back on top.
 */
export const GALION_BACKUP_RETENTION_DAYS = 30;
/** WAL segments are archived at least every 5 minutes: seed 004's PITR RPO (B6). */
export const GALION_ARCHIVE_TIMEOUT_SECONDS = 300;
/**
 * Seed 004 takes a pg_basebackup every Sunday at midnight as the foundation
 * PITR replays the WAL archive onto; without one the archive restores nothing.
 * Two are kept, so the older covers the week the newer was taken in.
 */
export const GALION_BASE_BACKUPS_KEPT = 2;
/**
 * Archived WAL is pruned once it is older than any kept base backup could
 * need (two weeks, plus two days of margin); unpruned, the archive fills the
 * data volume. The nightly restic snapshots keep older segments off-site.
 */
export const GALION_WAL_ARCHIVE_KEEP_DAYS = 16;

export const GALION_ROUTES: readonly RouteSpec[] = [
  { subdomain: "app", service: "app-frontend", port: 3000 },
  { subdomain: "api", service: "app-api", port: 8000 },
  { subdomain: "voice", service: "voice", port: 8000 },
  { subdomain: "studio", service: "studio-frontend", port: 3000 },
  { subdomain: "studio-api", service: "studio-api", port: 8000 },
  { subdomain: "realtime", service: "realtime", port: 8000 },
];

const WAL_ARCHIVE = "/var/lib/postgresql/wal-archive";
const BASE_BACKUP_DIR = "/var/lib/postgresql/base-backups";
const PGDATA = "/var/lib/postgresql/data/pgdata";
/** The applications are GALION's own builds, pushed by its CI; the tag is the release to deploy. */
const APP_IMAGE_TAG = "1.0.0";
const CERTIFICATE_HOST_PATH = "/var/lib/galion/letsencrypt";

function loopback(container: number, host = container): PortSpec {
  return { container, publish: { host, address: "127.0.0.1" } };
}

/**
 * Settings the primary starts with in every phase, so that adding the
 * replica (phase 5) changes nothing on it: WAL for replication and archiving,
 * archive_timeout for the 5-minute RPO, 200 connections (seed 004, layer 6).
 * shared_buffers stays a quarter of the container's limit: the seed's "2 GB
 * inside a 1.5 GB container" would not fit.
 */
function postgresSettings(memoryMb: number): string[] {
  return [
    "wal_level=replica",
    "archive_mode=on",
    `archive_timeout=${GALION_ARCHIVE_TIMEOUT_SECONDS}`,
    // Pruning is best effort: a failed find must not fail the archiving of a segment that was copied.
    `archive_command=test ! -f ${WAL_ARCHIVE}/%f && cp %p ${WAL_ARCHIVE}/%f && (find ${WAL_ARCHIVE} -maxdepth 1 -type f -mmin +${GALION_WAL_ARCHIVE_KEEP_DAYS * 24 * 60} -delete || true)`,
    "max_wal_senders=5",
    "max_connections=200",
    `shared_buffers=${Math.floor(memoryMb / 4)}MB`,
    "hot_standby=on",
  ];
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The replicator role's password, which the init script (as postgres, uid 70) reads into psql. */
const REPLICATION_PASSWORD_FILE = "replication-password";

/**
 * libpq's password file for the replicator role (C15): pg_basebackup and the
 * replica's WAL receiver find the password there through PGPASSFILE. They
 * run as postgres, uid 70 in the alpine image; libpq accepts a file that
 * neither group nor others can read.
 */
function replicatorPassFile(): SecretFileSpec {
  return {
    name: "replicator.pgpass",
    content: { secretTemplate: `*:*:*:replicator:{{${REPLICATION_PASSWORD}}}\n`, encoding: "pgpass" },
    variable: "PGPASSFILE",
    uid: 70,
  };
}

function initDatabasesScript(): string {
  return [
    "#!/bin/sh",
    "set -eu",
    ...GALION_DATABASES.map((database) => `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c 'CREATE DATABASE ${database}'`),
    // The replica streams as this role; scram over the private network only.
    // psql reads the password from its file itself, so it is in no argument.
    "psql -v ON_ERROR_STOP=1 --username \"$POSTGRES_USER\" <<'SQL'",
    `\\set pw \`cat ${secretFileTarget({ name: REPLICATION_PASSWORD_FILE })}\``,
    "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';",
    "SQL",
    'echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"',
    "",
  ].join("\n");
}

function databaseURL(database: string, host = "pgbouncer", port = 6432): { secretTemplate: string } {
  return { secretTemplate: `postgresql://postgres:{{${POSTGRES_PASSWORD}}}@${host}:${port}/${database}` };
}

function redisURL(database: number): { secretTemplate: string } {
  return { secretTemplate: `redis://:{{${REDIS_PASSWORD}}}@redis:6379/${database}` };
}

function services(environment: BlueprintEnvironment, routes: readonly RouteSpec[], admin: readonly AdminRoute[], adminUser: string): ServiceSpec[] {
  const profile: MemoryProfile = environment.memoryProfile ?? "seed";
  const memory = (name: string) => (profile === "compact" ? COMPACT_MEMORY_MB : GALION_MEMORY_MB)[name]!;
  const servers = environment.servers ?? [{ name: "main", roles: ["ingress", "app", "data", "monitoring"] }];
  const hasReplica = servers.some((server) => server.roles.includes("replica"));
  const adminServices = admin.map((route) => route.service);
  // One certificate for every name nginx serves, the admin UIs' included.
  const hostnames = routes.map((route) => `${route.subdomain}.${environment.domain}`);
  const privateRanges = servers.flatMap((server) => (server.privateIp ? (singleAddressCIDR(server.privateIp) ?? []) : []));

  const app = (name: string, spec: Partial<ServiceSpec> & Pick<ServiceSpec, "description" | "networks" | "env">): ServiceSpec => {
    const ports = GALION_APP_PORTS[name]!;
    const isAPI = ports.container === 8000;
    return service({
      name,
      role: "app",
      placement: "each",
      image: { repository: `ghcr.io/galion-app/${name}`, tag: APP_IMAGE_TAG },
      ports: [loopback(ports.container, ports.host)],
      user: "1000",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.container}${isAPI ? "/health" : "/"}`], 30),
      memoryMb: memory(name),
      waivers: [
        {
          rule: "C6",
          reason:
            "GALION's own images write caches and uploads where their Dockerfiles put them; a read-only root needs those paths mapped to tmpfs or volumes in the images first",
        },
        ...(Object.values(spec.env).some((value) => typeof value !== "string")
          ? [
              {
                rule: "C15",
                reason:
                  "GALION's own images read their database and Redis URLs, JWT secret and API keys from the environment; they have no *_FILE variant, which the applications must add first",
              },
            ]
          : []),
      ],
      ...spec,
    });
  };
  const readReplica = (database: string): Record<string, EnvValue> =>
    hasReplica ? { DATABASE_READ_URL: databaseURL(database, "postgres-replica", 5432) } : {};
  const replicaDependency = hasReplica ? ["postgres-replica"] : [];

  const list: ServiceSpec[] = [
    certbotServiceSpec({
      hostnames,
      certificateName: "galion",
      cloudflareTokenSecret: ACME_TOKEN,
      networks: ["egress"],
      certificateHostPath: CERTIFICATE_HOST_PATH,
      placement: "each",
    }),
    {
      ...nginxServiceSpec(
        routes.map((route) => protectedRoute(route, environment.domain, adminUser)),
        {
          networks: ["web", "monitoring"],
          memoryMb: memory("nginx"),
          // On a server apart from the monitoring stack (phases 3-5), the
          // dependency is what brings forwarders to the admin UIs.
          dependsOn: ["certbot", ...routes.map((route) => route.service)],
          // The monitoring stack is registered apart from nginx, which may start first.
          resolvePerRequest: adminServices,
          certificateHostPath: CERTIFICATE_HOST_PATH,
          placement: "each",
          certificateName: "galion",
          rateLimitPerMinute: GALION_RATE_LIMIT_PER_MINUTE,
          burst: 50,
          proxyCache: GALION_PROXY_CACHE,
          // Cloudflare sits in front (seed 004); behind the load balancer the peers' addresses are trusted too.
          realIpFrom: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6, ...privateRanges],
          realIpHeader: "CF-Connecting-IP",
          ...(environment.loadBalancer ? { loadBalancer: environment.loadBalancer } : {}),
          clientMaxBodyMb: 25,
          healthPath: "/healthz",
          statusPort: 8081,
          statusPath: "/stub_status",
        },
      ),
      // Seed 004's nginx exporter reads the stub_status page nginx serves inside the Docker networks.
      exporter: { kind: "nginx", statusPort: 8081, statusPath: "/stub_status" },
    },
    app("app-frontend", { description: "GALION.APP frontend (React)", networks: ["web"], env: { API_URL: `https://api.${environment.domain}` } }),
    app("app-api", {
      description: "GALION.APP API (FastAPI)",
      networks: ["web", "data", "egress", "monitoring"],
      env: {
        DATABASE_URL: databaseURL("galion"),
        ...readReplica("galion"),
        REDIS_URL: redisURL(0),
        RATE_LIMIT_REDIS_URL: redisURL(4),
        JWT_SECRET: { secret: JWT_SECRET },
        OPENAI_API_KEY: { secret: OPENAI_API_KEY },
      },
      dependsOn: ["pgbouncer", "redis", ...replicaDependency],
      metrics: { port: 8000, path: "/metrics" },
      reachableFromPeers: true,
    }),
    app("voice", {
      description: "voice service (Node.js), OpenAI and ElevenLabs",
      networks: ["web", "data", "egress"],
      env: { REDIS_URL: redisURL(1), OPENAI_API_KEY: { secret: OPENAI_API_KEY }, ELEVENLABS_API_KEY: { secret: ELEVENLABS_API_KEY }, PORT: "8000" },
      dependsOn: ["redis"],
    }),
    app("studio-frontend", {
      description: "GALION.STUDIO frontend (Next.js)",
      networks: ["web"],
      env: { API_URL: `https://studio-api.${environment.domain}` },
    }),
    app("studio-api", {
      description: "GALION.STUDIO API (FastAPI)",
      networks: ["web", "data", "egress", "monitoring"],
      env: { DATABASE_URL: databaseURL("galion_studio"), ...readReplica("galion_studio"), REDIS_URL: redisURL(2), JWT_SECRET: { secret: JWT_SECRET } },
      dependsOn: ["pgbouncer", "redis", ...replicaDependency],
      metrics: { port: 8000, path: "/metrics" },
      reachableFromPeers: true,
    }),
    app("realtime", {
      description: "realtime service (Socket.IO)",
      networks: ["web", "data"],
      env: { REDIS_URL: redisURL(3), JWT_SECRET: { secret: JWT_SECRET }, PORT: "8000" },
      dependsOn: ["redis"],
    }),
    service({
      name: "pgbouncer",
      description: "PgBouncer: 1000 client connections onto at most 100 server connections (seed 004)",
      role: "data",
      image: { repository: "edoburu/pgbouncer", tag: "v1.23.1-p2" },
      networks: ["data"],
      ports: [loopback(6432)],
      env: {
        DB_HOST: "postgres",
        DB_PORT: "5432",
        DB_USER: "postgres",
        LISTEN_PORT: "6432",
        AUTH_TYPE: "scram-sha-256",
        POOL_MODE: "transaction",
        MAX_CLIENT_CONN: "1000",
        MAX_DB_CONNECTIONS: "100",
        DEFAULT_POOL_SIZE: "40",
        ADMIN_USERS: "postgres",
      },
      // Without DB_PASSWORD the entrypoint writes no userlist of its own and
      // points pgbouncer.ini's auth_file at AUTH_FILE: this file, in
      // PgBouncer's format, which it also logs in to PostgreSQL with (scram).
      secretFiles: [
        {
          name: "pgbouncer-userlist.txt",
          content: { secretTemplate: `"postgres" {{${POSTGRES_PASSWORD}}}\n`, encoding: "userlist" },
          variable: "AUTH_FILE",
          uid: 70,
        },
      ],
      user: "70",
      healthcheck: healthcheck(["CMD-SHELL", "nc -z 127.0.0.1 6432"], 10),
      waivers: [{ rule: "C6", reason: "the image's entrypoint writes pgbouncer.ini and userlist.txt into /etc/pgbouncer from the environment at every start" }],
      memoryMb: memory("pgbouncer"),
      dependsOn: ["postgres"],
      // The applications on the app servers reach it from phase 3 on.
      reachableFromPeers: true,
    }),
    service({
      name: "postgres",
      description: "PostgreSQL 15: galion and galion_studio, WAL archived for point-in-time recovery",
      role: "data",
      image: { repository: "postgres", tag: "15.10-alpine" },
      networks: ["data", "monitoring"],
      ports: [loopback(5432)],
      env: { POSTGRES_USER: "postgres", PGDATA },
      // The entrypoint reads POSTGRES_PASSWORD_FILE as root, before it drops
      // to postgres; the init script reads the replication password as postgres (uid 70).
      secretFiles: [
        { name: "postgres-password", content: { secret: POSTGRES_PASSWORD }, variable: "POSTGRES_PASSWORD_FILE", uid: 0 },
        { name: REPLICATION_PASSWORD_FILE, content: { secret: REPLICATION_PASSWORD }, uid: 70 },
      ],
      // The archive volume is created root-owned; the entrypoint drops to postgres afterwards.
      command: [
        "sh",
        "-c",
        `install -d -o postgres -g postgres -m 0700 ${WAL_ARCHIVE} && exec docker-entrypoint.sh postgres ${postgresSettings(memory("postgres"))
          .map((setting) => `-c ${shellQuote(setting)}`)
          .join(" ")}`,
      ],
      volumes: [
        { volume: "data", target: "/var/lib/postgresql/data" },
        { volume: "wal-archive", target: WAL_ARCHIVE },
      ],
      files: [{ path: "/docker-entrypoint-initdb.d/10-galion.sh", content: initDatabasesScript(), executable: true }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres -d galion"]),
      memoryMb: memory("postgres"),
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      tmpfs: ["/var/run/postgresql"],
      // The replica (phase 5) streams from it over the private network.
      reachableFromPeers: true,
      backup: {
        dump: { kind: "postgres", user: "postgres", databases: [...GALION_DATABASES] },
        volumes: ["wal-archive"],
        minimumRetention: { daily: GALION_BACKUP_RETENTION_DAYS, reason: "seed 004: daily dumps kept 30 days" },
      },
      exporter: { kind: "postgres", user: "postgres", database: "galion", passwordSecret: POSTGRES_PASSWORD },
      waivers: [
        {
          rule: "C6",
          reason:
            "the database and replication-role script is uploaded into /docker-entrypoint-initdb.d before start, and Docker refuses uploads into a read-only root filesystem",
        },
        { rule: "C9", reason: "the official image starts as root to own its data and archive directories, then runs postgres as the postgres user" },
      ],
    }),
    service({
      name: "redis",
      description: "Redis 7: sessions, caches, realtime data and rate limits (DB 0-4), AOF and RDB",
      role: "data",
      image: { repository: "redis", tag: "7.4.1-alpine" },
      networks: ["data", "monitoring"],
      ports: [loopback(6379)],
      // maxmemory leaves an eighth of the limit for Redis' own overhead and
      // forks. requirepass comes from a configuration file (redis-auth.ts).
      // Started through sh, the entrypoint does not switch users, so
      // redis-server runs as the container's root and reads its files as root.
      command: [
        "sh",
        "-c",
        `exec redis-server ${REDIS_AUTH_CONFIG_PATH} --appendonly yes --save 900 1 --save 300 10 --maxmemory ${Math.floor((memory("redis") * 7) / 8)}mb --maxmemory-policy allkeys-lru`,
      ],
      secretFiles: redisAuthFiles(REDIS_PASSWORD, 0),
      volumes: [{ volume: "data", target: "/data" }],
      healthcheck: redisHealthcheck(),
      memoryMb: memory("redis"),
      capAdd: ["SETGID", "SETUID"],
      readOnlyRootFilesystem: true,
      reachableFromPeers: true,
      backup: { dump: { kind: "redis", passwordFile: REDIS_PASSWORD_FILE } },
      exporter: { kind: "redis", passwordSecret: REDIS_PASSWORD },
      waivers: [{ rule: "C9", reason: "the official image starts as root to own /data, then runs redis-server as the redis user" }],
    }),
    // Seed 004's fifth exporter. The generated stack has no PgBouncer kind, so
    // it is declared here, beside PgBouncer, and scraped for its metrics.
    service({
      name: "pgbouncer-exporter",
      description: "PgBouncer exporter",
      role: "data",
      image: { repository: "prometheuscommunity/pgbouncer-exporter", tag: "v0.10.2" },
      networks: ["data", "monitoring"],
      ports: [{ container: 9127 }],
      env: {
        PGBOUNCER_EXPORTER_CONNECTION_STRING: { secretTemplate: `postgres://postgres:{{${POSTGRES_PASSWORD}}}@pgbouncer:6432/pgbouncer?sslmode=disable` },
      },
      waivers: [
        {
          rule: "C15",
          reason:
            "pgbouncer_exporter takes its connection string, password included, from PGBOUNCER_EXPORTER_CONNECTION_STRING or its command line; it documents no file to read it from",
        },
      ],
      user: "65534",
      readOnlyRootFilesystem: true,
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9127/metrics"]),
      memoryMb: memory("pgbouncer-exporter"),
      dependsOn: ["pgbouncer"],
      metrics: { port: 9127, path: "/metrics" },
    }),
  ];
  list.push(baseBackupService(memory("postgres-base-backup")));
  if (hasReplica) list.push(replicaService(memory("postgres-replica")));
  return list;
}

/**
 * The weekly base backup as a shell script, run as the postgres user with
 * libpq's PG* variables pointing at the primary. One is taken at start when
 * none exists yet, then one every Sunday at 00:00 UTC (seed 004). A backup is
 * written under a `.partial-` name and renamed when complete, so the nightly
 * restic run never copies half of one.
 */
export function baseBackupScript(directory: string, kept: number): string {
  return [
    "set -eu",
    `dir=${shellQuote(directory)}`,
    "take() {",
    "  stamp=$(date -u +%Y%m%dT%H%M%SZ)",
    '  rm -rf "$dir"/.partial-*',
    '  pg_basebackup -D "$dir/.partial-$stamp" -F tar -z -X stream --checkpoint=fast',
    '  mv "$dir/.partial-$stamp" "$dir/$stamp"',
    `  find "$dir" -mindepth 1 -maxdepth 1 -name '2*' | sort -r | tail -n +${kept + 1} | xargs -r rm -rf`,
    "}",
    `[ -n "$(find "$dir" -mindepth 1 -maxdepth 1 -name '2*')" ] || take`,
    "while :; do",
    "  now=$(date -u +%s)",
    "  sleep $(( (7 - $(date -u +%w)) * 86400 - now % 86400 ))",
    "  take",
    "done",
    "",
  ].join("\n");
}

/**
 * pg_basebackup streams from the primary as the replicator role (the same
 * replication connection phase 5's replica uses) into a volume of its own,
 * which the nightly backup copies off-site beside the WAL archive.
 */
function baseBackupService(memoryMb: number): ServiceSpec {
  return service({
    name: "postgres-base-backup",
    description: `weekly pg_basebackup of PostgreSQL for point-in-time recovery, ${GALION_BASE_BACKUPS_KEPT} kept (seed 004)`,
    role: "data",
    image: { repository: "postgres", tag: "15.10-alpine" },
    networks: ["data"],
    env: { PGHOST: "postgres", PGPORT: "5432", PGUSER: "replicator" },
    secretFiles: [replicatorPassFile()],
    // The volume is created root-owned; the backups are taken as postgres.
    command: [
      "sh",
      "-c",
      `install -d -o postgres -g postgres -m 0700 ${BASE_BACKUP_DIR} && exec su-exec postgres sh -c ${shellQuote(baseBackupScript(BASE_BACKUP_DIR, GALION_BASE_BACKUPS_KEPT))}`,
    ],
    volumes: [{ volume: "base-backups", target: BASE_BACKUP_DIR }],
    // Healthy while the primary answers; a failed backup exits the script and shows as a restart.
    healthcheck: healthcheck(["CMD-SHELL", "pg_isready -q"], 30),
    memoryMb,
    capAdd: ["CHOWN", "FOWNER", "SETGID", "SETUID"],
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp", "/var/run/postgresql"],
    dependsOn: ["postgres"],
    backup: { volumes: ["base-backups"] },
    waivers: [{ rule: "C9", reason: "starts as root to own its backup directory on a fresh volume, then runs pg_basebackup as the postgres user" }],
  });
}

/**
 * Phase 5's read replica: on first start it clones the primary with
 * pg_basebackup (streaming the WAL it needs), then follows it as a hot
 * standby. The primary is reached as `postgres` through the private network.
 */
function replicaService(memoryMb: number): ServiceSpec {
  const script = [
    "set -eu",
    `if [ ! -s "${PGDATA}/PG_VERSION" ]; then`,
    `  install -d -o postgres -g postgres -m 0700 "${PGDATA}"`,
    `  su-exec postgres pg_basebackup -h postgres -p 5432 -U replicator -D "${PGDATA}" -R -X stream`,
    "fi",
    `exec su-exec postgres postgres -c hot_standby=on -c max_connections=200 -c shared_buffers=${Math.floor(memoryMb / 4)}MB`,
  ].join("\n");
  return service({
    name: "postgres-replica",
    description: "PostgreSQL 15 streaming replica for read queries (seed 004, phase 5)",
    role: "replica",
    image: { repository: "postgres", tag: "15.10-alpine" },
    networks: ["data", "monitoring"],
    ports: [loopback(5432)],
    env: { PGDATA },
    secretFiles: [replicatorPassFile()],
    command: ["sh", "-c", script],
    volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
    healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres"], 600),
    memoryMb,
    capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    tmpfs: ["/var/run/postgresql", "/tmp"],
    readOnlyRootFilesystem: true,
    dependsOn: ["postgres"],
    reachableFromPeers: true,
    waivers: [{ rule: "C9", reason: "starts as root to own the data directory, then runs postgres as the postgres user" }],
  });
}

export const galion: Blueprint = {
  name: "galion",
  title: "GALION: two apps with APIs behind nginx, PgBouncer, PostgreSQL with PITR, Redis, Prometheus",
  seed: "004",
  namePrefix: "galion",
  secrets: [
    { key: POSTGRES_PASSWORD, purpose: "PostgreSQL superuser password (also PgBouncer's)" },
    { key: REDIS_PASSWORD, purpose: "Redis requirepass" },
    { key: REPLICATION_PASSWORD, purpose: "password of the replicator role the read replica streams with" },
    { key: JWT_SECRET, purpose: "JWT signing secret of the applications" },
    { key: OPENAI_API_KEY, purpose: "OpenAI API key (external service; configured, not created)" },
    { key: ELEVENLABS_API_KEY, purpose: "ElevenLabs API key (external service; configured, not created)" },
    { key: ACME_TOKEN, purpose: "Cloudflare API token limited to DNS edit on the zone, for Let's Encrypt DNS-01" },
    { key: GRAFANA_ADMIN_PASSWORD_SECRET, purpose: "Grafana admin password", adminPassword: true },
  ],
  roles: ["ingress", "app", "data", "monitoring"],
  // Seed 004: "SYSTEM RESERVED: ~3GB" of 16 GB.
  systemReserveMb: 3072,
  compact: { systemReserveMb: 512 },
  build(environment): PlatformSpec {
    const limits = (environment.memoryProfile ?? "seed") === "compact" ? COMPACT_MEMORY_MB : GALION_MEMORY_MB;
    return {
      networks: GALION_NETWORKS,
      // Seed 004: monitoring listens on localhost only, unless the stack routes
      // the admin UIs through nginx; Prometheus keeps 30 days.
      ...monitoredPlatform({
        blueprint: "galion",
        environment,
        design: galionMonitoring((name) => limits[name]!),
        ingress: "nginx",
        namePrefix: "galion",
        routes: GALION_ROUTES,
        services: ({ routes, admin, settings }) => services(environment, routes, admin, settings.adminUser),
        // Both APIs are FastAPI (seed 004) with their own /metrics: the error rate per API.
        httpCounters: ["app-api", "studio-api"].map((service) => ({ service, ...FASTAPI_REQUESTS })),
        retentionDays: GALION_METRICS_RETENTION_DAYS,
      }),
      buckets: [{ key: "backups", purpose: `restic repository: nightly dumps and the WAL archive, at least ${GALION_BACKUP_RETENTION_DAYS} daily (seed 004)` }],
      healthCheck: { port: 80, path: "/healthz" },
    };
  },
};
