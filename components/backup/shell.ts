/** Quotes a value for bash so that it stays one word and nothing in it expands. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/** Every generated script stops at the first failed command, pipe or subshell, and creates private files. */
/**
 * A script's `log` (UTC time, the program, the current $step) and the ERR
 * trap that logs the failing line, so a journal shows where a run stopped.
 */
export function stepLogging(program: string): string {
  return [
    `log() { printf '%s ${program} [%s] %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$step" "$*" >&2; }`,
    `trap 'log "failed with exit code $? at line $LINENO: $BASH_COMMAND"' ERR`,
  ].join("\n");
}

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

/** The address of a container on its first network, for HTTP APIs that are not published. */
export const CONTAINER_URL_FUNCTION = `container_url() {
  local address
  address=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }')
  [[ -n $address ]] || { log "container $1 has no address"; return 1; }
  printf 'http://%s:%s' "$address" "$2"
}`;

/** Qdrant's API key goes through a curl config on a file descriptor, never the command line. */
export const QDRANT_CURL_FUNCTION = `qdrant_curl() {
  local key=$1
  shift
  curl --fail --silent --show-error --max-time 3600 --config <(printf 'header = "api-key: %s"\\n' "$key") "$@"
}`;

/** The number of keys in every database of a Redis, asked through the client command given as arguments. */
export const REDIS_KEYS_FUNCTION = `redis_keys() { "$@" INFO keyspace | tr -d '\\r' | awk -F '[:=,]' '/^db[0-9]+:/ { keys += $3 } END { print keys + 0 }'; }`;

/** Sets `url` to a Qdrant's API: the container's address, or QDRANT_URL where it runs outside Docker. */
export function qdrantUrlAssignment(source: { readonly access: { readonly kind: string; readonly container?: string }; readonly port: number }): string {
  const lookup =
    source.access.kind === "docker"
      ? `container_url ${shellQuote(source.access.container!)} ${source.port}`
      : `printf '%s' "\${QDRANT_URL:?QDRANT_URL is needed for a local Qdrant}"`;
  return `url=$(${lookup})`;
}
