import * as pulumi from "@pulumi/pulumi";
import { BucketResource } from "./bucket-provider";
import { type BucketProblem, bucketInputProblems, formatProblems, withBucketDefaults } from "./bucket-rules";

export interface S3Connection {
  endpoint: string; // e.g. https://fsn1.your-objectstorage.com or http://127.0.0.1:9000
  region: string;
  accessKeyId: pulumi.Input<string>; // a Pulumi secret in real stacks
  secretAccessKey: pulumi.Input<string>; // a Pulumi secret
  forcePathStyle?: boolean; // MinIO needs true
}

export interface BucketArgs {
  bucketName: string; // physical name, validated against the S3 naming rules
  connection: S3Connection;
  noncurrentVersionExpiryDays: number; // integer >= 1
  forceDestroy?: boolean; // default false
}

const TYPE = "infra:storage:Bucket";

/**
 * A private, versioned S3-compatible bucket whose noncurrent versions expire
 * after `noncurrentVersionExpiryDays` (checklist S1–S3).
 *
 * Resource options given to the component reach the bucket as follows:
 * `protect`, `provider(s)`, `transformations` and `aliases` are inherited
 * through `parent: this` by Pulumi itself (a child without its own `protect`
 * takes its parent's). `dependsOn` and `retainOnDelete` are not inherited by
 * children, and on a component alone they would guard nothing physical, so
 * they are passed on to the bucket explicitly.
 */
export class Bucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: BucketArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validated before super(), so a bad argument registers nothing at all.
    const problems = bucketArgsProblems(args);
    if (problems.length) throw new Error(formatProblems(`${TYPE} "${name}"`, problems));
    super(TYPE, name, {}, opts);

    const { connection } = args;
    const settings = withBucketDefaults({ forceDestroy: args.forceDestroy, forcePathStyle: connection.forcePathStyle });
    const bucket = new BucketResource(
      `${name}-bucket`,
      {
        bucketName: args.bucketName,
        endpoint: connection.endpoint,
        region: connection.region,
        // Secret whether or not the caller marked them, so the inputs in state
        // are encrypted; BucketResource marks the matching outputs as well.
        accessKeyId: pulumi.secret(connection.accessKeyId),
        secretAccessKey: pulumi.secret(connection.secretAccessKey),
        forcePathStyle: settings.forcePathStyle,
        noncurrentVersionExpiryDays: args.noncurrentVersionExpiryDays,
        forceDestroy: settings.forceDestroy,
      },
      { parent: this, dependsOn: opts?.dependsOn, retainOnDelete: opts?.retainOnDelete },
    );

    this.bucketName = bucket.bucketName;
    this.endpoint = bucket.endpoint;
    this.registerOutputs({ bucketName: this.bucketName, endpoint: this.endpoint });
  }
}

/** Every problem with BucketArgs, each with its path; the credentials are checked only when given as plain strings. */
function bucketArgsProblems(args: BucketArgs): BucketProblem[] {
  const connection = (args?.connection ?? {}) as Partial<S3Connection>;
  const problems: BucketProblem[] = [];
  for (const key of ["accessKeyId", "secretAccessKey"] as const)
    if (connection[key] === undefined || connection[key] === null) problems.push({ path: `connection.${key}`, reason: "must be given (a Pulumi secret)" });
  const plain = (value: unknown) => (typeof value === "string" ? value : undefined);
  return [
    ...problems,
    ...bucketInputProblems({
      bucketName: args?.bucketName,
      endpoint: connection.endpoint,
      region: connection.region,
      accessKeyId: plain(connection.accessKeyId),
      secretAccessKey: plain(connection.secretAccessKey),
      forcePathStyle: connection.forcePathStyle,
      noncurrentVersionExpiryDays: args?.noncurrentVersionExpiryDays,
      forceDestroy: args?.forceDestroy,
    }),
  ];
}
