import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { writePinnedSSHFiles } from "../../components/remote/ssh-client-config-file";
import { type SSHServer, startSSHServer } from "../engine/sshd";
import { requireTool } from "../support/tools";
import { type Runner, type StepResult, runStep, startRunner, workflowStep } from "./workflow-steps";

// R5, H9: the deploy workflow's own steps, taken from pulumi-up.yml and run
// here with a local sshd standing for a server. The agent step loads the
// deploy key; the reach step connects to every server the program pinned,
// the way the Docker provider will. The VPN join before them is not run here
// (no tailscale binary and no coordination server on this machine); sshd
// listens on 127.0.0.1, which stands for the address the VPN makes reachable.

const FILE = "pulumi-up.yml";
const agentStep = workflowStep(FILE, "up", "Load the deploy key into ssh-agent");
const reachStep = workflowStep(FILE, "up", "Reach every server with its pinned host key");
const stopAgentStep = workflowStep(FILE, "up", "Stop ssh-agent");

let sshd: SSHServer;
let scratch: string;
let otherHostKey: string;
let otherClientKey: string;
const runners: Runner[] = [];

beforeAll(async () => {
  sshd = await startSSHServer();
  scratch = mkdtempSync(join(tmpdir(), "deploy-ssh-"));
  const keygen = requireTool("ssh-keygen");
  for (const name of ["other_host_key", "other_client_key"]) execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(scratch, name)]);
  otherHostKey = readFileSync(join(scratch, "other_host_key.pub"), "utf8").trim();
  otherClientKey = readFileSync(join(scratch, "other_client_key"), "utf8");
});

afterEach(async () => {
  // Every agent a test started goes, through the workflow's own step when the agent step got that far.
  for (const runner of runners.splice(0)) {
    if (runner.exported().SSH_AGENT_PID) await runStep(stopAgentStep, runner, {});
    await runner.remove();
  }
});

afterAll(async () => {
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A fresh runner on which the program has pinned the local sshd with `hostKey`, as the preview does. */
async function runnerWithPin(hostKey: string): Promise<Runner> {
  const runner = await startRunner();
  runners.push(runner);
  writePinnedSSHFiles({ host: "127.0.0.1", port: sshd.port, user: sshd.user }, hostKey, runner.home);
  return runner;
}

const loadKey = (runner: Runner, privateKey: string) => runStep(agentStep, runner, { STACK: "prod", SSH_PRIVATE_KEY: privateKey });
const reach = (runner: Runner) => runStep(reachStep, runner, {});

/**
 * Where `privateKey`'s material shows in `text`: 24-character windows of its
 * base64 body, every 12 characters, so any rewrapping still matches one.
 * Windows that are also in the public key (which the private key file
 * carries too) do not count.
 */
function keyMaterialIn(text: string, privateKey: string): string[] {
  const body = privateKey
    .split("\n")
    .filter((line) => line && !line.startsWith("-----"))
    .join("");
  const publicKey = publicKeyBase64(body);
  const found: string[] = [];
  if (text.includes("PRIVATE KEY-----")) found.push("the PEM armour");
  for (let start = 0; start + 24 <= body.length; start += 12) {
    const window = body.slice(start, start + 24);
    if (!publicKey.includes(window) && text.includes(window)) found.push(window);
  }
  return found;
}

/**
 * The base64 of the public key blob inside an OpenSSH private key's body:
 * "openssh-key-v1\0", then the cipher, KDF and KDF options as SSH strings, a
 * key count, and the first public key.
 */
function publicKeyBase64(body: string): string {
  const blob = Buffer.from(body, "base64");
  let offset = "openssh-key-v1\0".length;
  const string = () => {
    const length = blob.readUInt32BE(offset);
    const value = blob.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  string(); // cipher
  string(); // KDF
  string(); // KDF options
  offset += 4; // number of keys
  return string().toString("base64");
}

/** Every regular file under `dir`, with its text. */
function filesUnder(dir: string): [string, string][] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => lstatSync(path).isFile())
    .map((path) => [path, readFileSync(path, "latin1")]);
}

/** Where the key leaked during `steps` on `runner`: arguments, output, the agent's own process, the disk. */
function leaks(runner: Runner, steps: StepResult[], privateKey: string): string[] {
  const found: string[] = [];
  const check = (where: string, text: string) => {
    const material = keyMaterialIn(text, privateKey);
    if (material.length > 0) found.push(`${where}: ${material.length} pieces of the key`);
  };
  steps.forEach((step, index) => {
    check(`step ${index}: arguments of a program it started`, step.execs.join("\n"));
    check(`step ${index}: stdout`, step.stdout);
    check(`step ${index}: stderr`, step.stderr);
  });
  const agent = runner.exported().SSH_AGENT_PID;
  if (agent && existsSync(`/proc/${agent}`)) {
    check("the agent's command line", readFileSync(`/proc/${agent}/cmdline`, "latin1"));
    check("the agent's environment", readFileSync(`/proc/${agent}/environ`, "latin1"));
  }
  for (const [path, text] of [
    ...filesUnder(runner.home),
    ...filesUnder(runner.temp),
    [runner.githubEnv, readFileSync(runner.githubEnv, "utf8")] as [string, string],
  ])
    check(`file ${path}`, text);
  return found;
}

describe("the deploy workflow's SSH steps against a local sshd", () => {
  test("the pinned server lets in the deploy key from the agent, and the key is never in a command line, the output, the agent's environment or a file", async () => {
    const runner = await runnerWithPin(sshd.hostPublicKey);
    const loaded = await loadKey(runner, sshd.privateKey);
    expect(loaded.status, loaded.stderr).toBe(0);
    // ssh-add -l: the fingerprint and comment of the key, nothing of the key itself.
    expect(loaded.stdout).toMatch(/^256 SHA256:\S+ engine-test-client \(ED25519\)\n$/);
    expect(runner.exported()).toMatchObject({ SSH_AUTH_SOCK: join(runner.temp, "ssh-agent.sock"), SSH_AGENT_PID: expect.stringMatching(/^\d+$/) });
    // The key went in through ssh-add's stdin: the trace shows ssh-add started with "-" and nothing else of note.
    expect(loaded.execs.some((line) => line.includes('["ssh-add", "-q", "-"]'))).toBe(true);

    const sessions = await sshd.acceptedSessions();
    const reached = await reach(runner);
    expect(reached.status, reached.stdout + reached.stderr).toBe(0);
    expect(reached.stdout).toBe(`reached ${sshd.user}@127.0.0.1:${sshd.port}\n`);
    expect(await sshd.acceptedSessions()).toBe(sessions + 1);

    expect(leaks(runner, [loaded, reached], sshd.privateKey)).toEqual([]);
  });

  test("a server that answers with another host key is refused before anyone logs in", async () => {
    const runner = await runnerWithPin(otherHostKey);
    expect((await loadKey(runner, sshd.privateKey)).status).toBe(0);
    const [connections, sessions] = [await sshd.acceptedConnections(), await sshd.acceptedSessions()];
    const refused = await reach(runner);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("Host key verification failed.");
    expect(refused.stdout).toContain(`::error::Cannot reach ${sshd.user}@127.0.0.1:${sshd.port} with its pinned host key and the deploy key`);
    expect(await sshd.acceptedConnections()).toBe(connections + 1);
    expect(await sshd.acceptedSessions()).toBe(sessions);
  });

  test("an agent holding another key is turned away", async () => {
    const runner = await runnerWithPin(sshd.hostPublicKey);
    expect((await loadKey(runner, otherClientKey)).status).toBe(0);
    const sessions = await sshd.acceptedSessions();
    const refused = await reach(runner);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("Permission denied (publickey)");
    expect(await sshd.acceptedSessions()).toBe(sessions);
  });

  test("with no deploy key the agent step fails and names the secret", async () => {
    const runner = await startRunner();
    runners.push(runner);
    const failed = await loadKey(runner, "");
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain("::error::The PROD_SSH_PRIVATE_KEY secret is not set in this job's environment");
    expect(runner.exported()).toEqual({});
  });

  test("before the program pins any server, the reach step has nothing to check and says so", async () => {
    const runner = await startRunner();
    runners.push(runner);
    const result = await reach(runner);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("::notice::The preview pinned no server yet");
  });

  test("the leak checks find a key that a careless step hands to a program, prints and writes down", async () => {
    const runner = await startRunner();
    runners.push(runner);
    const careless = {
      name: "careless",
      shell: "bash",
      env: { SSH_PRIVATE_KEY: "" },
      run: 'printf "%s\\n" "$SSH_PRIVATE_KEY" >"$RUNNER_TEMP/id"\n/bin/echo "$SSH_PRIVATE_KEY" >/dev/null\nhead -c 200 "$RUNNER_TEMP/id"\n',
    };
    const result = await runStep(careless, runner, { SSH_PRIVATE_KEY: sshd.privateKey });
    expect(result.status).toBe(0);
    const found = leaks(runner, [result], sshd.privateKey);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^step 0: arguments of a program it started: /),
        expect.stringMatching(/^step 0: stdout: /),
        expect.stringMatching(new RegExp(`^file ${join(runner.temp, "id")}: `)),
      ]),
    );
  });
});
