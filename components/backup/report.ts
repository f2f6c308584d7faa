import type { ServerConfig } from "../compute/server-spec";
import { describeSource, type BackupJob } from "./job";
import { BACKUP_METRICS, staleAfterSeconds } from "./metrics";
import { describeRetention } from "./retention";
import { describePitrRpo, SHIP_INTERVAL_SECONDS } from "./pitr";
import { pitrSources } from "./pitr-scripts";
import type { RetentionPolicy } from "./settings";

/** The plan's account of one server's backups: what, when, where, how long kept, and how much can be lost. */
export interface BackupReport {
  readonly server: string;
  readonly schedule: string;
  readonly repository: string;
  readonly encryption: string;
  readonly retention: RetentionPolicy & { readonly text: string };
  readonly check: string;
  readonly sources: { readonly service: string; readonly kind: string; readonly what: string }[];
  /** Worst-case data loss, in seconds and in words. */
  readonly rpoSeconds: number;
  readonly rpo: string;
  /** When the last-success metric is old enough to alert on (B9: 1.5 x RPO). */
  readonly alertAfterSeconds: number;
  readonly pitr: string;
  readonly metrics: readonly string[];
  readonly restore: string;
}

const DAY_SECONDS = 86_400;

export function backupReport(server: ServerConfig, job: BackupJob): BackupReport {
  const settings = job.settings;
  const hasPostgres = job.sources.some((source) => source.kind === "postgres");
  const managed = job.sources.filter((source) => source.kind === "postgres-url").map((source) => source.service);
  const minimum = job.minimumRetention
    ? `; never fewer than ${job.minimumRetention.daily} daily, whatever infra:backup.retention says: ${job.minimumRetention.reasons.join("; ")}`
    : "";
  const archiving = pitrSources(job).map((source) => source.service);
  return {
    server: server.name,
    schedule: `daily at ${settings.schedule} (systemd timer infra-backup.timer, catches up after downtime)${job.export ? `; pull mode: dumps into ${job.export.dir}, pulled by the ops host` : ""}`,
    repository: job.repository,
    encryption: job.export
      ? "restic encrypts on the ops host, which pulls; this server holds no restic password and no storage key (the Pulumi secrets infra:resticPassword and the storage keys go to the ops host only)"
      : "restic encrypts on the server before upload; the key is the Pulumi secret infra:resticPassword (S4)",
    retention: { ...settings.retention, text: `${describeRetention(settings.retention)}; restic forget, then prune${minimum}` },
    check: `restic check --read-data-subset=n/${settings.checkSubsets}, n moving on each run: all data read back every ${settings.checkSubsets} runs`,
    sources: job.sources.map((source) => ({ service: source.service, kind: source.kind, what: describeSource(source) })),
    rpoSeconds: DAY_SECONDS,
    // The nightly run still bounds what the other services can lose; PITR's
    // shorter RPO is for PostgreSQL alone and is stated on its own line.
    rpo: "24 h: one run a day, so up to a day of writes can be lost",
    alertAfterSeconds: staleAfterSeconds(DAY_SECONDS),
    pitr:
      archiving.length > 0
        ? `on for ${archiving.join(", ")}, RPO ≈ ${describePitrRpo(settings.pitr)} (archive_timeout ${settings.pitr.archiveTimeoutSeconds} s + WAL shipped to restic every ${SHIP_INTERVAL_SECONDS} s by infra-wal-ship.timer; base backup nightly); restore with infra-restore-pitr`
        : settings.pitr.enabled && hasPostgres
          ? "requested, but the PostgreSQL service configures WAL archiving itself; see its blueprint"
          : settings.pitr.enabled && managed.length > 0
            ? `requested, but the PostgreSQL of ${managed.join(", ")} is managed: its WAL is the provider's, so point-in-time recovery is the provider's too`
            : "off (infra:backup.pitr.enabled)",
    metrics: [...BACKUP_METRICS],
    restore: "infra-restore on the server; see docs/runbooks/restore.md",
  };
}

export function backupReportText(reports: readonly BackupReport[]): string[] {
  const out: string[] = ["", "Backups"];
  if (reports.length === 0) out.push("  none: no service declares data to back up");
  for (const report of reports) {
    out.push(`  server ${report.server}: ${report.schedule}`);
    out.push(`    to:        ${report.repository}`);
    out.push(`    encrypted: ${report.encryption}`);
    out.push(`    retention: ${report.retention.text}`);
    out.push(`    check:     ${report.check}`);
    out.push(`    RPO:       ${report.rpo}; alert when the last success is older than ${report.alertAfterSeconds / 3600} h`);
    out.push(`    PITR:      ${report.pitr}`);
    for (const source of report.sources) out.push(`    ${source.service.padEnd(10)} ${source.what}`);
    out.push(`    metrics:   ${report.metrics.join(", ")}`);
    out.push(`    restore:   ${report.restore}`);
  }
  return out;
}
