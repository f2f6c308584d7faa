import { MONITORING_SECRETS, monitoringSecrets } from "../../components/monitoring/settings";
import type { z } from "zod";
import { controlCharacterProblem, hasControlCharacter } from "./control-characters";
import {
  checkAdminCidrsTogether,
  checkHeaderCase,
  checkMonitoringIntervals,
  checkPrivateAddresses,
  checkProtection,
  checkServers,
  checkSubnetInRange,
  type Report,
} from "./cross-checks";
import { ConfigError, type ConfigProblem } from "./errors";
import { booleanFromText, hasOwnKey } from "./field-schemas";
import { elementOf, fieldsThatParse, kindOf, parseIgnoringUnknownFields, problemsOfIssues } from "./issues";
import { didYouMean } from "./suggest";
import {
  CLOUDFLARE_SECRET,
  configKey,
  HETZNER_SECRET,
  KEY_LIST_HINT,
  OPTIONAL_SECRETS,
  PLAIN_KEYS,
  PLATFORM_SECRETS,
  PROJECT_NAMESPACE,
  PROVIDER_KEYS,
  PULUMI_KEYS,
  REFUSED_PROVIDER_KEYS,
  SECRET_PLACEHOLDER,
  stackConfigShape,
  UNMANAGED_DNS,
  type Role,
  type SecretDeclaration,
  type ServerConfig,
  type StackConfig,
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
  const report: Report = (path, message) => problems.push({ path, message });
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
  const refusedKeys = refuseControlCharacters(raw, blueprints, unknownKeys, report);
  const { parsed, decoded } = parseKeys(raw, blueprints, refusedKeys, report);
  const config = checkAcrossKeys(parsed, decoded, raw, blueprints, report);

  // Hetzner's token is needed as soon as a server says provider: hetzner, even
  // if another of its fields failed; Cloudflare's only once infra:dns was read.
  const secrets = requiredSecrets(
    parsed.blueprint,
    providersOf(raw.values["infra:servers"]),
    blueprints,
    parsed.monitoring,
    parsed.dns?.provider === "cloudflare",
    raw.values["infra:opsHost"] !== undefined,
  );
  checkSecrets(raw, secrets, blueprints, refusedKeys, unknownKeys, report);
  const optionalSecrets = OPTIONAL_SECRETS.filter((secret) => secret.key in raw.values);

  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return { config, secrets: [...secrets, ...optionalSecrets] };
}

type Shape = ReturnType<typeof stackConfigShape>;
type Field = keyof Shape;
/** Each key's value as its schema read it, for the keys that passed. */
type ParsedKeys = { -readonly [F in Field]?: z.output<Shape[F]> };

/**
 * Reads every `infra:*` key with its schema, in the schema's order, and
 * reports each problem at its key path. Returns what parsed, and each key's
 * value as decoded from Pulumi's text (for the checks across keys).
 */
function parseKeys(
  raw: RawConfig,
  blueprints: BlueprintCatalog,
  refusedKeys: ReadonlySet<string>,
  report: Report,
): { parsed: ParsedKeys; decoded: Partial<Record<Field, unknown>> } {
  const shape = stackConfigShape(blueprints.names);
  const parsed: Record<string, unknown> = {};
  const decoded: Record<string, unknown> = {};
  for (const [field, schema] of Object.entries(shape) as [Field, z.ZodType][]) {
    const key = configKey(field);
    if (refusedKeys.has(key)) continue;
    const text = raw.values[key];
    if (text === undefined) {
      const absent = schema.safeParse(undefined);
      if (absent.success) parsed[field] = absent.data;
      else report(key, `is required (${PLAIN_KEYS[key] ?? "see README"})`);
      continue;
    }
    const refused = new Set<string>();
    const value = decodeValue(key, text, schema, report, refused);
    if (value === undefined) continue;
    decoded[field] = value;
    const result = schema.safeParse(value);
    if (result.success && refused.size === 0) parsed[field] = result.data;
    else if (!result.success) for (const problem of problemsOfIssues(result.error.issues, key, schema, value, refused)) report(problem.path, problem.message);
  }
  return { parsed: parsed as ParsedKeys, decoded };
}

/**
 * A key's value from Pulumi's text: true/false for a flag, JSON for a list
 * or an object (screened for control characters and prototype names), the
 * text itself otherwise. Undefined, and reported, when it cannot be read.
 */
function decodeValue(key: string, text: string, schema: z.ZodType, report: Report, refused: Set<string>): unknown {
  const kind = kindOf(schema);
  if (kind === "boolean") return booleanFromText(text);
  if (kind === "string" || kind === "enum") return text;
  if (kind === "union" && text === UNMANAGED_DNS) return text;
  if (kind === "union" && !/^\s*[[{]/.test(text)) {
    const result = schema.safeParse(text);
    if (!result.success) report(key, result.error.issues[0]!.message);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    report(key, "must be a YAML list or object, not a plain string");
    return undefined;
  }
  return screened(value, key, report, refused);
}

/**
 * The rules across keys (cross-checks.ts), on what passed, and the typed
 * config when every required key did; `protect` is filled here, from
 * `disposable`, the one default that depends on another key.
 */
function checkAcrossKeys(
  parsed: ParsedKeys,
  decoded: Partial<Record<Field, unknown>>,
  raw: RawConfig,
  blueprints: BlueprintCatalog,
  report: Report,
): StackConfig | undefined {
  const shape = stackConfigShape(blueprints.names);
  checkAdminCidrsTogether(decoded.adminCidrs, report);
  const disposable = parsed.disposable ?? false;
  // Data is protected unless the stack says it may be lost with it.
  const protect = parsed.protect ?? !disposable;
  checkProtection(protect, disposable, report);

  // The schema's servers are ServerConfigs (schema.ts checks it at compile time).
  const parsedServers = parsed.servers as readonly ServerConfig[] | undefined;
  const servers = parsedServers ?? serversThatParse(shape.servers, decoded.servers);
  const network =
    parsed.privateNetwork ?? (decoded.privateNetwork === undefined ? undefined : parseIgnoringUnknownFields(shape.privateNetwork, decoded.privateNetwork));
  const balancer =
    parsed.loadBalancer ?? (decoded.loadBalancer === undefined ? undefined : parseIgnoringUnknownFields(shape.loadBalancer, decoded.loadBalancer));
  const networkGiven = raw.values["infra:privateNetwork"] !== undefined;
  if (servers) checkPrivateAddresses(servers, network ?? (networkGiven ? "invalid" : undefined), balancer, report);
  if (servers) checkServers(servers, parsed.blueprint, parsed.blueprint ? blueprints.rolesOf(parsed.blueprint) : [], report);

  if (decoded.privateNetwork !== undefined) checkSubnetInRange(fieldsThatParse(shape.privateNetwork, decoded.privateNetwork), report);
  const intervals = { ...parsed.monitoring, ...fieldsThatParse(shape.monitoring, decoded.monitoring) } as Record<string, unknown>;
  const given = isRecord(decoded.monitoring) ? decoded.monitoring : {};
  // Compared only when neither failed: a default standing in for a bad value would make a second problem of one.
  const intervalsRead = ["scrapeIntervalSeconds", "evaluationIntervalSeconds"].every((field) => field in intervals || given[field] === undefined);
  if (intervalsRead) {
    const defaults = shape.monitoring.parse(undefined);
    checkMonitoringIntervals(
      {
        scrapeIntervalSeconds: (intervals.scrapeIntervalSeconds as number | undefined) ?? defaults.scrapeIntervalSeconds,
        evaluationIntervalSeconds: (intervals.evaluationIntervalSeconds as number | undefined) ?? defaults.evaluationIntervalSeconds,
      },
      report,
    );
  }
  checkHeaderCase((decoded.ingress as { headers?: unknown } | undefined)?.headers, report);

  const { blueprint, environment, domain, adminCidrs, dns, storage, backup, privateNetwork, loadBalancer, monitoring, registry, releases, ingress, opsHost } =
    parsed;
  if (!blueprint || !environment || !domain || !adminCidrs || !parsedServers || !dns || !storage || !backup || !monitoring || !releases || !ingress)
    return undefined;
  return {
    blueprint,
    environment,
    domain,
    adminCidrs,
    protect,
    disposable,
    servers: parsedServers!,
    dns,
    storage,
    backup,
    ...(privateNetwork ? { privateNetwork } : {}),
    ...(loadBalancer ? { loadBalancer } : {}),
    monitoring,
    ...(registry ? { registry } : {}),
    releases,
    ingress,
    ...(opsHost ? { opsHost: withoutHostKey(opsHost) } : {}),
  };
}

/** The ops host as the program reads it: `hostKey` is refused by the schema, so it is never there. */
function withoutHostKey<T extends { hostKey?: unknown }>(config: T): Omit<T, "hostKey"> {
  const { hostKey: _hostKey, ...rest } = config;
  return rest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Each server that passes the schema on its own, undefined for one that does not; undefined when the list is not one. */
function serversThatParse(schema: z.ZodType, value: unknown): (ServerConfig | undefined)[] | undefined {
  const element = elementOf(schema);
  if (!element || !Array.isArray(value)) return undefined;
  return value.map((item) => {
    return parseIgnoringUnknownFields(element, item) as ServerConfig | undefined;
  });
}

/** Every secret the stack needs is set, as a secret, in a form its consumer takes; and no known secret is stored in plain text (V2). */
function checkSecrets(
  raw: RawConfig,
  secrets: readonly SecretDeclaration[],
  blueprints: BlueprintCatalog,
  refusedKeys: ReadonlySet<string>,
  unknownKeys: ReadonlySet<string>,
  report: Report,
): void {
  for (const secret of secrets) {
    if (refusedKeys.has(secret.key)) continue;
    if (!(secret.key in raw.values)) report(secret.key, `required secret is not set (${secret.purpose}): pulumi config set --secret ${secret.key} <value>`);
    else if (secret.adminPassword && isDefaultPassword(raw.values[secret.key]!)) {
      // The message never repeats the value: it is a secret, even when a weak one.
      report(
        secret.key,
        `is empty, shorter than 8 characters or a well-known default (seed 000 ran Grafana as admin/admin123); set a strong one: pulumi config set --secret ${secret.key} <value>`,
      );
    } else if (secret.bcryptHash && !isBcryptHash(raw.values[secret.key]!) && raw.values[secret.key] !== SECRET_PLACEHOLDER) {
      // Caught here rather than by the proxy's container refusing to start at deploy time.
      report(secret.key, `is not a bcrypt hash ($2y$10$ followed by 53 characters); make one with: htpasswd -nbBC 10 <user> <password> | cut -d: -f2`);
    }
  }
  const heartbeatUrl = raw.values["infra:backupHeartbeatUrl"];
  // The value is a secret, so the message describes it without repeating it.
  if (heartbeatUrl !== undefined && !refusedKeys.has("infra:backupHeartbeatUrl") && !/^https?:\/\/[^\s/]+\/\S*$/.test(heartbeatUrl))
    report("infra:backupHeartbeatUrl", "must be an http(s) URL such as https://uptime.example.com/api/push/<token>");
  const secretKeys = knownSecretKeys(blueprints);
  for (const key of Object.keys(raw.values)) {
    const guarded = secretKeys.has(key) || (GUARDED_NAMESPACES.includes(key.split(":")[0] ?? "") && /token|key|secret|password/i.test(key));
    if (guarded && !raw.secretKeys.has(key) && !hasControlCharacter(key) && !unknownKeys.has(key)) {
      report(key, `is a secret but is stored in plain text (V2); remove it and run: pulumi config set --secret ${key} <value>`);
    }
  }
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
  /** Whether `infra:opsHost` is set: the ops host is a Hetzner server whatever the others are. */
  opsHost = false,
): SecretDeclaration[] {
  const secrets = [...PLATFORM_SECRETS];
  if (cloudflareDNS) secrets.push(CLOUDFLARE_SECRET);
  if (opsHost || servers?.some((server) => server?.provider === "hetzner")) secrets.push(HETZNER_SECRET);
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
  // Own properties only: a key named like a prototype (`constructor:x`) is as unknown as any other.
  const refusedReason = hasOwnKey(REFUSED_PROVIDER_KEYS, key) ? REFUSED_PROVIDER_KEYS[key] : undefined;
  if (refusedReason) return `is not taken: ${refusedReason}`;
  const suggestion = didYouMean(key, known);
  if (namespace === PROJECT_NAMESPACE) return `unknown key; ${suggestion ? `${suggestion} (${KEY_LIST_HINT})` : KEY_LIST_HINT}`;
  const provider = hasOwnKey(PROVIDER_KEYS, namespace) ? PROVIDER_KEYS[namespace] : undefined;
  if (provider)
    return `is not a setting of the ${namespace} provider; ${suggestion ?? `it takes ${provider.map((name) => `${namespace}:${name}`).join(", ")}`}`;
  if (namespace === "pulumi") return `is not a Pulumi setting the program expects; ${suggestion ?? `it takes ${PULUMI_KEYS.join(", ")}`}`;
  const namespaces = [PROJECT_NAMESPACE, ...Object.keys(PROVIDER_KEYS)].map((name) => `${name}:`).join(", ");
  return `the program reads no "${namespace}:" keys (only ${namespaces} and pulumi:disable-default-providers); ${suggestion ?? KEY_LIST_HINT}`;
}

/** The `provider` of each server in `infra:servers`, whatever else the list holds; undefined when it is not a list. */
function providersOf(text: string | undefined): { provider?: unknown }[] | undefined {
  try {
    const parsed = JSON.parse(text ?? "null") as unknown;
    return Array.isArray(parsed)
      ? parsed.map((server) => ({ provider: typeof server === "object" && server !== null ? (server as { provider?: unknown }).provider : undefined }))
      : undefined;
  } catch {
    return undefined;
  }
}

/** Every secret any stack may set. */
export function knownSecrets(blueprints: BlueprintCatalog): SecretDeclaration[] {
  return [
    ...PLATFORM_SECRETS,
    CLOUDFLARE_SECRET,
    ...OPTIONAL_SECRETS,
    ...MONITORING_SECRETS,
    HETZNER_SECRET,
    ...blueprints.names.flatMap((name) => blueprints.secretsOf(name)),
  ];
}

function knownSecretKeys(blueprints: BlueprintCatalog): Set<string> {
  return new Set(knownSecrets(blueprints).map((secret) => secret.key));
}

/**
 * Values that must never guard an admin UI. The offline plan stands in
 * "[secret]" for a secret it cannot read; that is not one of them.
 */
const DEFAULT_PASSWORDS = new Set([
  "admin",
  "admin123",
  "administrator",
  "password",
  "passw0rd",
  "changeme",
  "change-me",
  "grafana",
  "prom-operator",
  "secret",
  "letmein",
  "12345678",
  "123456789",
  "qwerty123",
  "password123",
]);

/** The modular-crypt form of bcrypt that nginx (crypt(3)), Traefik and Caddy all read; cost 4-31. */
export function isBcryptHash(value: string): boolean {
  return /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/.test(value);
}

export function isDefaultPassword(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.length < 8 || DEFAULT_PASSWORDS.has(trimmed.toLowerCase());
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

/** Field names JavaScript gives an object's prototype: a map keyed by one would lose it or change what it inherits. */
const PROTOTYPE_NAMES = new Set(["__proto__", "constructor", "prototype"]);

/**
 * `value` with each string that holds a control character reported at its
 * path and replaced by REFUSED, each field whose name holds one reported and
 * left out, and each field named like a prototype (`__proto__`) reported and
 * left out. The paths reported are added to `refused`, so that the schema's
 * own problems there are not reported a second time.
 */
function screened(value: unknown, path: string, report: Report, refused: Set<string>): unknown {
  if (typeof value === "string") {
    const problem = controlCharacterProblem(value, takesLineFeeds(path));
    if (!problem) return value;
    report(path, problem);
    refused.add(path);
    return REFUSED;
  }
  if (Array.isArray(value)) return value.map((item, index) => screened(item, `${path}[${index}]`, report, refused));
  if (typeof value === "object" && value !== null) {
    const kept: Record<string, unknown> = {};
    for (const [field, item] of Object.entries(value)) {
      if (hasControlCharacter(field)) report(path, `has a field whose name ${controlCharacterProblem(field)!.replace(/; .*$/, "")}: ${JSON.stringify(field)}`);
      else if (PROTOTYPE_NAMES.has(field)) {
        report(
          `${path}.${field}`,
          `is a name JavaScript reserves for an object's prototype (${[...PROTOTYPE_NAMES].join(", ")}); no setting, service or header takes it: remove it`,
        );
        refused.add(`${path}.${field}`);
      } else
        Object.defineProperty(kept, field, {
          value: screened(item, `${path}.${field}`, report, refused),
          enumerable: true,
          writable: true,
          configurable: true,
        });
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
