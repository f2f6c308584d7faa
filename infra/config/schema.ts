/**
 * The typed stack configuration: everything that differs between prod and
 * preprod lives here and in `Pulumi.<stack>.yaml`, never in code.
 */

import type { ServerConfig } from "../../components/compute/server-spec";

export { ROLES, SERVER_PROVIDERS } from "../../components/compute/server-spec";
export type { ExistingServerConfig, HetznerServerConfig, Role, ServerConfig, ServerProvider } from "../../components/compute/server-spec";

export interface DNSConfig {
  /** Cloudflare zone id of `domain`. */
  readonly zoneId: string;
  /** Web names go through Cloudflare's proxy (CF4); the firewall then admits only Cloudflare (F3). */
  readonly proxied: boolean;
  /** HSTS at the edge (CF3); prod turns it on. */
  readonly hsts: boolean;
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

export interface StackConfig {
  readonly blueprint: string;
  /** A label for names and tags (prod, preprod); components never read the stack name. */
  readonly environment: string;
  readonly domain: string;
  readonly adminCidrs: readonly string[];
  /** `protect` and Hetzner delete/rebuild protection (F4). */
  readonly protect: boolean;
  readonly servers: readonly ServerConfig[];
  readonly dns: DNSConfig;
  readonly storage: StorageConfig;
}

/** Every plain (non-secret) key the program reads, with what it holds. */
export const PLAIN_KEYS: Readonly<Record<string, string>> = {
  "infra:blueprint": "which platform to build",
  "infra:environment": "environment label (prod, preprod, ...)",
  "infra:domain": "DNS domain the routes live under",
  "infra:adminCidrs": "list of CIDRs allowed to reach SSH",
  "infra:protect": "protect stateful resources (true for prod)",
  "infra:servers": "list of servers",
  "infra:dns": "Cloudflare settings { zoneId, proxied, hsts }",
  "infra:storage": "S3 settings { endpoint, region, bucketPrefix, noncurrentVersionExpiryDays, forcePathStyle }",
};

export interface SecretDeclaration {
  /** Full config key, e.g. `infra:postgresPassword`. */
  readonly key: string;
  readonly purpose: string;
}

/** Secrets every platform needs, whatever its blueprint. */
export const PLATFORM_SECRETS: readonly SecretDeclaration[] = [
  { key: "infra:sshPrivateKey", purpose: "admin SSH key used to prepare hosts and reach Docker" },
  { key: "infra:storageAccessKeyId", purpose: "S3 access key of the object storage" },
  { key: "infra:storageSecretAccessKey", purpose: "S3 secret key of the object storage" },
  { key: "cloudflare:apiToken", purpose: "Cloudflare API token with DNS and zone-settings edit on the zone" },
];

/** Needed only when a server is provisioned on Hetzner Cloud. */
export const HETZNER_SECRET: SecretDeclaration = { key: "hcloud:token", purpose: "Hetzner Cloud API token (read/write)" };
