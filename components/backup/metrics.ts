/**
 * The metrics the backup job leaves for node-exporter's textfile collector
 * after every run (B9). Alert rules import these names rather than retyping
 * them. Each is a gauge without labels; node-exporter adds `instance`.
 */

/** Unix time of the last run that finished every step; unchanged by a failed run. */
export const LAST_SUCCESS_METRIC = "infra_backup_last_success_timestamp_seconds";
/** Exit code of the last run: 0 on success, the failing step's code otherwise. */
export const LAST_EXIT_CODE_METRIC = "infra_backup_last_exit_code";
/** Unix time the last run ended, successful or not. */
export const LAST_RUN_METRIC = "infra_backup_last_run_timestamp_seconds";
/** Wall-clock seconds the last run took. */
export const LAST_DURATION_METRIC = "infra_backup_last_duration_seconds";

export const BACKUP_METRICS = [LAST_SUCCESS_METRIC, LAST_EXIT_CODE_METRIC, LAST_RUN_METRIC, LAST_DURATION_METRIC] as const;

/**
 * Debian's prometheus-node-exporter reads `--collector.textfile.directory`
 * from here by default; the job writes `infra_backup.prom` into it.
 */
export const TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";
export const TEXTFILE_NAME = "infra_backup.prom";

/**
 * How stale the last success may get before it is an alert: 1.5 times the
 * RPO (B9). With one run a day that is 36 hours.
 */
export function staleAfterSeconds(rpoSeconds: number): number {
  return Math.round(rpoSeconds * 1.5);
}
