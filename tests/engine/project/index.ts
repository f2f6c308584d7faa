import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../../../components/compute/content-hash";
import { SSHCommand } from "../../../components/remote/ssh-command";
import { Bucket, type S3Connection } from "../../../components/storage/bucket";
import { LocalCommand } from "./local-command";

// Every value comes from the stack config that tests/engine/engine.test.ts
// writes: MinIO and sshd run on 127.0.0.1 with throwaway credentials.
const config = new pulumi.Config();

const s3: S3Connection = {
  endpoint: config.require("s3Endpoint"),
  region: config.require("s3Region"),
  accessKeyId: config.requireSecret("s3AccessKeyId"),
  secretAccessKey: config.requireSecret("s3SecretAccessKey"),
  forcePathStyle: true,
};

// Protected: `pulumi destroy --exclude-protected` must leave it, and its data, in place.
const kept = new Bucket("kept", { bucketName: config.require("keptBucketName"), connection: s3, noncurrentVersionExpiryDays: 30 }, { protect: true });

// The test changes scratchExpiryDays to show that one config value updates one resource.
const scratch = new Bucket("scratch", {
  bucketName: config.require("scratchBucketName"),
  connection: s3,
  noncurrentVersionExpiryDays: config.requireNumber("scratchExpiryDays"),
  forceDestroy: true,
});

const markerDir = shellQuote(config.require("markerDir"));

// Harmless host preparation: each run appends one line, so the file counts the runs.
const prepareScript = `set -eu
mkdir -p ${markerDir}
echo "prepared $(hostname)" >> ${markerDir}/host-prepared
echo ready
`;

const connection = {
  host: "127.0.0.1",
  port: config.requireNumber("sshPort"),
  user: config.require("sshUser"),
  privateKey: config.requireSecret("sshPrivateKey"),
  hostPublicKey: config.require("sshHostPublicKey"),
};

// The program's own SSH command, as components/compute/server.ts uses it, with sshd's host key pinned.
const hostPrepare = new SSHCommand("host-prepare", {
  connection,
  create: prepareScript,
  delete: `rm -f ${markerDir}/host-prepared`,
  // Same rule as components/compute: the script runs again when, and only when, it changes.
  triggers: [contentHash(prepareScript)],
});

// Replaced when its version changes, old one first (deleteBeforeReplace), as
// the backup's environment and install commands are: the file records the order.
const configVersion = config.require("hostConfigVersion");
new SSHCommand(
  "host-config",
  {
    connection,
    create: `echo "created ${configVersion}" >> ${markerDir}/host-config`,
    delete: `echo "deleted ${configVersion}" >> ${markerDir}/host-config`,
  },
  { dependsOn: [hostPrepare], deleteBeforeReplace: true },
);

const localStamp = new LocalCommand(
  "local-stamp",
  {
    create: `echo "$STAMP" >> ${markerDir}/local-stamp && echo "$STAMP"`,
    delete: `rm -f ${markerDir}/local-stamp`,
    environment: { STAMP: "stamped after host preparation" },
  },
  { dependsOn: [hostPrepare] },
);

export const keptBucketName = kept.bucketName;
export const scratchBucketName = scratch.bucketName;
export const hostPrepareOutput = hostPrepare.stdout;
export const localStampOutput = localStamp.stdout;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
