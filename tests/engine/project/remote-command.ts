import * as pulumi from "@pulumi/pulumi";
import { changedKeys } from "./command-diff";

// Stand-in for @pulumi/command's remote.Command: the command provider 4.5.0
// cannot be built from the Go module proxy (see tools/install/pulumi.sh), so the
// engine test runs its host preparation through this dynamic resource with the
// same contract: `create` runs over SSH when the resource is created or
// replaced, `delete` when it is destroyed, and nothing runs while the inputs
// (including `triggers`) are unchanged.

export interface SSHConnection {
  host: string;
  port: number;
  user: string;
  privateKey: string; // OpenSSH private key; a Pulumi secret in the program
  hostPublicKey: string; // "ssh-ed25519 AAAA...": the host key is pinned, never trusted on first use
}

export type SSHConnectionArgs = { [K in keyof SSHConnection]: pulumi.Input<SSHConnection[K]> };

export interface RemoteCommandArgs {
  connection: pulumi.Input<SSHConnectionArgs>;
  create: pulumi.Input<string>;
  delete?: pulumi.Input<string>;
  triggers?: pulumi.Input<unknown[]>;
}

interface RemoteCommandState {
  connection: SSHConnection;
  create: string;
  delete?: string;
  triggers?: unknown[];
  stdout: string;
}

const REPLACE_ON = ["connection", "create", "delete", "triggers"] as const;

/** Runs `script` with bash on the host, one SSH session per call; returns its stdout. */
function runOverSSH(connection: SSHConnection, script: string): string {
  // Loaded here: Pulumi serializes this function into the provider's state.
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const fs = require("node:fs") as typeof import("node:fs");
  const os = require("node:os") as typeof import("node:os");
  const path = require("node:path") as typeof import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "remote-command-"));
  try {
    const identity = path.join(dir, "identity");
    fs.writeFileSync(identity, connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`, { mode: 0o600 });
    const knownHosts = path.join(dir, "known_hosts");
    const hostEntry = connection.port === 22 ? connection.host : `[${connection.host}]:${connection.port}`;
    fs.writeFileSync(knownHosts, `${hostEntry} ${connection.hostPublicKey}\n`);
    const options = [
      "-F", "/dev/null",
      "-i", identity,
      "-o", "IdentitiesOnly=yes",
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "ConnectTimeout=10",
      "-p", String(connection.port),
    ];
    try {
      return execFileSync("ssh", [...options, `${connection.user}@${connection.host}`, "bash -s"], {
        input: script,
        encoding: "utf8",
        timeout: 120_000,
        stdio: ["pipe", "pipe", "pipe"],
      });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`ssh ${connection.user}@${connection.host}:${connection.port} failed: ${e.stderr || e.message}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Omit<RemoteCommandState, "stdout">) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    const stdout = runOverSSH(inputs.connection, inputs.create);
    return { id: randomUUID(), outs: { ...inputs, stdout } };
  },
  async diff(_id: string, olds: RemoteCommandState, news: Omit<RemoteCommandState, "stdout">) {
    const replaces = changedKeys({ ...olds }, { ...news }, REPLACE_ON);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async delete(_id: string, state: RemoteCommandState) {
    if (state.delete) runOverSSH(state.connection, state.delete);
  },
};

export class RemoteCommand extends pulumi.dynamic.Resource {
  declare public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      remoteCommandProvider,
      name,
      { ...args, stdout: undefined },
      // The connection holds the private key, so it is encrypted in state.
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "engine",
      "RemoteCommand",
    );
  }
}
