// Pure decisions behind the S3-compatible bucket: input validation, the
// lifecycle rule, privacy checks, the diff, and the not-empty report.
//
// This module is captured into the dynamic provider's serialized closure, so it
// must stay free of imports and of anything that is not plain data or a
// function over plain data.

/** The inputs the bucket provider works from, after `withBucketDefaults`. */
export interface BucketInputs {
  bucketName: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  noncurrentVersionExpiryDays: number;
  forceDestroy: boolean;
}

/** What `versioning` reads back as; "Off" is a bucket that was never versioned. */
export type VersioningStatus = "Enabled" | "Suspended" | "Off";

/** The live configuration read back from the endpoint. */
export interface BucketLiveState {
  versioning: VersioningStatus;
  /** NoncurrentDays of the expiry rule this resource owns; null when the rule is missing, disabled or narrowed. */
  noncurrentVersionExpiryDays: number | null;
  /** Why the bucket is reachable by everyone; empty when it is private (S1). */
  publicAccess: string[];
}

/** The recorded state: the inputs, with the live configuration read over them. */
export type BucketState = Omit<BucketInputs, "noncurrentVersionExpiryDays"> & BucketLiveState;

/** A problem with the inputs; `path` is the BucketArgs path (e.g. "connection.endpoint"). */
export interface BucketProblem {
  path: string;
  reason: string;
}

/** The placeholder Pulumi passes for a value that is unknown during preview. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The ID of the lifecycle rule the bucket resource owns; other rules are left alone. */
export const NONCURRENT_EXPIRY_RULE_ID = "infra-expire-noncurrent-versions";

/** Fills in the optional inputs. The only place defaults live. */
export function withBucketDefaults<T extends { forceDestroy?: unknown; forcePathStyle?: unknown }>(
  inputs: T,
): T & { forceDestroy: boolean; forcePathStyle: boolean } {
  return {
    ...inputs,
    forceDestroy: inputs.forceDestroy === undefined ? false : (inputs.forceDestroy as boolean),
    forcePathStyle: inputs.forcePathStyle === undefined ? false : (inputs.forcePathStyle as boolean),
  };
}

// Suffixes and prefixes S3 reserves for access points, Outposts, multi-region
// access points, directory and table buckets (AWS "Bucket naming rules").
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** Every way `name` breaks the S3 bucket naming rules; empty when it is valid. */
export function bucketNameProblems(name: unknown): string[] {
  if (typeof name !== "string") return [`must be a string, got ${describe(name)}`];
  const problems: string[] = [];
  const quoted = JSON.stringify(name);
  if (name.length < 3 || name.length > 63) problems.push(`${quoted} is ${name.length} characters long; S3 bucket names are 3 to 63`);
  const invalid = [...new Set(name.replace(/[a-z0-9.-]/g, ""))];
  if (invalid.length)
    problems.push(`${quoted} contains ${invalid.map((c) => JSON.stringify(c)).join(", ")}; only lowercase letters, digits, dots and hyphens are allowed`);
  if (name.length > 0 && !/^[a-z0-9]/.test(name)) problems.push(`${quoted} must begin with a lowercase letter or a digit`);
  if (name.length > 0 && !/[a-z0-9]$/.test(name)) problems.push(`${quoted} must end with a lowercase letter or a digit`);
  if (name.includes("..")) problems.push(`${quoted} has two adjacent dots`);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push(`${quoted} is formatted as an IP address`);
  const reserved = reservedPrefixOf(name);
  if (reserved) problems.push(`${quoted} starts with the reserved prefix "${reserved}"`);
  for (const suffix of RESERVED_SUFFIXES) if (name.endsWith(suffix)) problems.push(`${quoted} ends with the reserved suffix "${suffix}"`);
  return problems;
}

/** The prefix S3 reserves that a bucket name starting with `start` carries, or undefined. */
export function reservedPrefixOf(start: string): string | undefined {
  return RESERVED_PREFIXES.find((prefix) => start.startsWith(prefix));
}

// Plain HTTP sends every object in clear text, so it is accepted only for a
// server on the same machine (the live tests' MinIO).
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

/** Every way `endpoint` is not a usable S3 endpoint URL; empty when it is fine. */
export function endpointProblems(endpoint: unknown): string[] {
  if (typeof endpoint !== "string") return [`must be a string, got ${describe(endpoint)}`];
  // A message never repeats a password or key given in the URL.
  const shown = JSON.stringify(endpoint.replace(/^([^:/?#]+:\/\/)[^/?#]*@/, "$1***@"));
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [`${shown} is not a URL (expected e.g. https://fsn1.your-objectstorage.com)`];
  }
  const problems: string[] = [];
  if (url.protocol !== "https:" && url.protocol !== "http:")
    problems.push(`${shown} uses ${url.protocol.replace(/:$/, "")}; only https (or http to a loopback address) is allowed`);
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.includes(url.hostname))
    problems.push(`${shown} uses plain http to a remote host; use https (http is accepted only for ${LOOPBACK_HOSTS.join(", ")})`);
  // An empty query or fragment ("https://host#") leaves url.search and url.hash empty.
  if (url.pathname !== "/" || url.search || url.hash || /[?#]/.test(endpoint))
    problems.push(`${shown} has a path, query or fragment; give the endpoint's origin only`);
  if (url.username || url.password) problems.push(`${shown} embeds credentials; pass them as accessKeyId and secretAccessKey`);
  return problems;
}

/**
 * Every problem with the bucket inputs, each with its BucketArgs path. Values
 * that are unknown (not yet computed during preview) or absent are skipped, so
 * the component can validate before its credentials are known.
 */
export function bucketInputProblems(inputs: {
  bucketName?: unknown;
  endpoint?: unknown;
  region?: unknown;
  accessKeyId?: unknown;
  secretAccessKey?: unknown;
  forcePathStyle?: unknown;
  noncurrentVersionExpiryDays?: unknown;
  forceDestroy?: unknown;
}): BucketProblem[] {
  const problems: BucketProblem[] = [];
  const known = (value: unknown) => value !== UNKNOWN_VALUE;
  if (known(inputs.bucketName)) for (const reason of bucketNameProblems(inputs.bucketName)) problems.push({ path: "bucketName", reason });
  if (known(inputs.endpoint)) for (const reason of endpointProblems(inputs.endpoint)) problems.push({ path: "connection.endpoint", reason });
  if (known(inputs.region) && (typeof inputs.region !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(inputs.region)))
    problems.push({
      path: "connection.region",
      reason: `${describe(inputs.region)} is not a region name (lowercase letters, digits and hyphens, e.g. fsn1, auto, us-east-1)`,
    });
  for (const key of ["accessKeyId", "secretAccessKey"] as const) {
    const value = inputs[key];
    if (value !== undefined && known(value) && (typeof value !== "string" || value.length === 0))
      problems.push({ path: `connection.${key}`, reason: "must be a non-empty string" });
  }
  if (inputs.forcePathStyle !== undefined && typeof inputs.forcePathStyle !== "boolean")
    problems.push({ path: "connection.forcePathStyle", reason: `must be true or false, got ${describe(inputs.forcePathStyle)}` });
  const days = inputs.noncurrentVersionExpiryDays;
  if (known(days) && !(typeof days === "number" && Number.isSafeInteger(days) && days >= 1))
    problems.push({ path: "noncurrentVersionExpiryDays", reason: `must be a whole number of days, 1 or more, got ${describe(days)}` });
  if (inputs.forceDestroy !== undefined && typeof inputs.forceDestroy !== "boolean")
    problems.push({ path: "forceDestroy", reason: `must be true or false, got ${describe(inputs.forceDestroy)}` });
  return problems;
}

/** One message listing every problem, each on its own line. */
export function formatProblems(subject: string, problems: BucketProblem[]): string {
  return `${subject} has ${problems.length} invalid argument${problems.length === 1 ? "" : "s"}:\n${problems
    .map((p) => `  - ${p.path}: ${p.reason}`)
    .join("\n")}`;
}

/** The subset of the S3 lifecycle rule shape this module reads and writes. */
export interface LifecycleRule {
  ID?: string;
  Status?: string;
  Filter?: { Prefix?: string; [other: string]: unknown };
  Prefix?: string;
  NoncurrentVersionExpiration?: { NoncurrentDays?: number; [other: string]: unknown };
  [other: string]: unknown;
}

/**
 * The rule that expires noncurrent versions after `days` (S3). Hetzner Object
 * Storage expires old versions only through NoncurrentDays, so that is the one
 * field used; the empty prefix filter makes it cover the whole bucket.
 */
export function noncurrentExpiryRule(days: number): LifecycleRule {
  return {
    ID: NONCURRENT_EXPIRY_RULE_ID,
    Status: "Enabled",
    Filter: { Prefix: "" },
    NoncurrentVersionExpiration: { NoncurrentDays: days },
  };
}

/**
 * The lifecycle rules to write: `existing` with this resource's rule replaced
 * by one for `days`. PutBucketLifecycleConfiguration replaces the whole
 * configuration, so rules added by others must be carried over, not dropped.
 */
export function withNoncurrentExpiryRule(existing: LifecycleRule[], days: number): LifecycleRule[] {
  return [...existing.filter((rule) => rule.ID !== NONCURRENT_EXPIRY_RULE_ID), noncurrentExpiryRule(days)];
}

/**
 * NoncurrentDays of this resource's rule, or null if the rule is missing,
 * disabled, or narrowed to part of the bucket (all of which are drift).
 */
export function noncurrentExpiryDays(rules: LifecycleRule[]): number | null {
  const rule = rules.find((r) => r.ID === NONCURRENT_EXPIRY_RULE_ID);
  if (!rule || rule.Status !== "Enabled") return null;
  const filterKeys = Object.keys(rule.Filter ?? {}).filter((k) => (rule.Filter as Record<string, unknown>)[k] !== undefined);
  const wholeBucket = (filterKeys.length === 0 || (filterKeys.length === 1 && rule.Filter?.Prefix === "")) && !rule.Prefix;
  const days = rule.NoncurrentVersionExpiration?.NoncurrentDays;
  return wholeBucket && typeof days === "number" ? days : null;
}

const PUBLIC_GROUPS: Record<string, string> = {
  "http://acs.amazonaws.com/groups/global/AllUsers": "everyone",
  "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every authenticated user",
};

/** The subset of an S3 ACL grant this module reads. */
export interface Grant {
  Grantee?: { Type?: string; URI?: string; [other: string]: unknown };
  Permission?: string;
}

/** One reason per ACL grant that opens the bucket to everyone (S1); empty when none does. */
export function publicGrants(grants: Grant[]): string[] {
  return grants.flatMap((grant) => {
    const who = grant.Grantee?.URI ? PUBLIC_GROUPS[grant.Grantee.URI] : undefined;
    return who ? [`ACL grants ${grant.Permission ?? "access"} to ${who}`] : [];
  });
}

interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  [other: string]: unknown;
}

function grantsEveryone(statement: PolicyStatement): boolean {
  if (statement.Effect !== "Allow") return false;
  // NotPrincipal with Allow grants everyone except the listed principals.
  if (statement.NotPrincipal !== undefined) return true;
  const principal = statement.Principal;
  if (principal === "*") return true;
  if (principal && typeof principal === "object") {
    const aws = (principal as Record<string, unknown>).AWS;
    return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
  }
  return false;
}

function policyStatements(policy: string): PolicyStatement[] {
  const parsed = JSON.parse(policy) as { Statement?: PolicyStatement | PolicyStatement[] };
  const statements = parsed.Statement ?? [];
  return Array.isArray(statements) ? statements : [statements];
}

/** One reason per bucket-policy statement that allows everyone (`*`) (S1); empty when none does. */
export function publicPolicyStatements(policy: string): string[] {
  return policyStatements(policy)
    .filter(grantsEveryone)
    .map((s, i) => `bucket policy statement ${s.Sid ? JSON.stringify(s.Sid) : `#${i + 1}`} allows ${JSON.stringify(s.Action ?? "*")} to everyone`);
}

/**
 * The policy without its statements that allow everyone, or null when nothing
 * else is left (then the policy is deleted rather than written back empty).
 */
export function withoutPublicStatements(policy: string): string | null {
  const parsed = JSON.parse(policy) as Record<string, unknown>;
  const kept = policyStatements(policy).filter((s) => !grantsEveryone(s));
  return kept.length ? JSON.stringify({ ...parsed, Statement: kept }) : null;
}

const REPLACE_ON = ["bucketName", "endpoint", "region"] as const;
const UPDATE_ON = ["noncurrentVersionExpiryDays", "forceDestroy", "forcePathStyle", "accessKeyId", "secretAccessKey"] as const;

export interface BucketDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/**
 * Compares the recorded state (`olds`, possibly refreshed from the endpoint)
 * with the desired inputs (`news`).
 *
 * A new name, endpoint or region is a different bucket, so it is replaced.
 * The replacement is created before the old one is deleted: create refuses a
 * bucket that already exists, and delete refuses a non-empty one, so a
 * replacement can fail but can never lose objects.
 *
 * Credentials, forcePathStyle and forceDestroy only change how the bucket is
 * reached or torn down; they update in place. So does drift found by refresh:
 * versioning not Enabled, a missing or different expiry rule, public access.
 */
export function bucketDiff(olds: Partial<BucketState>, news: Partial<BucketInputs>): BucketDiff {
  const o = withBucketDefaults(olds);
  const n = withBucketDefaults(news);
  const replaces = REPLACE_ON.filter((key) => o[key] !== n[key]);
  const updates = UPDATE_ON.filter((key) => o[key] !== n[key]);
  const drifted = (o.versioning !== undefined && o.versioning !== "Enabled") || (Array.isArray(o.publicAccess) && o.publicAccess.length > 0);
  return { changes: replaces.length > 0 || updates.length > 0 || drifted, replaces: [...replaces], deleteBeforeReplace: false };
}

/** What a versioned bucket holds, as counted before deleting it. */
export interface VersionTally {
  currentVersions: number;
  noncurrentVersions: number;
  deleteMarkers: number;
  /** True when counting stopped at the limit, so the numbers are lower bounds. */
  truncated: boolean;
}

export function tallyTotal(tally: VersionTally): number {
  return tally.currentVersions + tally.noncurrentVersions + tally.deleteMarkers;
}

/** The error for deleting a bucket that still holds objects without forceDestroy. */
export function notEmptyMessage(bucketName: string, endpoint: string, tally: VersionTally): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const total = tallyTotal(tally);
  const found = `${tally.truncated ? "at least " : ""}${plural(total, "object", "objects")}`;
  return (
    `bucket "${bucketName}" at ${endpoint} is not empty: found ${found} ` +
    `(${plural(tally.currentVersions, "current object", "current objects")}, ` +
    `${plural(tally.noncurrentVersions, "older version", "older versions")}, ` +
    `${plural(tally.deleteMarkers, "delete marker", "delete markers")}). ` +
    `Nothing was deleted. To delete the bucket with everything in it, set forceDestroy: true on the Bucket, ` +
    `run \`pulumi up\` so the setting is recorded, and delete again.`
  );
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  return `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
}
