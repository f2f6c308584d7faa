import type { IngressKind } from "../ingress/route";

/**
 * The monitoring settings a stack chooses (`infra:monitoring`), with every
 * default in one place. Validation lives in infra/config; this is the shape,
 * the defaults, and the secrets a choice brings with it.
 */

/**
 * How the admin UIs (Grafana, the metrics store, Alertmanager, Loki) are
 * reached. `tunnel`: on 127.0.0.1 only, through `ssh -L` (seed 001).
 * `ingress`: routed through the platform's ingress, whichever proxy it is,
 * behind basic auth. `caddy`, the value stacks chose before nginx and
 * Traefik could ask for a password, routes them only where the ingress is
 * Caddy and leaves the other platforms tunnelled, as it always has: a stack
 * file that picked it for VPAI opens nothing new when another blueprint is
 * planned with it.
 */
export const ADMIN_ACCESS_MODES = ["tunnel", "caddy", "ingress"] as const;
export type AdminAccess = (typeof ADMIN_ACCESS_MODES)[number];

/** True when the admin UIs get routes through the ingress, behind basic auth. */
export function routesAdminUIs(settings: Pick<MonitoringSettings, "adminAccess">): boolean {
  return settings.adminAccess !== "tunnel";
}

export interface AlertThresholds {
  /** Free space under this on any real filesystem of the host. */
  readonly diskFreeGb: number;
  /** The free-space trend of the last six hours reaches zero within this many hours. */
  readonly diskFullWithinHours: number;
  /** MemAvailable under this share of MemTotal. */
  readonly memoryAvailablePercent: number;
  /** A container missing, or not answering on its port, for this long. */
  readonly containerDownMinutes: number;
  /** This many restarts of one container inside `restartWindowMinutes`. */
  readonly containerRestarts: number;
  readonly restartWindowMinutes: number;
  /** Share of the ingress's responses that are 5xx. */
  readonly http5xxPercent: number;
  readonly http5xxForMinutes: number;
  /** Client connections as a share of max_connections. */
  readonly postgresConnectionsPercent: number;
  /** used_memory as a share of maxmemory. */
  readonly redisMemoryPercent: number;
  /** The backup's recovery point objective; the alert fires at 1.5 times it (B9). */
  readonly backupRPOHours: number;
  /** Days before the earliest certificate of a route expires. */
  readonly tlsExpiryDays: number;
  /** A route's probe failing for this long. */
  readonly probeFailedMinutes: number;
}

export interface EmailReceiver {
  readonly to: readonly string[];
  readonly from: string;
  /** `host:port` of the SMTP relay. */
  readonly smarthost: string;
  /** With a user name, the password is the secret `infra:alertSmtpPassword`. */
  readonly username?: string;
  readonly requireTLS: boolean;
}

export interface SlackReceiver {
  /** The incoming-webhook URL is the secret `infra:alertSlackWebhookUrl`. */
  readonly channel: string;
}

export interface WebhookReceiver {
  readonly url: string;
  /** With a bearer token, the token is the secret `infra:alertWebhookToken`. */
  readonly bearerToken: boolean;
}

export interface Receivers {
  readonly email?: EmailReceiver;
  readonly slack?: SlackReceiver;
  readonly webhook?: WebhookReceiver;
}

export interface MonitoringSettings {
  readonly adminAccess: AdminAccess;
  /** User name of the ingress's basic auth in front of the admin UIs. */
  readonly adminUser: string;
  readonly scrapeIntervalSeconds: number;
  readonly evaluationIntervalSeconds: number;
  readonly retentionDays: number;
  readonly thresholds: AlertThresholds;
  readonly receivers: Receivers;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  // Seed 000: the audit flags a host with less than 20 GB free.
  diskFreeGb: 20,
  diskFullWithinHours: 24,
  memoryAvailablePercent: 10,
  // Seed 001's alerts wait two minutes before firing.
  containerDownMinutes: 2,
  containerRestarts: 3,
  restartWindowMinutes: 15,
  // Seed 001: "error_rate > 5% for 2 minutes".
  http5xxPercent: 5,
  http5xxForMinutes: 2,
  postgresConnectionsPercent: 80,
  redisMemoryPercent: 90,
  // The backup runs once a day (seed 002), so a day's data is what may be lost.
  backupRPOHours: 24,
  tlsExpiryDays: 14,
  probeFailedMinutes: 2,
};

export const MONITORING_DEFAULTS: MonitoringSettings = {
  // Nothing of the monitoring stack is public unless a stack asks for it (seed 001: SSH tunnel).
  adminAccess: "tunnel",
  adminUser: "admin",
  // Seed 001: scrape every 15 s, evaluate rules every 30 s.
  scrapeIntervalSeconds: 15,
  evaluationIntervalSeconds: 30,
  // The retention VPAI's VictoriaMetrics was started with.
  retentionDays: 90,
  thresholds: DEFAULT_THRESHOLDS,
  receivers: {},
};

/** What a stack file may leave out; `withMonitoringDefaults` fills the rest. */
export type MonitoringInput = Partial<Omit<MonitoringSettings, "thresholds">> & { readonly thresholds?: Partial<AlertThresholds> };

export function withMonitoringDefaults(input: MonitoringInput = {}): MonitoringSettings {
  return {
    ...MONITORING_DEFAULTS,
    ...input,
    thresholds: { ...DEFAULT_THRESHOLDS, ...input.thresholds },
    receivers: input.receivers ?? MONITORING_DEFAULTS.receivers,
  };
}

/**
 * The settings for a blueprint that keeps every admin UI on 127.0.0.1 for an
 * SSH tunnel (seed 001), whatever `adminAccess` the stack chose.
 */
export function withTunnelledAdmin(settings: MonitoringSettings): MonitoringSettings {
  return { ...settings, adminAccess: "tunnel" };
}

/**
 * The settings as a blueprint behind `proxy` applies them: `ingress` routes
 * the admin UIs through any proxy, `caddy` only through Caddy (see
 * ADMIN_ACCESS_MODES); otherwise they stay tunnelled.
 */
export function adminAccessThrough(settings: MonitoringSettings, proxy: IngressKind): MonitoringSettings {
  return settings.adminAccess === "caddy" && proxy !== "caddy" ? withTunnelledAdmin(settings) : settings;
}

export const ADMIN_PASSWORD_SECRET = "infra:monitoringAdminPassword";
/**
 * `adminAccess: ingress`: the bcrypt hash of the admin password. nginx and
 * Traefik check passwords against a hash and their images cannot compute
 * one, so the stack holds the hash, never the password.
 */
export const ADMIN_PASSWORD_HASH_SECRET = "infra:monitoringAdminPasswordHash";
export const SMTP_PASSWORD_SECRET = "infra:alertSmtpPassword";
export const SLACK_WEBHOOK_SECRET = "infra:alertSlackWebhookUrl";
export const WEBHOOK_TOKEN_SECRET = "infra:alertWebhookToken";
/** Grafana's own admin login; every blueprint with Grafana declares it. */
export const GRAFANA_ADMIN_PASSWORD_SECRET = "infra:grafanaAdminPassword";

export interface MonitoringSecret {
  readonly key: string;
  readonly purpose: string;
  /** A login password: empty and well-known default values are refused. */
  readonly adminPassword?: boolean;
  /** A bcrypt hash, as nginx and Traefik check passwords against. */
  readonly bcryptHash?: boolean;
}

/** Every secret a monitoring choice can bring, so none of them is an unknown key. */
export const MONITORING_SECRETS: readonly MonitoringSecret[] = [
  { key: ADMIN_PASSWORD_SECRET, purpose: "password of the Caddy basic_auth in front of the admin UIs (adminAccess: caddy)", adminPassword: true },
  {
    key: ADMIN_PASSWORD_HASH_SECRET,
    purpose:
      "bcrypt hash of the password the ingress asks for before the admin UIs (adminAccess: ingress): htpasswd -nbBC 10 <adminUser> <password> | cut -d: -f2",
    bcryptHash: true,
  },
  { key: SMTP_PASSWORD_SECRET, purpose: "SMTP password Alertmanager sends email with" },
  { key: SLACK_WEBHOOK_SECRET, purpose: "Slack incoming-webhook URL for alerts" },
  { key: WEBHOOK_TOKEN_SECRET, purpose: "bearer token Alertmanager sends to the alert webhook" },
];

/**
 * The secrets these settings need. It reads a loosely shaped object too, so
 * the offline plan can list them before validation has run.
 */
export function monitoringSecrets(settings: unknown): MonitoringSecret[] {
  const loose = (typeof settings === "object" && settings !== null ? settings : {}) as {
    adminAccess?: unknown;
    receivers?: { email?: { username?: unknown }; slack?: unknown; webhook?: { bearerToken?: unknown } };
  };
  const wanted = new Set<string>();
  if (loose.adminAccess === "caddy") wanted.add(ADMIN_PASSWORD_SECRET);
  if (loose.adminAccess === "ingress") wanted.add(ADMIN_PASSWORD_HASH_SECRET);
  if (loose.receivers?.email?.username !== undefined) wanted.add(SMTP_PASSWORD_SECRET);
  if (loose.receivers?.slack !== undefined) wanted.add(SLACK_WEBHOOK_SECRET);
  if (loose.receivers?.webhook?.bearerToken === true) wanted.add(WEBHOOK_TOKEN_SECRET);
  return MONITORING_SECRETS.filter((secret) => wanted.has(secret.key));
}
