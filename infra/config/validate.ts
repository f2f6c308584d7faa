import { registryProblems, type ImageRegistry } from "../../components/container/image-registry";
import { isDNSLabel, isDomainName, isHostAddress, isSSHPublicKey } from "../../components/formats";
import { sshSourceBreadth, SSH_SOURCE_LIMIT } from "../../components/network/firewall-rules";
import { cidrContainsCIDR, formatRange, ipv4FormOf, isAssignableIn, isCIDR, isIPv4, isNetworkCIDR, isPrivateIPv4CIDR, networkAddressOf, parseCIDR } from "../../components/network/ip-ranges";
import { LOAD_BALANCER_TYPES, LOCATIONS, SERVER_TYPE_NAMES } from "../../components/compute/server-types";
import { formatHostKey, HOST_KEY_HOWTO, parseHostKey } from "../../components/remote/host-key";
import { NETWORK_ZONES } from "../../components/network/network-zones";
import { MAX_ARCHIVE_TIMEOUT_SECONDS, SCHEDULE_PATTERN } from "../../components/backup/settings";
import { endpointProblems, reservedPrefixOf } from "../../components/storage/bucket-rules";
import {
  ADMIN_ACCESS_MODES,
  DEFAULT_THRESHOLDS,
  MONITORING_DEFAULTS,
  MONITORING_SECRETS,
  monitoringSecrets,
  withMonitoringDefaults,
  type AlertThresholds,
  type MonitoringSettings,
  type Receivers,
} from "../../components/monitoring/settings";
import { INGRESS_HEADERS } from "../../components/ingress/ingress-headers";
import { controlCharacterProblem, hasControlCharacter } from "./control-characters";
import { ConfigError, type ConfigProblem } from "./errors";
import { didYouMean } from "./suggest";
import {
  DEFAULT_ROLES,
  HETZNER_SECRET,
  KEY_LIST_HINT,
  PROJECT_NAMESPACE,
  PROVIDER_KEYS,
  PULUMI_KEYS,
  REFUSED_PROVIDER_KEYS,
  PLAIN_KEYS,
  PLATFORM_SECRETS,
  CLOUDFLARE_SECRET,
  UNMANAGED_DNS,
  BACKUP_DEFAULTS,
  INGRESS_DEFAULTS,
  OPTIONAL_SECRETS,
  ROLES,
  SECRET_PLACEHOLDER,
  SERVER_PROVIDERS,
  type DNSConfig,
  type LoadBalancerConfig,
  type PrivateNetworkConfig,
  type Role,
  type SecretDeclaration,
  type ServerConfig,
  type StackConfig,
  type StorageConfig,
  type BackupSettings,
  type StackIngress,
  type StackRoute,
} from "./schema";

/** The stack configuration as Pulumi hands it over: strings, objects as JSON text. */
export interface RawConfig {
  readonly values: Readonly<Record<string, string>>;
  /** Keys whose values were set with `pulumi config set --secret`. */
  readonly secretKeys: ReadonlySet<string>;
}

/** What validation needs to know of the blueprints, kept apart so it stays pure. */
export interface BlueprintCatalog {
  readonly names: readonly string[];
  secretsOf(blueprint: string): readonly SecretDeclaration[];
  rolesOf(blueprint: string): readonly Role[];
}

export interface ValidatedConfig {
  readonly config: StackConfig;
  /** Every secret this stack needs, in a stable order. */
  readonly secrets: readonly SecretDeclaration[];
}

/** Providers whose own config the program does not read, but whose secrets it guards (V2). */
const GUARDED_NAMESPACES = ["hcloud", "cloudflare"];

/**
 * Parses and validates the whole configuration, then throws one ConfigError
 * with every problem (V1, V2), or returns typed config with defaults filled.
 */
export function validateStackConfig(raw: RawConfig, blueprints: BlueprintCatalog): ValidatedConfig {
  const problems: ConfigProblem[] = [];
  const report = (path: string, message: string) => problems.push({ path, message });
  // A key the program does not read is one problem, whatever its value holds;
  // a key whose name holds a control character is reported with those below.
  const unknownKeys = new Set<string>();
  for (const key of Object.keys(raw.values)) {
    if (hasControlCharacter(key)) continue;
    const problem = unknownKeyProblem(key, blueprints);
    if (problem) {
      report(key, problem);
      unknownKeys.add(key);
    }
  }
  const refused = refuseControlCharacters(raw, blueprints, unknownKeys, report);
  const reader = new Reader(raw, report, refused);

  const blueprint = reader.choice("infra:blueprint", blueprints.names);
  const environment = reader.string("infra:environment", (value) => isDNSLabel(value) || "must be a lowercase DNS label, e.g. prod or preprod");
  const domain = reader.string("infra:domain", (value) => isDomainName(value) || "must be a DNS name such as example.com");
  const readableAdminCidrs: string[] = [];
  const adminCidrs = reader.list("infra:adminCidrs", (value, path) => {
    if (typeof value !== "string" || !isCIDR(value)) return report(path, `"${String(value)}" ${NOT_A_CIDR}`), undefined;
    readableAdminCidrs.push(value);
    const { tooWide } = sshSourceBreadth([value]);
    if (tooWide.length > 0) return report(path, `"${value}" covers ${tooWide.join(" and ")}: ${TOO_WIDE_FOR_SSH}`), undefined;
    const spelling = cidrSpellingProblem(value);
    if (spelling) return report(path, spelling), undefined;
    return value;
  });
  if (adminCidrs && adminCidrs.length === 0) report("infra:adminCidrs", "at least one admin CIDR is required, or nobody can reach SSH");
  // Each CIDR may be narrow while the list is not: 0.0.0.0/1 and 128.0.0.0/1 are all of IPv4 (F1).
  const together = readableAdminCidrs.length > 1 ? sshSourceBreadth(readableAdminCidrs).tooWide : [];
  if (together.length > 0) report("infra:adminCidrs", `together they cover ${together.join(" and ")}: ${TOO_WIDE_FOR_SSH}`);
  // Data is protected unless the stack says it may be lost with it; how the
  // stack or its environment is named decides nothing.
  const disposable = reader.boolean("infra:disposable", false);
  const protect = reader.boolean("infra:protect", !disposable);
  if (!protect && !disposable) {
    report("infra:protect", "false leaves the stack's volumes, buckets and servers deletable; only a stack declared disposable may run so: set infra:disposable: true if its data may be lost with it (as preprod's, restored from prod's backups), or remove infra:protect");
  }
  const servers = reader.list("infra:servers", (value, path) => parseServer(value, path, report));
  if (servers && servers.length === 0) report("infra:servers", "at least one server is required");
  const dns = readDNS(raw, reader, report);
  const storage = reader.object("infra:storage", (value, path) => parseStorage(value, path, report));
  const backup = reader.optionalObject("infra:backup", (value, path) => parseBackup(value, path, report)) ?? BACKUP_DEFAULTS;
  const privateNetwork = reader.optionalObject("infra:privateNetwork", (value, path) => parsePrivateNetwork(value, path, report));
  const loadBalancer = reader.optionalObject("infra:loadBalancer", (value, path) => parseLoadBalancer(value, path, report));
  const monitoring = reader.optionalObject("infra:monitoring", (value, path) => parseMonitoring(value, path, report)) ?? MONITORING_DEFAULTS;
  const registry = reader.optionalObject("infra:registry", (value, path) => parseRegistry(value, path, report));
  const releases = reader.optionalObject("infra:releases", (value, path) => parseReleases(value, path, report)) ?? {};
  const ingress = reader.optionalObject("infra:ingress", (value, path) => parseIngress(value, path, report)) ?? INGRESS_DEFAULTS;
  // A network that was given but is invalid has been reported already; what
  // depends on it is then checked only as far as it can be without it.
  const networkGiven = raw.values["infra:privateNetwork"] !== undefined;
  if (servers) checkPrivateAddresses(servers, privateNetwork ?? (networkGiven ? "invalid" : undefined), loadBalancer, report);

  if (servers) {
    const seen = new Set<string>();
    servers.forEach((server, index) => {
      if (!server) return;
      if (seen.has(server.name)) report(`infra:servers[${index}].name`, `"${server.name}" is used by two servers; names must be unique`);
      if (server.roles.includes("replica") && server.roles.includes("data")) {
        report(
          `infra:servers[${index}].roles`,
          `"replica" and "data" on one server: the read replica would share its primary's disk and fail with it, and both would listen on the same PostgreSQL port; give the replica a server of its own`,
        );
      }
      seen.add(server.name);
    });
    // A server that failed to parse has unknown roles: the roles are checked
    // once every server was read, so that one bad value is one problem.
    if (blueprint && servers.every((server) => server !== undefined)) {
      const hosted = new Set(servers.flatMap((server) => server?.roles ?? []));
      for (const role of blueprints.rolesOf(blueprint)) {
        if (!hosted.has(role)) report("infra:servers", `no server takes the role "${role}" that blueprint ${blueprint} needs (roles: ${ROLES.join(", ")})`);
      }
    }
  }

  // Hetzner's token is needed as soon as a server says provider: hetzner, even
  // if another of its fields failed; Cloudflare's only once infra:dns was read.
  const secrets = requiredSecrets(blueprint, providersOf(raw.values["infra:servers"]), blueprints, monitoring, dns?.provider === "cloudflare");
  for (const secret of secrets) {
    if (refused.has(secret.key)) continue;
    if (!(secret.key in raw.values)) report(secret.key, `required secret is not set (${secret.purpose}): pulumi config set --secret ${secret.key} <value>`);
    else if (secret.adminPassword && isDefaultPassword(raw.values[secret.key]!)) {
      // The message never repeats the value: it is a secret, even when a weak one.
      report(secret.key, `is empty, shorter than 8 characters or a well-known default (seed 000 ran Grafana as admin/admin123); set a strong one: pulumi config set --secret ${secret.key} <value>`);
    } else if (secret.bcryptHash && !isBcryptHash(raw.values[secret.key]!) && raw.values[secret.key] !== SECRET_PLACEHOLDER) {
      // Caught here rather than by the proxy's container refusing to start at deploy time.
      report(secret.key, `is not a bcrypt hash ($2y$10$ followed by 53 characters); make one with: htpasswd -nbBC 10 <user> <password> | cut -d: -f2`);
    }
  }
  const optionalSecrets = OPTIONAL_SECRETS.filter((secret) => secret.key in raw.values);
  const heartbeatUrl = raw.values["infra:backupHeartbeatUrl"];
  // The value is a secret, so the message describes it without repeating it.
  if (heartbeatUrl !== undefined && !refused.has("infra:backupHeartbeatUrl") && !/^https?:\/\/[^\s/]+\/\S*$/.test(heartbeatUrl)) report("infra:backupHeartbeatUrl", "must be an http(s) URL such as https://uptime.example.com/api/push/<token>");
  for (const key of Object.keys(raw.values)) {
    const guarded = knownSecretKeys(blueprints).has(key) || (GUARDED_NAMESPACES.includes(key.split(":")[0] ?? "") && /token|key|secret|password/i.test(key));
    if (guarded && !raw.secretKeys.has(key) && !hasControlCharacter(key) && !unknownKeys.has(key)) {
      report(key, `is a secret but is stored in plain text (V2); remove it and run: pulumi config set --secret ${key} <value>`);
    }
  }

  if (problems.length > 0 || !blueprint || !environment || !domain || !adminCidrs || !servers || !dns || !storage) {
    throw new ConfigError(problems);
  }
  return {
    config: {
      blueprint,
      environment,
      domain,
      adminCidrs: adminCidrs as string[],
      protect,
      disposable,
      servers: servers as ServerConfig[],
      dns,
      storage,
      backup,
      ...(privateNetwork ? { privateNetwork } : {}),
      ...(loadBalancer ? { loadBalancer } : {}),
      monitoring,
      ...(registry ? { registry } : {}),
      releases,
      ingress,
    },
    secrets: [...secrets, ...optionalSecrets],
  };
}

/** The secrets a stack needs: the platform's, its blueprint's, and Hetzner's token if it provisions there. */
export function requiredSecrets(
  blueprint: string | undefined,
  servers: readonly ({ readonly provider?: unknown } | undefined)[] | undefined,
  blueprints: BlueprintCatalog,
  /** `infra:monitoring`, parsed or as loose JSON: its receivers and admin access bring secrets. */
  monitoring?: unknown,
  /** Whether Cloudflare holds the zone, so the program needs its token. */
  cloudflareDNS = true,
): SecretDeclaration[] {
  const secrets = [...PLATFORM_SECRETS];
  if (cloudflareDNS) secrets.push(CLOUDFLARE_SECRET);
  if (servers?.some((server) => server?.provider === "hetzner")) secrets.push(HETZNER_SECRET);
  if (blueprint) secrets.push(...blueprints.secretsOf(blueprint));
  secrets.push(...monitoringSecrets(monitoring));
  return secrets;
}

/**
 * Why the program does not read `key`, or undefined when it does: an unknown
 * key of its own namespace, a setting its providers do not document, or a
 * namespace it reads nothing from. Each names the nearest known key, if one
 * is near, rather than listing every key.
 */
function unknownKeyProblem(key: string, blueprints: BlueprintCatalog): string | undefined {
  const separator = key.indexOf(":");
  const namespace = separator < 0 ? "" : key.slice(0, separator);
  const providerKeys = Object.entries(PROVIDER_KEYS).flatMap(([provider, names]) => names.map((name) => `${provider}:${name}`));
  const known = [...Object.keys(PLAIN_KEYS), ...knownSecretKeys(blueprints), ...providerKeys, ...PULUMI_KEYS];
  if (known.includes(key)) return undefined;
  const refusedReason = REFUSED_PROVIDER_KEYS[key];
  if (refusedReason) return `is not taken: ${refusedReason}`;
  const suggestion = didYouMean(key, known);
  if (namespace === PROJECT_NAMESPACE) return `unknown key; ${suggestion ? `${suggestion} (${KEY_LIST_HINT})` : KEY_LIST_HINT}`;
  const provider = PROVIDER_KEYS[namespace];
  if (provider) return `is not a setting of the ${namespace} provider; ${suggestion ?? `it takes ${provider.map((name) => `${namespace}:${name}`).join(", ")}`}`;
  if (namespace === "pulumi") return `is not a Pulumi setting the program expects; ${suggestion ?? `it takes ${PULUMI_KEYS.join(", ")}`}`;
  const namespaces = [PROJECT_NAMESPACE, ...Object.keys(PROVIDER_KEYS)].map((name) => `${name}:`).join(", ");
  return `the program reads no "${namespace}:" keys (only ${namespaces} and pulumi:disable-default-providers); ${suggestion ?? KEY_LIST_HINT}`;
}

/** The `provider` of each server in `infra:servers`, whatever else the list holds; undefined when it is not a list. */
function providersOf(text: string | undefined): { provider?: unknown }[] | undefined {
  try {
    const parsed = JSON.parse(text ?? "null") as unknown;
    return Array.isArray(parsed) ? parsed.map((server) => ({ provider: typeof server === "object" && server !== null ? (server as { provider?: unknown }).provider : undefined })) : undefined;
  } catch {
    return undefined;
  }
}

/** Every secret any stack may set. */
function knownSecrets(blueprints: BlueprintCatalog): SecretDeclaration[] {
  return [...PLATFORM_SECRETS, CLOUDFLARE_SECRET, ...OPTIONAL_SECRETS, ...MONITORING_SECRETS, HETZNER_SECRET, ...blueprints.names.flatMap((name) => blueprints.secretsOf(name))];
}

function knownSecretKeys(blueprints: BlueprintCatalog): Set<string> {
  return new Set(knownSecrets(blueprints).map((secret) => secret.key));
}

/**
 * Values that must never guard an admin UI. The offline plan stands in
 * "[secret]" for a secret it cannot read; that is not one of them.
 */
const DEFAULT_PASSWORDS = new Set(["admin", "admin123", "administrator", "password", "passw0rd", "changeme", "change-me", "grafana", "prom-operator", "secret", "letmein", "12345678", "123456789", "qwerty123", "password123"]);

/** The modular-crypt form of bcrypt that nginx (crypt(3)), Traefik and Caddy all read; cost 4-31. */
export function isBcryptHash(value: string): boolean {
  return /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/.test(value);
}

export function isDefaultPassword(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.length < 8 || DEFAULT_PASSWORDS.has(trimmed.toLowerCase());
}

type Report = (path: string, message: string) => void;

function parseServer(value: unknown, path: string, report: Report): ServerConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const name = fields.string("name", (text) => isDNSLabel(text) || "must be a lowercase DNS label");
  const provider = fields.choice("provider", SERVER_PROVIDERS);
  const roles = fields.stringList("roles", [...DEFAULT_ROLES], (text) => (ROLES as readonly string[]).includes(text) || `"${text}" is not a role (one of ${ROLES.join(", ")})`) as Role[] | undefined;
  const sshUser = fields.optionalString("sshUser", "root", (text) => /^[a-z_][a-z0-9_-]{0,31}$/.test(text) || "must be a Unix user name");
  if (provider === "hetzner") {
    const serverType = fields.choice("serverType", SERVER_TYPE_NAMES);
    const location = fields.choice("location", LOCATIONS);
    const image = fields.optionalString("image", "ubuntu-24.04", (text) => /^(ubuntu|debian)-\d+(\.\d+)?$/.test(text) || "must be an Ubuntu or Debian image such as ubuntu-24.04");
    const sshPublicKey = fields.string("sshPublicKey", (text) => isSSHPublicKey(text) || "must be an OpenSSH public key (ssh-ed25519 AAAA...)");
    const volumeGb = fields.optionalInteger("volumeGb", 10, 10240);
    const privateIp = fields.optionalIPv4("privateIp");
    if (fields.has("hostKey")) report(`${path}.hostKey`, "is generated by the program for a Hetzner server, installed through cloud-init and pinned (H9); remove it");
    fields.rejectUnknown(["name", "provider", "roles", "sshUser", "serverType", "location", "image", "sshPublicKey", "volumeGb", "privateIp", "hostKey"]);
    if (!name || !roles || !sshUser || !serverType || !location || !image || !sshPublicKey) return undefined;
    return {
      provider,
      name,
      roles,
      sshUser,
      serverType,
      location,
      image,
      sshPublicKey,
      ...(volumeGb === undefined ? {} : { volumeGb }),
      ...(privateIp === undefined ? {} : { privateIp }),
    };
  }
  if (provider === "existing") {
    const address = fields.string("address", hostAddressCheck);
    const sshPort = fields.optionalInteger("sshPort", 1, 65535) ?? 22;
    const memoryMb = fields.integer("memoryMb", 512, 1048576);
    const monthlyCostEur = fields.optionalNumber("monthlyCostEur", 0, 100000) ?? 0;
    // The program connects to nothing whose key it was not given (H9): no trust on first use.
    const parsedKey = fields.parsed("hostKey", `the server's public SSH host key, which the program pins (H9); ${HOST_KEY_HOWTO}`, parseHostKey);
    const hostKey = parsedKey && formatHostKey(parsedKey);
    fields.rejectUnknown(["name", "provider", "roles", "sshUser", "address", "sshPort", "memoryMb", "monthlyCostEur", "hostKey"]);
    if (!name || !roles || !sshUser || !address || memoryMb === undefined || !hostKey) return undefined;
    return { provider, name, roles, sshUser, address, sshPort, hostKey, memoryMb, monthlyCostEur };
  }
  return undefined;
}

/**
 * An existing server's address: an IPv4 or IPv6 address or a host name, bare.
 * The program brackets an IPv6 address where a URL needs it (the Docker
 * provider's ssh:// URL) and gives it bare where ssh takes it (after `--`),
 * so each spelling that would end up in one of those wrongly is named.
 */
function hostAddressCheck(text: string): true | string {
  // A valid IPv6 address, but ssh and Docker would each have to be told it is IPv4.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(text);
  if (mapped && isIPv4(mapped[1]!)) return `is an IPv4-mapped IPv6 address: write the IPv4 address ${mapped[1]}`;
  if (isHostAddress(text)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return "is a URL: give the address or host name alone (the account is sshUser, the port sshPort)";
  if (/^\[[^\]]*\]:\d+$/.test(text) || /^[^:[\]]+:\d+$/.test(text)) return "has a port: give the address alone, and the port as sshPort";
  if (/^\[[^\]]*\]$/.test(text)) return "is in brackets: give the IPv6 address without the brackets (the program adds them where a URL needs them)";
  if (text.includes("%")) return "has a zone id (%...): a zone names a network interface of one machine, so the address reaches nothing from elsewhere; give the server's global address";
  if (text.includes("/")) return "is a CIDR: give one address, without the /prefix";
  return "must be an IPv4/IPv6 address or a host name";
}

/** `infra:dns`: the Cloudflare object, or exactly `none`; any other plain string is reported with both forms. */
function readDNS(raw: RawConfig, reader: Reader, report: Report): DNSConfig | undefined {
  const value = raw.values["infra:dns"];
  if (reader.isRefused("infra:dns")) return undefined;
  if (value === UNMANAGED_DNS) return { provider: "none" };
  if (value !== undefined && !/^\s*[[{]/.test(value)) {
    report("infra:dns", `"${value}" is neither an object { zoneId, proxied, hsts } for Cloudflare nor ${UNMANAGED_DNS} (the program then manages no DNS)`);
    return undefined;
  }
  return reader.object("infra:dns", (parsed, path) => parseDNS(parsed, path, report));
}

function parseDNS(value: unknown, path: string, report: Report): DNSConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const zoneId = fields.string("zoneId", (text) => /^[0-9a-f]{32}$/.test(text) || "must be the 32-character hex id of the Cloudflare zone");
  const proxied = fields.optionalBoolean("proxied", true);
  const hsts = fields.optionalBoolean("hsts", false);
  fields.rejectUnknown(["zoneId", "proxied", "hsts"]);
  return zoneId === undefined ? undefined : { provider: "cloudflare", zoneId, proxied, hsts };
}

function parseRegistry(value: unknown, path: string, report: Report): ImageRegistry | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  fields.rejectUnknown(["host", "caCertificate"]);
  const record = value as { host?: unknown; caCertificate?: unknown };
  const problems = registryProblems(record).filter(([field]) => (record as Record<string, unknown>)[field] !== REFUSED);
  for (const [field, message] of problems) report(`${path}.${field}`, message);
  if (problems.length > 0) return undefined;
  return { host: record.host as string, ...(typeof record.caCertificate === "string" ? { caCertificate: record.caCertificate } : {}) };
}

/** An HTTP field name (RFC 9110 token), as every ingress accepts it. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/**
 * What a header value may hold: printable ASCII and spaces, without the
 * characters that end or interpolate a quoted string in one of the proxies'
 * configurations (`"` and `\` everywhere, `$` in nginx, `{` and `}` in Caddy).
 */
const HEADER_VALUE = /^[\x20-\x7e]*$/;
const HEADER_VALUE_FORBIDDEN = /["\\${}]/;

/** `infra:ingress`: the stack's own routes and headers. Whether each route's service is routed is the platform model's to judge. */
function parseIngress(value: unknown, path: string, report: Report): StackIngress | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  fields.rejectUnknown(["routes", "headers"]);
  const record = value as { routes?: unknown; headers?: unknown };
  const routes: StackRoute[] = [];
  if (record.routes !== undefined && record.routes !== REFUSED) {
    if (!Array.isArray(record.routes)) report(`${path}.routes`, "must be a list of { subdomain, service, port }");
    else
      record.routes.forEach((item, index) => {
        const route = new Fields(item, `${path}.routes[${index}]`, report);
        if (!route.ok) return;
        route.rejectUnknown(["subdomain", "service", "port"]);
        const subdomain = route.string("subdomain", (text) => (isDNSLabel(text) && text === text.toLowerCase()) || "is not a DNS label: lower-case letters, digits and inner hyphens, at most 63");
        const service = route.string("service", (text) => /^[a-z0-9][a-z0-9_.-]*$/.test(text) || "is not a service name");
        const port = route.optionalInteger("port", 1, 65535);
        if (subdomain && service && (port !== undefined || !route.has("port"))) routes.push({ subdomain, service, ...(port === undefined ? {} : { port }) });
      });
  }
  const headers: Record<string, string> = {};
  if (record.headers !== undefined && record.headers !== REFUSED) {
    const names = new Fields(record.headers, `${path}.headers`, report);
    if (names.ok) {
      const seen = new Map<string, string>();
      for (const [name, headerValue] of Object.entries(record.headers as Record<string, unknown>)) {
        const at = `${path}.headers.${name}`;
        const lower = name.toLowerCase();
        if (!HEADER_NAME.test(name)) report(at, "is not an HTTP header name: letters, digits and !#$%&'*+.^_`|~-");
        else if (INGRESS_HEADERS.includes(lower)) report(at, `the ingress sets ${name} itself, on every route (components/ingress); remove it here`);
        else if (seen.has(lower)) report(at, `is ${seen.get(lower)} again in other letter case; HTTP header names ignore case`);
        else if (typeof headerValue !== "string") report(at, `must be a string${typeof headerValue === "number" ? ` (quote it: "${headerValue}")` : ""}`);
        else if (!HEADER_VALUE.test(headerValue)) report(at, controlCharacterProblem(headerValue) ?? "holds characters outside printable ASCII");
        else if (HEADER_VALUE_FORBIDDEN.test(headerValue)) report(at, 'may not hold ", \\, $, { or }: they end or interpolate the value in the proxies\' configurations');
        else {
          seen.set(lower, name);
          headers[name] = headerValue;
        }
      }
    }
  }
  return { routes, headers };
}

/** Docker's grammar for a tag: what `docker tag` accepts. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `infra:releases`: tags by service name. Whether each service exists and may be released is the platform model's to judge. */
function parseReleases(value: unknown, path: string, report: Report): Record<string, string> | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const releases: Record<string, string> = {};
  for (const [service, tag] of Object.entries(value as Record<string, unknown>)) {
    if (tag === REFUSED) continue;
    if (typeof tag === "number") report(`${path}.${service}`, `${tag} is a number, and YAML has already read it as one (1.10 becomes 1.1): quote the tag, e.g. "${tag}"`);
    else if (typeof tag !== "string" || !IMAGE_TAG.test(tag)) report(`${path}.${service}`, `${JSON.stringify(tag)} is not an image tag: 1-128 letters, digits, "_", "." or "-", not starting with "." or "-", e.g. 1.4.2`);
    else if (tag === "latest") report(`${path}.${service}`, `"latest" names no release: a redeploy could run another image than the one reviewed (C10); give the version`);
    else releases[service] = tag;
  }
  return releases;
}

function parseStorage(value: unknown, path: string, report: Report): StorageConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  // The bucket component's own checks (components/storage/bucket-rules.ts),
  // so that what it would refuse while registering is refused here, with the
  // key path (V5). Its messages never repeat credentials given in the URL.
  const endpoint = fields.checked("endpoint", (text) => {
    const problems = endpointProblems(text);
    return problems.length === 0 || problems.join("; ");
  });
  const region = fields.string("region", (text) => /^[a-z0-9][a-z0-9-]{1,31}$/.test(text) || "must be a region name such as fsn1 or us-east-1");
  const bucketPrefix = fields.string("bucketPrefix", (text) => {
    if (!/^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/.test(text)) return "must be 3-42 lowercase letters, digits or hyphens";
    // Bucket names are <bucketPrefix>-<bucket>, so they all start with this.
    const reserved = reservedPrefixOf(`${text}-`);
    return !reserved || `makes every bucket name start with "${reserved}", a prefix S3 reserves; choose another`;
  });
  const noncurrentVersionExpiryDays = fields.optionalInteger("noncurrentVersionExpiryDays", 1, 3650) ?? 30;
  const forcePathStyle = fields.optionalBoolean("forcePathStyle", false);
  fields.rejectUnknown(["endpoint", "region", "bucketPrefix", "noncurrentVersionExpiryDays", "forcePathStyle"]);
  if (!endpoint || !region || !bucketPrefix) return undefined;
  return { endpoint, region, bucketPrefix, noncurrentVersionExpiryDays, forcePathStyle };
}

/** A CIDR with a host's bits set past its prefix: say which network it names, and the single-address form. */
function hostBitsMessage(cidr: string): string {
  const [address, prefix] = cidr.split("/") as [string, string];
  const single = address.includes(":") ? `${address}/128` : `${address}/32`;
  return `"${cidr}" has host bits set past /${prefix}: write the network ${networkAddressOf(cidr)}/${prefix}, or ${single} for that one address`;
}

const NOT_A_CIDR = "is not a CIDR such as 203.0.113.10/32 or 2001:db8::/48 (IPv4 as four decimal numbers without leading zeros, IPv6 without a zone id)";
const TOO_WIDE_FOR_SSH = `SSH would be open far beyond any admin network (F1 allows at most a /${SSH_SOURCE_LIMIT.ipv4} of IPv4 and a /${SSH_SOURCE_LIMIT.ipv6} of IPv6); list admin addresses or a VPN range`;

/**
 * Why a CIDR that parses is still not written the one plain way: an IPv4
 * range in IPv6 form, host bits past the prefix, or a spelling such as
 * `/024` or uppercase hex. Firewalls and cloud APIs disagree on such
 * spellings, so config takes only the form every one of them reads alike.
 */
function cidrSpellingProblem(text: string): string | undefined {
  const ipv4 = ipv4FormOf(text);
  if (ipv4) return `"${text}" is an IPv4 ${ipv4.endsWith("/32") ? "address" : "range"} in IPv6 form: write ${ipv4}`;
  if (!isNetworkCIDR(text)) return hostBitsMessage(text);
  const plain = formatRange(parseCIDR(text)!);
  return plain === text ? undefined : `"${text}" is written oddly: write ${plain}`;
}

function parsePrivateNetwork(value: unknown, path: string, report: Report): PrivateNetworkConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const privateRange = (text: string) =>
    !isPrivateIPv4CIDR(text) ? "must be an IPv4 CIDR inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16" : cidrSpellingProblem(text)?.replace(`"${text}" `, "") ?? true;
  const ipRange = fields.string("ipRange", privateRange);
  const subnet = fields.string("subnet", privateRange);
  const networkZone = fields.choice("networkZone", Object.keys(NETWORK_ZONES));
  fields.rejectUnknown(["ipRange", "subnet", "networkZone"]);
  if (ipRange && subnet && !cidrContainsCIDR(ipRange, subnet)) report(`${path}.subnet`, `"${subnet}" is not inside ipRange ${ipRange}`);
  if (!ipRange || !subnet || !networkZone) return undefined;
  return { ipRange, subnet, networkZone };
}

function parseLoadBalancer(value: unknown, path: string, report: Report): LoadBalancerConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const type = fields.choice("type", Object.keys(LOAD_BALANCER_TYPES));
  const location = fields.choice("location", LOCATIONS);
  const privateIp = fields.optionalIPv4("privateIp");
  if (privateIp === undefined) report(`${path}.privateIp`, "is required (its address on infra:privateNetwork)");
  fields.rejectUnknown(["type", "location", "privateIp"]);
  if (!type || !location || !privateIp) return undefined;
  return { type, location, privateIp };
}

/**
 * Servers on a private network need fixed addresses inside its subnet, since
 * other servers are configured with them; a load balancer needs the network
 * to reach its targets. Existing VPSs cannot join a Hetzner network.
 */
function checkPrivateAddresses(
  servers: readonly (ServerConfig | undefined)[],
  given: PrivateNetworkConfig | "invalid" | undefined,
  loadBalancer: LoadBalancerConfig | undefined,
  report: Report,
): void {
  const network = given === "invalid" ? undefined : given;
  const taken = new Map<string, string>();
  const claim = (address: string, path: string) => {
    if (network && !isAssignableIn(network.subnet, address)) {
      report(path, `"${address}" is not an assignable address of subnet ${network.subnet} (the first address is Hetzner's gateway)`);
    }
    const owner = taken.get(address);
    if (owner) report(path, `"${address}" is already taken by ${owner}`);
    taken.set(address, path);
  };
  servers.forEach((server, index) => {
    if (!server) return;
    const path = `infra:servers[${index}]`;
    if (server.provider === "existing") {
      if (given) report(path, `server ${server.name} is an existing VPS and cannot join the Hetzner private network in infra:privateNetwork`);
      return;
    }
    if (server.privateIp === undefined) {
      if (given) report(`${path}.privateIp`, `is required when infra:privateNetwork is set${network ? ` (an address in ${network.subnet})` : ""}`);
      return;
    }
    if (!given) report(`${path}.privateIp`, "needs infra:privateNetwork to be set");
    else if (network?.networkZone && !NETWORK_ZONES[network.networkZone]?.includes(server.location)) {
      report(`${path}.location`, `"${server.location}" is not in network zone ${network.networkZone} (${NETWORK_ZONES[network.networkZone]?.join(", ")})`);
    }
    claim(server.privateIp, `${path}.privateIp`);
  });
  if (loadBalancer) {
    if (!given) report("infra:loadBalancer", "needs infra:privateNetwork: the balancer reaches its targets over it");
    else {
      claim(loadBalancer.privateIp, "infra:loadBalancer.privateIp");
      if (network && !NETWORK_ZONES[network.networkZone]?.includes(loadBalancer.location)) {
        report("infra:loadBalancer.location", `"${loadBalancer.location}" is not in network zone ${network.networkZone}`);
      }
    }
  }
}

function parseBackup(value: unknown, path: string, report: Report): BackupSettings | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const defaults = BACKUP_DEFAULTS;
  const schedule = fields.optionalString("schedule", defaults.schedule, (text) => SCHEDULE_PATTERN.test(text) || "must be a daily time HH:MM, e.g. 02:55");
  const retention = fields.optionalObject("retention", (fieldsOf) => {
    const counts = (["daily", "weekly", "monthly", "yearly"] as const).map((key) => fieldsOf.optionalInteger(key, 0, 1000) ?? defaults.retention[key]);
    fieldsOf.rejectUnknown(["daily", "weekly", "monthly", "yearly"]);
    const [daily, weekly, monthly, yearly] = counts as [number, number, number, number];
    if (daily < 1) report(`${path}.retention.daily`, "must keep at least 1 daily snapshot, or a run could forget the newest one");
    return { daily, weekly, monthly, yearly };
  }) ?? defaults.retention;
  const checkSubsets = fields.optionalInteger("checkSubsets", 1, 365) ?? defaults.checkSubsets;
  const pitr = fields.optionalObject("pitr", (fieldsOf) => {
    const enabled = fieldsOf.optionalBoolean("enabled", defaults.pitr.enabled);
    const archiveTimeoutSeconds = fieldsOf.optionalInteger("archiveTimeoutSeconds", 1, MAX_ARCHIVE_TIMEOUT_SECONDS) ?? defaults.pitr.archiveTimeoutSeconds;
    fieldsOf.rejectUnknown(["enabled", "archiveTimeoutSeconds"]);
    return { enabled, archiveTimeoutSeconds };
  }) ?? defaults.pitr;
  if (fields.has("heartbeatUrl")) {
    report(`${path}.heartbeatUrl`, "is a secret (its token reports backups as good) and cannot sit in plain config (V2); run: pulumi config set --secret infra:backupHeartbeatUrl <url>");
  }
  fields.rejectUnknown(["schedule", "retention", "checkSubsets", "pitr", "heartbeatUrl"]);
  if (!schedule) return undefined;
  return { schedule, retention, checkSubsets, pitr };
}

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

function parseMonitoring(value: unknown, path: string, report: Report): MonitoringSettings | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const defaults = MONITORING_DEFAULTS;
  const adminAccess = fields.has("adminAccess") ? fields.choice("adminAccess", ADMIN_ACCESS_MODES) : defaults.adminAccess;
  const adminUser = fields.optionalString("adminUser", defaults.adminUser, (text) => /^[A-Za-z0-9_.-]{1,32}$/.test(text) || "must be 1 to 32 letters, digits, dots, hyphens or underscores");
  const scrape = fields.optionalInteger("scrapeIntervalSeconds", 5, 300);
  const evaluation = fields.optionalInteger("evaluationIntervalSeconds", 5, 600);
  const scrapeIntervalSeconds = scrape ?? defaults.scrapeIntervalSeconds;
  const evaluationIntervalSeconds = evaluation ?? defaults.evaluationIntervalSeconds;
  // Compared only when neither failed: a default standing in for a bad value would make a second problem of one.
  const intervalsRead = (scrape !== undefined || !fields.has("scrapeIntervalSeconds")) && (evaluation !== undefined || !fields.has("evaluationIntervalSeconds"));
  if (intervalsRead && evaluationIntervalSeconds < scrapeIntervalSeconds) {
    report(`${path}.evaluationIntervalSeconds`, `${evaluationIntervalSeconds} is shorter than scrapeIntervalSeconds (${scrapeIntervalSeconds}); rules would read the same samples twice`);
  }
  const retentionDays = fields.optionalInteger("retentionDays", 1, 3650) ?? defaults.retentionDays;
  const thresholds = fields.optionalObject("thresholds", (nested) => {
    const parsed: Partial<Record<keyof AlertThresholds, number>> = {};
    for (const [key, [min, max, kind]] of Object.entries(THRESHOLD_RANGES) as [keyof AlertThresholds, readonly [number, number, "integer" | "number"]][]) {
      const number = kind === "integer" ? nested.optionalInteger(key, min, max) : nested.optionalNumber(key, min, max);
      if (number !== undefined) parsed[key] = number;
    }
    nested.rejectUnknown(Object.keys(DEFAULT_THRESHOLDS));
    return parsed;
  });
  const receivers = fields.optionalObject("receivers", (nested) => parseReceivers(nested, `${path}.receivers`, report));
  fields.rejectUnknown(["adminAccess", "adminUser", "scrapeIntervalSeconds", "evaluationIntervalSeconds", "retentionDays", "thresholds", "receivers"]);
  if (!adminAccess || !adminUser) return undefined;
  return withMonitoringDefaults({
    adminAccess,
    adminUser,
    scrapeIntervalSeconds,
    evaluationIntervalSeconds,
    retentionDays,
    ...(thresholds ? { thresholds } : {}),
    ...(receivers ? { receivers } : {}),
  });
}

function parseReceivers(fields: Fields, path: string, report: Report): Receivers {
  const isEmail = (text: string) => /^[^\s@,]+@[^\s@,]+\.[a-z]{2,}$/i.test(text) || "must be an email address";
  const secretField = (nested: Fields, field: string, key: string) => {
    if (nested.has(field)) report(`${path}.${field}`, `is a secret and cannot sit in plain config (V2); run: pulumi config set --secret ${key} <value>`);
  };
  const email = fields.optionalObject("email", (nested) => {
    const to = nested.stringList("to", [], isEmail);
    if (to && to.length === 0) report(`${path}.email.to`, "is required (a list of addresses)");
    const from = nested.string("from", isEmail);
    const smarthost = nested.string("smarthost", (text) => /^[a-z0-9.-]+:\d{1,5}$/i.test(text) || "must be host:port of the SMTP relay, e.g. smtp.example.com:587");
    const username = nested.has("username") ? nested.string("username", () => true) : undefined;
    const requireTLS = nested.optionalBoolean("requireTLS", true);
    secretField(nested, "password", "infra:alertSmtpPassword");
    nested.rejectUnknown(["to", "from", "smarthost", "username", "requireTLS", "password"]);
    return to && to.length > 0 && from && smarthost ? { to, from, smarthost, requireTLS, ...(username ? { username } : {}) } : undefined;
  });
  const slack = fields.optionalObject("slack", (nested) => {
    const channel = nested.string("channel", (text) => /^#[a-z0-9._-]{1,80}$/.test(text) || "must be a channel such as #alerts");
    secretField(nested, "webhookUrl", "infra:alertSlackWebhookUrl");
    nested.rejectUnknown(["channel", "webhookUrl"]);
    return channel ? { channel } : undefined;
  });
  const webhook = fields.optionalObject("webhook", (nested) => {
    const url = nested.string("url", (text) => {
      try {
        const parsed = new URL(text);
        if (parsed.protocol !== "https:") return "must be an https URL";
        return parsed.username || parsed.password || parsed.search ? "must carry no credentials or query; use bearerToken and infra:alertWebhookToken" : true;
      } catch {
        return "must be an https URL";
      }
    });
    const bearerToken = nested.optionalBoolean("bearerToken", false);
    nested.rejectUnknown(["url", "bearerToken"]);
    return url ? { url, bearerToken } : undefined;
  });
  fields.rejectUnknown(["email", "slack", "webhook"]);
  return { ...(email ? { email } : {}), ...(slack ? { slack } : {}), ...(webhook ? { webhook } : {}) };
}

/** Reads top-level keys, decoding structured values from their JSON text. */
class Reader {
  constructor(
    private readonly raw: RawConfig,
    private readonly report: Report,
    /** Keys whose value was refused for a control character, and reported. */
    private readonly refused: ReadonlySet<string>,
  ) {}

  isRefused(key: string): boolean {
    return this.refused.has(key);
  }

  private text(key: string): string | undefined {
    if (this.refused.has(key)) return undefined;
    const value = this.raw.values[key];
    if (value === undefined) this.report(key, `is required (${PLAIN_KEYS[key] ?? "see README"})`);
    return value;
  }

  string(key: string, check: (value: string) => true | string): string | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    const verdict = check(value);
    if (verdict !== true) return this.report(key, `"${value}" ${verdict}`), undefined;
    return value;
  }

  choice(key: string, allowed: readonly string[]): string | undefined {
    return this.string(key, (value) => allowed.includes(value) || `is not one of ${allowed.join(", ")}`);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw.values[key];
    if (value === undefined || this.refused.has(key)) return fallback;
    if (value === "true" || value === "false") return value === "true";
    this.report(key, `"${value}" must be true or false`);
    return fallback;
  }

  private structured(key: string): unknown {
    const value = this.text(key);
    if (value === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      this.report(key, "must be a YAML list or object, not a plain string");
      return undefined;
    }
    return withoutControlCharacters(parsed, key, this.report);
  }

  list<T>(key: string, parseItem: (value: unknown, path: string) => T | undefined): (T | undefined)[] | undefined {
    const value = this.structured(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.report(key, "must be a list"), undefined;
    // An item refused for a control character has been reported where it was found.
    return value.map((item, index) => (item === REFUSED ? undefined : parseItem(item, `${key}[${index}]`)));
  }

  object<T>(key: string, parse: (value: unknown, path: string) => T | undefined): T | undefined {
    const value = this.structured(key);
    return value === undefined ? undefined : parse(value, key);
  }

  optionalObject<T>(key: string, parse: (value: unknown, path: string) => T | undefined): T | undefined {
    return this.raw.values[key] === undefined ? undefined : this.object(key, parse);
  }
}

/**
 * Stands in for a string of a structured value that held a control character:
 * that problem is reported once, where it was found, and every reader of the
 * field takes it as a value that already failed.
 */
const REFUSED: unique symbol = Symbol("refused for a control character");

/**
 * Strings that may hold line feeds: the registry's CA is PEM text, and a
 * host key's parser (components/remote/host-key.ts) reads the text whole, so
 * that a private key pasted by mistake is named as one.
 */
function takesLineFeeds(path: string): boolean {
  return path === "infra:registry.caCertificate" || /^infra:servers\[\d+\]\.hostKey$/.test(path);
}

/**
 * `value` with each string that holds a control character reported at its
 * path and replaced by REFUSED, and each field whose name holds one reported
 * and left out.
 */
function withoutControlCharacters(value: unknown, path: string, report: Report): unknown {
  if (typeof value === "string") {
    const problem = controlCharacterProblem(value, takesLineFeeds(path));
    if (!problem) return value;
    report(path, problem);
    return REFUSED;
  }
  if (Array.isArray(value)) return value.map((item, index) => withoutControlCharacters(item, `${path}[${index}]`, report));
  if (typeof value === "object" && value !== null) {
    const kept: Record<string, unknown> = {};
    for (const [field, item] of Object.entries(value)) {
      if (hasControlCharacter(field)) report(path, `has a field whose name ${controlCharacterProblem(field)!.replace(/; .*$/, "")}: ${JSON.stringify(field)}`);
      else kept[field] = withoutControlCharacters(item, `${path}.${field}`, report);
    }
    return kept;
  }
  return value;
}

/**
 * Reports every top-level key whose name, or whose plain (not structured)
 * value, holds a control character, and returns those keys. A secret's
 * message never repeats it; a secret stored in plain text is left to the V2
 * check, and an unknown key to its own problem, so that a key gets one. Structured values are checked string
 * by string when they are read (withoutControlCharacters).
 */
function refuseControlCharacters(raw: RawConfig, blueprints: BlueprintCatalog, unknownKeys: ReadonlySet<string>, report: Report): Set<string> {
  const refused = new Set<string>();
  // Whether each secret is PEM text, which takes line feeds.
  const secrets = new Map(knownSecrets(blueprints).map((secret) => [secret.key, secret.lines === true]));
  for (const [key, value] of Object.entries(raw.values)) {
    if (hasControlCharacter(key)) {
      report(key, `is a key whose name ${controlCharacterProblem(key)!.replace(/; .*$/, "")}; remove it`);
      refused.add(key);
      continue;
    }
    if (unknownKeys.has(key)) continue;
    if (secrets.has(key) && !raw.secretKeys.has(key)) continue;
    if (!secrets.has(key) && isStructured(value)) continue;
    const problem = controlCharacterProblem(value, secrets.get(key) === true);
    if (!problem) continue;
    report(key, problem);
    refused.add(key);
  }
  return refused;
}

/** A value Pulumi handed over as JSON (a list or an object), checked string by string once parsed. */
function isStructured(value: string): boolean {
  if (!/^\s*[[{]/.test(value)) return false;
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === "object" && parsed !== null;
  } catch {
    return false;
  }
}

/** Reads the fields of one structured value, reporting each problem with its path. */
class Fields {
  readonly ok: boolean;
  private readonly record: Record<string, unknown>;

  constructor(
    value: unknown,
    private readonly path: string,
    private readonly report: Report,
  ) {
    this.ok = typeof value === "object" && value !== null && !Array.isArray(value);
    this.record = this.ok ? (value as Record<string, unknown>) : {};
    if (!this.ok && value !== REFUSED) report(path, "must be an object");
  }

  private at(field: string): string {
    return `${this.path}.${field}`;
  }

  string(field: string, check: (value: string) => true | string): string | undefined {
    const value = this.record[field];
    if (value === REFUSED) return undefined;
    if (value === undefined || value === "") return this.report(this.at(field), "is required"), undefined;
    if (typeof value !== "string") return this.report(this.at(field), "must be a string"), undefined;
    const verdict = check(value);
    if (verdict !== true) return this.report(this.at(field), `"${value}" ${verdict}`), undefined;
    return value;
  }

  /** A required string whose `check` gives the whole message, quoting the value itself where that is safe. */
  checked(field: string, check: (value: string) => true | string): string | undefined {
    const value = this.record[field];
    if (value === REFUSED) return undefined;
    if (value === undefined || value === "") return this.report(this.at(field), "is required"), undefined;
    if (typeof value !== "string") return this.report(this.at(field), "must be a string"), undefined;
    const verdict = check(value);
    if (verdict !== true) return this.report(this.at(field), verdict), undefined;
    return value;
  }

  /**
   * A required string that `parse` turns into a value or a problem. Neither
   * message repeats the value, which may be something pasted by mistake (a
   * private key); `help` says what to give instead.
   */
  parsed<T>(field: string, help: string, parse: (value: string) => T | string): T | undefined {
    const value = this.record[field];
    if (value === REFUSED) return undefined;
    if (value === undefined || value === "") return this.report(this.at(field), `is required: ${help}`), undefined;
    if (typeof value !== "string") return this.report(this.at(field), `must be a string: ${help}`), undefined;
    const parsed = parse(value);
    if (typeof parsed === "string") return this.report(this.at(field), `${parsed}; expected ${help}`), undefined;
    return parsed;
  }

  optionalString(field: string, fallback: string, check: (value: string) => true | string): string | undefined {
    return this.record[field] === undefined ? fallback : this.string(field, check);
  }

  choice<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    return this.string(field, (value) => allowed.includes(value as T) || `is not one of ${allowed.join(", ")}`) as T | undefined;
  }

  stringList(field: string, fallback: string[], check: (value: string) => true | string): string[] | undefined {
    const value = this.record[field];
    if (value === undefined) return fallback;
    if (value === REFUSED) return undefined;
    if (!Array.isArray(value) || value.length === 0) return this.report(this.at(field), "must be a non-empty list"), undefined;
    const items: string[] = [];
    value.forEach((item, index) => {
      if (item === REFUSED) return;
      const verdict = typeof item === "string" ? check(item) : "must be a string";
      if (verdict === true) items.push(item as string);
      else this.report(`${this.at(field)}[${index}]`, verdict);
    });
    return items.length === value.length ? items : undefined;
  }

  private number(field: string, min: number, max: number, integer: boolean): number | undefined {
    const value = this.record[field];
    if (value === REFUSED) return undefined;
    if (typeof value !== "number" || Number.isNaN(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      return this.report(this.at(field), `${JSON.stringify(value) ?? "nothing"} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`), undefined;
    }
    return value;
  }

  integer(field: string, min: number, max: number): number | undefined {
    if (this.record[field] === undefined) return this.report(this.at(field), `is required (an integer from ${min} to ${max})`), undefined;
    return this.number(field, min, max, true);
  }

  optionalInteger(field: string, min: number, max: number): number | undefined {
    return this.record[field] === undefined ? undefined : this.number(field, min, max, true);
  }

  optionalNumber(field: string, min: number, max: number): number | undefined {
    return this.record[field] === undefined ? undefined : this.number(field, min, max, false);
  }

  optionalIPv4(field: string): string | undefined {
    return this.record[field] === undefined ? undefined : this.string(field, (text) => isIPv4(text) || "must be an IPv4 address such as 10.0.1.2");
  }

  has(field: string): boolean {
    return this.record[field] !== undefined;
  }

  /** A nested object read with its own Fields, so its problems carry the full path. */
  optionalObject<T>(field: string, parse: (fields: Fields) => T): T | undefined {
    if (this.record[field] === undefined) return undefined;
    const nested = new Fields(this.record[field], this.at(field), this.report);
    return nested.ok ? parse(nested) : undefined;
  }

  optionalBoolean(field: string, fallback: boolean): boolean {
    const value = this.record[field];
    if (value === undefined || value === REFUSED) return fallback;
    if (typeof value === "boolean") return value;
    this.report(this.at(field), `${JSON.stringify(value)} must be true or false`);
    return fallback;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const field of Object.keys(this.record)) {
      if (known.includes(field)) continue;
      const suggestion = didYouMean(field, known);
      this.report(this.at(field), `unknown field${suggestion ? `; ${suggestion}` : ""} (known: ${known.join(", ")})`);
    }
  }
}
