import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { knownHostsPath, writeKnownHostsFile } from "../../components/remote/known-hosts-file";
import { pinnedHostKeyOptions } from "../../components/remote/ssh-arguments";
import { closeSharedConnection, sshCommandProvider, type SSHCommandInputs, type SSHConnection } from "../../components/remote/ssh-command";
import { type SSHServer, startSSHServer } from "../engine/sshd";
import { requireTool } from "../support/tools";

/**
 * The SSH command against a real sshd on 127.0.0.1 and ::1: it runs scripts
 * with their stdin, keeps secrets out of every process's arguments and
 * environment, reports failures with their exit code and tail, refuses a
 * server whose key is not the pinned one before anything runs, and runs
 * several commands over one TCP connection.
 */
let sshd: SSHServer;
let connection: SSHConnection;
let otherHostKey: string;
let scratch: string;
const used: SSHConnection[] = [];

beforeAll(async () => {
  sshd = await startSSHServer({ addresses: ["127.0.0.1", "::1"] });
  connection = { host: "127.0.0.1", port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostPublicKey: sshd.hostPublicKey };
  scratch = mkdtempSync(join(tmpdir(), "ssh-command-live-"));
  execFileSync(requireTool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f", join(scratch, "other_host_key")]);
  otherHostKey = readFileSync(join(scratch, "other_host_key.pub"), "utf8").trim();
});

afterAll(async () => {
  for (const each of used) await closeSharedConnection(each);
  await sshd?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  // Each test counts the connections it opens itself.
  for (const each of used) await closeSharedConnection(each);
});

/** A command's provider inputs, on `to` (the sshd on 127.0.0.1 with its own key by default). */
function inputs(resourceName: string, create: string, extra: Partial<SSHCommandInputs> = {}, to: SSHConnection = connection): SSHCommandInputs {
  used.push(to);
  const { privateKey, ...pinned } = to;
  return { resourceName, connection: pinned, privateKey, create, ...extra };
}

const create = (command: SSHCommandInputs) => sshCommandProvider.create!(command) as Promise<{ id: string; outs: Record<string, unknown> }>;
const markerFile = (name: string) => join(scratch, name);

describe("the SSH command on a real sshd", () => {
  it("runs a script fed on stdin and returns its stdout", async () => {
    const result = await create(inputs("live-script", "bash -s", { stdin: `echo "ran as $(id -un)"\necho "$((6 * 7))"\n` }));
    expect(result.outs.stdout).toBe(`ran as ${sshd.user}\n42\n`);
    expect(result.outs).toMatchObject({ resourceName: "live-script", create: "bash -s" });
  });

  it("runs several commands, together and one after another, over one TCP connection", async () => {
    const before = await sshd.acceptedConnections();
    const together = await Promise.all([1, 2, 3, 4, 5].map((n) => create(inputs(`live-together-${n}`, `echo together ${n}`))));
    const after = [];
    for (const n of [1, 2, 3]) after.push(await create(inputs(`live-after-${n}`, "bash -s", { stdin: `echo after ${n}` })));
    expect(together.map((result) => result.outs.stdout)).toEqual([1, 2, 3, 4, 5].map((n) => `together ${n}\n`));
    expect(after.map((result) => result.outs.stdout)).toEqual([1, 2, 3].map((n) => `after ${n}\n`));
    expect((await sshd.acceptedConnections()) - before).toBe(1);
  });

  it("keeps a secret given on stdin out of every process's arguments and environment while the command runs", async () => {
    const secret = `s3cr3t-${randomBytes(12).toString("hex")}`;
    const received = markerFile("received");
    const pause = `sleep 2.${randomBytes(2).readUInt16BE() % 1000}`;
    const callDirsBefore = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith("infra-ssh-call-")));
    const running = create(inputs("live-secret", `cat > '${received}' && ${pause}`, { stdin: `RESTIC_PASSWORD=${secret}\n` }));
    const seen = { pause: false, secretIn: [] as string[], privateKeyIn: [] as string[], identityModes: new Set<number>() };
    // The key's second base64 line: the first is the same in every Ed25519 key
    // (the format's header), and the Pulumi runs beside this test have keys of their own.
    const privateKeyMarker = sshd.privateKey.split("\n")[2]!;
    let done = false;
    void running.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
        for (const file of ["cmdline", "environ"]) {
          let text: string;
          try {
            text = readFileSync(`/proc/${pid}/${file}`, "latin1");
          } catch {
            continue; // gone already, or another user's
          }
          if (text.includes(pause)) seen.pause = true;
          if (text.includes(secret)) seen.secretIn.push(`${pid}/${file}: ${text.replace(/\0/g, " ").slice(0, 200)}`);
          if (text.includes(privateKeyMarker)) seen.privateKeyIn.push(`${pid}/${file}`);
        }
      }
      for (const dir of readdirSync(tmpdir()).filter((name) => name.startsWith("infra-ssh-call-") && !callDirsBefore.has(name))) {
        try {
          seen.identityModes.add(statSync(join(tmpdir(), dir, "identity")).mode & 0o777);
        } catch {
          // removed in between
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const result = await running;
    // The scan ran while the remote command did, and found the secret nowhere.
    expect(seen.pause).toBe(true);
    expect(seen.secretIn).toEqual([]);
    expect(seen.privateKeyIn).toEqual([]);
    // The command got it, on its stdin.
    expect(readFileSync(received, "utf8")).toBe(`RESTIC_PASSWORD=${secret}\n`);
    expect(JSON.stringify(result.outs.stdout)).not.toContain(secret);
    // The private key was a 0600 file, and is gone with its directory.
    expect([...seen.identityModes]).toEqual([0o600]);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith("infra-ssh-call-") && !callDirsBefore.has(name))).toEqual([]);
  });

  it("fails with the resource, the host, the exit code and the last 20 lines of output, and never the stdin", async () => {
    const secret = `s3cr3t-${randomBytes(12).toString("hex")}`;
    const script = `TOKEN=${secret}\nfor i in $(seq 1 30); do echo "line $i"; done\necho "token is $TOKEN"\necho "it broke" >&2\nexit 3\n`;
    const error = await create(inputs("live-failing", "bash -s", { stdin: script })).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.message).toMatch(
      new RegExp(`^remote command live-failing on ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} failed with exit code 3; the last 20 lines of its output:\\n`),
    );
    expect(error!.message).toContain("    line 30\n");
    expect(error!.message).toContain("    line 13\n");
    expect(error!.message).not.toContain("line 12\n");
    expect(error!.message).toContain("token is [stdin]");
    expect(error!.message).toContain("it broke");
    expect(error!.message).not.toContain(secret);
  });

  it("refuses a server whose key is not the pinned one, before the script runs, even over a connection opened with the right key (H9)", async () => {
    const marker = markerFile("impostor-ran");
    // A shared connection to the real server is open ...
    await create(inputs("live-honest", "true"));
    const before = await sshd.acceptedSessions();
    for (const hostPublicKey of [
      otherHostKey,
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opOR5dOsMxN6Q6BoxTTr1F2hF5JY2MMmnBNHkRjgB3dAxxZkIdHUiXP8Ua24Sw3ltqw=",
    ]) {
      // ... and yet a command pinned to another key does not use it.
      const error = await create(inputs("live-impostor", `touch '${marker}'`, {}, { ...connection, hostPublicKey })).then(
        () => undefined,
        (caught: Error) => caught,
      );
      expect(error?.message).toMatch(
        new RegExp(
          `^remote command live-impostor did not run: ${sshd.user}@127\\.0\\.0\\.1:${sshd.port} did not present the pinned host key ${hostPublicKey.split(" ").slice(0, 2).join(" ").replace(/[+/]/g, "\\$&")} \\(H9\\)`,
        ),
      );
      expect(error!.message).toContain("Host key verification failed.");
    }
    expect(existsSync(marker)).toBe(false);
    expect((await sshd.acceptedSessions()) - before).toBe(0);
  });

  it("reaches an IPv6 address, pinned as [::1]:port", async () => {
    const result = await create(inputs("live-ipv6", "echo $SSH_CONNECTION", {}, { ...connection, host: "::1" }));
    expect(String(result.outs.stdout)).toMatch(new RegExp(`^::1 \\d+ ::1 ${sshd.port}\\n$`));
  });

  it("runs `delete` on destroy, and an update (a rotated admin key, a new delete script) runs nothing", async () => {
    const marker = markerFile("deleted");
    const created = await create(inputs("live-delete", "echo created", { delete: `echo gone >> '${marker}'` }));
    const state = created.outs as unknown as SSHCommandInputs & { stdout: string };
    const updated = await sshCommandProvider.update!(created.id, state, { ...state, delete: `echo gone again >> '${marker}'` });
    expect(updated.outs).toMatchObject({ stdout: "created\n", delete: `echo gone again >> '${marker}'` });
    expect(existsSync(marker)).toBe(false);
    await sshCommandProvider.delete!(created.id, updated.outs);
    expect(readFileSync(marker, "utf8")).toBe("gone again\n");
  });

  it("the Docker provider's ssh options, with the file the program writes, let in the pinned host and refuse another (H9)", () => {
    const identity = join(scratch, "client_key");
    writeFileSync(identity, sshd.privateKey, { mode: 0o600 });
    const path = knownHostsPath("127.0.0.1", sshd.port);
    const file = join(userInfo().homedir, path.slice(2));
    // As the Server component does: write the file, hand ssh the options with the ~ path, which ssh expands itself.
    const ssh = (hostKey: string) => {
      expect(writeKnownHostsFile("127.0.0.1", sshd.port, hostKey)).toBe(path);
      return spawnSync(
        "ssh",
        [...pinnedHostKeyOptions(path), "-o", "BatchMode=yes", "-i", identity, "-p", String(sshd.port), "-l", sshd.user, "--", "127.0.0.1", "echo docker-ok"],
        { encoding: "utf8" },
      );
    };
    try {
      expect(path).toBe(`~/.cache/infra/known_hosts/127.0.0.1-${sshd.port}`);
      expect(ssh(sshd.hostPublicKey)).toMatchObject({ status: 0, stdout: "docker-ok\n" });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
      const refused = ssh(otherHostKey);
      expect(refused.status).toBe(255);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain("Host key verification failed.");
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("works as Pulumi runs it: serialized, then loaded in another process", async () => {
    const serialized = await pulumi.runtime.serializeFunction(() => sshCommandProvider, { allowSecrets: false });
    const module = join(scratch, "provider.js");
    writeFileSync(module, serialized.text);
    const runner = `
      const provider = require(${JSON.stringify(module)}).${serialized.exportName}();
      let input = "";
      process.stdin.on("data", (chunk) => (input += chunk)).on("end", async () => {
        const result = await provider.create(JSON.parse(input));
        process.stdout.write(JSON.stringify(result.outs.stdout));
      });`;
    const child = spawn(process.execPath, ["-e", runner], { stdio: ["pipe", "pipe", "pipe"], cwd: scratch });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(JSON.stringify(inputs("live-serialized", "bash -s", { stdin: "echo from the serialized provider" })));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(stdout)).toBe("from the serialized provider\n");
  });
});
