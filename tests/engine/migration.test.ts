import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { closeSharedConnection } from "../../components/remote/ssh-command";
import { requireTool } from "../support/tools";
import { isolatedPulumiEnv, PulumiCLI } from "./pulumi-cli";
import { type SSHServer, startSSHServer } from "./sshd";

// A stack deployed before this version holds its host commands as
// @pulumi/command's `command:remote:Command`. Under the real Pulumi engine,
// such a state (written with `pulumi stack import`) meets the program's own
// SSH command: the alias turns each old command into the new resource in an
// update that runs nothing. Without it, the engine would create the command
// anew and then delete the old one through the command provider, running its
// delete script (the backup job's uninstall) after the new install.

const REPO = resolve(__dirname, "../..");
const PROJECT = join(__dirname, "migration");
const PROJECT_NAME = "infra-migration-test";
// Building the CLI from source takes minutes on a cold Go build cache.
const SETUP_TIMEOUT_MS = 45 * 60_000;
const STEP_TIMEOUT_MS = 10 * 60_000;

let sshd: SSHServer | undefined;
let workDir: string | undefined;
let stackName: string | undefined;
let configFile: string;
let logFile: string;
let pulumi: PulumiCLI;

const stackCommand = (...args: string[]) => pulumi.run([...args, "--stack", stackName!, "--config-file", configFile]);
const stateCommand = (...args: string[]) => pulumi.run([...args, "--stack", stackName!]);
const loggedLines = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").filter(Boolean) : []);

interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  id?: string;
  provider?: string;
  parent?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/** The stack's state as the previous program left it: the command under @pulumi/command's type and default provider. */
async function importPreviousState(): Promise<void> {
  const exported = JSON.parse((await stateCommand("stack", "export")).stdout) as { deployment: { resources?: StateResource[] } };
  const urn = (type: string, name: string) => `urn:pulumi:${stackName}::${PROJECT_NAME}::${type}::${name}`;
  const stack = urn("pulumi:pulumi:Stack", `${PROJECT_NAME}-${stackName}`);
  const provider = urn("pulumi:providers:command", "default_4_5_0");
  const providerId = "8b0b2a7e-4d1f-4d1e-9a55-6a1b2c3d4e5f";
  const inputs = {
    connection: { host: "127.0.0.1", port: sshd!.port, user: sshd!.user, privateKey: sshd!.privateKey },
    create: "bash -s",
    stdin: `echo installed >> '${logFile}'`,
    delete: `echo uninstalled >> '${logFile}'`,
    triggers: ["v1"],
  };
  exported.deployment.resources = [
    { urn: stack, custom: false, type: "pulumi:pulumi:Stack" },
    { urn: provider, custom: true, id: providerId, type: "pulumi:providers:command", inputs: { version: "4.5.0" }, outputs: { version: "4.5.0" } },
    {
      urn: urn("command:remote:Command", "host-backup-install"),
      custom: true,
      id: "host-backup-install7f3a",
      type: "command:remote:Command",
      parent: stack,
      provider: `${provider}::${providerId}`,
      inputs,
      outputs: { ...inputs, connection: { ...inputs.connection, dialErrorLimit: 10 }, stdout: "", stderr: "" },
    },
  ];
  const file = join(workDir!, "previous-state.json");
  await writeFile(file, JSON.stringify(exported));
  await stateCommand("stack", "import", "--file", file);
}

beforeAll(async () => {
  const install = spawnSync("bash", [join(REPO, "tools/install/pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (install.status !== 0) throw new Error(`tools/install/pulumi.sh exited with ${install.status}:\n${install.stderr}`);
  const binary = requireTool("pulumi");
  sshd = await startSSHServer();
  workDir = await mkdtemp(join(tmpdir(), "migration-test-"));
  logFile = join(workDir, "host.log");
  await mkdir(join(workDir, "state"));
  // No plugin downloads: the command provider is not installed, and the migration must not need it.
  pulumi = new PulumiCLI(binary, PROJECT, isolatedPulumiEnv(workDir));
  stackName = `migration-${randomBytes(4).toString("hex")}`;
  await pulumi.run(["stack", "init", stackName]);
  configFile = join(workDir, `Pulumi.${stackName}.yaml`);
  await rename(join(PROJECT, `Pulumi.${stackName}.yaml`), configFile);
  await stackCommand(
    "config",
    "set-all",
    "--plaintext",
    `sshPort=${sshd.port}`,
    "--plaintext",
    `sshUser=${sshd.user}`,
    "--plaintext",
    `sshHostPublicKey=${sshd.hostPublicKey}`,
    "--plaintext",
    `logFile=${logFile}`,
    "--secret",
    `sshPrivateKey=${sshd.privateKey}`,
  );
  await importPreviousState();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (stackName) await rm(join(PROJECT, `Pulumi.${stackName}.yaml`), { force: true });
  if (sshd) await closeSharedConnection({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostPublicKey: sshd.hostPublicKey });
  await sshd?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("a host command deployed with @pulumi/command, under the program's SSH command", () => {
  test("preview plans an update of the command: nothing created, nothing deleted", { timeout: STEP_TIMEOUT_MS }, async () => {
    const preview = JSON.parse((await stackCommand("preview", "--json")).stdout) as { steps?: { op: string; urn: string }[] };
    const changes = (preview.steps ?? []).filter((step) => step.op !== "same").map((step) => `${step.op} ${step.urn.split("::").pop()}`);
    expect(changes).toEqual(["update host-backup-install"]);
  });

  test("up runs neither the new install nor the old uninstall, and needs no command provider", { timeout: STEP_TIMEOUT_MS }, async () => {
    const sessionsBefore = await sshd!.acceptedSessions();
    await stackCommand("up", "--yes", "--skip-preview");
    expect(loggedLines()).toEqual([]);
    expect((await sshd!.acceptedSessions()) - sessionsBefore).toBe(0);

    const state = JSON.parse((await stateCommand("stack", "export")).stdout) as { deployment: { resources: StateResource[] } };
    expect(state.deployment.resources.map((resource) => resource.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/remote:SSHCommand",
      "pulumi:providers:pulumi-nodejs",
      "pulumi:pulumi:Stack",
    ]);
    const command = state.deployment.resources.find((resource) => resource.type === "pulumi-nodejs:dynamic/remote:SSHCommand")!;
    expect(command.urn.endsWith("::host-backup-install")).toBe(true);
    expect(command.outputs?.connection).toMatchObject({ hostPublicKey: sshd!.hostPublicKey });

    await stackCommand("up", "--yes", "--skip-preview", "--expect-no-changes");
    expect(loggedLines()).toEqual([]);
  });
});
