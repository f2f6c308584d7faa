import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import { memoryLimits, type MonitoringDesign } from "../../components/monitoring/design";
import { GRAFANA_ADMIN_PASSWORD_SECRET } from "../../components/monitoring/settings";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { traefikServiceSpec } from "../../components/ingress/traefik-spec";
import { protectedRoute, type Blueprint, type PlatformSpec, type RouteSpec } from "./blueprint";
import { monitoredPlatform } from "./monitored-platform";

/**
 * NextMavens developer portal (seed 003): one Next.js container behind
 * Traefik with Let's Encrypt, talking to a managed PostgreSQL and external
 * auth, audit and email services. None of those is created here: their
 * connection settings are secrets of the stack. Seed 003's weakness, daily
 * database backups sent to Telegram by hand, becomes the nightly job on the
 * server: pg_dump of the managed database, reached by the same secret URL
 * the portal uses, into the restic repository in the S3 bucket, kept at
 * least 30 days. pg_dump runs from a pinned client image, the URL stays in
 * the job's root-only environment file, and no globals are taken (a managed
 * service's user cannot read the roles).
 *
 * Seed 003 has basic logging only, and plans what its "Monitoring Approach"
 * lists: request latency and error rates, resource use, alerts on database
 * connection failures, errors, disk and unavailability. That is the
 * generated Prometheus stack at its smallest: Prometheus, Alertmanager, Loki
 * with Promtail, Grafana, node-exporter, cAdvisor and the blackbox exporter,
 * on a monitoring network of their own; Traefik's request counters give the
 * error rate, and the blackbox exporter probes the portal's /api/health/db.
 */

const DATABASE_URL = "infra:databaseUrl";
const JWT_SECRET = "infra:jwtSecret";
const RESEND_API_KEY = "infra:resendApiKey";
const AUTH_SERVICE_URL = "infra:authServiceUrl";
const AUDIT_SERVICE_URL = "infra:auditServiceUrl";

/** Seed 003: "Retention: 30 days default". */
export const NEXTMAVENS_BACKUP_RETENTION_DAYS = 30;

/**
 * The client the nightly job dumps the managed database with. Seed 003 does
 * not say which PostgreSQL major the provider runs. pg_dump dumps servers of
 * its own major and older, and refuses newer ones loudly, so the newest
 * major's client covers whatever the provider runs today; raise it when the
 * provider moves past it.
 */
export const NEXTMAVENS_DATABASE_CLIENT = { repository: "postgres", tag: "17.2-alpine" } as const;

/** Seed 003's container joins the Traefik network (Dokploy's `dokploy-network`); monitoring has its own, without a route out. */
export const NEXTMAVENS_NETWORKS: readonly NetworkSpec[] = [
  {
    key: "web",
    subnet: "172.25.1.0/24",
    internal: false,
    purpose: "Traefik and the portal (seed 003's dokploy-network); the portal reaches its managed database and APIs from here",
  },
  { key: "monitoring", subnet: "172.25.3.0/24", internal: true, purpose: "Prometheus, Alertmanager, Loki, Grafana and the exporters; no route out" },
];

export const NEXTMAVENS_ROUTES: readonly RouteSpec[] = [{ subdomain: "portal", service: "developer-portal", port: 3000 }];

export const NEXTMAVENS_MEMORY_MB = { traefik: 128, "developer-portal": 512 } as const;

/** The generated stack's smallest limits: one app and its proxy make few series and little log. */
export const NEXTMAVENS_MONITORING: MonitoringDesign = {
  store: "prometheus",
  agent: "exporters",
  networks: { monitoring: "monitoring", frontend: "monitoring", egress: "web", agent: [] },
  memoryMb: memoryLimits({
    prometheus: 256,
    alertmanager: 32,
    loki: 192,
    promtail: 48,
    grafana: 160,
    "node-exporter": 24,
    cadvisor: 64,
    "blackbox-exporter": 16,
  }),
};

/** The portal and its proxy; the monitoring stack is added around them. */
function platformServices(domain: string, routes: readonly RouteSpec[], adminUser: string): ServiceSpec[] {
  const adminRouted = routes.some((route) => route.basicAuth);
  return [
    traefikServiceSpec(
      routes.map((route) => protectedRoute(route, domain, adminUser)),
      {
        networks: ["web", ...(adminRouted ? ["monitoring"] : [])],
        memoryMb: NEXTMAVENS_MEMORY_MB.traefik,
        dependsOn: ["developer-portal"],
        rateLimitPerMinute: 300,
        burst: 100,
        clientIpHeader: "CF-Connecting-IP",
        trustedIPs: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6],
      },
    ),
    service({
      name: "developer-portal",
      description: "Next.js standalone (node:18-alpine): control plane, data plane and admin APIs, dashboard",
      role: "app",
      image: { repository: "ghcr.io/nextmavens/developer-portal", tag: "1.0.0" },
      networks: ["web"],
      // Seed 003 maps 3006:3000; kept on localhost for debugging, Traefik serves the public side.
      ports: [{ container: 3000, publish: { host: 3006, address: "127.0.0.1" } }],
      env: {
        NODE_ENV: "production",
        PORT: "3000",
        DATABASE_URL: { secret: DATABASE_URL },
        // Seed 003: "Connection Pool: Max 20 connections".
        DATABASE_POOL_MAX: "20",
        JWT_SECRET: { secret: JWT_SECRET },
        RESEND_API_KEY: { secret: RESEND_API_KEY },
        AUTH_SERVICE_URL: { secret: AUTH_SERVICE_URL },
        AUDIT_SERVICE_URL: { secret: AUDIT_SERVICE_URL },
        NEXT_PUBLIC_APP_URL: `https://portal.${domain}`,
      },
      waivers: [
        {
          rule: "C15",
          reason:
            "the portal's Next.js image reads DATABASE_URL, JWT_SECRET, RESEND_API_KEY and the service URLs from its environment; it has no *_FILE variant, which the application must add first",
        },
      ],
      user: "1000",
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp", "/app/.next/cache"],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3000/api/health"], 30),
      // Seed 003's monitoring plan: `/api/health/db` checks the database
      // connection, and a failing one is an alert ("Database connection
      // failures"). The container's own health stays /api/health, so an
      // unreachable managed database raises that alert instead of restarts.
      dependencyChecks: [{ dependency: "database", port: 3000, path: "/api/health/db" }],
      memoryMb: NEXTMAVENS_MEMORY_MB["developer-portal"],
      // The managed database is the portal's only state; seed 003 kept it in Telegram, by hand.
      backup: {
        dump: { kind: "postgres-url", urlSecret: DATABASE_URL, client: NEXTMAVENS_DATABASE_CLIENT },
        minimumRetention: { daily: NEXTMAVENS_BACKUP_RETENTION_DAYS, reason: "seed 003: 30 days" },
      },
    }),
  ];
}

export const nextmavens: Blueprint = {
  name: "nextmavens",
  title: "NextMavens developer portal behind Traefik, managed PostgreSQL",
  seed: "003",
  namePrefix: "nextmavens",
  secrets: [
    { key: DATABASE_URL, purpose: "connection URL of the managed PostgreSQL (external; configured, not created)" },
    { key: JWT_SECRET, purpose: "JWT signing secret of the portal" },
    { key: RESEND_API_KEY, purpose: "Resend API key for notification email (external service)" },
    { key: AUTH_SERVICE_URL, purpose: "URL with credentials of the external auth service" },
    { key: AUDIT_SERVICE_URL, purpose: "URL with credentials of the external audit-log service" },
    { key: GRAFANA_ADMIN_PASSWORD_SECRET, purpose: "Grafana admin password", adminPassword: true },
  ],
  roles: ["ingress", "app", "monitoring"],
  systemReserveMb: 512,
  build(environment): PlatformSpec {
    return {
      networks: NEXTMAVENS_NETWORKS,
      // Tunnelled unless the stack routes the admin UIs through the ingress:
      // then Prometheus, Alertmanager, Loki and Grafana get routes behind
      // Traefik's basic auth, and Traefik joins their network to reach them.
      ...monitoredPlatform({
        blueprint: "nextmavens",
        environment,
        design: NEXTMAVENS_MONITORING,
        ingress: "traefik",
        namePrefix: "nextmavens",
        routes: NEXTMAVENS_ROUTES,
        services: ({ routes, settings }) => platformServices(environment.domain, routes, settings.adminUser),
      }),
      buckets: [
        {
          key: "backups",
          purpose: `restic repository: nightly dumps of the managed PostgreSQL instead of Telegram, at least ${NEXTMAVENS_BACKUP_RETENTION_DAYS} daily (seed 003)`,
        },
      ],
    };
  },
};
