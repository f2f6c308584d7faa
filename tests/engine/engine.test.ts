import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GetBucketLifecycleConfigurationCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { closeSharedConnection } from "../../components/remote/ssh-command";
import { type MinIO, startMinIO } from "../support/minio";
import { requireTool } from "../support/tools";
import { isolatedPulumiEnv, PulumiCLI } from "./pulumi-cli";
import { plannedChanges } from "../support/pulumi-preview";
import { type SSHServer, startSSHServer } from "./sshd";

// The real Pulumi engine (tools/install/pulumi.sh builds it from the Go module
// proxy) runs tests/engine/project against MinIO and sshd on 127.0.0.1, step by
// step as a deploy would: preview, up, an unchanged up, refresh, a one-value
// change, destroy. The steps share one stack, so they run in order.

const REPO = resolve(__dirname, "../..");
const PROJECT = join(__dirname, "project");
// Building the CLI from source takes minutes on a cold Go build cache.
const SETUP_TIMEOUT_MS = 45 * 60_000;
const STEP_TIMEOUT_MS = 10 * 60_000;

interface StepRecord {
  step: string;
  seconds: number;
  sshSessions?: number;
}
const steps: StepRecord[] = [];

let minio: MinIO | undefined;
let sshd: SSHServer | undefined;
let workDir: string | undefined;
let stackName: string | undefined;
let pulumi: PulumiCLI;
let s3: S3Client;
let configFile: string;
let markerDir: string;
const keptBucketName = `engine-kept-${randomBytes(4).toString("hex")}`;
const scratchBucketName = `engine-scratch-${randomBytes(4).toString("hex")}`;

/**
 * The SSH command keeps its connection open for a minute after a deploy, for
 * the next one; closed here, so that each step counts the sessions it opens.
 */
async function closeSSHConnection(): Promise<void> {
  if (sshd) await closeSharedConnection({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostPublicKey: sshd.hostPublicKey });
}

/** Runs one step, recording its time and the SSH sessions it opened. */
async function step<T>(name: string, run: () => Promise<T>): Promise<{ result: T; sshSessions: number }> {
  await closeSSHConnection();
  const sessionsBefore = (await sshd?.acceptedSessions()) ?? 0;
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const sshSessions = ((await sshd?.acceptedSessions()) ?? 0) - sessionsBefore;
  steps.push({ step: name, seconds, sshSessions });
  return { result, sshSessions };
}

/** `pulumi <args>` on the test stack, with its config file for the commands that run the program. */
function stackCommand(...args: string[]) {
  return pulumi.run([...args, "--stack", stackName!, "--config-file", configFile]);
}

/** `pulumi <args>` on the test stack's state alone (history, export). */
function stateCommand(...args: string[]) {
  return pulumi.run([...args, "--stack", stackName!]);
}

async function bucketExists(bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

function markerLines(name: string): string[] {
  const file = join(markerDir, name);
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

beforeAll(async () => {
  for (const script of ["tools/install/pulumi.sh", "tools/install/minio.sh"])
    await step(`install tools (${script})`, async () => {
      const install = spawnSync("bash", [join(REPO, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      if (install.stderr.trim()) console.log(install.stderr.trim());
      if (install.status !== 0) throw new Error(`${script} exited with ${install.status}:\n${install.stderr}`);
    });
  const binary = requireTool("pulumi");

  await step("start MinIO and sshd", async () => {
    minio = await startMinIO();
    sshd = await startSSHServer();
  });
  s3 = new S3Client({
    endpoint: minio!.endpoint,
    region: minio!.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio!.accessKeyId, secretAccessKey: minio!.secretAccessKey },
  });

  workDir = await mkdtemp(join(tmpdir(), "engine-test-"));
  markerDir = join(workDir, "markers");
  await mkdir(join(workDir, "state"));
  await mkdir(markerDir);
  pulumi = new PulumiCLI(binary, PROJECT, isolatedPulumiEnv(workDir));

  await step("stack init and config", async () => {
    stackName = `engine-${randomBytes(4).toString("hex")}`;
    await pulumi.run(["stack", "init", stackName]);
    // `stack init` writes the stack file (with the passphrase salt) next to
    // Pulumi.yaml; every later command reads it from the work dir instead.
    configFile = join(workDir!, `Pulumi.${stackName}.yaml`);
    await rename(join(PROJECT, `Pulumi.${stackName}.yaml`), configFile);
    const plain = {
      s3Endpoint: minio!.endpoint,
      s3Region: minio!.region,
      keptBucketName,
      scratchBucketName,
      scratchExpiryDays: "30",
      hostConfigVersion: "1",
      markerDir,
      sshPort: String(sshd!.port),
      sshUser: sshd!.user,
      sshHostPublicKey: sshd!.hostPublicKey,
    };
    const secret = { s3AccessKeyId: minio!.accessKeyId, s3SecretAccessKey: minio!.secretAccessKey, sshPrivateKey: sshd!.privateKey };
    await stackCommand(
      "config",
      "set-all",
      ...Object.entries(plain).flatMap(([key, value]) => ["--plaintext", `${key}=${value}`]),
      ...Object.entries(secret).flatMap(([key, value]) => ["--secret", `${key}=${value}`]),
    );
  });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (stackName) await rm(join(PROJECT, `Pulumi.${stackName}.yaml`), { force: true });
  await closeSSHConnection();
  await sshd?.stop();
  await minio?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
  s3?.destroy();
  if (steps.length)
    console.log(
      [
        "engine test steps (seconds, SSH sessions opened, step):",
        ...steps.map((s) => `  ${s.seconds.toFixed(1).padStart(6)}  ${String(s.sshSessions ?? "-").padStart(3)}  ${s.step}`),
      ].join("\n"),
    );
});

describe("the engine test stack under the real Pulumi engine", () => {
  test("preview plans every resource and touches nothing", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { result, sshSessions } = await step("preview", () => stackCommand("preview", "--json"));
    expect(plannedChanges(result.stdout)).toEqual(
      [
        "create infra-engine-test-" + stackName,
        "create kept",
        "create kept-bucket",
        "create scratch",
        "create scratch-bucket",
        "create host-prepare",
        "create host-config",
        "create local-stamp",
      ].sort(),
    );
    expect(sshSessions).toBe(0);
    expect(await bucketExists(keptBucketName)).toBe(false);
    expect(markerLines("host-prepared")).toEqual([]);
  });

  test("up creates both buckets and prepares the host over one SSH session", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshSessions } = await step("up", () => stackCommand("up", "--yes", "--skip-preview"));
    expect(await bucketExists(keptBucketName)).toBe(true);
    expect(await bucketExists(scratchBucketName)).toBe(true);
    expect(markerLines("host-prepared")).toHaveLength(1);
    expect(markerLines("local-stamp")).toEqual(["stamped after host preparation"]);
    expect(markerLines("host-config")).toEqual(["created 1"]);
    expect(sshSessions).toBe(1);

    // The state pins sshd's key in plain sight and keeps the admin key encrypted.
    const exported = (await stateCommand("stack", "export")).stdout;
    const prepare = (
      JSON.parse(exported) as { deployment: { resources: Array<{ urn: string; outputs?: Record<string, unknown> }> } }
    ).deployment.resources.find((resource) => resource.urn.endsWith("::host-prepare"))!;
    expect(prepare.urn).toContain("pulumi-nodejs:dynamic/remote:SSHCommand");
    expect(prepare.outputs?.connection).toMatchObject({ host: "127.0.0.1", port: sshd!.port, hostPublicKey: sshd!.hostPublicKey });
    expect(prepare.outputs?.privateKey).toMatchObject({ ciphertext: expect.any(String) });
    expect(exported).not.toContain(sshd!.privateKey.split("\n")[1]!);
  });

  test("an unchanged second up changes nothing and opens no SSH session", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshSessions } = await step("second up --expect-no-changes", () => stackCommand("up", "--yes", "--skip-preview", "--expect-no-changes"));
    expect(sshSessions).toBe(0);
    expect(markerLines("host-prepared")).toHaveLength(1);
    expect(markerLines("local-stamp")).toHaveLength(1);
  });

  test("refresh finds the buckets as the state records them", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshSessions } = await step("refresh --expect-no-changes", () => stackCommand("refresh", "--yes", "--skip-preview", "--expect-no-changes"));
    expect(sshSessions).toBe(0);
  });

  test("one changed config value updates only its resource", { timeout: STEP_TIMEOUT_MS }, async () => {
    await stackCommand("config", "set", "scratchExpiryDays", "45");
    const { result: preview } = await step("preview --json after a config change", () => stackCommand("preview", "--json"));
    expect(plannedChanges(preview.stdout)).toEqual(["update scratch-bucket"]);

    const { sshSessions } = await step("up with the changed value", () => stackCommand("up", "--yes", "--skip-preview"));
    expect(sshSessions).toBe(0);
    const history = JSON.parse((await stateCommand("stack", "history", "--json")).stdout) as Array<{
      resourceChanges?: Record<string, number>;
    }>;
    const { update, create, delete: deleted, replace, ...rest } = history[0].resourceChanges ?? {};
    expect({ update, create, deleted, replace }).toEqual({ update: 1, create: undefined, deleted: undefined, replace: undefined });
    expect(Object.keys(rest)).toEqual(["same"]);
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: scratchBucketName }));
    expect(lifecycle.Rules?.map((rule) => rule.NoncurrentVersionExpiration?.NoncurrentDays)).toContain(45);
    expect(markerLines("host-prepared")).toHaveLength(1);
  });

  test("a changed command is replaced over one SSH session, its delete first when it asks for deleteBeforeReplace", { timeout: STEP_TIMEOUT_MS }, async () => {
    await stackCommand("config", "set", "hostConfigVersion", "2");
    const { sshSessions } = await step("up replacing a command (deleteBeforeReplace)", () => stackCommand("up", "--yes", "--skip-preview"));
    expect(markerLines("host-config")).toEqual(["created 1", "deleted 1", "created 2"]);
    expect(markerLines("host-prepared")).toHaveLength(1);
    expect(sshSessions).toBe(1);
  });

  test("destroy --exclude-protected removes everything but the protected bucket", { timeout: STEP_TIMEOUT_MS }, async () => {
    await s3.send(new PutObjectCommand({ Bucket: keptBucketName, Key: "keep-me.txt", Body: "kept data" }));
    await s3.send(new PutObjectCommand({ Bucket: scratchBucketName, Key: "scratch.txt", Body: "scratch data" }));

    // --exclude-protected destroys the rest and keeps the protected resource,
    // with its parents, in the state. (A plain `pulumi destroy` deletes every
    // unprotected resource too, then fails on the protected one.)
    const { sshSessions } = await step("destroy --exclude-protected", () => stackCommand("destroy", "--yes", "--skip-preview", "--exclude-protected"));
    expect(await bucketExists(scratchBucketName)).toBe(false);
    expect(await bucketExists(keptBucketName)).toBe(true);
    expect(markerLines("host-prepared")).toEqual([]); // its delete script ran over SSH
    expect(markerLines("host-config").at(-1)).toBe("deleted 2");
    expect(markerLines("local-stamp")).toEqual([]);
    expect(sshSessions).toBe(1);

    const exported = JSON.parse((await stateCommand("stack", "export")).stdout) as {
      deployment: { resources?: Array<{ urn: string; type: string; protect?: boolean }> };
    };
    const remaining = (exported.deployment.resources ?? [])
      .filter((r) => !r.type.startsWith("pulumi:providers:"))
      .map((r) => `${r.urn.split("::").pop()}${r.protect ? " (protected)" : ""}`)
      .sort();
    expect(remaining).toEqual([`infra-engine-test-${stackName}`, "kept (protected)", "kept-bucket (protected)"].sort());

    const { result: refused } = await step("plain destroy (refused: protected)", () =>
      pulumi.run(["destroy", "--yes", "--skip-preview", "--stack", stackName!, "--config-file", configFile], { allowFailure: true }),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/protected/);
    expect(await bucketExists(keptBucketName)).toBe(true);
    const kept = await s3.send(new GetObjectCommand({ Bucket: keptBucketName, Key: "keep-me.txt" }));
    expect(await kept.Body?.transformToString()).toBe("kept data");
  });
});
