import * as pulumi from "@pulumi/pulumi";
import type * as S3 from "@aws-sdk/client-s3";
import {
  type BucketInputs,
  type BucketLiveState,
  type BucketState,
  type Grant,
  type LifecycleRule,
  type VersionTally,
  type VersioningStatus,
  bucketDiff,
  bucketInputProblems,
  formatProblems,
  noncurrentExpiryDays,
  notEmptyMessage,
  publicGrants,
  publicPolicyStatements,
  tallyTotal,
  withBucketDefaults,
  withNoncurrentExpiryRule,
  withoutPublicStatements,
} from "./bucket-rules";

// Pulumi serializes `bucketProvider` and every function it reaches into the
// state file, and runs that text in a separate provider process. So the SDK is
// loaded with require() inside the functions (a captured module object would be
// serialized by value), nothing here closes over a secret, and the functions
// below reach only each other and ./bucket-rules, which has no imports.

type S3Module = typeof S3;

function sdk(): S3Module {
  return require("@aws-sdk/client-s3") as S3Module;
}

function s3Client(p: BucketInputs): S3.S3Client {
  const { S3Client } = sdk();
  return new S3Client({
    endpoint: p.endpoint,
    region: p.region,
    forcePathStyle: p.forcePathStyle,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    // Since 3.729 the SDK adds CRC32 checksums to every upload by default;
    // S3-compatible services that do not know them reject the requests.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
  });
}

function errorCode(error: unknown): string {
  const e = error as { Code?: string; name?: string };
  return e?.Code ?? e?.name ?? "Error";
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

// An S3 call the endpoint does not implement is answered with 501
// NotImplemented (MinIO does so for a public-read ACL and GetPublicAccessBlock).
function notImplemented(error: unknown): boolean {
  return httpStatus(error) === 501 || errorCode(error) === "NotImplemented";
}

function missingBucket(error: unknown): boolean {
  return errorCode(error) === "NoSuchBucket" || (errorCode(error) === "NotFound" && httpStatus(error) === 404);
}

/** An error that names the bucket and the S3 call, and keeps the SDK error as its cause. */
function s3Error(bucketName: string, call: string, error: unknown): Error {
  const message = (error as Error)?.message ?? String(error);
  const wrapped = new Error(`bucket "${bucketName}": ${call} failed: ${errorCode(error)}: ${message}`, { cause: error });
  (wrapped as Error & { code?: string }).code = errorCode(error);
  return wrapped;
}

async function send<T>(client: S3.S3Client, bucketName: string, command: { constructor: { name: string } }): Promise<T> {
  try {
    return (await client.send(command as never)) as T;
  } catch (error) {
    throw s3Error(bucketName, command.constructor.name.replace(/Command$/, ""), error);
  }
}

/**
 * The inputs, checked. Read and delete work from recorded state, where the
 * expiry days are whatever refresh found (null when the rule is gone), so they
 * check only what is needed to reach the bucket.
 */
function validInputs(raw: Record<string, unknown>, toReachOnly = false): BucketInputs {
  const problems = bucketInputProblems(raw).filter((p) => !toReachOnly || p.path !== "noncurrentVersionExpiryDays");
  if (problems.length) throw new Error(formatProblems(`bucket ${JSON.stringify(raw.bucketName)}`, problems));
  const p = withBucketDefaults(raw) as unknown as BucketInputs;
  return {
    bucketName: p.bucketName,
    endpoint: p.endpoint,
    region: p.region,
    accessKeyId: p.accessKeyId,
    secretAccessKey: p.secretAccessKey,
    forcePathStyle: p.forcePathStyle,
    noncurrentVersionExpiryDays: p.noncurrentVersionExpiryDays,
    forceDestroy: p.forceDestroy,
  };
}

async function bucketExists(client: S3.S3Client, bucketName: string): Promise<boolean> {
  const { HeadBucketCommand } = sdk();
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucketName }));
    return true;
  } catch (error) {
    if (missingBucket(error)) return false;
    throw s3Error(bucketName, "HeadBucket", error);
  }
}

/**
 * S1: the bucket ACL is private and no policy statement allows everyone.
 *
 * PutPublicAccessBlock is not used: it is an AWS account-level guard, not
 * part of the S3 subset these services share, and MinIO rejects it (400
 * MalformedXML). The rule is enforced on the state itself instead, and `read`
 * reports any public grant as drift, which the next update removes.
 *
 * An endpoint that answers the ACL or policy calls with NotImplemented is
 * tolerated, because a mechanism the endpoint does not have cannot hold a
 * public grant (R2, for one, makes buckets public through its own dashboard
 * and API, not through S3 ACLs). Any other failure is an error.
 */
async function enforcePrivate(client: S3.S3Client, bucketName: string): Promise<void> {
  const { PutBucketAclCommand, GetBucketPolicyCommand, PutBucketPolicyCommand, DeleteBucketPolicyCommand } = sdk();
  try {
    await client.send(new PutBucketAclCommand({ Bucket: bucketName, ACL: "private" }));
  } catch (error) {
    if (!notImplemented(error)) throw s3Error(bucketName, "PutBucketAcl", error);
  }
  let policy: string | undefined;
  try {
    policy = (await client.send(new GetBucketPolicyCommand({ Bucket: bucketName }))).Policy;
  } catch (error) {
    if (errorCode(error) !== "NoSuchBucketPolicy" && !notImplemented(error)) throw s3Error(bucketName, "GetBucketPolicy", error);
  }
  if (!policy || publicPolicyStatements(policy).length === 0) return;
  const kept = withoutPublicStatements(policy);
  if (kept === null) await send(client, bucketName, new DeleteBucketPolicyCommand({ Bucket: bucketName }));
  else await send(client, bucketName, new PutBucketPolicyCommand({ Bucket: bucketName, Policy: kept }));
}

async function lifecycleRules(client: S3.S3Client, bucketName: string): Promise<LifecycleRule[]> {
  const { GetBucketLifecycleConfigurationCommand } = sdk();
  try {
    const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucketName }));
    return (out.Rules ?? []) as LifecycleRule[];
  } catch (error) {
    if (errorCode(error) === "NoSuchLifecycleConfiguration") return [];
    throw s3Error(bucketName, "GetBucketLifecycleConfiguration", error);
  }
}

/** Applies S1, S2 and S3 to an existing bucket; used by create and update alike. */
async function configure(client: S3.S3Client, p: BucketInputs): Promise<void> {
  const { PutBucketVersioningCommand, PutBucketLifecycleConfigurationCommand } = sdk();
  await enforcePrivate(client, p.bucketName);
  await send(client, p.bucketName, new PutBucketVersioningCommand({ Bucket: p.bucketName, VersioningConfiguration: { Status: "Enabled" } }));
  const rules = withNoncurrentExpiryRule(await lifecycleRules(client, p.bucketName), p.noncurrentVersionExpiryDays);
  await send(
    client,
    p.bucketName,
    new PutBucketLifecycleConfigurationCommand({ Bucket: p.bucketName, LifecycleConfiguration: { Rules: rules as S3.LifecycleRule[] } }),
  );
}

/** The live configuration, or null when the bucket does not exist. */
async function liveState(client: S3.S3Client, bucketName: string): Promise<BucketLiveState | null> {
  const { GetBucketVersioningCommand, GetBucketAclCommand, GetBucketPolicyCommand } = sdk();
  let versioning: VersioningStatus;
  try {
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: bucketName }));
    versioning = (out.Status as VersioningStatus | undefined) ?? "Off";
  } catch (error) {
    if (missingBucket(error)) return null;
    throw s3Error(bucketName, "GetBucketVersioning", error);
  }
  const publicAccess: string[] = [];
  try {
    const acl = await client.send(new GetBucketAclCommand({ Bucket: bucketName }));
    publicAccess.push(...publicGrants((acl.Grants ?? []) as Grant[]));
  } catch (error) {
    if (!notImplemented(error)) throw s3Error(bucketName, "GetBucketAcl", error);
  }
  try {
    const policy = (await client.send(new GetBucketPolicyCommand({ Bucket: bucketName }))).Policy;
    if (policy) publicAccess.push(...publicPolicyStatements(policy));
  } catch (error) {
    if (errorCode(error) !== "NoSuchBucketPolicy" && !notImplemented(error)) throw s3Error(bucketName, "GetBucketPolicy", error);
  }
  const days = noncurrentExpiryDays(await lifecycleRules(client, bucketName));
  return { versioning, noncurrentVersionExpiryDays: days, publicAccess };
}

/** The configuration that was just applied, read back; an error says what did not take. */
async function verifiedState(client: S3.S3Client, p: BucketInputs): Promise<BucketState> {
  const live = await liveState(client, p.bucketName);
  if (!live) throw new Error(`bucket "${p.bucketName}" disappeared while it was being configured`);
  const unmet: string[] = [];
  if (live.versioning !== "Enabled") unmet.push(`versioning reads back as ${live.versioning}, not Enabled (S2)`);
  if (live.noncurrentVersionExpiryDays !== p.noncurrentVersionExpiryDays)
    unmet.push(`the noncurrent-version expiry reads back as ${live.noncurrentVersionExpiryDays} days, not ${p.noncurrentVersionExpiryDays} (S3)`);
  unmet.push(...live.publicAccess.map((reason) => `${reason} (S1)`));
  if (unmet.length) throw new Error(`bucket "${p.bucketName}" at ${p.endpoint} did not take its configuration: ${unmet.join("; ")}`);
  return { ...p, ...live };
}

async function createBucket(raw: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult<BucketState>> {
  const p = validInputs(raw);
  const client = s3Client(p);
  const { CreateBucketCommand, DeleteBucketCommand } = sdk();
  // Some endpoints answer CreateBucket for a bucket the caller already owns
  // with success (AWS in us-east-1), so existence is checked first: a bucket
  // this resource did not create is never configured, adopted or rolled back.
  if (await bucketExists(client, p.bucketName))
    throw new Error(
      `bucket "${p.bucketName}" already exists at ${p.endpoint}; it was left untouched. ` +
        `Choose another bucketName, or adopt the bucket with the \`import\` resource option.`,
    );
  // No LocationConstraint: S3-compatible services take the location from the
  // endpoint, and MinIO rejects one that differs from its own region.
  await send(client, p.bucketName, new CreateBucketCommand({ Bucket: p.bucketName }));
  try {
    await configure(client, p);
    return { id: p.bucketName, outs: await verifiedState(client, p) };
  } catch (error) {
    // Roll back: the bucket was created a moment ago and is empty, so deleting
    // it loses nothing and leaves no half-configured bucket behind.
    try {
      await client.send(new DeleteBucketCommand({ Bucket: p.bucketName }));
    } catch (rollbackError) {
      throw new Error(
        `${(error as Error).message}. Rolling back also failed (${errorCode(rollbackError)}: ${(rollbackError as Error).message}): ` +
          `bucket "${p.bucketName}" exists at ${p.endpoint} without its required configuration; delete it by hand before retrying.`,
        // The creation's failure is the cause; the rollback's is told in the message.
        // eslint-disable-next-line preserve-caught-error
        { cause: error },
      );
    }
    throw new Error(`${(error as Error).message}. The new bucket was deleted again; nothing is left behind.`, { cause: error });
  }
}

async function readBucket(id: string, props: Record<string, unknown> | undefined): Promise<pulumi.dynamic.ReadResult<BucketState>> {
  const p = validInputs({ ...props, bucketName: props?.bucketName ?? id }, true);
  const live = await liveState(s3Client(p), p.bucketName);
  // An empty ID tells Pulumi the resource is gone.
  if (!live) return { id: "", props: {} as BucketState };
  return { id, props: { ...p, ...live } };
}

async function updateBucket(raw: Record<string, unknown>): Promise<pulumi.dynamic.UpdateResult<BucketState>> {
  const p = validInputs(raw);
  const client = s3Client(p);
  try {
    await configure(client, p);
  } catch (error) {
    if ((error as { code?: string }).code === "NoSuchBucket")
      throw new Error(`bucket "${p.bucketName}" no longer exists at ${p.endpoint}; run \`pulumi refresh\` to record that, then \`pulumi up\` recreates it.`, {
        cause: error,
      });
    throw error;
  }
  return { outs: await verifiedState(client, p) };
}

// Counting stops here: a large backup bucket would otherwise be listed in full
// only to print a number.
const COUNT_LIMIT = 10000;

async function countVersions(client: S3.S3Client, bucketName: string): Promise<VersionTally> {
  const { ListObjectVersionsCommand } = sdk();
  const tally: VersionTally = { currentVersions: 0, noncurrentVersions: 0, deleteMarkers: 0, truncated: false };
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await send<S3.ListObjectVersionsCommandOutput>(
      client,
      bucketName,
      new ListObjectVersionsCommand({ Bucket: bucketName, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
    );
    for (const v of page.Versions ?? []) {
      if (v.IsLatest) tally.currentVersions++;
      else tally.noncurrentVersions++;
    }
    tally.deleteMarkers += (page.DeleteMarkers ?? []).length;
    if (!page.IsTruncated) return tally;
    if (tallyTotal(tally) >= COUNT_LIMIT) return { ...tally, truncated: true };
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/**
 * Deletes every object version and delete marker. One DeleteObject per version
 * rather than DeleteObjects: DeleteObjects must carry Content-MD5 on several
 * S3-compatible services, and the SDK now sends CRC32 instead
 * (aws/aws-sdk-js-v3#6920).
 */
async function emptyBucket(client: S3.S3Client, bucketName: string): Promise<void> {
  const { ListObjectVersionsCommand, DeleteObjectCommand } = sdk();
  let previousFirst: string | undefined;
  for (;;) {
    const page = await send<S3.ListObjectVersionsCommandOutput>(client, bucketName, new ListObjectVersionsCommand({ Bucket: bucketName }));
    const targets = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (targets.length === 0) return;
    const first = `${targets[0].Key}\u0000${targets[0].VersionId}`;
    if (first === previousFirst) throw new Error(`bucket "${bucketName}": deleting object versions makes no progress (${targets[0].Key} stays)`);
    previousFirst = first;
    const queue = [...targets];
    const worker = async () => {
      for (let target = queue.shift(); target; target = queue.shift())
        await send(client, bucketName, new DeleteObjectCommand({ Bucket: bucketName, ...target }));
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }
}

async function deleteBucket(id: string, props: Record<string, unknown>): Promise<void> {
  const p = validInputs({ ...props, bucketName: props.bucketName ?? id }, true);
  const client = s3Client(p);
  const { DeleteBucketCommand } = sdk();
  if (!(await bucketExists(client, p.bucketName))) return;
  // Versioning is on, so "empty" counts old versions and delete markers too:
  // a bucket whose objects were all deleted still holds their data.
  const tally = await countVersions(client, p.bucketName);
  if (tallyTotal(tally) > 0) {
    if (!p.forceDestroy) throw new Error(notEmptyMessage(p.bucketName, p.endpoint, tally));
    await emptyBucket(client, p.bucketName);
  }
  await send(client, p.bucketName, new DeleteBucketCommand({ Bucket: p.bucketName }));
}

/** The dynamic provider for an S3-compatible bucket (Hetzner, Backblaze B2, Cloudflare R2, MinIO). */
export const bucketProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    const failures = bucketInputProblems(news).map((p) => ({ property: p.path.replace(/^connection\./, ""), reason: p.reason }));
    return { inputs: withBucketDefaults(news), failures };
  },
  async diff(_id: string, olds: Partial<BucketState>, news: Partial<BucketInputs>) {
    return bucketDiff(olds, news);
  },
  create: createBucket,
  read: readBucket,
  update: (_id: string, _olds: unknown, news: Record<string, unknown>) => updateBucket(news),
  delete: deleteBucket,
};

/** Inputs of the dynamic bucket resource; the component fills them from BucketArgs. */
export interface BucketResourceArgs {
  bucketName: pulumi.Input<string>;
  endpoint: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
  forcePathStyle: pulumi.Input<boolean>;
  noncurrentVersionExpiryDays: pulumi.Input<number>;
  forceDestroy: pulumi.Input<boolean>;
}

/** The keys that are stored encrypted in state. */
export const SECRET_OUTPUTS = ["accessKeyId", "secretAccessKey"];

/** The bucket itself, as a Pulumi dynamic resource backed by `bucketProvider`. */
export class BucketResource extends pulumi.dynamic.Resource {
  // `declare`, not plain fields: with ES2022 class fields a declared property
  // is initialized to undefined after super() has set it to the Output.
  declare public readonly bucketName: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly versioning: pulumi.Output<VersioningStatus>;
  declare public readonly noncurrentVersionExpiryDays: pulumi.Output<number | null>;
  declare public readonly publicAccess: pulumi.Output<string[]>;

  constructor(name: string, args: BucketResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bucketProvider,
      name,
      { ...args, versioning: undefined, publicAccess: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS] },
      "storage",
      "Bucket",
    );
  }
}
