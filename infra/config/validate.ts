import { isAnyAddress, isCIDR, isDNSLabel, isDomainName, isHostAddress, isHTTPURL, isSSHPublicKey } from "../../components/formats";
import { LOCATIONS, SERVER_TYPE_NAMES } from "../../components/compute/server-types";
import { ConfigError, type ConfigProblem } from "./errors";
import {
  HETZNER_SECRET,
  PLAIN_KEYS,
  PLATFORM_SECRETS,
  ROLES,
  SERVER_PROVIDERS,
  type DNSConfig,
  type Role,
  type SecretDeclaration,
  type ServerConfig,
  type StackConfig,
  type StorageConfig,
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
  const reader = new Reader(raw, report);

  for (const key of Object.keys(raw.values)) {
    if (key.startsWith("infra:") && !(key in PLAIN_KEYS) && !knownSecretKeys(blueprints).has(key)) {
      report(key, `unknown key (known keys: ${[...Object.keys(PLAIN_KEYS), ...knownSecretKeys(blueprints)].sort().join(", ")})`);
    }
  }

  const blueprint = reader.choice("infra:blueprint", blueprints.names);
  const environment = reader.string("infra:environment", (value) => isDNSLabel(value) || "must be a lowercase DNS label, e.g. prod or preprod");
  const domain = reader.string("infra:domain", (value) => isDomainName(value) || "must be a DNS name such as example.com");
  const adminCidrs = reader.list("infra:adminCidrs", (value, path) => {
    if (typeof value !== "string" || !isCIDR(value)) return report(path, `"${String(value)}" is not a CIDR such as 203.0.113.10/32`), undefined;
    if (isAnyAddress(value)) return report(path, `"${value}" would open SSH to the whole internet (F1); list admin addresses or a VPN range`), undefined;
    return value;
  });
  if (adminCidrs && adminCidrs.length === 0) report("infra:adminCidrs", "at least one admin CIDR is required, or nobody can reach SSH");
  const protect = reader.boolean("infra:protect", false);
  const servers = reader.list("infra:servers", (value, path) => parseServer(value, path, report));
  if (servers && servers.length === 0) report("infra:servers", "at least one server is required");
  const dns = reader.object("infra:dns", (value, path) => parseDNS(value, path, report));
  const storage = reader.object("infra:storage", (value, path) => parseStorage(value, path, report));

  if (servers) {
    const seen = new Set<string>();
    servers.forEach((server, index) => {
      if (!server) return;
      if (seen.has(server.name)) report(`infra:servers[${index}].name`, `"${server.name}" is used by two servers; names must be unique`);
      seen.add(server.name);
    });
    if (blueprint) {
      const hosted = new Set(servers.flatMap((server) => server?.roles ?? []));
      for (const role of blueprints.rolesOf(blueprint)) {
        if (!hosted.has(role)) report("infra:servers", `no server takes the role "${role}" that blueprint ${blueprint} needs (roles: ${ROLES.join(", ")})`);
      }
    }
  }

  const secrets = requiredSecrets(blueprint, servers, blueprints);
  for (const secret of secrets) {
    if (!(secret.key in raw.values)) report(secret.key, `required secret is not set (${secret.purpose}): pulumi config set --secret ${secret.key} <value>`);
  }
  for (const key of Object.keys(raw.values)) {
    const guarded = knownSecretKeys(blueprints).has(key) || (GUARDED_NAMESPACES.includes(key.split(":")[0] ?? "") && /token|key|secret|password/i.test(key));
    if (guarded && !raw.secretKeys.has(key)) {
      report(key, `is a secret but is stored in plain text (V2); remove it and run: pulumi config set --secret ${key} <value>`);
    }
  }

  if (problems.length > 0 || !blueprint || !environment || !domain || !adminCidrs || !servers || !dns || !storage) {
    throw new ConfigError(problems);
  }
  return {
    config: { blueprint, environment, domain, adminCidrs: adminCidrs as string[], protect, servers: servers as ServerConfig[], dns, storage },
    secrets,
  };
}

/** The secrets a stack needs: the platform's, its blueprint's, and Hetzner's token if it provisions there. */
export function requiredSecrets(
  blueprint: string | undefined,
  servers: readonly (ServerConfig | undefined)[] | undefined,
  blueprints: BlueprintCatalog,
): SecretDeclaration[] {
  const secrets = [...PLATFORM_SECRETS];
  if (servers?.some((server) => server?.provider === "hetzner")) secrets.push(HETZNER_SECRET);
  if (blueprint) secrets.push(...blueprints.secretsOf(blueprint));
  return secrets;
}

function knownSecretKeys(blueprints: BlueprintCatalog): Set<string> {
  return new Set([...PLATFORM_SECRETS, HETZNER_SECRET, ...blueprints.names.flatMap((name) => blueprints.secretsOf(name))].map((secret) => secret.key));
}

type Report = (path: string, message: string) => void;

function parseServer(value: unknown, path: string, report: Report): ServerConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const name = fields.string("name", (text) => isDNSLabel(text) || "must be a lowercase DNS label");
  const provider = fields.choice("provider", SERVER_PROVIDERS);
  const roles = fields.stringList("roles", [...ROLES], (text) => (ROLES as readonly string[]).includes(text) || `"${text}" is not a role (one of ${ROLES.join(", ")})`) as Role[] | undefined;
  const sshUser = fields.optionalString("sshUser", "root", (text) => /^[a-z_][a-z0-9_-]{0,31}$/.test(text) || "must be a Unix user name");
  if (provider === "hetzner") {
    const serverType = fields.choice("serverType", SERVER_TYPE_NAMES);
    const location = fields.choice("location", LOCATIONS);
    const image = fields.optionalString("image", "ubuntu-24.04", (text) => /^(ubuntu|debian)-\d+(\.\d+)?$/.test(text) || "must be an Ubuntu or Debian image such as ubuntu-24.04");
    const sshPublicKey = fields.string("sshPublicKey", (text) => isSSHPublicKey(text) || "must be an OpenSSH public key (ssh-ed25519 AAAA...)");
    const volumeGb = fields.optionalInteger("volumeGb", 10, 10240);
    fields.rejectUnknown(["name", "provider", "roles", "sshUser", "serverType", "location", "image", "sshPublicKey", "volumeGb"]);
    if (!name || !roles || !sshUser || !serverType || !location || !image || !sshPublicKey) return undefined;
    return { provider, name, roles, sshUser, serverType, location, image, sshPublicKey, ...(volumeGb === undefined ? {} : { volumeGb }) };
  }
  if (provider === "existing") {
    const address = fields.string("address", (text) => isHostAddress(text) || "must be an IPv4/IPv6 address or a host name");
    const sshPort = fields.optionalInteger("sshPort", 1, 65535) ?? 22;
    const memoryMb = fields.integer("memoryMb", 512, 1048576);
    const monthlyCostEur = fields.optionalNumber("monthlyCostEur", 0, 100000) ?? 0;
    fields.rejectUnknown(["name", "provider", "roles", "sshUser", "address", "sshPort", "memoryMb", "monthlyCostEur"]);
    if (!name || !roles || !sshUser || !address || memoryMb === undefined) return undefined;
    return { provider, name, roles, sshUser, address, sshPort, memoryMb, monthlyCostEur };
  }
  return undefined;
}

function parseDNS(value: unknown, path: string, report: Report): DNSConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const zoneId = fields.string("zoneId", (text) => /^[0-9a-f]{32}$/.test(text) || "must be the 32-character hex id of the Cloudflare zone");
  const proxied = fields.optionalBoolean("proxied", true);
  const hsts = fields.optionalBoolean("hsts", false);
  fields.rejectUnknown(["zoneId", "proxied", "hsts"]);
  return zoneId === undefined ? undefined : { zoneId, proxied, hsts };
}

function parseStorage(value: unknown, path: string, report: Report): StorageConfig | undefined {
  const fields = new Fields(value, path, report);
  if (!fields.ok) return undefined;
  const endpoint = fields.string("endpoint", (text) => isHTTPURL(text) || "must be an http(s) URL with no path, e.g. https://fsn1.your-objectstorage.com");
  const region = fields.string("region", (text) => /^[a-z0-9-]{2,32}$/.test(text) || "must be a region name such as fsn1 or us-east-1");
  const bucketPrefix = fields.string("bucketPrefix", (text) => /^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/.test(text) || "must be 3-42 lowercase letters, digits or hyphens");
  const noncurrentVersionExpiryDays = fields.optionalInteger("noncurrentVersionExpiryDays", 1, 3650) ?? 30;
  const forcePathStyle = fields.optionalBoolean("forcePathStyle", false);
  fields.rejectUnknown(["endpoint", "region", "bucketPrefix", "noncurrentVersionExpiryDays", "forcePathStyle"]);
  if (!endpoint || !region || !bucketPrefix) return undefined;
  return { endpoint, region, bucketPrefix, noncurrentVersionExpiryDays, forcePathStyle };
}

/** Reads top-level keys, decoding structured values from their JSON text. */
class Reader {
  constructor(
    private readonly raw: RawConfig,
    private readonly report: Report,
  ) {}

  private text(key: string): string | undefined {
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
    if (value === undefined) return fallback;
    if (value === "true" || value === "false") return value === "true";
    this.report(key, `"${value}" must be true or false`);
    return fallback;
  }

  private structured(key: string): unknown {
    const value = this.text(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value);
    } catch {
      this.report(key, "must be a YAML list or object, not a plain string");
      return undefined;
    }
  }

  list<T>(key: string, parseItem: (value: unknown, path: string) => T | undefined): (T | undefined)[] | undefined {
    const value = this.structured(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.report(key, "must be a list"), undefined;
    return value.map((item, index) => parseItem(item, `${key}[${index}]`));
  }

  object<T>(key: string, parse: (value: unknown, path: string) => T | undefined): T | undefined {
    const value = this.structured(key);
    return value === undefined ? undefined : parse(value, key);
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
    if (!this.ok) report(path, "must be an object");
  }

  private at(field: string): string {
    return `${this.path}.${field}`;
  }

  string(field: string, check: (value: string) => true | string): string | undefined {
    const value = this.record[field];
    if (value === undefined || value === "") return this.report(this.at(field), "is required"), undefined;
    if (typeof value !== "string") return this.report(this.at(field), "must be a string"), undefined;
    const verdict = check(value);
    if (verdict !== true) return this.report(this.at(field), `"${value}" ${verdict}`), undefined;
    return value;
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
    if (!Array.isArray(value) || value.length === 0) return this.report(this.at(field), "must be a non-empty list"), undefined;
    const items: string[] = [];
    value.forEach((item, index) => {
      const verdict = typeof item === "string" ? check(item) : "must be a string";
      if (verdict === true) items.push(item as string);
      else this.report(`${this.at(field)}[${index}]`, verdict);
    });
    return items.length === value.length ? items : undefined;
  }

  private number(field: string, min: number, max: number, integer: boolean): number | undefined {
    const value = this.record[field];
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

  optionalBoolean(field: string, fallback: boolean): boolean {
    const value = this.record[field];
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    this.report(this.at(field), `${JSON.stringify(value)} must be true or false`);
    return fallback;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const field of Object.keys(this.record)) {
      if (!known.includes(field)) this.report(this.at(field), `unknown field (known: ${known.join(", ")})`);
    }
  }
}
