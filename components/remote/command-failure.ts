// What a failed SSH command reports. Pulumi serializes the command provider
// (./ssh-command.ts) with every function it reaches, so this module has no
// imports.

/** How much of a failed command's output the error shows. */
export const TAIL_LINES = 20;

/** Pieces of stdin shorter than this are too common (`fi`, `done`) to be worth hiding, and too short to be a secret. */
const MIN_REDACTED_LENGTH = 6;

export const REDACTED = "[stdin]";

/**
 * The output with everything that came from stdin taken out: each of its
 * lines, and each value of its `KEY=value` or `key: value` lines. Secrets
 * reach a command only through stdin, so a script that echoes its input
 * (`set -x`, `cat`) cannot carry one into an error message or the state.
 */
export function redactStdin(output: string, stdin: string | undefined): string {
  if (!stdin) return output;
  const pieces = new Set<string>();
  for (const line of stdin.split("\n")) {
    const trimmed = line.trim();
    pieces.add(trimmed);
    const value = /^[^=:\s]+\s*(?:=|:\s)\s*(.*)$/.exec(trimmed)?.[1]?.replace(/^(["'])(.*)\1$/, "$2");
    if (value !== undefined) pieces.add(value);
  }
  return [...pieces]
    .filter((piece) => piece.length >= MIN_REDACTED_LENGTH)
    .sort((a, b) => b.length - a.length)
    .reduce((text, piece) => text.split(piece).join(REDACTED), output);
}

/** The last `count` non-empty lines of a command's output, stdin taken out, without ssh's own multiplexing notices. */
export function outputTail(output: string, stdin: string | undefined, count = TAIL_LINES): string[] {
  return redactStdin(output, stdin)
    .replace(/\r/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^ControlSocket .* already exists, disabling multiplexing$/.test(line))
    .slice(-count);
}

export interface CommandFailure {
  /** The Pulumi resource's name. */
  readonly resource: string;
  readonly user: string;
  readonly host: string;
  readonly port: number;
  readonly hostPublicKey: string;
  /** ssh's exit code: the command's own, or 255 when ssh itself failed. */
  readonly exitCode: number | null;
  /** Set when the command was stopped after running too long. */
  readonly timeoutSeconds?: number;
  /** stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly stdin?: string;
}

/** ssh's words when the server's key is not the pinned one (a changed key, or only keys of other types). */
export function isHostKeyMismatch(failure: Pick<CommandFailure, "exitCode" | "output">): boolean {
  return failure.exitCode === 255 && /Host key verification failed\./.test(failure.output);
}

/**
 * The error a failed command raises: the resource, where it ran, how it
 * ended, and the tail of its output; never anything of its stdin.
 */
export function failureMessage(failure: CommandFailure): string {
  const where = `${failure.user}@${failure.host.includes(":") ? `[${failure.host}]` : failure.host}:${failure.port}`;
  const tail = outputTail(failure.output, failure.stdin);
  const shown = tail.length > 0 ? `; the last ${tail.length} lines of its output:\n${tail.map((line) => `    ${line}`).join("\n")}` : " and printed nothing";
  if (isHostKeyMismatch(failure)) {
    return (
      `remote command ${failure.resource} did not run: ${where} did not present the pinned host key ${failure.hostPublicKey.split(" ").slice(0, 2).join(" ")} (H9). ` +
      "If the server was rebuilt or its key rotated, read the new key over a trusted path and update the config; otherwise something else answers at this address" +
      shown
    );
  }
  const ending =
    failure.timeoutSeconds !== undefined
      ? `was stopped after ${failure.timeoutSeconds} s`
      : `failed with exit code ${failure.exitCode ?? "none (killed by a signal)"}`;
  return `remote command ${failure.resource} on ${where} ${ending}${shown}`;
}
