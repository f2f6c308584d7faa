/**
 * The typed stack configuration: everything that differs between prod and
 * preprod lives here and in `Pulumi.<stack>.yaml`, never in code.
 */

import type { BackupSettings } from "../../components/backup/settings";
import type { ServerConfig } from "../../components/compute/server-spec";
import type { MonitoringSettings } from "../../components/monitoring/settings";
import type { ImageRegistry } from "../../components/container/image-registry";
import type { OpsHostConfig } from "../../components/ops-host/ops-host-spec";

export type { OpsHostConfig, VpnPeerConfig } from "../../components/ops-host/ops-host-spec";

export { DEFAULT_ROLES, ROLES, SERVER_PROVIDERS } from "../../components/compute/server-spec";
export { BACKUP_DEFAULTS } from "../../components/backup/settings";
export type { BackupSettings, PITRSettings, RetentionPolicy } from "../../components/backup/settings";
export type { ExistingServerConfig, HetznerServerConfig, Role, ServerConfig, ServerProvider } from "../../components/compute/server-spec";

/** `infra:dns` as an object: Cloudflare holds the zone and proxies the web names. */
export interface CloudflareDNSConfig {
  readonly provider: "cloudflare";
  /** Cloudflare zone id of `domain`. */
  readonly zoneId: string;
  /** Web names go through Cloudflare's proxy (CF4); the firewall then admits only Cloudflare (F3). */
  readonly proxied: boolean;
  /** HSTS at the edge (CF3); prod turns it on. */
  readonly hsts: boolean;
}

/**
 * `infra:dns: none`: the program manages no zone and no record, and nothing
 * proxies the web names; the operator points them at the ingress elsewhere.
 * For stacks without a Cloudflare account, and for the local testbed.
 */
export interface UnmanagedDNSConfig {
  readonly provider: "none";
}

export type DNSConfig = CloudflareDNSConfig | UnmanagedDNSConfig;

/** The value of `infra:dns` that selects UnmanagedDNSConfig. */
export const UNMANAGED_DNS = "none";

/** Whether Cloudflare's proxy stands in front of the web ports, so the firewall admits only its ranges (F3). */
export function behindCloudflare(dns: DNSConfig): boolean {
  return dns.provider === "cloudflare" && dns.proxied;
}

export interface StorageConfig {
  /** S3 endpoint of Hetzner Object Storage, B2, R2 or MinIO. */
  readonly endpoint: string;
  readonly region: string;
  /** Bucket names are `<bucketPrefix>-<bucket>`; stacks use different prefixes. */
  readonly bucketPrefix: string;
  /** S3: noncurrent versions expire after this many days, at least the backup retention window. */
  readonly noncurrentVersionExpiryDays: number;
  readonly forcePathStyle: boolean;
}

/**
 * A Hetzner private network between the stack's servers (seed 004, phase 3):
 * services on one server reach another's over it, never over the internet.
 */
export interface PrivateNetworkConfig {
  /** The network's whole range, e.g. 10.0.0.0/16. */
  readonly ipRange: string;
  /** The cloud subnet the servers and the load balancer take addresses from, inside ipRange. */
  readonly subnet: string;
  /** Hetzner network zone of the servers' locations (eu-central for fsn1, nbg1, hel1). */
  readonly networkZone: string;
}

/** A Hetzner load balancer in front of every server with the ingress role (seed 004, phase 4). */
export interface LoadBalancerConfig {
  /** lb11, lb21 or lb31. */
  readonly type: string;
  readonly location: string;
  /** Its fixed address on the private network; targets are reached there. */
  readonly privateIp: string;
}

export interface StackConfig {
  readonly blueprint: string;
  /** A label for names and tags (prod, preprod); components never read the stack name. */
  readonly environment: string;
  readonly domain: string;
  readonly adminCidrs: readonly string[];
  /** `protect` and Hetzner delete/rebuild protection (F4); true unless the stack is disposable. */
  readonly protect: boolean;
  /** The stack's data may be lost with it (preprod, restored from prod's backups); every other stack is held to prod's rules (F4, CF3, CF4). */
  readonly disposable: boolean;
  readonly servers: readonly ServerConfig[];
  readonly dns: DNSConfig;
  readonly storage: StorageConfig;
  /** The nightly backup of every server; defaults when `infra:backup` is absent. */
  readonly backup: BackupSettings;
  readonly privateNetwork?: PrivateNetworkConfig;
  readonly loadBalancer?: LoadBalancerConfig;
  /** Thresholds, receivers and admin access of the monitoring stack; defaults when `infra:monitoring` is absent. */
  readonly monitoring: MonitoringSettings;
  /** Every image is pulled from this registry instead of its origin (a mirror, or a closed network's registry). */
  readonly registry?: ImageRegistry;
  /** Image tags of app services by service name, over the blueprint's (how a stack releases a new version). */
  readonly releases: Readonly<Record<string, string>>;
  /** The stack's own routes and response headers, over the blueprint's; applied by a reload of the ingress. */
  readonly ingress: StackIngress;
  /** Seed 002's ops host: the admin VPN's hub, the uptime checks and the pull of the backups. */
  readonly opsHost?: OpsHostConfig;
}

/** A further name for a service the blueprint already routes (`www` beside `app`). */
export interface StackRoute {
  readonly subdomain: string;
  readonly service: string;
  /** The port of the blueprint's route to the service when absent. */
  readonly port?: number;
}

/** `infra:ingress`: what a stack adds to the ingress. */
export interface StackIngress {
  readonly routes: readonly StackRoute[];
  /** Response headers on every route, by name; names the ingress sets itself are refused. */
  readonly headers: Readonly<Record<string, string>>;
}

export const INGRESS_DEFAULTS: StackIngress = { routes: [], headers: {} };

/** Every plain (non-secret) key the program reads, with what it holds. */
export const PLAIN_KEYS: Readonly<Record<string, string>> = {
  "infra:blueprint": "which platform to build",
  "infra:environment": "environment label (prod, preprod, ...)",
  "infra:domain": "DNS domain the routes live under",
  "infra:adminCidrs": "list of CIDRs allowed to reach SSH",
  "infra:protect": "protect stateful resources (default true; false only with infra:disposable: true)",
  "infra:disposable": "true for a stack whose data may be lost with it, e.g. preprod (default false: protected and held to prod's rules)",
  "infra:servers": "list of servers",
  "infra:dns": "Cloudflare settings { zoneId, proxied, hsts }, or none to manage no DNS",
  "infra:storage": "S3 settings { endpoint, region, bucketPrefix, noncurrentVersionExpiryDays, forcePathStyle }",
  "infra:backup": "optional backup settings { schedule, retention: { daily, weekly, monthly, yearly }, checkSubsets, pitr: { enabled, archiveTimeoutSeconds } }",
  "infra:privateNetwork": "optional Hetzner private network between servers { ipRange, subnet, networkZone }",
  "infra:loadBalancer": "optional Hetzner load balancer in front of the ingress servers { type, location, privateIp }",
  "infra:releases": "optional image tag per app service, over the blueprint's { backend: 1.4.2 }: how a new version is released",
  "infra:ingress": "optional routes and response headers of the stack's own { routes: [{ subdomain, service, port }], headers: { Name: value } }, applied by reloading the ingress",
  "infra:registry": "optional registry every image is pulled from { host: host[:port], caCertificate: PEM of its CA }",
  "infra:opsHost":
    "optional ops host { serverType, location, image, sshUser, sshPublicKey, vpnRange (one of infra:adminCidrs), vpnPort, peers: [{ name, address, publicKey }], pullBackups, pullSchedule }: the WireGuard hub every server joins, the uptime checks, and the pull of the backups",
  "infra:monitoring":
    "optional monitoring settings { adminAccess: tunnel|ingress|caddy, adminUser, scrapeIntervalSeconds, evaluationIntervalSeconds, retentionDays, thresholds: { ... }, receivers: { email, slack, webhook } }",
};

/** The namespace of the program's own keys: the project's name in Pulumi.yaml. */
export const PROJECT_NAMESPACE = "infra";

/**
 * The keys of the providers the program uses as Pulumi's default providers,
 * which read their settings from config: each one a setting its SDK
 * documents (@pulumi/hcloud/config, @pulumi/cloudflare/config). Cloudflare's
 * apiKey, email and apiUserServiceKey are left out: the program authenticates
 * with cloudflare:apiToken, and the provider refuses a key beside a token.
 * The program configures Docker per server itself, so no docker: key is read.
 */
export const PROVIDER_KEYS: Readonly<Record<string, readonly string[]>> = {
  hcloud: ["token", "endpoint", "endpointHetzner", "pollFunction", "pollInterval"],
  cloudflare: ["apiToken", "baseUrl", "userAgentOperatorSuffix"],
};

/** Provider settings left out of PROVIDER_KEYS on purpose, with why; a message names the reason. */
export const REFUSED_PROVIDER_KEYS: Readonly<Record<string, string>> = {
  "cloudflare:apiKey": "the program authenticates with cloudflare:apiToken, and the provider refuses a global API key beside a token",
  "cloudflare:email": "the program authenticates with cloudflare:apiToken; an email goes only with the global API key it does not use",
  "cloudflare:apiUserServiceKey": "the program authenticates with cloudflare:apiToken, and the provider refuses a service key beside a token",
};

/** Keys of Pulumi's own namespace that its documentation gives for stack config. */
export const PULUMI_KEYS: readonly string[] = ["pulumi:disable-default-providers"];

/** Where every key is listed, for messages about an unknown one. */
export const KEY_LIST_HINT = "the README's Configuration section lists every key, and `npm run plan` the secrets a stack needs";

export interface SecretDeclaration {
  /** Full config key, e.g. `infra:postgresPassword`. */
  readonly key: string;
  readonly purpose: string;
  /** A login password: empty and well-known default values are refused. */
  readonly adminPassword?: boolean;
  /** A bcrypt hash ($2a$, $2b$ or $2y$), as nginx and Traefik check passwords against. */
  readonly bcryptHash?: boolean;
  /** PEM text, the one kind of secret with line feeds in it; any other control character is refused in every secret. */
  readonly lines?: boolean;
}

/**
 * What the offline plan stands in for a secret it cannot read. It is marked
 * secret, so it prints as [secret]; validation lets it pass the format checks
 * of secrets whose value it cannot know.
 */
export const SECRET_PLACEHOLDER = "[secret]";

/** Secrets every platform needs, whatever its blueprint. */
export const PLATFORM_SECRETS: readonly SecretDeclaration[] = [
  { key: "infra:sshPrivateKey", purpose: "admin SSH key used to prepare hosts and reach Docker", lines: true },
  { key: "infra:storageAccessKeyId", purpose: "S3 access key of the object storage" },
  { key: "infra:storageSecretAccessKey", purpose: "S3 secret key of the object storage" },
  { key: "infra:resticPassword", purpose: "restic repository password; backups are encrypted on the server with it (S4)" },
];

/** Needed only when Cloudflare holds the zone (`infra:dns` is not `none`). */
export const CLOUDFLARE_SECRET: SecretDeclaration = { key: "cloudflare:apiToken", purpose: "Cloudflare API token with DNS and zone-settings edit on the zone" };

/** Needed only when a server is provisioned on Hetzner Cloud. */
export const HETZNER_SECRET: SecretDeclaration = { key: "hcloud:token", purpose: "Hetzner Cloud API token (read/write)" };

/**
 * Secrets a stack may set; when set they are guarded like the others (V2).
 * A heartbeat URL is one: its token is all it takes to report a backup as
 * good, which would hide a failing job from the monitor (B9).
 */
export const OPTIONAL_SECRETS: readonly SecretDeclaration[] = [
  { key: "infra:backupHeartbeatUrl", purpose: "push URL (Uptime Kuma, healthchecks.io) called after each successful backup" },
];
