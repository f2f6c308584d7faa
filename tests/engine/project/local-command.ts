import * as pulumi from "@pulumi/pulumi";
import { changedKeys } from "./command-diff";

// Stand-in for @pulumi/command's local.Command, whose provider's source the
// Go module proxy does not serve, with the same
// contract as the program's SSH command (components/remote/ssh-command.ts):
// `create` runs with bash on this machine when the resource is created or
// replaced, `delete` when it is destroyed, and nothing runs while the inputs
// are unchanged.

export interface LocalCommandArgs {
  create: pulumi.Input<string>;
  delete?: pulumi.Input<string>;
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  triggers?: pulumi.Input<unknown[]>;
}

interface LocalCommandState {
  create: string;
  delete?: string;
  environment?: Record<string, string>;
  triggers?: unknown[];
  stdout: string;
}

const REPLACE_ON = ["create", "delete", "environment", "triggers"] as const;

function runLocally(script: string, environment: Record<string, string> | undefined): string {
  // Loaded here: Pulumi serializes this function into the provider's state.
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  try {
    return execFileSync("bash", ["-c", script], {
      env: { ...process.env, ...environment },
      encoding: "utf8",
      timeout: 120_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`local command failed: ${e.stderr || e.message}`, { cause: error });
  }
}

export const localCommandProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Omit<LocalCommandState, "stdout">) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    const stdout = runLocally(inputs.create, inputs.environment);
    return { id: randomUUID(), outs: { ...inputs, stdout } };
  },
  async diff(_id: string, olds: LocalCommandState, news: Omit<LocalCommandState, "stdout">) {
    const replaces = changedKeys({ ...olds }, { ...news }, REPLACE_ON);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async delete(_id: string, state: LocalCommandState) {
    if (state.delete) runLocally(state.delete, state.environment);
  },
};

export class LocalCommand extends pulumi.dynamic.Resource {
  declare public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: LocalCommandArgs, opts?: pulumi.CustomResourceOptions) {
    super(localCommandProvider, name, { ...args, stdout: undefined }, opts, "engine", "LocalCommand");
  }
}
