// Live tests of the bucket provider against a real MinIO on 127.0.0.1.
//
// The provider talks to MinIO through a small recording proxy, so a test can
// see which S3 calls were made and can make one of them fail the way a real
// endpoint would (a missing permission, a call the service does not
// implement). Checks go straight to MinIO, past the proxy.
import { randomBytes } from "node:crypto";
import { type IncomingMessage, type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { bucketProvider } from "../../components/storage/bucket-provider";
import { type BucketInputs, type BucketState, NONCURRENT_EXPIRY_RULE_ID } from "../../components/storage/bucket-rules";
import { type MinIO, startMinIO } from "../support/minio";

interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingMessage["headers"];
}

interface Fault {
  method: string;
  /** The S3 subresource, e.g. "lifecycle" for PUT /bucket?lifecycle; "" for the bucket itself. */
  subresource: string;
  status: number;
  code: string;
}

interface Proxy {
  endpoint: string;
  requests: RecordedRequest[];
  faults: Fault[];
  close(): Promise<void>;
}

function subresourceOf(url: URL): string {
  return [...url.searchParams.keys()][0] ?? "";
}

async function startProxy(upstream: string): Promise<Proxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    requests.push({ method: req.method ?? "", url, headers: req.headers });
    const fault = faults.find((f) => f.method === req.method && f.subresource === subresourceOf(url));
    if (fault) {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test</Message></Error>`);
      return;
    }
    // The Host header is forwarded unchanged: it is part of the SigV4 signature.
    const upstreamRequest = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      },
    );
    upstreamRequest.on("error", (error) => res.destroy(error));
    req.pipe(upstreamRequest);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    faults,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let minio: MinIO;
let proxy: Proxy;
let s3: S3Client;

beforeAll(async () => {
  minio = await startMinIO();
  proxy = await startProxy(minio.endpoint);
  s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
});

afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await minio?.stop();
});

beforeEach(() => {
  proxy.requests.length = 0;
});

afterEach(() => {
  proxy.faults.length = 0;
});

// Buckets a test leaves behind are removed at the end of the file with the
// server's data directory; unique names keep the tests independent.
function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}

function inputs(bucketName: string, overrides: Partial<BucketInputs> = {}): BucketInputs {
  return {
    bucketName,
    endpoint: proxy.endpoint,
    region: minio.region,
    accessKeyId: minio.accessKeyId,
    secretAccessKey: minio.secretAccessKey,
    forcePathStyle: true,
    noncurrentVersionExpiryDays: 7,
    forceDestroy: false,
    ...overrides,
  };
}

async function create(p: BucketInputs): Promise<BucketState> {
  const result = await bucketProvider.create(p);
  expect(result.id).toBe(p.bucketName);
  return result.outs as BucketState;
}

async function exists(bucketName: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucketName }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

async function lifecycle(bucketName: string) {
  return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucketName }))).Rules ?? [];
}

async function versioning(bucketName: string) {
  return (await s3.send(new GetBucketVersioningCommand({ Bucket: bucketName }))).Status;
}

async function put(bucketName: string, key: string, body: string) {
  await s3.send(new PutObjectCommand({ Bucket: bucketName, Key: key, Body: body }));
}

async function versionCount(bucketName: string) {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucketName }));
  return (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
}

const publicStatement = (bucketName: string) => ({
  Sid: "public-read",
  Effect: "Allow",
  Principal: { AWS: ["*"] },
  Action: ["s3:GetObject"],
  Resource: [`arn:aws:s3:::${bucketName}/*`],
});

describe("create", () => {
  test("makes a private, versioned bucket whose noncurrent versions expire after NoncurrentDays", async () => {
    const name = uniqueName("create");
    const outs = await create(inputs(name));

    expect(outs).toMatchObject({ bucketName: name, versioning: "Enabled", noncurrentVersionExpiryDays: 7, publicAccess: [] });
    expect(await versioning(name)).toBe("Enabled");
    expect(await lifecycle(name)).toEqual([
      { ID: NONCURRENT_EXPIRY_RULE_ID, Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
    ]);
    // S1: the ACL was set to private explicitly, and nothing public reads back.
    const aclPuts = proxy.requests.filter((r) => r.method === "PUT" && subresourceOf(r.url) === "acl");
    expect(aclPuts.map((r) => r.headers["x-amz-acl"])).toEqual(["private"]);
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: name }));
    expect(acl.Grants?.filter((g) => g.Grantee?.URI)).toEqual([]);
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: name }))).rejects.toMatchObject({ name: "NoSuchBucketPolicy" });

    // Nothing lost: refreshing right after create finds no drift.
    const read = await bucketProvider.read!(name, outs);
    expect(read.id).toBe(name);
    expect(await bucketProvider.diff!(name, read.props, inputs(name))).toMatchObject({ changes: false, replaces: [] });
  });

  test.each([
    ["acl", "PutBucketAcl"],
    ["versioning", "PutBucketVersioning"],
    ["lifecycle", "PutBucketLifecycleConfiguration"],
  ])("rolls back when the %s step fails, leaving no bucket behind", async (subresource, call) => {
    const name = uniqueName(`fail-${subresource}`);
    proxy.faults.push({ method: "PUT", subresource, status: 403, code: "AccessDenied" });

    const failure = bucketProvider.create(inputs(name));
    await expect(failure).rejects.toThrow(new RegExp(`${call} failed: AccessDenied`));
    await expect(failure).rejects.toThrow(/The new bucket was deleted again; nothing is left behind\./);
    expect(await exists(name)).toBe(false);
  });

  test("reports a failed rollback, naming the bucket left half-configured", async () => {
    const name = uniqueName("fail-rollback");
    proxy.faults.push({ method: "PUT", subresource: "lifecycle", status: 403, code: "AccessDenied" });
    proxy.faults.push({ method: "DELETE", subresource: "", status: 403, code: "AccessDenied" });

    await expect(bucketProvider.create(inputs(name))).rejects.toThrow(
      new RegExp(`Rolling back also failed \\(AccessDenied: .*\\): bucket "${name}" exists at .* without its required configuration`),
    );
    expect(await exists(name)).toBe(true);
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
  });

  test("tolerates an endpoint that does not implement ACLs or bucket policies, and still versions the bucket", async () => {
    const name = uniqueName("no-acl");
    for (const method of ["GET", "PUT"])
      for (const subresource of ["acl", "policy"]) proxy.faults.push({ method, subresource, status: 501, code: "NotImplemented" });

    const outs = await create(inputs(name));
    expect(outs).toMatchObject({ versioning: "Enabled", noncurrentVersionExpiryDays: 7, publicAccess: [] });
    expect(proxy.requests.some((r) => r.method === "PUT" && subresourceOf(r.url) === "acl")).toBe(true);
    expect(await versioning(name)).toBe("Enabled");
  });

  test("refuses a bucket that already exists and leaves it and its objects untouched", async () => {
    const name = uniqueName("existing");
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await put(name, "keep.txt", "precious");

    await expect(bucketProvider.create(inputs(name))).rejects.toThrow(new RegExp(`bucket "${name}" already exists .*left untouched`));
    expect(await versioning(name)).toBeUndefined();
    const body = await (await s3.send(new GetObjectCommand({ Bucket: name, Key: "keep.txt" }))).Body!.transformToString();
    expect(body).toBe("precious");
  });

  test("rejects invalid inputs with every problem before sending a request", async () => {
    const bad = inputs("Bad_Name", { noncurrentVersionExpiryDays: 0, region: "" });

    const check = await bucketProvider.check!({}, bad);
    expect(check.failures?.map((f) => f.property)).toEqual(["bucketName", "bucketName", "region", "noncurrentVersionExpiryDays"]);
    const failure = bucketProvider.create(bad);
    await expect(failure).rejects.toThrow(/has 4 invalid arguments/);
    await expect(failure).rejects.toThrow(/noncurrentVersionExpiryDays: must be a whole number of days, 1 or more, got 0/);
    expect(proxy.requests).toEqual([]);
  });
});

describe("read", () => {
  test("sees versioning suspended out of band, and update turns it back on", async () => {
    const name = uniqueName("drift-versioning");
    const outs = await create(inputs(name));
    await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Suspended" } }));

    const read = await bucketProvider.read!(name, outs);
    expect(read.props).toMatchObject({ versioning: "Suspended" });
    expect(await bucketProvider.diff!(name, read.props, inputs(name))).toMatchObject({ changes: true, replaces: [] });

    const updated = await bucketProvider.update!(name, read.props, inputs(name));
    expect(updated.outs).toMatchObject({ versioning: "Enabled" });
    expect(await versioning(name)).toBe("Enabled");
  });

  test("sees the expiry rule removed out of band, and update restores it next to other rules", async () => {
    const name = uniqueName("drift-lifecycle");
    const outs = await create(inputs(name));
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: name }));
    const other = { ID: "tmp-expiry", Status: "Enabled" as const, Filter: { Prefix: "tmp/" }, Expiration: { Days: 1 } };
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: name, LifecycleConfiguration: { Rules: [other] } }));

    const read = await bucketProvider.read!(name, outs);
    expect(read.props).toMatchObject({ noncurrentVersionExpiryDays: null });
    expect(await bucketProvider.diff!(name, read.props, inputs(name))).toMatchObject({ changes: true, replaces: [] });
    // A later refresh works from the drifted state too.
    expect((await bucketProvider.read!(name, read.props)).props).toMatchObject({ noncurrentVersionExpiryDays: null });

    await bucketProvider.update!(name, read.props, inputs(name));
    const rules = await lifecycle(name);
    expect(rules.map((r) => r.ID).sort()).toEqual([NONCURRENT_EXPIRY_RULE_ID, "tmp-expiry"]);
    expect(rules.find((r) => r.ID === NONCURRENT_EXPIRY_RULE_ID)?.NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 7 });
  });

  test("sees a bucket policy that allows everyone, and update removes only that statement", async () => {
    const name = uniqueName("drift-public");
    const outs = await create(inputs(name));
    const named = {
      Sid: "named",
      Effect: "Allow",
      Principal: { AWS: [`arn:aws:iam::minio:user/backup`] },
      Action: ["s3:GetObject"],
      Resource: [`arn:aws:s3:::${name}/*`],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: name, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [publicStatement(name), named] }) }));

    const read = await bucketProvider.read!(name, outs);
    expect(read.props.publicAccess).toEqual([expect.stringMatching(/"public-read" allows .* to everyone/)]);
    expect(await bucketProvider.diff!(name, read.props, inputs(name))).toMatchObject({ changes: true, replaces: [] });

    const updated = await bucketProvider.update!(name, read.props, inputs(name));
    expect(updated.outs).toMatchObject({ publicAccess: [] });
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: name }))).Policy!);
    expect(policy.Statement.map((s: { Sid?: string }) => s.Sid)).toEqual(["named"]);
  });

  test("reports a bucket deleted out of band as gone", async () => {
    const name = uniqueName("drift-gone");
    const outs = await create(inputs(name));
    await s3.send(new DeleteBucketCommand({ Bucket: name }));

    const read = await bucketProvider.read!(name, outs);
    expect(read.id).toBe("");
  });
});

describe("update", () => {
  test("changes NoncurrentDays in place and records the new value", async () => {
    const name = uniqueName("update-days");
    const outs = await create(inputs(name));
    const next = inputs(name, { noncurrentVersionExpiryDays: 30 });
    expect(await bucketProvider.diff!(name, outs, next)).toMatchObject({ changes: true, replaces: [] });

    const updated = await bucketProvider.update!(name, outs, next);
    expect(updated.outs).toMatchObject({ noncurrentVersionExpiryDays: 30 });
    expect((await lifecycle(name))[0].NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 30 });
  });
});

describe("delete", () => {
  test("refuses a bucket holding objects, old versions and delete markers, and keeps every one", async () => {
    const name = uniqueName("delete-refused");
    const outs = await create(inputs(name));
    await put(name, "a.txt", "v1");
    await put(name, "a.txt", "v2");
    await put(name, "b.txt", "gone");
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: "b.txt" }));

    const failure = bucketProvider.delete!(name, outs);
    await expect(failure).rejects.toThrow(
      new RegExp(`bucket "${name}" at .* is not empty: found 4 objects \\(1 current object, 2 older versions, 1 delete marker\\)`),
    );
    await expect(failure).rejects.toThrow(/set forceDestroy: true on the Bucket/);
    expect(await exists(name)).toBe(true);
    expect(await versionCount(name)).toBe(4);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: name, Key: "a.txt" }))).Body!.transformToString();
    expect(body).toBe("v2");
  });

  test("counts a bucket whose objects were all deleted as not empty: their versions remain", async () => {
    const name = uniqueName("delete-versions");
    const outs = await create(inputs(name));
    await put(name, "c.txt", "data");
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: "c.txt" }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: name }))).KeyCount).toBe(0);

    await expect(bucketProvider.delete!(name, outs)).rejects.toThrow(/found 2 objects \(0 current objects, 1 older version, 1 delete marker\)/);
    expect(await versionCount(name)).toBe(2);
  });

  test("with forceDestroy removes every version and delete marker, then the bucket", async () => {
    const name = uniqueName("delete-forced");
    const outs = await create(inputs(name));
    for (let i = 0; i < 20; i++) await put(name, `k${i % 5}.txt`, `v${i}`);
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: "k0.txt" }));
    expect(await versionCount(name)).toBe(21);

    // forceDestroy is read from the recorded state, so it is set by an update first.
    const updated = await bucketProvider.update!(name, outs, inputs(name, { forceDestroy: true }));
    expect(updated.outs).toMatchObject({ forceDestroy: true });
    await bucketProvider.delete!(name, updated.outs);
    expect(await exists(name)).toBe(false);
  });

  test("deletes an empty bucket and accepts one that is already gone", async () => {
    const name = uniqueName("delete-empty");
    const outs = await create(inputs(name));
    await bucketProvider.delete!(name, outs);
    expect(await exists(name)).toBe(false);
    await bucketProvider.delete!(name, outs);
  });
});
