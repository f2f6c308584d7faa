import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { requireTool } from "../support/tools";
import { freePort, stopProcess } from "../support/processes";

export interface SSHServer {
  /** The first address it listens on. */
  host: string;
  port: number;
  user: string;
  /** The client's OpenSSH private key, authorized for `user`. */
  privateKey: string;
  /** The server's host key line ("ssh-ed25519 AAAA..."), to pin it. */
  hostPublicKey: string;
  /** SSH sessions authenticated so far, counted from the server's own log. */
  acceptedSessions(): Promise<number>;
  /** TCP connections accepted so far, authenticated or not, counted from the server's own log. */
  acceptedConnections(): Promise<number>;
  /** Stops the server and removes its keys, config and log. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

export interface SSHServerOptions {
  /** Loopback addresses to listen on; 127.0.0.1 when not given. */
  readonly addresses?: readonly string[];
  /** The server's host key (an OpenSSH private key file); a fresh one when not given. */
  readonly hostKey?: string;
}

/**
 * Starts a throwaway OpenSSH server on 127.0.0.1 (or the loopback addresses
 * given) that lets the current user in with a fresh client key, and nothing
 * else: no passwords, its own host key, config and authorized_keys in a
 * temporary directory.
 */
export async function startSSHServer(options: SSHServerOptions = {}): Promise<SSHServer> {
  const addresses = options.addresses ?? ["127.0.0.1"];
  const sshd = requireTool("sshd"); // sshd insists on being started by absolute path
  const keygen = requireTool("ssh-keygen");
  const dir = await mkdtemp(join(tmpdir(), "sshd-test-"));
  const file = (name: string) => join(dir, name);
  for (const [key, comment] of [
    ["host_key", "engine-test-host"],
    ["client_key", "engine-test-client"],
  ])
    execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file(key)]);
  if (options.hostKey !== undefined) {
    await writeFile(file("host_key"), options.hostKey, { mode: 0o600 });
    await writeFile(file("host_key.pub"), execFileSync(keygen, ["-y", "-f", file("host_key")]));
  }
  await writeFile(file("authorized_keys"), await readFile(file("client_key.pub")));

  // Root's sshd checks for this directory before anything else; as another
  // user it is only read, so it must already exist (it does wherever the
  // openssh-server package ran its setup).
  if (!existsSync("/run/sshd") && process.getuid?.() === 0) mkdirSync("/run/sshd", { mode: 0o755 });

  const port = await freePort();
  await writeFile(
    file("sshd_config"),
    [
      `Port ${port}`,
      ...addresses.map((address) => `ListenAddress ${address}`),
      `HostKey ${file("host_key")}`,
      `PidFile ${file("sshd.pid")}`,
      `AuthorizedKeysFile ${file("authorized_keys")}`,
      "AuthenticationMethods publickey",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      // The temporary directory is not owned the way StrictModes wants.
      "StrictModes no",
      // VERBOSE logs one "Connection from" line per TCP connection and one
      // "Accepted publickey" line per authentication.
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const log = file("sshd.log");
  const child = spawn(sshd, ["-D", "-f", file("sshd_config"), "-E", log], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const readLog = async () => (existsSync(log) ? await readFile(log, "utf8") : "");
  const stop = async () => {
    await stopProcess(child, exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const address of addresses) await waitUntilListening(address, port, exited, async () => `${output}${await readLog()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  const countLines = async (marker: string) => (await readLog()).split("\n").filter((line) => line.includes(marker)).length;
  return {
    host: addresses[0]!,
    port,
    user: userInfo().username,
    privateKey: await readFile(file("client_key"), "utf8"),
    hostPublicKey: (await readFile(file("host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" "),
    acceptedSessions: () => countLines("Accepted publickey for "),
    acceptedConnections: () => countLines("Connection from "),
    stop,
  };
}

async function waitUntilListening(address: string, port: number, exited: Promise<number | null>, output: () => Promise<string>): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`sshd exited with code ${exitCode} before it listened:\n${await output()}`);
    if ((await output()).includes(`Server listening on ${address} port ${port}`)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd was not listening on ${address} port ${port} after ${READY_TIMEOUT_MS / 1000}s:\n${await output()}`);
}
