/** Quotes a value for bash so that it stays one word and nothing in it expands. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/** Every generated script stops at the first failed command, pipe or subshell, and creates private files. */
export const STRICT_MODE = ["set -Eeuo pipefail", "shopt -s inherit_errexit", "umask 077"].join("\n");

/**
 * Loads the job's environment file (repository, password, directories) into
 * the environment; INFRA_BACKUP_ENV points elsewhere in tests and drills.
 */
export const LOAD_ENVIRONMENT_FILE = [
  'env_file="${INFRA_BACKUP_ENV:-/etc/infra-backup/backup.env}"',
  "set -a",
  "# shellcheck source=/dev/null",
  'source "$env_file"',
  "set +a",
].join("\n");
