// When an SSH command runs again. Pulumi serializes the command provider
// (./ssh-command.ts) with every function it reaches, so this module has no
// imports.

/** The inputs of a command that decide whether it runs again, as the state and the program hold them. */
export interface CommandDiffInputs {
  readonly connection?: { readonly host?: unknown; readonly port?: unknown; readonly user?: unknown; readonly hostPublicKey?: unknown };
  readonly privateKey?: unknown;
  readonly create?: unknown;
  readonly stdin?: unknown;
  readonly delete?: unknown;
  readonly triggers?: unknown;
}

/** What ran is what these say: a change to any of them runs `create` again (a replacement). */
export const RERUN_ON = ["create", "stdin", "triggers"] as const;
/** Another host, port or account is another place to run on, so the command runs there again. */
export const RERUN_ON_CONNECTION = ["host", "port", "user"] as const;
/**
 * A new admin key, a rotated host key or another `delete` script changes how
 * the command is reached or undone, not what it did: the state takes the new
 * values and nothing runs.
 */
export const UPDATE_ON = ["privateKey", "delete"] as const;
export const UPDATE_ON_CONNECTION = ["hostPublicKey"] as const;

export interface CommandDiff {
  readonly changes: boolean;
  readonly replaces: string[];
  readonly deleteBeforeReplace: false;
}

const differs = (a: unknown, b: unknown) => JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);

/**
 * The diff of a command between its state and the program. An unchanged
 * command has no changes, so an unchanged deploy runs nothing. The resource
 * option `deleteBeforeReplace` still applies: the engine honours it whatever
 * the provider answers here.
 */
export function commandDiff(olds: CommandDiffInputs, news: CommandDiffInputs): CommandDiff {
  const connectionMoved = RERUN_ON_CONNECTION.some((key) => differs(olds.connection?.[key], news.connection?.[key]));
  const replaces = [...RERUN_ON.filter((key) => differs(olds[key], news[key])), ...(connectionMoved ? ["connection"] : [])];
  const updated =
    UPDATE_ON.some((key) => differs(olds[key], news[key])) || UPDATE_ON_CONNECTION.some((key) => differs(olds.connection?.[key], news.connection?.[key]));
  return { changes: replaces.length > 0 || updated, replaces, deleteBeforeReplace: false };
}
