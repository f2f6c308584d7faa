/**
 * The backup settings a stack chooses (`infra:backup`), with the defaults in
 * one place. Validation lives in infra/config; this is only the shape and the
 * values a stack gets when it says nothing.
 */

/** Grandfather-father-son retention: how many of the newest daily, weekly, monthly and yearly snapshots stay (B1). */
export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly yearly: number;
}

export interface PITRSettings {
  /** WAL archiving, shipped into the restic repository every minute (B6; components/backup/pitr.ts). */
  readonly enabled: boolean;
  /** PostgreSQL switches WAL segments at least this often, so it bounds the RPO. */
  readonly archiveTimeoutSeconds: number;
}

export interface BackupSettings {
  /** Daily start time, `HH:MM` on the server's clock. */
  readonly schedule: string;
  readonly retention: RetentionPolicy;
  /**
   * `restic check --read-data-subset=n/<checkSubsets>` with n moving on by one
   * each run, so every pack is read back once per `checkSubsets` runs (B4).
   */
  readonly checkSubsets: number;
  readonly pitr: PITRSettings;
}

export const BACKUP_DEFAULTS: BackupSettings = {
  // Seed 002: the pre-backup script runs from cron at 02:55.
  schedule: "02:55",
  // Seed 002: restic GFS 7d/4w/6m/2y (borg's quickstart uses the same 7/4/6).
  retention: { daily: 7, weekly: 4, monthly: 6, yearly: 2 },
  // A full read of the repository about once a month, a thirtieth per night.
  checkSubsets: 30,
  // Seed 004 keeps the PITR RPO at 5 minutes; a minute is well inside it.
  pitr: { enabled: false, archiveTimeoutSeconds: 60 },
};

/** The largest archive_timeout accepted: a minute, so the PITR RPO stays well under seed 004's five. */
export const MAX_ARCHIVE_TIMEOUT_SECONDS = 60;

export const SCHEDULE_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;
