import { databaseURLFunctions } from "./database-url";
import { forgetFlags } from "./retention";
import { LAST_DURATION_METRIC, LAST_EXIT_CODE_METRIC, LAST_RUN_METRIC, LAST_SUCCESS_METRIC, TEXTFILE_NAME } from "./metrics";
import { redisCliDirective, redisCliWords, type Access, type BackupJob, type BackupSource, type ExportTarget } from "./job";
import {
  CONTAINER_URL_FUNCTION,
  LOAD_ENVIRONMENT_FILE,
  qdrantUrlAssignment,
  QDRANT_CURL_FUNCTION,
  REDIS_KEYS_FUNCTION,
  shellQuote,
  shellWords,
  STRICT_MODE,
  stepLogging,
} from "./shell";
import { WAL_TAG } from "./pitr";

/** restic tags every snapshot of the job with this, and forgets within it only. */
export const SNAPSHOT_TAG = "infra-backup";

/**
 * Exact row counts of every ordinary table, in one statement so that it runs
 * inside the snapshot pg_dump exported. Output: `schema.table<TAB>count`.
 */
export const ROW_COUNT_SQL =
  "SELECT format('%I.%I', n.nspname, c.relname) || E'\\t' || " +
  "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text " +
  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
  "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1;";

/**
 * The prefix a command runs behind: `docker exec -i <container>`, `docker run`
 * of a client image, or nothing for a local server.
 */
export function execPrefix(access: Access): string[] {
  if (access.kind === "docker") return ["docker", "exec", "-i", access.container];
  if (access.kind === "image") return clientContainer(access);
  return access.runAs ? ["runuser", "-u", access.runAs, "--"] : [];
}

/**
 * A throwaway client container. No log driver: its stdout is a whole
 * database dump, which json-file would also copy into a log on the host's
 * disk. Read-only, without capabilities or new privileges and as an
 * unprivileged user (C4-C6, C9): it only runs a client. Each `--env=NAME`
 * hands in the script's variable of that name, if it is set, without its
 * value ever being an argument.
 */
function clientContainer(access: Extract<Access, { kind: "image" }>): string[] {
  return [
    "docker",
    "run",
    "--rm",
    "--interactive",
    "--log-driver=none",
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    `--user=${access.user}`,
    ...access.environment.map((name) => `--env=${name}`),
    access.image,
  ];
}

type URLSource = Extract<BackupSource, { kind: "postgres-url" }>;

/** The sources of a job that reach a database by a URL (managed PostgreSQL). */
export function urlSources(job: BackupJob): URLSource[] {
  return job.sources.filter((source): source is URLSource => source.kind === "postgres-url");
}

/**
 * The URL variables stay in the script: the environment file exports every
 * variable to each command it runs, and none of those needs the URL whole.
 * Empty without a URL source.
 */
export function keepURLsUnexported(job: BackupJob): string {
  const variables = [...new Set(urlSources(job).map((source) => source.urlVariable))];
  if (variables.length === 0) return "";
  return `# The database URLs go no further than this script: libpq gets their parts (use_database_url).\nexport -n ${variables.join(" ")}\n`;
}

function array(name: string, words: readonly string[]): string {
  return `local -a ${name}=(${shellWords(words)})`;
}

/** Where a dump of a source lands inside the staging directory. */
export function sourceDir(source: BackupSource): string {
  return source.kind === "volume" ? `volumes/${source.service}` : `${source.service}/${source.kind}`;
}

function dumpStep(source: BackupSource, index: number): string {
  const fn = `dump_${index}`;
  const dir = `"$staging"/${shellQuote(sourceDir(source))}`;
  const exec = array("exec", execPrefix(source.access));
  switch (source.kind) {
    case "postgres":
      return `${fn}() {
  ${exec}
  mkdir -p ${dir}
  "\${exec[@]}" pg_dumpall --username=${shellQuote(source.user)} --globals-only >${dir}/globals.sql
  local database
  for database in ${shellWords(source.databases)}; do
    dump_postgres_database ${shellQuote(source.service)} ${shellQuote(source.user)} "$database" ${dir} "\${exec[@]}"
  done${
    source.walArchive
      ? `
  # PITR (B6): the base the archived WAL is replayed onto. Tar to stdout, so
  # it needs no room in the container; the WAL written during the copy is in
  # the tar too, so the base alone restores to a consistent state.
  "\${exec[@]}" pg_basebackup --username=${shellQuote(source.user)} --pgdata=- --format=tar --wal-method=fetch --checkpoint=fast --label=infra-backup >${dir}/base.tar
  log "took a base backup for PITR ($(stat -c %s ${dir}/base.tar) bytes)"`
      : ""
  }
}`;
    case "postgres-url":
      // A subshell: the PG* variables of this database end with the step.
      return `${fn}() (
  ${exec}
  mkdir -p ${dir}
  use_database_url "\${${source.urlVariable}:?${source.urlVariable} is not set in $env_file}"
  dump_postgres_url ${shellQuote(source.service)} ${dir} "\${exec[@]}"
)`;
    case "redis":
      return `${fn}() {
  ${exec}
  mkdir -p ${dir}
  ${redisCliDirective(source)}dump_redis ${shellQuote(source.service)} ${dir} "\${exec[@]}" -- ${shellWords(redisCliWords(source))}
}`;
    case "qdrant":
      return `${fn}() {
  mkdir -p ${dir}
  local url
  ${qdrantUrlAssignment(source)}
  dump_qdrant ${shellQuote(source.service)} ${dir} "$url" "\${${source.apiKeyVariable}:?}"
}`;
    case "n8n-workflows":
      return `${fn}() {
  ${exec}
  mkdir -p ${dir}
  local output
  # n8n refuses to export nothing: on a new instance that is no failure.
  if ! output=$("\${exec[@]}" n8n export:workflow --all --output=/tmp/infra-backup-workflows.json 2>&1); then
    printf '%s\\n' "$output" >&2
    [[ $output == *"No workflows found"* ]] || return 1
    printf '[]\\n' >${dir}/workflows.json
    count ${shellQuote(source.service)} workflows 0
    return 0
  fi
  printf '%s\\n' "$output" >&2
  "\${exec[@]}" cat /tmp/infra-backup-workflows.json >${dir}/workflows.json
  "\${exec[@]}" rm -f /tmp/infra-backup-workflows.json
  count ${shellQuote(source.service)} workflows "$(jq length ${dir}/workflows.json)"
}`;
    case "volume":
      return `${fn}() {
  local path
  path=$(${source.access.kind === "docker" ? `docker volume inspect --format '{{.Mountpoint}}' ${shellQuote(source.volume)}` : `printf '%s' ${shellQuote(source.volume)}`})
  [[ -d $path ]] || { log "volume ${source.volume} has no directory at $path"; return 1; }
  paths+=("$path")
  printf '%s\\t%s\\t%s\\n' ${shellQuote(source.service)} ${shellQuote(source.volume)} "$path" >>"$staging/volumes.tsv"
  count ${shellQuote(source.service)} ${shellQuote(`files:${source.volume}`)} "$(find "$path" -type f | wc -l)"
}`;
  }
}

/**
 * The URL parser and the dump of a database reached by URL; empty for a job
 * without one, so other jobs' scripts stay as they were.
 */
function urlDumpFunctions(job: BackupJob): string {
  if (urlSources(job).length === 0) return "";
  return `${databaseURLFunctions()}

# pg_dump of the database use_database_url pointed libpq at, inside a
# transaction psql keeps open, so the row counts come from the very snapshot
# the dump was taken in. No pg_dumpall --globals-only: a managed service's
# users cannot read the roles, which are the provider's. The archive is then
# read back whole, its table of contents into database.list and every data
# block into /dev/null, so a truncated or unreadable dump fails the run
# instead of being kept.
dump_postgres_url() {
  local service=$1 dir=$2
  shift 2
  local -a exec=("$@")
  local snapshot input output table rows
  coproc PSQL { "\${exec[@]}" psql -X -A -t -q -v ON_ERROR_STOP=1; }
  input=\${PSQL[1]} output=\${PSQL[0]}
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\\nSELECT pg_export_snapshot();\\n' >&"$input"
  read -r -t 120 snapshot <&"$output"
  [[ -n $snapshot ]]
  "\${exec[@]}" pg_dump --format=custom --snapshot="$snapshot" >"$dir/database.dump"
  printf '%s\\n' ${shellQuote(ROW_COUNT_SQL)} "SELECT '--end--';" >&"$input"
  while IFS=$'\\t' read -r -t 3600 table rows <&"$output"; do
    [[ $table == --end-- ]] && break
    count "$service" "database/$table" "$rows"
  done
  [[ $table == --end-- ]]
  printf 'COMMIT;\\n' >&"$input"
  exec {input}>&-
  wait "$PSQL_PID"
  "\${exec[@]}" pg_restore --list <"$dir/database.dump" >"$dir/database.list"
  "\${exec[@]}" pg_restore --file=/dev/null <"$dir/database.dump"
  log "dumped the database ($(stat -c %s "$dir/database.dump") bytes, $(awk '/ TABLE DATA / { n++ } END { print n + 0 }' "$dir/database.list") tables with data)"
}

`;
}

/**
 * Shipped WAL is kept as long as the daily snapshots with the base backups it
 * replays onto, so any time in that window can be recovered; older segments
 * are of no use without their base and are forgotten, then pruned.
 */
function walRetention(job: BackupJob): string {
  if (!job.sources.some((source) => source.kind === "postgres" && source.walArchive)) return "";
  const days = Math.max(job.settings.retention.daily, 1);
  return `restic forget --host "$host" --tag ${WAL_TAG} --group-by host,tags --keep-within ${days}d\n`;
}

/**
 * The nightly job of one server as a bash script: consistent dumps of every
 * source (B5) into a staging directory, one restic snapshot of it and of the
 * file volumes, GFS forget, prune, then a rotating partial check (B1, B2, B4).
 * Any failed step ends the run non-zero; only a run that got through every
 * step records a success and sends the heartbeat (B9).
 */
export function backupScript(job: BackupJob): string {
  const retention = forgetFlags(job.settings.retention);
  const steps = job.sources.map((source, index) => ({ source, index }));
  return `#!/usr/bin/env bash
# Backup job of server ${job.server}, generated by components/backup/backup-script.ts.
# Every step must succeed: a failure ends the run with a non-zero exit code,
# leaves the last-success metric as it was and sends no heartbeat.
${STRICT_MODE}

${LOAD_ENVIRONMENT_FILE}
${requiredRepositoryVariables(job)}: "\${BACKUP_STAGING_DIR:?is not set in $env_file}" "\${BACKUP_STATE_DIR:?is not set in $env_file}" "\${BACKUP_TEXTFILE_DIR:?is not set in $env_file}"
${keepURLsUnexported(job)}
readonly host=${shellQuote(job.server)}
${job.export ? "" : `readonly tag=${SNAPSHOT_TAG}\nreadonly check_subsets=${job.settings.checkSubsets}\n`}readonly staging=$BACKUP_STAGING_DIR state=$BACKUP_STATE_DIR
started=$(date +%s)
step=prepare
paths=("$staging")

${stepLogging("infra-backup")}

write_metrics() {
  local code=$1 now last_success tmp
  now=$(date +%s)
  last_success=$(cat "$state/last-success" 2>/dev/null || echo 0)
  mkdir -p "$BACKUP_TEXTFILE_DIR"
  tmp=$(mktemp "$BACKUP_TEXTFILE_DIR/.${TEXTFILE_NAME}.XXXXXX")
  cat >"$tmp" <<METRICS
# HELP ${LAST_SUCCESS_METRIC} Unix time of the last backup run that finished every step.
# TYPE ${LAST_SUCCESS_METRIC} gauge
${LAST_SUCCESS_METRIC} $last_success
# HELP ${LAST_EXIT_CODE_METRIC} Exit code of the last backup run; 0 is success.
# TYPE ${LAST_EXIT_CODE_METRIC} gauge
${LAST_EXIT_CODE_METRIC} $code
# HELP ${LAST_RUN_METRIC} Unix time the last backup run ended.
# TYPE ${LAST_RUN_METRIC} gauge
${LAST_RUN_METRIC} $now
# HELP ${LAST_DURATION_METRIC} Seconds the last backup run took.
# TYPE ${LAST_DURATION_METRIC} gauge
${LAST_DURATION_METRIC} $((now - started))
METRICS
  chmod 0644 "$tmp"
  # A rename, so node-exporter never reads half a file.
  mv -f "$tmp" "$BACKUP_TEXTFILE_DIR/${TEXTFILE_NAME}"
}

heartbeat() {
  [[ -n \${BACKUP_HEARTBEAT_URL:-} ]] || return 0
  # The URL carries the monitor's token, so it goes through a config on a
  # file descriptor rather than the command line that ps shows.
  curl --fail --silent --show-error --max-time 10 --retry 3 --config <(printf 'url = "%s"\\n' "$BACKUP_HEARTBEAT_URL") >/dev/null ||
    log "the heartbeat could not be sent; the monitor will report it missing"
}

finish() {
  local code=$?
  trap - EXIT ERR
  if [[ $code -eq 0 ]]; then
    date +%s >"$state/last-success.tmp" && mv -f "$state/last-success.tmp" "$state/last-success"
  fi
  write_metrics "$code" || { log "could not write the metrics"; [[ $code -ne 0 ]] || code=1; }
  rm -rf "\${staging:?}"/*
  if [[ $code -eq 0 ]]; then
    step=finished
    log "backup of $host finished in $(($(date +%s) - started))s"
    heartbeat
  else
    log "backup of $host FAILED with exit code $code; no heartbeat sent"
  fi
  exit "$code"
}
trap finish EXIT

count() { printf '%s\\t%s\\t%s\\n' "$1" "$2" "$3" >>"$staging/counts.tsv"; }

# pg_dump of one database inside a transaction that psql keeps open, so the
# row counts come from the very snapshot the dump was taken in.
dump_postgres_database() {
  local service=$1 user=$2 database=$3 dir=$4
  shift 4
  local -a exec=("$@")
  local snapshot input output table rows
  coproc PSQL { "\${exec[@]}" psql -X -A -t -q -v ON_ERROR_STOP=1 --username="$user" --dbname="$database"; }
  input=\${PSQL[1]} output=\${PSQL[0]}
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\\nSELECT pg_export_snapshot();\\n' >&"$input"
  read -r -t 120 snapshot <&"$output"
  [[ -n $snapshot ]]
  "\${exec[@]}" pg_dump --username="$user" --format=custom --snapshot="$snapshot" --dbname="$database" >"$dir/$database.dump"
  printf '%s\\n' ${shellQuote(ROW_COUNT_SQL)} "SELECT '--end--';" >&"$input"
  while IFS=$'\\t' read -r -t 3600 table rows <&"$output"; do
    [[ $table == --end-- ]] && break
    count "$service" "$database/$table" "$rows"
  done
  [[ $table == --end-- ]]
  printf 'COMMIT;\\n' >&"$input"
  exec {input}>&-
  wait "$PSQL_PID"
  log "dumped database $database ($(stat -c %s "$dir/$database.dump") bytes)"
}

${REDIS_KEYS_FUNCTION}

# BGSAVE, then wait until LASTSAVE moves past its old value: only then is the
# RDB file on disk the one this run asked for.
dump_redis() {
  local service=$1 dir=$2
  shift 2
  local -a exec=() cli=()
  while [[ $1 != -- ]]; do exec+=("$1"); shift; done
  shift
  cli=("\${exec[@]}" "$@")
  local before reply status rdb_dir rdb_file waited=0
  before=$("\${cli[@]}" LASTSAVE)
  # LASTSAVE has one-second resolution: a save within the same second would look unchanged.
  while [[ $(date +%s) -le $before ]]; do sleep 1; done
  count "$service" keys "$(redis_keys "\${cli[@]}")"
  reply=$("\${cli[@]}" BGSAVE SCHEDULE)
  [[ $reply == *"saving started"* || $reply == *scheduled* ]] || { log "BGSAVE refused: $reply"; return 1; }
  until [[ $("\${cli[@]}" LASTSAVE) != "$before" ]]; do
    (( waited++ < 3600 )) || { log "BGSAVE did not finish within an hour"; return 1; }
    sleep 1
  done
  status=$("\${cli[@]}" INFO persistence | tr -d '\\r' | sed -n 's/^rdb_last_bgsave_status://p')
  [[ $status == ok ]] || { log "BGSAVE failed: rdb_last_bgsave_status=$status"; return 1; }
  rdb_dir=$("\${cli[@]}" CONFIG GET dir | sed -n 2p)
  rdb_file=$("\${cli[@]}" CONFIG GET dbfilename | sed -n 2p)
  "\${exec[@]}" cat "$rdb_dir/$rdb_file" >"$dir/dump.rdb"
  log "copied the RDB of $service ($(stat -c %s "$dir/dump.rdb") bytes)"
}

# The address of a container on its first network, for HTTP APIs that are not published.
${CONTAINER_URL_FUNCTION}

# The API key goes through a config on a file descriptor, never the command line.
${QDRANT_CURL_FUNCTION}

dump_qdrant() {
  local service=$1 dir=$2 url=$3 key=$4 collection name points
  for collection in $(qdrant_curl "$key" "$url/collections" | jq -r '.result.collections[].name'); do
    name=$(qdrant_curl "$key" -X POST "$url/collections/$collection/snapshots?wait=true" | jq -er '.result.name')
    qdrant_curl "$key" -o "$dir/$collection.snapshot" "$url/collections/$collection/snapshots/$name"
    qdrant_curl "$key" -X DELETE "$url/collections/$collection/snapshots/$name?wait=true" >/dev/null
    points=$(qdrant_curl "$key" -X POST -H 'Content-Type: application/json' -d '{"exact":true}' "$url/collections/$collection/points/count" | jq -er '.result.count')
    count "$service" "$collection" "$points"
  done
}

${urlDumpFunctions(job)}${steps.map(({ source, index }) => dumpStep(source, index)).join("\n\n")}

mkdir -p "$state" "$staging"
rm -rf "\${staging:?}"/*
printf 'host\\t%s\\nstarted\\t%s\\n' "$host" "$started" >"$staging/backup-info.tsv"
: >"$staging/counts.tsv"
: >"$staging/volumes.tsv"

${steps.map(({ source, index }) => `step=${shellQuote(`${source.service}/${source.kind}`)}\ndump_${index}`).join("\n")}

${job.export ? exportSteps(job.export) : uploadSteps(job, retention)}`;
}

/** Push mode: the server itself uploads, forgets, prunes and checks, with the repository's keys it holds. */
function uploadSteps(job: BackupJob, retention: readonly string[]): string {
  return `step=upload
# A first run creates the repository; any other failure to read it fails the run.
restic cat config >/dev/null 2>&1 || restic init
restic backup --host "$host" --tag "$tag" "\${paths[@]}"

step=retention
restic forget --host "$host" --tag "$tag" --group-by host,tags ${shellWords(retention)}
${walRetention(job)}
step=prune
restic prune

step=check
# Each run reads the next slice of the pack files, so all of them are read back once per $check_subsets runs.
subset=$(( $(cat "$state/check-subset" 2>/dev/null || echo 0) % check_subsets + 1 ))
restic check --read-data-subset="$subset/$check_subsets"
echo "$subset" >"$state/check-subset"
`;
}

/**
 * Pull mode: the run ends with its dumps, and copies of the file volumes,
 * published as the export's \`current/\`, complete or not at all: the tree is
 * built in staging, marked finished last, then renamed into place. Only root
 * writes it; the ops host's account reads it through rrsync -ro.
 */
function exportSteps(target: ExportTarget): string {
  const group = target.group
    ? `chgrp -R ${shellQuote(target.group)} "$export/.next"\nchmod -R g+rX,g-w,o-rwx "$export/.next"\nchgrp ${shellQuote(target.group)} "$export"\nchmod 0750 "$export"\n`
    : "";
  return `step=publish
readonly export=${shellQuote(target.dir)}
while IFS=$'\\t' read -r _ volume path; do
  mkdir -p "$staging/files/$volume"
  cp -a -- "$path/." "$staging/files/$volume/"
done <"$staging/volumes.tsv"
printf 'finished\\t%s\\n' "$(date +%s)" >>"$staging/backup-info.tsv"
install -d -m 0750 "$export"
rm -rf "$export/.next" "$export/.previous"
cp -a -- "$staging" "$export/.next"
${group}[[ ! -d $export/current ]] || mv "$export/current" "$export/.previous"
mv "$export/.next" "$export/current"
rm -rf "$export/.previous"
log "published the dumps in $export/current for the ops host to pull ($(du -sb "$export/current" | cut -f1) bytes)"
`;
}

/** The repository's variables, which a pull-mode server does not have. */
function requiredRepositoryVariables(job: BackupJob): string {
  if (job.export) return "# Pull mode: this host has no repository, no restic password and no storage key; the ops host pulls.\n";
  return ': "${RESTIC_REPOSITORY:?is not set in $env_file}" "${RESTIC_PASSWORD:?is not set in $env_file}"\n';
}
