import * as pulumi from "@pulumi/pulumi";
import { commandDiff } from "./command-diff";
import { failureMessage, redactStdin } from "./command-failure";
import { knownHostsLine, requireHostKey } from "./host-key";
import { controlArguments, sshArguments, type SSHFiles, type SSHTarget } from "./ssh-arguments";

/**
 * A command run over OpenSSH on a host whose key is pinned (H9): `create`
 * runs when the resource is created, and again (a replacement) when
 * `create`, `stdin` or `triggers` change; `delete` runs when it is destroyed;
 * an unchanged command runs nothing.
 *
 * It replaces @pulumi/command's remote.Command, which accepted whatever key
 * answered on port 22 (pulumi-command#755) and whose provider cannot be built
 * here. The type is part of a resource's URN, so each command carries an
 * alias to its old type: without it, a first deploy of this version would
 * create every command anew and then delete the old ones through the command
 * provider, running their `delete` scripts after the new commands ran, which
 * would uninstall the backup job just installed. With it, each old command
 * becomes this resource in an update (a new admin-key input and the pinned
 * host key; see commandDiff) and nothing runs on the host. Should a command
 * run again anyway, that is harmless: each is an idempotent script that holds
 * no data (host preparation, UFW rules, the backup job's files).
 */

/** The type the program's host commands were registered with before (@pulumi/command). */
const PREVIOUS_TYPE = "command:remote:Command";

/** The registered type: `pulumi-nodejs:dynamic/<module>:<Type>`, as dynamic.Resource builds it. */
export const SSH_COMMAND_TYPE = "pulumi-nodejs:dynamic/remote:SSHCommand";

/** Where a command runs, with the host key it must present; all of it public. */
export interface PinnedHost extends SSHTarget {
  /** The server's public host key, "ssh-ed25519 AAAA...": the only key ssh accepts from it. */
  readonly hostPublicKey: string;
}

export interface SSHConnection extends PinnedHost {
  /** OpenSSH private key of the admin account; a Pulumi secret. */
  readonly privateKey: string;
}

export type SSHConnectionArgs = { readonly [K in keyof SSHConnection]: pulumi.Input<SSHConnection[K]> };

export interface SSHCommandArgs {
  readonly connection: SSHConnectionArgs;
  /** The command line the account's shell runs on the host, e.g. `sudo bash -s`. It is an argument of ssh, so never a secret. */
  readonly create: pulumi.Input<string>;
  /** What the command reads on stdin: a script, or secret material, which goes nowhere else. */
  readonly stdin?: pulumi.Input<string>;
  /** Runs when the resource is destroyed (or replaced); its stdin is empty. */
  readonly delete?: pulumi.Input<string>;
  /** Any change of these runs `create` again. */
  readonly triggers?: pulumi.Input<unknown[]>;
}

/**
 * The provider's inputs: the arguments, resolved, and the resource's name for
 * error messages. The admin key is an input of its own, so the connection,
 * all of it public, shows in plans and golden graphs with the host key it
 * pins, and only the key is a secret.
 */
export interface SSHCommandInputs {
  readonly resourceName: string;
  readonly connection: PinnedHost;
  readonly privateKey: string;
  readonly create: string;
  readonly stdin?: string;
  readonly delete?: string;
  readonly triggers?: unknown[];
}

interface SSHCommandState extends SSHCommandInputs {
  readonly stdout: string;
}

/** A command that runs longer is stopped and fails the deploy (a first `apt-get upgrade` fits well within it). */
export const COMMAND_TIMEOUT_SECONDS = 30 * 60;
/** sshd allows 10 sessions per connection (MaxSessions); commands beyond this wait for a free one. */
export const SESSIONS_PER_CONNECTION = 8;
/** The state keeps this much of a command's stdout, from its end. */
const STDOUT_LIMIT = 64 * 1024;
/** A failed command's error shows its tail, so this much of its output is kept while it runs. */
const OUTPUT_LIMIT = 256 * 1024;
/** ssh appends a random suffix of this length to the socket path while it creates it; sockaddr_un holds 104-108 bytes. */
const SOCKET_PATH_LIMIT = 104 - 20;

// Pulumi serializes `sshCommandProvider` and every function it reaches into
// the state, and runs that text in a separate provider process. So node's
// modules are loaded with require() inside the functions (a captured module
// object would be serialized by value), nothing here closes over a secret,
// and the modules imported above have no imports of their own.

interface Completed {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** stdout and stderr interleaved, the end of it. */
  readonly output: string;
  readonly stdout: string;
}

/** Runs ssh with `args`, feeding it `stdin`; resolves when it has exited and its output is read. */
function spawnSSH(args: string[], stdin: string | undefined, timeoutSeconds: number): Promise<Completed> {
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout = (stdout + chunk.toString()).slice(-STDOUT_LIMIT);
      output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
    }, timeoutSeconds * 1000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ssh: ${error.message}`));
    });
    child.once("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, timedOut, output, stdout });
    });
    // A command that exits without reading all of its stdin closes the pipe early.
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
  });
}

/**
 * The private directory that holds this user's shared connections. It is
 * created 0700; one that exists already must be a real directory of this
 * user that nobody else can enter, or a local user could hand ssh a socket
 * of their own.
 */
function controlDirectory(): string {
  const fs = require("node:fs") as typeof import("node:fs");
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  const uid = process.getuid?.() ?? 0;
  // A long TMPDIR (macOS) leaves no room for the socket's name.
  const base = [os.tmpdir(), "/tmp"].find((candidate) => path.join(candidate, `infra-ssh-${uid}`).length + 34 <= SOCKET_PATH_LIMIT) ?? "/tmp";
  const dir = path.join(base, `infra-ssh-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  }
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new Error(`refusing to keep SSH connections in ${dir}: it is not a directory that only this user (uid ${uid}) can enter`);
  }
  return dir;
}

/**
 * The socket of the shared connection for this host, port, account, admin
 * key and pinned host key: a connection is reused only by commands that
 * would have opened the very same one.
 */
export function controlSocketPath(connection: SSHConnection): string {
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const path = require("node:path") as typeof import("node:path");
  const key = JSON.stringify([connection.host, connection.port, connection.user, connection.privateKey, connection.hostPublicKey]);
  return path.join(controlDirectory(), createHash("sha256").update(key).digest("hex").slice(0, 32));
}

interface SharedConnection {
  opening?: Promise<void>;
  active: number;
  readonly waiting: (() => void)[];
}

/** This process's shared connections by socket; on globalThis, so every deserialized copy of the provider sees the same. */
function sharedConnections(): Map<string, SharedConnection> {
  const holder = globalThis as { __infraSSHConnections?: Map<string, SharedConnection> };
  holder.__infraSSHConnections ??= new Map();
  return holder.__infraSSHConnections;
}

/**
 * Makes sure a shared connection is open at the socket before a command uses
 * it. The checks for one socket run one after another, so of the commands
 * that start together only the first opens the connection and the others use
 * it, instead of each opening its own. A failure to connect (a wrong host key
 * among them) fails the command before anything ran.
 */
async function openSharedConnection(inputs: SSHCommandInputs, target: SSHTarget, files: SSHFiles): Promise<void> {
  const connections = sharedConnections();
  const shared = connections.get(files.controlPath) ?? { active: 0, waiting: [] };
  connections.set(files.controlPath, shared);
  const mine = (shared.opening ?? Promise.resolve()).catch(() => undefined).then(() => ensureOpen(inputs, target, files));
  shared.opening = mine;
  try {
    await mine;
  } finally {
    if (shared.opening === mine) shared.opening = undefined;
  }
}

async function ensureOpen(inputs: SSHCommandInputs, target: SSHTarget, files: SSHFiles): Promise<void> {
  const fs = require("node:fs") as typeof import("node:fs");
  const check = await spawnSSH(controlArguments(target, files.controlPath, "check"), undefined, 30);
  if (check.exitCode === 0) return;
  // A master that was killed leaves its socket behind, and ssh would then run without sharing.
  fs.rmSync(files.controlPath, { force: true });
  const opened = await spawnSSH(sshArguments(target, files, "true"), undefined, 120);
  if (opened.exitCode !== 0) throw new Error(failureMessage({ ...whereItRuns(inputs), exitCode: opened.exitCode, output: opened.output }));
}

/** Waits for one of the connection's sessions; returns the function that gives it back. */
async function takeSession(controlPath: string): Promise<() => void> {
  const shared = sharedConnections().get(controlPath)!;
  while (shared.active >= SESSIONS_PER_CONNECTION) await new Promise<void>((resolve) => shared.waiting.push(resolve));
  shared.active++;
  return () => {
    shared.active--;
    shared.waiting.shift()?.();
  };
}

function whereItRuns(inputs: SSHCommandInputs) {
  const { host, port, user, hostPublicKey } = inputs.connection;
  return { resource: inputs.resourceName, host, port, user, hostPublicKey };
}

/** The command's connection with its admin key. */
function connectionOf(inputs: SSHCommandInputs): SSHConnection {
  return { ...inputs.connection, privateKey: inputs.privateKey };
}

/** Why the connection cannot be used, checked before anything is written or run. */
function connectionProblems(connection: SSHConnection): string[] {
  const problems: string[] = [];
  if (typeof connection.host !== "string" || !/^[A-Za-z0-9.:-]+$/.test(connection.host) || connection.host.startsWith("-"))
    problems.push(`host "${connection.host}" is not an address or a host name`);
  if (!Number.isInteger(connection.port) || connection.port < 1 || connection.port > 65535) problems.push(`port ${connection.port} is not a TCP port`);
  if (typeof connection.user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(connection.user))
    problems.push(`user "${connection.user}" is not a Unix user name`);
  if (typeof connection.privateKey !== "string" || connection.privateKey.trim() === "") problems.push("privateKey is empty");
  return problems;
}

/**
 * Runs `command` on the connection's host with `stdin` on its stdin, over the
 * shared connection, and returns its stdout (stdin taken out). A failure
 * raises an error that names the resource, the host, the exit code and the
 * tail of the output.
 */
async function runOverSSH(inputs: SSHCommandInputs, command: string, stdin: string | undefined): Promise<string> {
  const fs = require("node:fs") as typeof import("node:fs");
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  const connection = connectionOf(inputs);
  const problems = connectionProblems(connection);
  if (problems.length > 0) throw new Error(`remote command ${inputs.resourceName}: ${problems.join("; ")}`);
  const hostKey = requireHostKey(connection.hostPublicKey, `remote command ${inputs.resourceName}: connection.hostPublicKey`);
  const target = { host: connection.host, port: connection.port, user: connection.user };
  // mkdtemp creates the directory 0700; the key inside is 0600 and lives only as long as this call.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "infra-ssh-call-"));
  try {
    const files: SSHFiles = { identity: path.join(dir, "identity"), knownHosts: path.join(dir, "known_hosts"), controlPath: controlSocketPath(connection) };
    fs.writeFileSync(files.identity, connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`, { mode: 0o600 });
    // Only the pinned key, for this host and port: no trust on first use.
    fs.writeFileSync(files.knownHosts, knownHostsLine(connection.host, connection.port, hostKey), { mode: 0o600 });
    await openSharedConnection(inputs, target, files);
    const release = await takeSession(files.controlPath);
    try {
      const result = await spawnSSH(sshArguments(target, files, command), stdin, COMMAND_TIMEOUT_SECONDS);
      if (result.exitCode !== 0 || result.timedOut) {
        throw new Error(
          failureMessage({
            ...whereItRuns(inputs),
            exitCode: result.exitCode,
            output: result.output,
            ...(stdin === undefined ? {} : { stdin }),
            ...(result.timedOut ? { timeoutSeconds: COMMAND_TIMEOUT_SECONDS } : {}),
          }),
        );
      }
      return redactStdin(result.stdout, stdin);
    } finally {
      release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const sshCommandProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: SSHCommandInputs) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    const stdout = await runOverSSH(inputs, inputs.create, inputs.stdin);
    return { id: randomUUID(), outs: { ...inputs, stdout } };
  },
  async diff(_id: string, olds: SSHCommandState, news: SSHCommandInputs) {
    return commandDiff(olds, news);
  },
  async update(_id: string, olds: SSHCommandState, news: SSHCommandInputs) {
    // Only how the command is reached or undone changed (see commandDiff): nothing runs.
    return { outs: { ...news, stdout: olds.stdout ?? "" } };
  },
  async delete(_id: string, state: SSHCommandState) {
    if (state.delete) await runOverSSH(state, state.delete, undefined);
  },
};

/** Closes this connection's shared SSH connection, if one is open (tests, and anyone who wants it gone now). */
export async function closeSharedConnection(connection: SSHConnection): Promise<void> {
  const controlPath = controlSocketPath(connection);
  await spawnSSH(controlArguments({ host: connection.host, port: connection.port, user: connection.user }, controlPath, "exit"), undefined, 30);
}

export class SSHCommand extends pulumi.dynamic.Resource {
  // `declare`, not a plain field: with ES2022 class fields it would be reset to undefined after super().
  /** The command's stdout (its last 64 KiB, stdin taken out); a secret, since a script fed secrets could print one. */
  declare public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: SSHCommandArgs, opts?: pulumi.CustomResourceOptions) {
    const create = pulumi.all([args.create, pulumi.isSecret(pulumi.output(args.create))]).apply(([command, secret]) => {
      if (secret)
        throw new Error(
          `remote command ${name}: \`create\` is a secret, but it becomes an argument of ssh that any local user can read; pass secret material through \`stdin\``,
        );
      return command;
    });
    super(
      sshCommandProvider,
      name,
      {
        resourceName: name,
        connection: { host: args.connection.host, port: args.connection.port, user: args.connection.user, hostPublicKey: args.connection.hostPublicKey },
        privateKey: pulumi.secret(args.connection.privateKey),
        create,
        stdin: args.stdin,
        delete: args.delete,
        triggers: args.triggers,
        stdout: undefined,
      },
      {
        ...opts,
        // The state keeps the admin key encrypted, whatever the caller marked.
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey", "stdout"],
        aliases: [...(opts?.aliases ?? []), { type: PREVIOUS_TYPE }],
      },
      "remote",
      "SSHCommand",
    );
  }
}
