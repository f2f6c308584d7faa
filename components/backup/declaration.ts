import type { ImageRef } from "../container/service-spec";

/**
 * What a blueprint says about a service's data: how to take a consistent copy
 * of it (B5), and which named volumes hold plain files worth keeping. The
 * backup job is derived from these declarations, so a new stateful service is
 * backed up by declaring it here, not by editing a script.
 */

/** A consistent dump taken through the service's own tools; never a copy of live database files (B5). */
export type DumpMethod =
  /** `pg_dump` in custom format, one file per database, with row counts taken in the same snapshot. */
  | { readonly kind: "postgres"; readonly user: string; readonly databases: readonly string[] }
  /**
   * `pg_dump` in custom format of a PostgreSQL the platform does not run (a
   * managed service), reached by the connection URL in the secret `urlSecret`,
   * with row counts taken in the same snapshot and the archive read back
   * before it counts as taken. No globals: a managed service's users cannot
   * read roles, and the roles are the provider's. `client` is the pinned
   * image whose pg_dump, psql and pg_restore run it (components/backup/job.ts
   * says why an image); its major version must be at least the server's.
   */
  | { readonly kind: "postgres-url"; readonly urlSecret: string; readonly client: ImageRef }
  /**
   * BGSAVE, wait for LASTSAVE to move, then copy the RDB file. `passwordFile`
   * names the service's secret file that holds requirepass (redis-auth.ts);
   * the job's redis-cli reads it inside the container.
   */
  | { readonly kind: "redis"; readonly passwordFile?: string }
  /** One snapshot per collection through the snapshot API, downloaded, then deleted on the server. */
  | { readonly kind: "qdrant"; readonly port: number; readonly apiKeySecret: string }
  /** `n8n export:workflow --all`: a portable copy beside the database dump (seed 002). */
  | { readonly kind: "n8n-workflows" };

export type DumpKind = DumpMethod["kind"];

export interface BackupDeclaration {
  readonly dump?: DumpMethod;
  /**
   * Keys of the service's named volumes whose files are copied as they are.
   * Only for volumes that hold files; a database's data directory is covered
   * by its dump, never by copying it live.
   */
  readonly volumes?: readonly string[];
  /**
   * A retention the platform's own documents promise (seed 003: "Retention:
   * 30 days default"): the host's job keeps at least `daily` daily
   * snapshots even where `infra:backup.retention.daily` asks for fewer.
   * The stack's weekly, monthly and yearly counts still apply on top.
   */
  readonly minimumRetention?: { readonly daily: number; readonly reason: string };
}
