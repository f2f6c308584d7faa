/**
 * The stack configuration as one zod schema: every `infra:*` key the program
 * reads, with its type, its default, its description and its messages. The
 * TypeScript types below are inferred from it, the JSON Schema of the stack
 * files (docs/stack-config.schema.json) is generated from it, and validation
 * (validate.ts) parses with it. Everything that differs between prod and
 * preprod lives here and in `Pulumi.<stack>.yaml`, never in code.
 */

import { z } from "zod";
import { BACKUP_DEFAULTS, MAX_ARCHIVE_TIMEOUT_SECONDS, SCHEDULE_PATTERN, type BackupSettings } from "../../components/backup/settings";
import { DEFAULT_ROLES, DEFAULT_SSH_PORT, ROLES, SERVER_PROVIDERS, type ServerConfig } from "../../components/compute/server-spec";
import { LOAD_BALANCER_TYPES, LOCATIONS, SERVER_TYPE_NAMES } from "../../components/compute/server-types";
import { caCertificateProblem, registryHostProblem, type ImageRegistry } from "../../components/container/image-registry";
import { isDNSLabel, isDomainName, isSSHPublicKey } from "../../components/formats";
import {
  ADMIN_ACCESS_MODES,
  DEFAULT_THRESHOLDS,
  MONITORING_DEFAULTS,
  type AlertThresholds,
  type MonitoringSettings,
} from "../../components/monitoring/settings";
import { isIPv4, isIPv4CIDR, isNetworkCIDR } from "../../components/network/ip-ranges";
import { OPS_HOST_DEFAULTS, type OpsHostConfig } from "../../components/ops-host/ops-host-spec";
import { isWireGuardKey } from "../../components/vpn/wireguard-spec";
import { NETWORK_ZONES } from "../../components/network/network-zones";
import { formatHostKey, HOST_KEY_HOWTO, parseHostKey } from "../../components/remote/host-key";
import { endpointProblems } from "../../components/storage/bucket-rules";
import {
  checkedText,
  choice,
  choiceMessage,
  flag,
  objectMessage,
  integer,
  list,
  map,
  matching,
  number,
  oneOf,
  quoted,
  record,
  refused,
  text,
} from "./field-schemas";
import { descriptionOf } from "./issues";
import {
  adminCidrCheck,
  bucketPrefixCheck,
  emailCheck,
  headerNameCheck,
  headerValueCheck,
  hostAddressCheck,
  IMAGE_TAG,
  privateRangeCheck,
  webhookURLCheck,
} from "./value-checks";

export { DEFAULT_ROLES, ROLES, SERVER_PROVIDERS } from "../../components/compute/server-spec";
export { BACKUP_DEFAULTS } from "../../components/backup/settings";
export type { BackupSettings, PITRSettings, RetentionPolicy } from "../../components/backup/settings";
export type { ExistingServerConfig, HetznerServerConfig, Role, ServerConfig, ServerProvider } from "../../components/compute/server-spec";
export type { OpsHostConfig, VpnPeerConfig } from "../../components/ops-host/ops-host-spec";

type Writable<T> = T extends readonly (infer Item)[] ? Writable<Item>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;

/**
 * A default from the components' constants, which are read-only, as the
 * schema's mutable output type: the value is the same object, and nothing
 * writes to parsed config.
 */
function writable<T>(value: T): Writable<T> {
  return value as Writable<T>;
}

const ipv4 = text((value) => isIPv4(value) || "must be an IPv4 address such as 10.0.1.2");

// ---------------------------------------------------------------- servers

const serverName = text((value) => isDNSLabel(value) || "must be a lowercase DNS label").describe(
  "logical name, used in resource names; a lowercase DNS label",
);
const roles = list(choice(ROLES, "a role"), { empty: "must be a non-empty list" })
  .default([...DEFAULT_ROLES])
  .describe(`what the server hosts (${ROLES.join(", ")}); every role but replica when absent`);
const sshUser = matching(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name")
  .default("root")
  .describe("the account services and Docker are reached with over SSH");

const HOST_KEY_HELP = `the server's public SSH host key, which the program pins (H9); ${HOST_KEY_HOWTO}`;

/** The host key as pinned: parsed, checked, and written without its comment. Messages never repeat it: it may be a private key pasted by mistake. */
const hostKey = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? `is required: ${HOST_KEY_HELP}`
        : issue.input === null
          ? `is empty (YAML reads a key without a value as null): ${HOST_KEY_HELP}`
          : `must be a string: ${HOST_KEY_HELP}`,
  })
  .min(1, { error: `is required: ${HOST_KEY_HELP}`, abort: true })
  .transform((value, context) => {
    const parsed = parseHostKey(value);
    if (typeof parsed !== "string") return formatHostKey(parsed);
    context.issues.push({ code: "custom", message: `${parsed}; expected ${HOST_KEY_HELP}`, input: value });
    return z.NEVER;
  })
  .describe('the server\'s public SSH host key, "<type> <base64>", the only key the program accepts from it (H9)');

const hetznerServer = record({
  provider: z.literal("hetzner"),
  name: serverName,
  roles,
  sshUser,
  serverType: oneOf(SERVER_TYPE_NAMES).describe("Hetzner server type; RAM and price come from components/compute/server-types.ts"),
  location: oneOf(LOCATIONS).describe("Hetzner location"),
  image: matching(/^(ubuntu|debian)-\d+(\.\d+)?$/, "must be an Ubuntu or Debian image such as ubuntu-24.04")
    .default("ubuntu-24.04")
    .describe("Ubuntu or Debian image"),
  sshPublicKey: text((value) => isSSHPublicKey(value) || "must be an OpenSSH public key (ssh-ed25519 AAAA...)").describe(
    "public half of the admin key pair; the private half is the secret infra:sshPrivateKey",
  ),
  volumeGb: integer(10, 10240).optional().describe("optional block volume for Docker's data, in GB"),
  privateIp: ipv4.optional().describe("fixed address on infra:privateNetwork; other servers reach this one's services there"),
  hostKey: refused("is generated by the program for a Hetzner server, installed through cloud-init and pinned (H9); remove it").describe(
    "never set: the program generates a Hetzner server's host key",
  ),
}).describe("a server the program provisions on Hetzner Cloud");

const existingServer = record({
  provider: z.literal("existing"),
  name: serverName,
  roles,
  sshUser,
  address: text(hostAddressCheck).describe("the VPS's IPv4/IPv6 address or host name, bare (no brackets, port or zone id)"),
  sshPort: integer(1, 65535).default(DEFAULT_SSH_PORT).describe("sshd's port, which every firewall layer opens to the admins (H10)"),
  hostKey,
  memoryMb: integer(512, 1048576).describe("RAM of the machine in MB; the memory budget cannot ask the provider for it"),
  monthlyCostEur: number(0, 100000).default(0).describe("what the provider bills a month, for the cost estimate"),
}).describe("a VPS that already exists at another provider, adopted by address");

const server = z.discriminatedUnion("provider", [hetznerServer, existingServer], {
  error: (issue) => {
    const input = issue.input as unknown;
    if (typeof input !== "object" || input === null || Array.isArray(input)) return objectMessage(input);
    return choiceMessage((input as { provider?: unknown }).provider, SERVER_PROVIDERS);
  },
});

// ---------------------------------------------------------------- DNS, storage, networks

/** `infra:dns` as an object: Cloudflare holds the zone and proxies the web names. */
const cloudflareDNS = record({
  zoneId: matching(/^[0-9a-f]{32}$/, "must be the 32-character hex id of the Cloudflare zone").describe("Cloudflare zone id of infra:domain"),
  proxied: flag().default(true).describe("web names go through Cloudflare's proxy (CF4); the firewall then admits only Cloudflare (F3)"),
  hsts: flag().default(false).describe("HSTS at the edge (CF3); prod turns it on"),
}).transform((settings) => ({ provider: "cloudflare" as const, ...settings }));

/** The value of `infra:dns` that selects UnmanagedDNSConfig. */
export const UNMANAGED_DNS = "none";

/**
 * `infra:dns: none`: the program manages no zone and no record, and nothing
 * proxies the web names; the operator points them at the ingress elsewhere.
 * For stacks without a Cloudflare account, and for the local testbed.
 */
const unmanagedDNS = z.literal(UNMANAGED_DNS).transform(() => ({ provider: "none" as const }));

const dns = z
  .union([unmanagedDNS, cloudflareDNS], {
    error: (issue) =>
      `${quoted(issue.input)} is neither an object { zoneId, proxied, hsts } for Cloudflare nor ${UNMANAGED_DNS} (the program then manages no DNS)`,
  })
  .describe("Cloudflare settings { zoneId, proxied, hsts }, or none to manage no DNS");

const storage = record({
  // The bucket component's own checks (components/storage/bucket-rules.ts),
  // so that what it would refuse while registering is refused here, with the
  // key path (V5). Its messages never repeat credentials given in the URL.
  endpoint: checkedText((value) => {
    const problems = endpointProblems(value);
    return problems.length === 0 || problems.join("; ");
  }).describe("S3 endpoint of Hetzner Object Storage, B2, R2 or MinIO (https, or http to a loopback address)"),
  region: matching(/^[a-z0-9][a-z0-9-]{1,31}$/, "must be a region name such as fsn1 or us-east-1"),
  bucketPrefix: text(bucketPrefixCheck).describe("bucket names are <bucketPrefix>-<bucket>; stacks use different prefixes"),
  noncurrentVersionExpiryDays: integer(1, 3650).default(30).describe("noncurrent versions expire after this many days, at least the backup retention window"),
  forcePathStyle: flag().default(false).describe("path-style bucket URLs (MinIO)"),
}).describe("S3 settings { endpoint, region, bucketPrefix, noncurrentVersionExpiryDays, forcePathStyle }");

/**
 * A Hetzner private network between the stack's servers (seed 004, phase 3):
 * services on one server reach another's over it, never over the internet.
 */
const privateNetwork = record({
  ipRange: text(privateRangeCheck).describe("the network's whole range, e.g. 10.0.0.0/16"),
  subnet: text(privateRangeCheck).describe("the cloud subnet the servers and the load balancer take addresses from, inside ipRange"),
  networkZone: oneOf(Object.keys(NETWORK_ZONES)).describe("Hetzner network zone of the servers' locations (eu-central for fsn1, nbg1, hel1)"),
}).describe("optional Hetzner private network between servers { ipRange, subnet, networkZone }");

/** A Hetzner load balancer in front of every server with the ingress role (seed 004, phase 4). */
const loadBalancer = record({
  type: oneOf(Object.keys(LOAD_BALANCER_TYPES)).describe("lb11, lb21 or lb31"),
  location: oneOf(LOCATIONS),
  privateIp: z
    .string({ error: (issue) => (issue.input === undefined ? "is required (its address on infra:privateNetwork)" : "must be a string") })
    .pipe(ipv4)
    .describe("its fixed address on the private network; targets are reached there"),
}).describe("optional Hetzner load balancer in front of the ingress servers { type, location, privateIp }");

// ---------------------------------------------------------------- backup and monitoring

const retentionCount = (kind: "daily" | "weekly" | "monthly" | "yearly") => integer(0, 1000).default(BACKUP_DEFAULTS.retention[kind]);

const backup = record({
  schedule: matching(SCHEDULE_PATTERN, "must be a daily time HH:MM, e.g. 02:55")
    .default(BACKUP_DEFAULTS.schedule)
    .describe("daily start time, HH:MM on the server's clock"),
  retention: record({
    daily: retentionCount("daily").refine((count) => count >= 1, { error: "must keep at least 1 daily snapshot, or a run could forget the newest one" }),
    weekly: retentionCount("weekly"),
    monthly: retentionCount("monthly"),
    yearly: retentionCount("yearly"),
  })
    .default(BACKUP_DEFAULTS.retention)
    .describe("restic GFS retention: how many daily, weekly, monthly and yearly snapshots stay (B1)"),
  checkSubsets: integer(1, 365).default(BACKUP_DEFAULTS.checkSubsets).describe("restic check reads 1/checkSubsets of the data each run (B4)"),
  pitr: record({
    enabled: flag().default(BACKUP_DEFAULTS.pitr.enabled).describe("WAL archiving into the restic repository (B6)"),
    archiveTimeoutSeconds: integer(1, MAX_ARCHIVE_TIMEOUT_SECONDS)
      .default(BACKUP_DEFAULTS.pitr.archiveTimeoutSeconds)
      .describe("PostgreSQL switches WAL segments at least this often, so it bounds the RPO"),
  }).default(BACKUP_DEFAULTS.pitr),
  heartbeatUrl: refused(
    "is a secret (its token reports backups as good) and cannot sit in plain config (V2); run: pulumi config set --secret infra:backupHeartbeatUrl <url>",
  ).describe("never here: the secret infra:backupHeartbeatUrl"),
})
  .default(BACKUP_DEFAULTS)
  .describe("optional backup settings { schedule, retention: { daily, weekly, monthly, yearly }, checkSubsets, pitr: { enabled, archiveTimeoutSeconds } }");

/** Each threshold with its allowed range; integers where a fraction means nothing. */
const THRESHOLD_RANGES: Readonly<Record<keyof AlertThresholds, readonly [number, number, "integer" | "number"]>> = {
  diskFreeGb: [1, 100000, "number"],
  diskFullWithinHours: [1, 720, "integer"],
  memoryAvailablePercent: [1, 99, "number"],
  containerDownMinutes: [1, 60, "integer"],
  containerRestarts: [1, 100, "integer"],
  restartWindowMinutes: [1, 1440, "integer"],
  http5xxPercent: [0.1, 100, "number"],
  http5xxForMinutes: [1, 60, "integer"],
  postgresConnectionsPercent: [1, 100, "number"],
  redisMemoryPercent: [1, 100, "number"],
  backupRPOHours: [1, 720, "number"],
  // Caddy renews a 90-day certificate 30 days before it expires; a warning
  // earlier than that would fire on every healthy certificate.
  tlsExpiryDays: [1, 29, "integer"],
  probeFailedMinutes: [1, 60, "integer"],
};

const thresholds = record(
  Object.fromEntries(
    Object.entries(THRESHOLD_RANGES).map(([key, [min, max, kind]]) => [
      key,
      (kind === "integer" ? integer(min, max) : number(min, max)).default(DEFAULT_THRESHOLDS[key as keyof AlertThresholds]),
    ]),
  ) as Record<keyof AlertThresholds, z.ZodDefault<z.ZodNumber>>,
).describe("alert thresholds; each keeps its default (components/monitoring/settings.ts) when absent");

const secretField = (key: string) =>
  refused(`is a secret and cannot sit in plain config (V2); run: pulumi config set --secret ${key} <value>`).describe(`never here: the secret ${key}`);

const receivers = record({
  email: record({
    to: list(text(emailCheck), { expected: "a list of addresses", empty: "must be a non-empty list" }),
    from: text(emailCheck),
    smarthost: matching(/^[A-Za-z0-9.-]+:\d{1,5}$/, "must be host:port of the SMTP relay, e.g. smtp.example.com:587"),
    requireTLS: flag().default(true),
    username: text().optional().describe("with a user name, the password is the secret infra:alertSmtpPassword"),
    password: secretField("infra:alertSmtpPassword"),
  }).optional(),
  slack: record({
    channel: matching(/^#[a-z0-9._-]{1,80}$/, "must be a channel such as #alerts"),
    webhookUrl: secretField("infra:alertSlackWebhookUrl"),
  })
    .optional()
    .describe("the incoming-webhook URL is the secret infra:alertSlackWebhookUrl"),
  webhook: record({
    url: text(webhookURLCheck),
    bearerToken: flag().default(false).describe("with a bearer token, the token is the secret infra:alertWebhookToken"),
  }).optional(),
}).default(writable(MONITORING_DEFAULTS.receivers));

const monitoring = record({
  adminAccess: choice(ADMIN_ACCESS_MODES)
    .default(MONITORING_DEFAULTS.adminAccess)
    .describe("how the admin UIs are reached: tunnel (127.0.0.1 only), ingress (behind the ingress's password), caddy (the same, where the ingress is Caddy)"),
  adminUser: matching(/^[A-Za-z0-9_.-]{1,32}$/, "must be 1 to 32 letters, digits, dots, hyphens or underscores").default(MONITORING_DEFAULTS.adminUser),
  scrapeIntervalSeconds: integer(5, 300).default(MONITORING_DEFAULTS.scrapeIntervalSeconds),
  evaluationIntervalSeconds: integer(5, 600).default(MONITORING_DEFAULTS.evaluationIntervalSeconds).describe("at least scrapeIntervalSeconds"),
  retentionDays: integer(1, 3650).default(MONITORING_DEFAULTS.retentionDays),
  thresholds: thresholds.default(DEFAULT_THRESHOLDS),
  receivers,
})
  .default(writable(MONITORING_DEFAULTS))
  .describe(
    "optional monitoring settings { adminAccess: tunnel|ingress|caddy, adminUser, scrapeIntervalSeconds, evaluationIntervalSeconds, retentionDays, thresholds: { ... }, receivers: { email, slack, webhook } }",
  );

// ---------------------------------------------------------------- the ops host (seed 002's Seko-VPN)

const vpnPeer = record({
  name: text((value) => isDNSLabel(value) || "must be a lowercase DNS label").describe("the peer's name in the VPN"),
  address: text((value) => isIPv4(value) || "must be an IPv4 address inside vpnRange").describe("its address inside vpnRange"),
  publicKey: text((value) => isWireGuardKey(value) || "must be a WireGuard public key (44 characters of base64, as `wg pubkey` prints it)").describe(
    "its WireGuard public key",
  ),
}).describe("a machine the program does not manage that joins the VPN, such as an admin's laptop");

const opsHost = record({
  serverType: oneOf(SERVER_TYPE_NAMES).describe("Hetzner server type of the ops host"),
  location: oneOf(LOCATIONS).describe("Hetzner location"),
  image: matching(/^(ubuntu|debian)-\d+(\.\d+)?$/, "must be an Ubuntu or Debian image such as ubuntu-24.04")
    .default(OPS_HOST_DEFAULTS.image)
    .describe("Ubuntu or Debian image"),
  sshUser: matching(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name")
    .default("root")
    .describe("the admin user the program logs in as"),
  sshPublicKey: text((value) => isSSHPublicKey(value) || "must be an OpenSSH public key (ssh-ed25519 AAAA...)").describe(
    "public half of the admin key pair, as for the stack's Hetzner servers",
  ),
  vpnRange: text(
    (value) =>
      (isIPv4CIDR(value) && isNetworkCIDR(value) && Number(value.split("/")[1]) <= 29) ||
      "must be an IPv4 network of at least /29 such as 100.64.0.0/10, written with its network address",
  ).describe("the VPN's range; one of infra:adminCidrs, so admin SSH is admitted from it"),
  vpnPort: integer(1024, 65535).default(OPS_HOST_DEFAULTS.vpnPort).describe("WireGuard's UDP port on the ops host, the one port it opens to everyone"),
  peers: list(vpnPeer).default([]).describe("machines the program does not manage that join the VPN"),
  pullBackups: flag()
    .default(OPS_HOST_DEFAULTS.pullBackups)
    .describe("the ops host pulls every server's dumps and holds the repository's keys (default true); false keeps each server pushing its own"),
  pullSchedule: matching(SCHEDULE_PATTERN, "must be HH:MM on a 24-hour clock")
    .default(OPS_HOST_DEFAULTS.pullSchedule)
    .describe("when the pull starts, after the servers' dumps (seed 002: 02:55 dump, 03:00 pull)"),
  hostKey: refused("is generated by the program, installed through cloud-init and pinned (H9); remove it").describe(
    "never set: the program generates the ops host's host key",
  ),
}).describe(
  "optional ops host { serverType, location, image, sshUser, sshPublicKey, vpnRange (one of infra:adminCidrs), vpnPort, peers: [{ name, address, publicKey }], pullBackups, pullSchedule }: the WireGuard hub every server joins, the uptime checks, and the pull of the backups",
);

// ---------------------------------------------------------------- registry, releases, ingress

const registry = record({
  host: checkedText((value) => registryHostProblem(value) ?? true).describe("host[:port] of the registry"),
  caCertificate: checkedText((value) => caCertificateProblem(value) ?? true)
    .optional()
    .describe("PEM of the CA that signed the registry's certificate"),
}).describe("optional registry every image is pulled from { host: host[:port], caCertificate: PEM of its CA }");

const releaseTag = z
  .string({
    error: (issue) =>
      typeof issue.input === "number"
        ? `${issue.input} is a number, and YAML has already read it as one (1.10 becomes 1.1): quote the tag, e.g. "${issue.input}"`
        : `${quoted(issue.input)} is not an image tag: 1-128 letters, digits, "_", "." or "-", not starting with "." or "-", e.g. 1.4.2`,
  })
  .superRefine((tag, context) => {
    if (!IMAGE_TAG.test(tag))
      context.addIssue({
        code: "custom",
        input: tag,
        message: `${quoted(tag)} is not an image tag: 1-128 letters, digits, "_", "." or "-", not starting with "." or "-", e.g. 1.4.2`,
      });
    else if (tag === "latest")
      context.addIssue({
        code: "custom",
        input: tag,
        message: `"latest" names no release: a redeploy could run another image than the one reviewed (C10); give the version`,
      });
  });

const releases = map(releaseTag)
  .default({})
  .describe("optional image tag per app service, over the blueprint's { backend: 1.4.2 }: how a new version is released");

/** A further name for a service the blueprint already routes (`www` beside `app`). */
const stackRoute = record({
  subdomain: text(
    (value) => (isDNSLabel(value) && value === value.toLowerCase()) || "is not a DNS label: lower-case letters, digits and inner hyphens, at most 63",
  ),
  service: text((value) => /^[a-z0-9][a-z0-9_.-]*$/.test(value) || "is not a service name"),
  port: integer(1, 65535).optional().describe("the port of the blueprint's route to the service when absent"),
});

const headerValue = z
  .string({ error: (issue) => `must be a string${typeof issue.input === "number" ? ` (quote it: "${issue.input}")` : ""}` })
  .superRefine((value, context) => {
    const verdict = headerValueCheck(value);
    if (verdict !== true) context.addIssue({ code: "custom", input: value, message: verdict });
  });

const headerName = z.string().superRefine((name, context) => {
  const verdict = headerNameCheck(name);
  if (verdict !== true) context.addIssue({ code: "custom", input: name, message: verdict });
});

/** The value of `infra:ingress` when a stack says nothing. */
export const INGRESS_DEFAULTS: { readonly routes: readonly StackRoute[]; readonly headers: Readonly<Record<string, string>> } = { routes: [], headers: {} };

const ingress = record({
  routes: list(stackRoute, { expected: "a list of { subdomain, service, port }" }).default([]),
  headers: map(headerValue, headerName).default({}).describe("response headers on every route, by name; names the ingress sets itself are refused"),
})
  .default(writable(INGRESS_DEFAULTS))
  .describe(
    "optional routes and response headers of the stack's own { routes: [{ subdomain, service, port }], headers: { Name: value } }, applied by reloading the ingress",
  );

// ---------------------------------------------------------------- the stack

/**
 * Every `infra:*` key, by its name after `infra:`, in the order validation
 * reads them. `blueprints` are the names infra:blueprint takes (the catalog
 * lives in infra/blueprints, which depends on this file).
 */
export function stackConfigShape(blueprints: readonly string[]): ReturnType<typeof buildStackConfigShape> {
  const key = blueprints.join("\u0000");
  const built = shapes.get(key) ?? buildStackConfigShape(blueprints);
  shapes.set(key, built);
  return built;
}

/** The shapes built so far, by the blueprint names they take: validation runs once per program, the tests thousands of times. */
const shapes = new Map<string, ReturnType<typeof buildStackConfigShape>>();

function buildStackConfigShape(blueprints: readonly string[]) {
  return {
    blueprint: (blueprints.length > 0 ? oneOf(blueprints) : text()).describe("which platform to build"),
    environment: text((value) => isDNSLabel(value) || "must be a lowercase DNS label, e.g. prod or preprod").describe(
      "environment label (prod, preprod, ...); components never read the stack name",
    ),
    domain: text((value) => isDomainName(value) || "must be a DNS name such as example.com").describe("DNS domain the routes live under"),
    adminCidrs: list(checkedText(adminCidrCheck), { empty: "at least one admin CIDR is required, or nobody can reach SSH" }).describe(
      "list of CIDRs allowed to reach SSH; together at most a /8 of IPv4 and a /32 of IPv6 (F1)",
    ),
    disposable: flag()
      .default(false)
      .describe("true for a stack whose data may be lost with it, e.g. preprod (default false: protected and held to prod's rules)"),
    protect: flag().optional().describe("protect stateful resources (default true; false only with infra:disposable: true)"),
    servers: list(server, { empty: "at least one server is required" }).describe("list of servers"),
    dns,
    storage,
    backup,
    privateNetwork: privateNetwork.optional(),
    loadBalancer: loadBalancer.optional(),
    monitoring,
    registry: registry.optional(),
    releases,
    ingress,
    opsHost: opsHost.optional(),
  };
}

export type StackConfigShape = ReturnType<typeof stackConfigShape>;
export type StackConfigField = keyof StackConfigShape;

/** The stack configuration as one object schema, `infra:` left off its keys. */
export function stackConfigSchema(blueprints: readonly string[]) {
  return z.strictObject(stackConfigShape(blueprints));
}

type Parsed = z.output<ReturnType<typeof stackConfigSchema>>;

type DeepReadonly<T> = T extends (infer Item)[] ? readonly DeepReadonly<Item>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export type CloudflareDNSConfig = z.output<typeof cloudflareDNS>;
export type UnmanagedDNSConfig = z.output<typeof unmanagedDNS>;
export type DNSConfig = CloudflareDNSConfig | UnmanagedDNSConfig;
export type StorageConfig = DeepReadonly<z.output<typeof storage>>;
export type PrivateNetworkConfig = DeepReadonly<z.output<typeof privateNetwork>>;
export type LoadBalancerConfig = DeepReadonly<z.output<typeof loadBalancer>>;
export type StackRoute = DeepReadonly<z.output<typeof stackRoute>>;
/** `infra:ingress`: what a stack adds to the ingress. */
export type StackIngress = DeepReadonly<z.output<typeof ingress>>;

/**
 * The validated stack config. Servers, backup, monitoring and the registry
 * are read by components, which declare the shapes they take
 * (components/*\/settings.ts, server-spec.ts, image-registry.ts) without
 * depending on the config; the checks below keep the schema's output within
 * those shapes. `protect` defaults to the opposite of `disposable`, so it is
 * filled after parsing.
 */
export type StackConfig = DeepReadonly<Omit<Parsed, "protect" | "servers" | "backup" | "monitoring" | "registry" | "opsHost">> & {
  /** `protect` and Hetzner delete/rebuild protection (F4); true unless the stack is disposable. */
  readonly protect: boolean;
  readonly servers: readonly ServerConfig[];
  /** The nightly backup of every server; defaults when `infra:backup` is absent. */
  readonly backup: BackupSettings;
  /** Thresholds, receivers and admin access of the monitoring stack; defaults when `infra:monitoring` is absent. */
  readonly monitoring: MonitoringSettings;
  /** Every image is pulled from this registry instead of its origin (a mirror, or a closed network's registry). */
  readonly registry?: ImageRegistry;
  /** Seed 002's ops host: the admin VPN's hub, the uptime checks and the pull of the backups. */
  readonly opsHost?: OpsHostConfig;
};

/** Compile-time: what the schema yields is what the components take. */
type Yields<Output, Component> = Output extends Component ? true : never;
export const SCHEMA_YIELDS_COMPONENT_SHAPES: [
  Yields<Parsed["servers"][number], ServerConfig>,
  Yields<Parsed["backup"], BackupSettings>,
  Yields<Parsed["monitoring"], MonitoringSettings>,
  Yields<NonNullable<Parsed["registry"]>, ImageRegistry>,
  Yields<Omit<NonNullable<Parsed["opsHost"]>, "hostKey">, OpsHostConfig>,
] = [true, true, true, true, true];

/** Whether Cloudflare's proxy stands in front of the web ports, so the firewall admits only its ranges (F3). */
export function behindCloudflare(dns: DNSConfig): boolean {
  return dns.provider === "cloudflare" && dns.proxied;
}

/** The `infra:` key of a field of the stack configuration. */
export function configKey(field: string): string {
  return `infra:${field}`;
}

/** Every plain (non-secret) key the program reads, with what it holds: the schema's descriptions. */
export const PLAIN_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(stackConfigShape([])).map(([field, schema]) => [configKey(field), descriptionOf(schema) ?? ""]),
);

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
