import { stringify } from "yaml";
import { secretFileTarget } from "../../components/container/secret-files";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import { memoryLimits, type MonitoringDesign } from "../../components/monitoring/design";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { traefikServiceSpec } from "../../components/ingress/traefik-spec";
import { protectedRoute, type Blueprint, type MemoryProfile, type PlatformSpec, type RouteSpec } from "./blueprint";
import { monitoredPlatform } from "./monitored-platform";

/**
 * The AI video platform of seed 000: Supabase (PostgreSQL 17 with pgvector,
 * PostgREST, Kong on 54321, Studio), the Manim and Revideo renderers, four
 * AI services, and Prometheus, Grafana, node-exporter and cAdvisor, behind
 * Traefik. The audit's gaps are closed: the database is dumped nightly to S3
 * with the renders volume beside it, the firewall opens only 80/443 and SSH,
 * the generated monitoring stack alerts through Alertmanager with blackbox
 * probes of every route and service port, logs rotate (every container) and
 * go to Loki, Kong answers on 54321, Grafana's admin password is a secret,
 * and Supabase Studio, which has no login of its own, asks for a password at
 * Traefik.
 *
 * Coolify is left out on purpose: this program now does its job (deploying
 * the containers, running the proxy), and Coolify needs the Docker socket
 * read-write (C3). The external APIs (A4F, RevenueCat) are configured by
 * their keys, never created.
 */

const POSTGRES_PASSWORD = "infra:postgresPassword";
const JWT_SECRET = "infra:supabaseJwtSecret";
const ANON_KEY = "infra:supabaseAnonKey";
const SERVICE_KEY = "infra:supabaseServiceKey";
const GRAFANA_ADMIN_PASSWORD = "infra:grafanaAdminPassword";
const A4F_API_KEY = "infra:a4fApiKey";
const REVENUECAT_API_KEY = "infra:revenuecatApiKey";
const STUDIO_PASSWORD_HASH = "infra:supabaseStudioPasswordHash";
const AUTHENTICATOR_PASSWORD = "infra:supabaseAuthenticatorPassword";

/** Seed 000's port map (the audit's corrected one: Kong on 54321, not 8001). */
export const AI_VIDEO_PORTS: Readonly<Record<string, number>> = {
  studio: 3000,
  kong: 54321,
  manim: 5000,
  revideo: 5001,
  "document-retriever": 8101,
  "search-proxy": 8102,
  "video-orchestrator": 8103,
  "notes-generator": 8104,
  grafana: 3001,
  prometheus: 9090,
  "node-exporter": 9100,
  cadvisor: 8085,
};

/** Seed 000 gives no limits; these leave room for two renders at once on a 16 GB host. */
const SEED_MEMORY_MB: Readonly<Record<string, number>> = {
  traefik: 128,
  postgres: 1024,
  rest: 128,
  kong: 256,
  meta: 128,
  studio: 256,
  manim: 2048,
  revideo: 2048,
  "document-retriever": 512,
  "search-proxy": 128,
  "video-orchestrator": 512,
  "notes-generator": 512,
};
const COMPACT_MEMORY_MB: Readonly<Record<string, number>> = {
  traefik: 64,
  postgres: 384,
  rest: 48,
  kong: 128,
  meta: 64,
  studio: 128,
  manim: 512,
  revideo: 512,
  "document-retriever": 192,
  "search-proxy": 48,
  "video-orchestrator": 128,
  "notes-generator": 128,
};

/**
 * Seed 000's Prometheus, Grafana (on 3001), node-exporter and cAdvisor (on
 * 8085), with what the audit found missing: Alertmanager, the blackbox
 * exporter, and Loki with Promtail for the logs. Everything but Alertmanager
 * stays on the internal monitoring network; Traefik reaches Grafana there.
 */
export function aiVideoMonitoring(profile: MemoryProfile): MonitoringDesign {
  return {
    store: "prometheus",
    agent: "exporters",
    networks: { monitoring: "monitoring", frontend: "monitoring", egress: "egress", agent: [] },
    ports: { grafana: AI_VIDEO_PORTS.grafana!, cadvisor: AI_VIDEO_PORTS.cadvisor! },
    memoryMb:
      profile === "compact"
        ? memoryLimits({ prometheus: 192, alertmanager: 32, loki: 160, promtail: 48, grafana: 128, "node-exporter": 24, cadvisor: 64, "blackbox-exporter": 16 })
        : memoryLimits({
            prometheus: 384,
            alertmanager: 48,
            loki: 256,
            promtail: 64,
            grafana: 192,
            "node-exporter": 32,
            cadvisor: 96,
            "blackbox-exporter": 32,
          }),
  };
}

export const AI_VIDEO_NETWORKS: readonly NetworkSpec[] = [
  { key: "egress", subnet: "172.27.4.0/24", internal: false, purpose: "Traefik, and the AI services that call A4F, RevenueCat and the web" },
  { key: "backend", subnet: "172.27.2.0/24", internal: true, purpose: "Supabase and the renderers; no route out" },
  { key: "monitoring", subnet: "172.27.3.0/24", internal: true, purpose: "Prometheus, Alertmanager, Grafana and exporters" },
];

/**
 * Self-hosted Studio has no login: whoever reaches it administers the whole
 * database. Supabase's own compose file puts it behind Kong's basic auth as
 * `supabase`; here Traefik asks. Its credential is its own, not the
 * monitoring admin's: Studio is a superuser's tool, and it needs a password
 * whether or not the stack routes the monitoring UIs.
 */
export const STUDIO_CREDENTIAL = { user: "supabase", passwordHashSecret: STUDIO_PASSWORD_HASH } as const;

export const AI_VIDEO_ROUTES: readonly RouteSpec[] = [
  { subdomain: "api", service: "kong", port: 54321 },
  { subdomain: "studio", service: "studio", port: 3000, basicAuth: STUDIO_CREDENTIAL },
  // Grafana asks for its own login; with the monitoring UIs routed it gets the ingress's password too.
  { subdomain: "grafana", service: "grafana", port: 3001 },
];

/**
 * PostgREST's roles, as Supabase defines them: it connects as
 * `authenticator`, which can log in and do nothing else (NOINHERIT), and
 * becomes the role a request's token names, or `anon` without one. None of
 * them is a superuser (E4). PostgreSQL runs the script once, on the first
 * start of an empty data volume; a database created before it runs the same
 * script once by hand (docs/runbooks/restore.md, "PostgREST's roles").
 */
export const API_ROLES_SCRIPT_PATH = "/docker-entrypoint-initdb.d/20-api-roles.sh";
/** The authenticator's password, a secret file (C15) the init script reads as postgres. */
export const AUTHENTICATOR_PASSWORD_FILE = "authenticator-password";

function apiRolesScript(): string {
  return [
    "#!/bin/sh",
    "set -eu",
    // psql reads the password from its file itself and fills :'authenticator_password'
    // in as a quoted literal: the password is in no argument, and never in this file.
    'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" <<\'SQL\'',
    `\\set authenticator_password \`cat ${secretFileTarget({ name: AUTHENTICATOR_PASSWORD_FILE })}\``,
    "CREATE ROLE anon NOLOGIN NOINHERIT NOSUPERUSER;",
    "CREATE ROLE authenticated NOLOGIN NOINHERIT NOSUPERUSER;",
    "CREATE ROLE service_role NOLOGIN NOINHERIT NOSUPERUSER BYPASSRLS;",
    "CREATE ROLE authenticator LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'authenticator_password';",
    "GRANT anon, authenticated, service_role TO authenticator;",
    "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;",
    "SQL",
    "",
  ].join("\n");
}

/**
 * Supabase's Kong: the REST API asks for an API key (the anon or the
 * service key, as Supabase's own kong.yml does) before anything reaches
 * PostgREST (E3). The keys are not in this file: the start script fills its
 * placeholders from the container's secret environment, into its tmpfs.
 */
const KONG_TEMPLATE_PATH = "/home/kong/kong.yml";
const KONG_CONFIG_PATH = "/tmp/kong.yml";
const KONG_KEYS = ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_KEY"] as const;

export function kongDeclarativeConfig(): string {
  return stringify({
    _format_version: "2.1",
    consumers: [
      { username: "anon", keyauth_credentials: [{ key: "${SUPABASE_ANON_KEY}" }] },
      { username: "service_role", keyauth_credentials: [{ key: "${SUPABASE_SERVICE_KEY}" }] },
    ],
    services: [
      {
        name: "rest",
        url: "http://rest:3000/",
        routes: [{ name: "rest", paths: ["/rest/v1/"] }],
        plugins: [{ name: "cors" }, { name: "key-auth", config: { key_names: ["apikey"], hide_credentials: true } }],
      },
    ],
  });
}

/** Kong's start: the keys (JWTs, so letters, digits, `.`, `_`, `-` only) into the configuration, then the image's own command. */
function kongStart(): string {
  return [
    "umask 077",
    `case "${KONG_KEYS.map((key) => `$${key}`).join("")}" in *[!A-Za-z0-9._-]*) echo "infra:supabaseAnonKey and infra:supabaseServiceKey must be JWTs" >&2; exit 78 ;; esac`,
    ...KONG_KEYS.map((key) => `[ -n "$${key}" ] || { echo "${key} is empty" >&2; exit 78; }`),
    `sed ${KONG_KEYS.map((key) => `-e "s|\\\${${key}}|$${key}|"`).join(" ")} ${KONG_TEMPLATE_PATH} > ${KONG_CONFIG_PATH} || exit 73`,
    `unset ${KONG_KEYS.join(" ")}`,
    "exec /docker-entrypoint.sh kong docker-start",
  ].join("\n");
}

const uploaded = (what: string) => ({ rule: "C6", reason: `${what} is uploaded before start, and Docker refuses uploads into a read-only root filesystem` });
const ownImage = {
  rule: "C6",
  reason: "the platform's own images write caches and render output where their Dockerfiles put them; a read-only root needs those paths mapped first",
};
const ownImageEnvironment = {
  rule: "C15",
  reason:
    "the platform's own images read their database URL and API keys from the environment; they have no *_FILE variant, which the applications must add first",
};

function services(domain: string, profile: MemoryProfile, routes: readonly RouteSpec[], adminUser: string): ServiceSpec[] {
  const memory = (name: string) => (profile === "compact" ? COMPACT_MEMORY_MB : SEED_MEMORY_MB)[name]!;
  const port = (name: string) => ({ container: AI_VIDEO_PORTS[name]! });
  const app = (name: string, description: string, networks: string[], env: ServiceSpec["env"], dependsOn: string[] = []) =>
    service({
      name,
      description,
      role: "app",
      networks,
      env,
      dependsOn,
      image: { repository: `ghcr.io/ai-video/${name}`, tag: "1.0.0" },
      ports: [port(name)],
      user: "1000",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${AI_VIDEO_PORTS[name]}/health`], 30),
      memoryMb: memory(name),
      waivers: [ownImage, ...(Object.values(env).some((value) => typeof value !== "string") ? [ownImageEnvironment] : [])],
    });
  const databaseURL = { secretTemplate: `postgresql://postgres:{{${POSTGRES_PASSWORD}}}@postgres:5432/postgres` };
  return [
    traefikServiceSpec(
      routes.map((route) => protectedRoute(route, domain, adminUser)),
      {
        networks: ["egress", "backend", "monitoring"],
        memoryMb: memory("traefik"),
        dependsOn: ["kong", "studio", "grafana"],
        rateLimitPerMinute: 300,
        burst: 100,
        clientIpHeader: "CF-Connecting-IP",
        trustedIPs: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6],
      },
    ),
    service({
      name: "postgres",
      description: "PostgreSQL 17 with pgvector (Supabase's database)",
      role: "data",
      image: { repository: "pgvector/pgvector", tag: "0.8.0-pg17" },
      networks: ["backend"],
      ports: [{ container: 5432 }],
      env: { POSTGRES_USER: "postgres", PGDATA: "/var/lib/postgresql/data/pgdata" },
      // The entrypoint reads POSTGRES_PASSWORD_FILE as root, before it drops
      // to postgres; the init script reads the authenticator's password as
      // postgres (uid 999 in the Debian-based image).
      secretFiles: [
        { name: "postgres-password", content: { secret: POSTGRES_PASSWORD }, variable: "POSTGRES_PASSWORD_FILE", uid: 0 },
        { name: AUTHENTICATOR_PASSWORD_FILE, content: { secret: AUTHENTICATOR_PASSWORD }, uid: 999 },
      ],
      volumes: [{ volume: "data", target: "/var/lib/postgresql/data" }],
      files: [{ path: API_ROLES_SCRIPT_PATH, content: apiRolesScript(), executable: true }],
      healthcheck: healthcheck(["CMD-SHELL", "pg_isready -U postgres"]),
      memoryMb: memory("postgres"),
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      tmpfs: ["/var/run/postgresql", "/tmp"],
      // The audit's first finding: no backups. Nightly pg_dump to S3.
      backup: { dump: { kind: "postgres", user: "postgres", databases: ["postgres"] } },
      waivers: [
        { rule: "C9", reason: "the official image starts as root to own its data directory, then runs postgres as the postgres user" },
        uploaded("the script creating PostgREST's roles"),
      ],
    }),
    service({
      name: "rest",
      description: "PostgREST: Supabase's REST API",
      role: "data",
      image: { repository: "postgrest/postgrest", tag: "v12.2.3" },
      networks: ["backend"],
      ports: [{ container: 3000 }],
      // As the authenticator, never the superuser (E4); tokens are checked with the JWT secret.
      // PostgREST reads a setting whose value starts with @ from the file it names (db-uri and jwt-secret).
      env: {
        PGRST_DB_URI: `@${secretFileTarget({ name: "db-uri" })}`,
        PGRST_DB_SCHEMAS: "public",
        PGRST_DB_ANON_ROLE: "anon",
        PGRST_JWT_SECRET: `@${secretFileTarget({ name: "jwt-secret" })}`,
      },
      secretFiles: [
        { name: "db-uri", content: { secretTemplate: `postgres://authenticator:{{${AUTHENTICATOR_PASSWORD}}}@postgres:5432/postgres` }, uid: 1000 },
        { name: "jwt-secret", content: { secret: JWT_SECRET }, uid: 1000 },
      ],
      dataApi: { auth: "jwt", role: "authenticator", anonRole: "anon" },
      user: "1000",
      readOnlyRootFilesystem: true,
      healthcheck: healthcheck(["CMD", "postgrest", "--version"]),
      memoryMb: memory("rest"),
      dependsOn: ["postgres"],
    }),
    service({
      name: "meta",
      description: "postgres-meta: the schema API Studio uses",
      role: "data",
      image: { repository: "supabase/postgres-meta", tag: "v0.84.2" },
      networks: ["backend"],
      ports: [{ container: 8080 }],
      env: { PG_META_PORT: "8080", PG_META_DB_HOST: "postgres", PG_META_DB_USER: "postgres", PG_META_DB_PASSWORD: { secret: POSTGRES_PASSWORD } },
      user: "1000",
      healthcheck: healthcheck(["CMD-SHELL", "node -e \"fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\""]),
      memoryMb: memory("meta"),
      dependsOn: ["postgres"],
      waivers: [ownImage, { rule: "C15", reason: "postgres-meta reads its database password from PG_META_DB_PASSWORD only; it has no *_FILE variant" }],
    }),
    service({
      name: "kong",
      description: "Supabase's Kong gateway, on 54321 as the audit found it",
      role: "app",
      image: { repository: "kong", tag: "2.8.1" },
      networks: ["backend", "egress"],
      ports: [port("kong")],
      env: {
        KONG_DATABASE: "off",
        KONG_PROXY_LISTEN: "0.0.0.0:54321",
        KONG_DECLARATIVE_CONFIG: KONG_CONFIG_PATH,
        SUPABASE_ANON_KEY: { secret: ANON_KEY },
        SUPABASE_SERVICE_KEY: { secret: SERVICE_KEY },
      },
      files: [{ path: KONG_TEMPLATE_PATH, content: kongDeclarativeConfig() }],
      command: ["sh", "-c", kongStart()],
      tmpfs: ["/tmp"],
      user: "kong",
      healthcheck: healthcheck(["CMD", "kong", "health"]),
      memoryMb: memory("kong"),
      dependsOn: ["rest"],
      waivers: [
        uploaded("kong.yml"),
        {
          rule: "C15",
          reason:
            "the start script fills the anon and service keys into Kong's configuration from its environment; files would have to be owned by the kong user, whose uid the image does not pin, so reading them from files needs that uid checked on a running container first",
        },
      ],
    }),
    service({
      name: "studio",
      description: "Supabase Studio: database admin UI",
      role: "app",
      image: { repository: "supabase/studio", tag: "20241202-71e5240" },
      networks: ["backend", "egress"],
      ports: [port("studio")],
      env: {
        STUDIO_PG_META_URL: "http://meta:8080",
        POSTGRES_PASSWORD: { secret: POSTGRES_PASSWORD },
        SUPABASE_URL: "http://kong:54321",
        SUPABASE_PUBLIC_URL: `https://api.${domain}`,
        SUPABASE_ANON_KEY: { secret: ANON_KEY },
        SUPABASE_SERVICE_KEY: { secret: SERVICE_KEY },
      },
      user: "1000",
      healthcheck: healthcheck(["CMD-SHELL", "node -e \"fetch('http://127.0.0.1:3000/api/profile').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\""], 60),
      memoryMb: memory("studio"),
      dependsOn: ["meta", "kong"],
      waivers: [
        ownImage,
        { rule: "C15", reason: "Supabase Studio reads the database password and the Supabase keys from its environment only; it has no *_FILE variant" },
      ],
    }),
    service({
      name: "manim",
      description: "Manim renderer: math animations",
      role: "app",
      image: { repository: "manimcommunity/manim", tag: "v0.18.1" },
      networks: ["backend"],
      ports: [port("manim")],
      command: ["python3", "-m", "http.server", "5000", "--directory", "/manim"],
      volumes: [{ volume: "renders", target: "/manim" }],
      user: "1000",
      healthcheck: healthcheck(["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/')"]),
      memoryMb: memory("manim"),
      waivers: [ownImage],
      // The renders are not regenerable: each came from an orchestrator run
      // whose TTS and LLM calls (A4F) cost money and answer differently the
      // next time. Seed 000 asks for weekly backups of the Docker volumes
      // (all of them 276 MB in its audit); the nightly job takes this one
      // with the database dump, which meets that, and restic stores a render
      // that did not change since the night before only once.
      backup: { volumes: ["renders"] },
    }),
    app("revideo", "Revideo renderer: video composition", ["backend"], {}),
    app("document-retriever", "RAG engine over pgvector", ["backend", "egress"], { DATABASE_URL: databaseURL, A4F_API_KEY: { secret: A4F_API_KEY } }, [
      "postgres",
    ]),
    app("search-proxy", "DuckDuckGo search proxy", ["backend", "egress"], {}),
    app(
      "video-orchestrator",
      "coordinates rendering, TTS and LLM calls",
      ["backend", "egress"],
      {
        A4F_API_KEY: { secret: A4F_API_KEY },
        REVENUECAT_API_KEY: { secret: REVENUECAT_API_KEY },
        MANIM_URL: "http://manim:5000",
        REVIDEO_URL: "http://revideo:5001",
      },
      ["manim", "revideo"],
    ),
    app(
      "notes-generator",
      "AI notes synthesis",
      ["backend", "egress"],
      { A4F_API_KEY: { secret: A4F_API_KEY }, RETRIEVER_URL: "http://document-retriever:8101" },
      ["document-retriever"],
    ),
  ];
}

export const aiVideo: Blueprint = {
  name: "ai-video",
  title: "AI video platform: Supabase, renderers, RAG and AI services, Prometheus and Grafana",
  seed: "000",
  namePrefix: "aivideo",
  secrets: [
    { key: POSTGRES_PASSWORD, purpose: "PostgreSQL superuser password" },
    { key: AUTHENTICATOR_PASSWORD, purpose: "password of the authenticator role PostgREST connects as (no superuser)" },
    { key: JWT_SECRET, purpose: "Supabase JWT secret (PostgREST verifies tokens with it)" },
    { key: ANON_KEY, purpose: "Supabase anon key" },
    { key: SERVICE_KEY, purpose: "Supabase service-role key" },
    // A login password: validation refuses admin123 and the other well-known defaults.
    { key: GRAFANA_ADMIN_PASSWORD, purpose: "Grafana admin password (the audit found admin/admin123)", adminPassword: true },
    {
      key: STUDIO_PASSWORD_HASH,
      purpose: "bcrypt hash of the password Traefik asks user supabase for before Supabase Studio: htpasswd -nbBC 10 supabase <password> | cut -d: -f2",
      bcryptHash: true,
    },
    { key: A4F_API_KEY, purpose: "A4F API key: TTS, LLM and embeddings (external service; configured, not created)" },
    { key: REVENUECAT_API_KEY, purpose: "RevenueCat API key (external service; configured, not created)" },
  ],
  roles: ["ingress", "app", "data", "monitoring"],
  systemReserveMb: 1024,
  compact: { systemReserveMb: 512 },
  build(environment): PlatformSpec {
    const profile = environment.memoryProfile ?? "seed";
    return {
      networks: AI_VIDEO_NETWORKS,
      // Tunnelled unless the stack routes the admin UIs: then Prometheus,
      // Alertmanager, Loki and Grafana get routes behind Traefik's basic auth.
      ...monitoredPlatform({
        blueprint: "ai-video",
        environment,
        design: aiVideoMonitoring(profile),
        ingress: "traefik",
        namePrefix: "aivideo",
        routes: AI_VIDEO_ROUTES,
        services: ({ routes, settings }) => services(environment.domain, profile, routes, settings.adminUser),
      }),
      buckets: [{ key: "backups", purpose: "nightly PostgreSQL dumps and the renders volume, off the server (the audit's first finding)" }],
    };
  },
};
