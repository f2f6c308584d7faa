import { LAST_DURATION_METRIC, LAST_EXIT_CODE_METRIC, LAST_RUN_METRIC, LAST_SUCCESS_METRIC } from "./metrics";
import { forgetFlags } from "./retention";
import { SNAPSHOT_TAG } from "./backup-script";
import { repositoryEntries } from "./environment-file";
import type { BackupSettings } from "./settings";
import { LOAD_ENVIRONMENT_FILE, shellQuote, shellWords, STRICT_MODE, stepLogging } from "./shell";

/**
 * Pulled backups (seed 002's Zerobyte on the ops host): the server writes its
 * dumps locally and offers them read-only to one SSH key; the ops host pulls
 * them over the VPN and pushes them into restic with the GFS retention. The
 * server holds no restic password and no storage key, so whoever takes it
 * over can neither delete nor rewrite a snapshot: the most it can do is
 * publish a bad dump, which becomes one more snapshot beside the good ones.
 */

/** Where a pull-mode server publishes its latest dumps; `current/` below it. */
export const EXPORT_DIR = "/var/lib/infra-backup/export";
/** The account the ops host logs in as on the server; it owns nothing and can run nothing but rrsync -ro. */
export const PULL_ACCOUNT = "infra-pull";
/** Snapshots kept whatever their dates, on top of the GFS retention. */
export const PULL_KEEP_LAST = 3;
/** Debian's rsync ships rrsync, which confines an rsync login to one directory; -ro refuses every write. */
export const RRSYNC_PATH = "/usr/bin/rrsync";

/** One server the ops host pulls from, as data: the script and its environment file are rendered from it. */
export interface PullJob {
  /** The server's name; restic records it as the snapshots' host, as a push-mode job would. */
  readonly server: string;
  /** The server's VPN address: the pull never leaves the VPN. */
  readonly address: string;
  readonly sshPort: number;
  /** The login on the server: PULL_ACCOUNT on a host the program prepares. */
  readonly account: string;
  readonly settings: BackupSettings;
  /** restic repository URL in the backups bucket, without credentials. */
  readonly repository: string;
  /**
   * Seed 002's "copy latest seed-data to the shared bucket (for preprod)":
   * the database dumps and their counts of the latest run, as plain files
   * under this S3 URL (`https://endpoint/bucket/seed-data/<server>`).
   */
  readonly seedDataUrl?: string;
}

/** Where the ops host keeps a server's pull; the environment file passes them to the script. */
export interface PullPaths {
  readonly envFile: string;
  /** The pulled tree; a fixed path keeps restic's parent snapshot, so unchanged files are not read again. */
  readonly pullDir: string;
  readonly stateDir: string;
  readonly textfileDir: string;
  /** The ops host's private key for the server's pull account (0600). */
  readonly keyFile: string;
  /** The server's pinned host key, the only one ssh accepts. */
  readonly knownHostsFile: string;
}

export function pullPaths(server: string): PullPaths {
  return {
    envFile: `/etc/infra-backup/pull-${server}.env`,
    pullDir: `/var/lib/infra-backup/pull/${server}`,
    stateDir: `/var/lib/infra-backup/state/${server}`,
    textfileDir: "/var/lib/prometheus/node-exporter",
    keyFile: PULL_KEY_FILE,
    knownHostsFile: `/etc/infra-backup/pull-${server}.known_hosts`,
  };
}

/** The ops host's one key for every server's pull account (0600, root). */
export const PULL_KEY_FILE = "/etc/infra-backup/pull.key";

/** The metric file of one server's pull on the ops host; node-exporter's textfile collector reads it. */
export function pullTextfileName(server: string): string {
  return `infra_backup_pull_${server.replace(/[^A-Za-z0-9_]/g, "_")}.prom`;
}

/**
 * The server's authorized_keys line for the ops host's key: only from the
 * ops host's VPN address, no pty, no forwarding of any kind (`restrict`),
 * and whatever the client asks, rrsync serving the export read-only.
 */
export function pullAuthorizedKey(publicKey: string, opsAddress: string, exportDir = EXPORT_DIR): string {
  return restrictedKey(publicKey, opsAddress, `${RRSYNC_PATH} -ro ${exportDir}`);
}

/** An authorized_keys line that lets `publicKey` run `command` alone, from `opsAddress` alone, with nothing forwarded. */
export function restrictedKey(publicKey: string, opsAddress: string, command: string): string {
  const key = publicKey.trim();
  if (!/^ssh-ed25519 [A-Za-z0-9+/=]+( [^\n"]*)?$/.test(key)) throw new Error("the ops host's key must be one ssh-ed25519 public key line");
  if (!/^[0-9a-f.:/]+$/i.test(opsAddress)) throw new Error(`"${opsAddress}" is not an address for authorized_keys' from=`);
  if (!/^[A-Za-z0-9/_. -]+$/.test(command)) throw new Error(`"${command}" cannot be a forced command`);
  return `restrict,from="${opsAddress}",command="${command}" ${key}\n`;
}

/** The secrets the pull needs, resolved: they live on the ops host only. */
export interface PullSecrets {
  readonly resticPassword: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly heartbeatUrl?: string;
}

/** The ops host's environment file for one server's pull (mode 0600, root). */
export function pullEnvironmentFile(job: PullJob, paths: PullPaths, secrets: PullSecrets, region: string): string {
  const entries: [string, string][] = [
    ...repositoryEntries(job.repository, secrets, region),
    ["PULL_DIR", paths.pullDir],
    ["PULL_STATE_DIR", paths.stateDir],
    ["PULL_TEXTFILE_DIR", paths.textfileDir],
    ["PULL_KEY_FILE", paths.keyFile],
    ["PULL_KNOWN_HOSTS_FILE", paths.knownHostsFile],
    ...(secrets.heartbeatUrl ? ([["PULL_HEARTBEAT_URL", secrets.heartbeatUrl]] as [string, string][]) : []),
  ];
  return `# Written by the platform's ops host; read by infra-backup-pull.\n${entries.map(([name, value]) => `${name}=${shellQuote(value)}`).join("\n")}\n`;
}

/**
 * The seed-data copy: each database dump and the run's counts, PUT under the
 * shared bucket's URL with curl's own SigV4 signing. The keys reach curl
 * through a config on a file descriptor, never its command line.
 */
function seedDataStep(job: PullJob): string {
  if (!job.seedDataUrl) return "";
  return `
step=seed-data
# Seed 002: the latest dumps, as plain files, for preprod to be seeded from.
put_object() {
  curl --fail --silent --show-error --max-time 3600 --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \\
    --config <(printf 'user = "%s:%s"\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY") \\
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --upload-file "$1" "$2" >/dev/null
}
readonly seed_url=${shellQuote(job.seedDataUrl.replace(/\/+$/, ""))}
seeded=0
while IFS= read -r -d '' file; do
  put_object "$file" "$seed_url/\${file#"$pull_dir"/}"
  seeded=$((seeded + 1))
done < <(find "$pull_dir" -type f \\( -name '*.dump' -o -name 'globals.sql' -o -name counts.tsv -o -name backup-info.tsv \\) -print0)
log "copied $seeded seed-data files to $seed_url"
`;
}

/**
 * The ops host's pull of one server, as a bash script: rsync over SSH with
 * the pinned host key from the server's read-only export, a check that the
 * tree is a complete run newer than the last one pulled, one restic
 * snapshot of it under the server's name, GFS forget, prune, a rotating
 * partial check, then the seed-data copy. Only a run through every step
 * records a success and sends the heartbeat: a server whose nightly dump
 * did not run makes the pull fail, and the push monitor notices.
 */
export function pullScript(job: PullJob): string {
  const retention = forgetFlags(job.settings.retention);
  return `#!/usr/bin/env bash
# Pull of server ${job.server}'s backups, generated by components/backup/pull.ts.
${STRICT_MODE}

${LOAD_ENVIRONMENT_FILE.replace("INFRA_BACKUP_ENV:-/etc/infra-backup/backup.env", `INFRA_PULL_ENV:-/etc/infra-backup/pull-${job.server}.env`)}
: "\${RESTIC_REPOSITORY:?is not set in $env_file}" "\${RESTIC_PASSWORD:?is not set in $env_file}"
: "\${PULL_DIR:?is not set in $env_file}" "\${PULL_STATE_DIR:?is not set in $env_file}" "\${PULL_TEXTFILE_DIR:?is not set in $env_file}"
: "\${PULL_KEY_FILE:?is not set in $env_file}" "\${PULL_KNOWN_HOSTS_FILE:?is not set in $env_file}"

readonly host=${shellQuote(job.server)} tag=${SNAPSHOT_TAG} check_subsets=${job.settings.checkSubsets}
readonly source=${shellQuote(`${job.account}@${job.address}`)} port=${job.sshPort}
readonly pull_dir=$PULL_DIR state=$PULL_STATE_DIR
readonly metrics_file=${shellQuote(pullTextfileName(job.server))}
started=$(date +%s)
step=prepare

${stepLogging("infra-backup-pull")}

write_metrics() {
  local code=$1 now last_success tmp
  now=$(date +%s)
  last_success=$(cat "$state/last-success" 2>/dev/null || echo 0)
  mkdir -p "$PULL_TEXTFILE_DIR"
  tmp=$(mktemp "$PULL_TEXTFILE_DIR/.$metrics_file.XXXXXX")
  cat >"$tmp" <<METRICS
# HELP ${LAST_SUCCESS_METRIC} Unix time of the last backup run that finished every step.
# TYPE ${LAST_SUCCESS_METRIC} gauge
${LAST_SUCCESS_METRIC}{server="$host",mode="pull"} $last_success
# HELP ${LAST_EXIT_CODE_METRIC} Exit code of the last backup run; 0 is success.
# TYPE ${LAST_EXIT_CODE_METRIC} gauge
${LAST_EXIT_CODE_METRIC}{server="$host",mode="pull"} $code
# HELP ${LAST_RUN_METRIC} Unix time the last backup run ended.
# TYPE ${LAST_RUN_METRIC} gauge
${LAST_RUN_METRIC}{server="$host",mode="pull"} $now
# HELP ${LAST_DURATION_METRIC} Seconds the last backup run took.
# TYPE ${LAST_DURATION_METRIC} gauge
${LAST_DURATION_METRIC}{server="$host",mode="pull"} $((now - started))
METRICS
  chmod 0644 "$tmp"
  mv -f "$tmp" "$PULL_TEXTFILE_DIR/$metrics_file"
}

heartbeat() {
  [[ -n \${PULL_HEARTBEAT_URL:-} ]] || return 0
  curl --fail --silent --show-error --max-time 10 --retry 3 --config <(printf 'url = "%s"\\n' "$PULL_HEARTBEAT_URL") >/dev/null ||
    log "the heartbeat could not be sent; the monitor will report it missing"
}

finish() {
  local code=$?
  trap - EXIT ERR
  if [[ $code -eq 0 ]]; then
    date +%s >"$state/last-success.tmp" && mv -f "$state/last-success.tmp" "$state/last-success"
  fi
  write_metrics "$code" || { log "could not write the metrics"; [[ $code -ne 0 ]] || code=1; }
  if [[ $code -eq 0 ]]; then
    step=finished
    log "pull of $host finished in $(($(date +%s) - started))s"
    heartbeat
  else
    log "pull of $host FAILED with exit code $code; no heartbeat sent"
  fi
  exit "$code"
}
trap finish EXIT

mkdir -p "$state" "$pull_dir"

step=pull
# The server's host key is pinned: a VPN address that answers with another key is refused.
rsync --archive --delete --numeric-ids --timeout=600 \\
  --rsh="ssh -F /dev/null -p $port -i $PULL_KEY_FILE -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$PULL_KNOWN_HOSTS_FILE -o ConnectTimeout=30" \\
  "$source:current/" "$pull_dir/"

step=verify
# Only a complete run counts, and only one newer than the last pulled: a
# server whose nightly dump stopped must not look backed up.
finished=$(awk -F '\\t' '$1 == "finished" { print $2 }' "$pull_dir/backup-info.tsv")
[[ $finished =~ ^[0-9]+$ ]] || { log "the server's latest dump is incomplete (no finished mark)"; exit 1; }
previous=$(cat "$state/last-pulled-run" 2>/dev/null || echo 0)
(( finished > previous )) || { log "the server's latest dump (finished at $finished) is no newer than the one pulled before; its backup job did not run"; exit 1; }
log "pulled the run that finished at $finished ($(du -sb "$pull_dir" | cut -f1) bytes)"

step=upload
restic cat config >/dev/null 2>&1 || restic init
restic backup --host "$host" --tag "$tag" "$pull_dir"
echo "$finished" >"$state/last-pulled-run"

step=retention
# GFS keeps one snapshot a day, the newest; the last ${PULL_KEEP_LAST} are kept besides, so a
# second pull on one day (a re-run by hand after a bad dump) never forgets
# that day's earlier snapshot, which may be the good one.
restic forget --host "$host" --tag "$tag" --group-by host,tags --keep-last ${PULL_KEEP_LAST} ${shellWords(retention)}

step=prune
restic prune

step=check
subset=$(( $(cat "$state/check-subset" 2>/dev/null || echo 0) % check_subsets + 1 ))
restic check --read-data-subset="$subset/$check_subsets"
echo "$subset" >"$state/check-subset"
${seedDataStep(job)}`;
}

/** The ops host's pull of one server: script, service and its place in the timer. */
export const PULL_SCRIPT_DIR = "/usr/local/sbin";
export const PULL_UNIT_NAME = "infra-backup-pull";

export function pullScriptPath(server: string): string {
  return `${PULL_SCRIPT_DIR}/infra-backup-pull-${server}`;
}

function writeFileStep(path: string, mode: string, content: string): string {
  const delimiter = "INFRA_PULL_FILE_END";
  if (content.includes(delimiter)) throw new Error(`${path} contains the here-document delimiter ${delimiter}`);
  return `cat >"${path}.new" <<'${delimiter}'
${content.replace(/\n$/, "")}
${delimiter}
chmod ${mode} "${path}.new"
mv -f "${path}.new" "${path}"`;
}

/**
 * Installs the ops host's pulls: rsync, restic and curl, one script per
 * server, each server's pinned host key at its VPN address, and one oneshot
 * service with a daily timer that pulls every server in turn (a failed
 * server does not stop the next one, and fails the unit). Holds no secret:
 * the environment files and the key are written apart.
 */
export function pullInstallScript(pulls: readonly PullJob[], schedule: string, hostKeys: Readonly<Record<string, string>>): string {
  const scripts = pulls.map((pull) => writeFileStep(pullScriptPath(pull.server), "0750", pullScript(pull)));
  const knownHosts = knownHostsSteps(
    pulls.map((pull) => ({ name: pull.server, address: pull.address, sshPort: pull.sshPort })),
    hostKeys,
  );
  const runAll = `#!/usr/bin/env bash
# Pulls every server in turn; one failure does not stop the next pull, and fails the run.
status=0
${pulls.map((pull) => `INFRA_PULL_ENV=${pullPaths(pull.server).envFile} ${pullScriptPath(pull.server)} || status=1`).join("\n")}
exit "$status"
`;
  return `#!/usr/bin/env bash
# Installs the backup pulls of the ops host. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
for tool in rsync restic curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ \${#missing[@]} -gt 0 ]]; then apt-get update -q && apt-get install -y -q --no-install-recommends "\${missing[@]}"; fi
install -d -m 0700 /etc/infra-backup /var/lib/infra-backup /var/lib/infra-backup/pull /var/lib/infra-backup/state
install -d -m 0755 /var/lib/prometheus/node-exporter
${scripts.join("\n")}
${knownHosts.join("\n")}
${writeFileStep(`${PULL_SCRIPT_DIR}/${PULL_UNIT_NAME}`, "0750", runAll)}
${writeFileStep(
  `/etc/systemd/system/${PULL_UNIT_NAME}.service`,
  "0644",
  `[Unit]
Description=Pull every server's backup dumps over the VPN into restic
Wants=network-online.target wg-quick@wg0.service
After=network-online.target wg-quick@wg0.service

[Service]
Type=oneshot
ExecStart=${PULL_SCRIPT_DIR}/${PULL_UNIT_NAME}
TimeoutStartSec=6h
`,
)}
${writeFileStep(
  `/etc/systemd/system/${PULL_UNIT_NAME}.timer`,
  "0644",
  `[Unit]
Description=Daily pull of the servers' backups at ${schedule}

[Timer]
OnCalendar=*-*-* ${schedule}:00
Persistent=true
AccuracySec=1min

[Install]
WantedBy=timers.target
`,
)}
systemctl daemon-reload
systemctl enable --now ${PULL_UNIT_NAME}.timer
systemctl is-active --quiet ${PULL_UNIT_NAME}.timer
`;
}

/** Each server's pinned host key at its VPN address, where the ops host's ssh looks for it (pullPaths().knownHostsFile). */
export function knownHostsSteps(
  members: readonly { readonly name: string; readonly address: string; readonly sshPort: number }[],
  hostKeys: Readonly<Record<string, string>>,
): string[] {
  return members.map((member) => {
    const key = hostKeys[member.name];
    if (!key) throw new Error(`no pinned host key for ${member.name}`);
    const address = member.sshPort === 22 ? member.address : `[${member.address}]:${member.sshPort}`;
    return writeFileStep(pullPaths(member.name).knownHostsFile, "0644", `${address} ${key}\n`);
  });
}

/**
 * The server's side: the pull account, which owns nothing and has no
 * password, rsync for rrsync, and its one authorized key. Run with the
 * authorized_keys line on stdin (public, but one line of input is simpler
 * to keep exact than an argument).
 */
export const PULL_ACCOUNT_COMMAND = `sudo sh -c 'set -e; command -v rrsync >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rsync; }; id -u ${PULL_ACCOUNT} >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/${PULL_ACCOUNT} --shell /bin/sh ${PULL_ACCOUNT}; passwd -l ${PULL_ACCOUNT} >/dev/null; install -d -m 0755 -o root -g root /var/lib/${PULL_ACCOUNT}/.ssh; cat >/var/lib/${PULL_ACCOUNT}/.ssh/authorized_keys.new; chmod 0644 /var/lib/${PULL_ACCOUNT}/.ssh/authorized_keys.new; mv -f /var/lib/${PULL_ACCOUNT}/.ssh/authorized_keys.new /var/lib/${PULL_ACCOUNT}/.ssh/authorized_keys; install -d -m 0750 -o root -g ${PULL_ACCOUNT} ${EXPORT_DIR}'`;

export const REMOVE_PULL_ACCOUNT_COMMAND = `sudo sh -c 'rm -f /var/lib/${PULL_ACCOUNT}/.ssh/authorized_keys'`;

/** Writes one file of the ops host's pull from stdin, 0600 root, replaced in one rename. */
export function writeSecretFileCommand(path: string): string {
  return `sudo sh -c 'umask 077 && mkdir -p /etc/infra-backup && cat >${path}.new && mv -f ${path}.new ${path}'`;
}
