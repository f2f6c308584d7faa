import type { PITRSettings } from "./settings";

/**
 * Point-in-time recovery for PostgreSQL (B6) with pgBackRest: WAL segments are
 * pushed to the backups bucket as PostgreSQL closes them, and archive_timeout
 * closes one at least every `archiveTimeoutSeconds`, which bounds the RPO.
 *
 * pgBackRest rather than WAL-G or a hand-written archive_command: it is in
 * Debian and Alpine, checks each segment it archives, encrypts the repository,
 * expires WAL together with the base backups it belongs to, and restores to a
 * time with one command. These are pure generators; see docs/runbooks/restore.md
 * for what is deployed.
 */

export interface PITRTarget {
  /** pgBackRest stanza; the server's name. */
  readonly stanza: string;
  /** S3 endpoint host, without the scheme (pgBackRest always speaks TLS). */
  readonly endpointHost: string;
  readonly region: string;
  readonly bucket: string;
  /** PostgreSQL's data directory as pgBackRest sees it. */
  readonly dataDirectory: string;
  /** Full base backups kept; WAL older than the oldest is expired with it. */
  readonly fullBackupsKept: number;
}

/** Lines for postgresql.conf (or `-c` options) that turn WAL archiving on. */
export function pitrPostgresSettings(target: PITRTarget, settings: PITRSettings): Record<string, string> {
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_timeout: `${settings.archiveTimeoutSeconds}s`,
    archive_command: `pgbackrest --stanza=${target.stanza} archive-push %p`,
  };
}

/**
 * pgbackrest.conf. The S3 keys and the cipher pass are not in it: pgBackRest
 * reads them from PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET and
 * PGBACKREST_REPO1_CIPHER_PASS, which come from the job's environment file.
 */
export function pgbackrestConfig(target: PITRTarget): string {
  return `[global]
repo1-type=s3
repo1-s3-endpoint=${target.endpointHost}
repo1-s3-region=${target.region}
repo1-s3-bucket=${target.bucket}
repo1-s3-uri-style=path
repo1-path=/pgbackrest/${target.stanza}
repo1-cipher-type=aes-256-cbc
repo1-retention-full=${target.fullBackupsKept}
start-fast=y
compress-type=zst
log-level-console=info

[${target.stanza}]
pg1-path=${target.dataDirectory}
`;
}
