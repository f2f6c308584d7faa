import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { requiredSecrets } from "../../infra/config/validate";
import { isolatedPulumiEnv, PulumiCLI, type PulumiResult } from "../engine/pulumi-cli";
import type { MinIO } from "../support/minio";
import { TEST_BCRYPT_HASH } from "../support/test-secrets";
import { requireTool } from "../support/tools";
import type { VPS } from "./vps";

/** The repository is the Pulumi project: the testbed runs the real program, `infra/`, nothing else. */
const PROJECT_DIR = resolve(__dirname, "../..");

export interface TestbedRegistry {
  /** host:port of the registry on the testbed bridge. */
  readonly host: string;
  /** PEM of the CA that signed its certificate. */
  readonly caCertificate: string;
}

export interface PlatformStackOptions {
  readonly blueprint: string;
  readonly vps: VPS;
  readonly registry: TestbedRegistry;
  /** S3 on the testbed bridge, so that the VPS's backup job reaches it. */
  readonly minio: MinIO;
  /** Environment for the CLI and the program beyond the testbed's own (NODE_EXTRA_CA_CERTS, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Plain config beyond the testbed's own, e.g. monitoring settings. */
  readonly extraConfig?: Record<string, unknown>;
}

/** One stack of the real program on the testbed, driven by the real Pulumi CLI with a local file backend. */
export interface PlatformStack {
  readonly name: string;
  /** The secrets the stack was given, by key (tests look for them where they must not be). */
  readonly secrets: Readonly<Record<string, string>>;
  /** The plain config, as written to the stack file. */
  readonly config: Readonly<Record<string, unknown>>;
  /** `pulumi <args>` on this stack with its config file. */
  run(args: string[], options?: { allowFailure?: boolean }): Promise<PulumiResult>;
  /** `pulumi <args>` on this stack's state alone (export, state unprotect), which take no config file. */
  runState(args: string[], options?: { allowFailure?: boolean }): Promise<PulumiResult>;
  /** Sets a plain config value (JSON for objects and lists) and keeps it for later commands. */
  setConfig(key: string, value: unknown): Promise<void>;
  /** Gives a secret a new value (a rotation), on stdin as every secret, and keeps it for later commands. */
  setSecret(key: string, value: string): Promise<void>;
  remove(): Promise<void>;
}

/** An ssh-agent on `socket` holding `privateKey` (given on stdin, never as an argument or file). */
async function startSSHAgent(socket: string, privateKey: string): Promise<{ socket: string; stop(): void }> {
  const agent = spawn(requireTool("ssh-agent"), ["-D", "-a", socket], { stdio: "ignore" });
  for (let waited = 0; !existsSync(socket); waited += 50) {
    if (waited > 5000 || agent.exitCode !== null) throw new Error(`ssh-agent did not start on ${socket}`);
    await new Promise((wait) => setTimeout(wait, 50));
  }
  const added = spawnSync(requireTool("ssh-add"), ["-q", "-"], {
    input: privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`,
    env: { ...process.env, SSH_AUTH_SOCK: socket },
    encoding: "utf8",
  });
  if (added.status !== 0) throw new Error(`ssh-add failed: ${added.stderr}`);
  return { socket, stop: () => agent.kill() };
}

/** What a secret of the stack is set to: random, and of the form its validation asks for. */
function secretValue(key: string, bcrypt: boolean, vps: VPS, minio: MinIO): string {
  if (key === "infra:sshPrivateKey") return vps.privateKey;
  if (key === "infra:storageAccessKeyId") return minio.accessKeyId;
  if (key === "infra:storageSecretAccessKey") return minio.secretAccessKey;
  if (bcrypt) return TEST_BCRYPT_HASH;
  // Every character a URL must escape, so credentials placed in URLs are proven encoded (V4).
  return `Tb-${randomBytes(12).toString("base64url")}/+=@:?#%`;
}

export async function createPlatformStack(options: PlatformStackOptions): Promise<PlatformStack> {
  const { vps, minio, registry } = options;
  const workDir = await mkdtemp(join(tmpdir(), "infra-testbed-stack-"));
  await mkdir(join(workDir, "state"));
  const env = isolatedPulumiEnv(workDir, options.env);
  // The Docker provider's ssh takes its key from an agent, as the README tells an operator to load it.
  const agent = await startSSHAgent(join(workDir, "agent.sock"), vps.privateKey);
  env.SSH_AUTH_SOCK = agent.socket;
  const cli = new PulumiCLI(requireTool("pulumi"), PROJECT_DIR, env);
  const name = `testbed-${randomBytes(4).toString("hex")}`;
  await cli.run(["stack", "init", name]);
  // `stack init` writes the stack file (with the passphrase salt) next to
  // Pulumi.yaml; it lives in the work dir from here on, so the checkout stays clean.
  const configFile = join(workDir, `Pulumi.${name}.yaml`);
  await rename(join(PROJECT_DIR, `Pulumi.${name}.yaml`), configFile);

  const config: Record<string, unknown> = {
    "infra:blueprint": options.blueprint,
    "infra:environment": "testbed",
    "infra:domain": "testbed.example.com",
    "infra:adminCidrs": [`${vps.gateway}/32`],
    // A throwaway VPS (nothing to keep, and no Cloudflare in front: infra:dns
    // none) whose volumes and bucket are still protected, as prod's are.
    "infra:disposable": true,
    "infra:protect": true,
    "infra:servers": [
      { name: "main", provider: "existing", address: vps.address, sshUser: vps.user, hostKey: vps.hostPublicKey, memoryMb: 16384, monthlyCostEur: 0 },
    ],
    "infra:dns": "none",
    "infra:storage": { endpoint: minio.endpoint, region: minio.region, bucketPrefix: `tb-${randomBytes(3).toString("hex")}`, forcePathStyle: true },
    "infra:registry": { host: registry.host, caCertificate: registry.caCertificate },
    ...options.extraConfig,
  };
  const salt = (await readFile(configFile, "utf8")).trim();
  const writeConfig = () => writeFile(configFile, `${salt}\n${stringify({ config })}`);
  await writeConfig();

  const servers = config["infra:servers"] as { provider: string }[];
  const secrets: Record<string, string> = {};
  for (const secret of requiredSecrets(options.blueprint, servers as never, BLUEPRINT_CATALOG, config["infra:monitoring"], false))
    secrets[secret.key] = secretValue(secret.key, secret.bcryptHash ?? false, vps, minio);
  const run = (args: string[], runOptions?: { allowFailure?: boolean }) => cli.run([...args, "--stack", name, "--config-file", configFile], runOptions);
  // One `config set` per secret, its value on stdin: never in a process's arguments.
  const setSecrets = async () => {
    for (const [key, value] of Object.entries(secrets))
      await cli.run(["config", "set", "--secret", key, "--stack", name, "--config-file", configFile], { input: value });
  };
  await setSecrets();

  return {
    name,
    secrets,
    config,
    run,
    runState: (args, runOptions) => cli.run([...args, "--stack", name], runOptions),
    async setConfig(key, value) {
      config[key] = value;
      // The file is written whole from the plain values, so the secrets are set again after it.
      await writeConfig();
      await setSecrets();
    },
    async setSecret(key, value) {
      secrets[key] = value;
      await cli.run(["config", "set", "--secret", key, "--stack", name, "--config-file", configFile], { input: value });
    },
    async remove() {
      await cli.run(["stack", "rm", "--yes", "--force", "--stack", name], { allowFailure: true });
      agent.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
