import type { ServiceSpec } from "../container/service-spec";
import type { PITRSettings } from "./settings";

/**
 * Point-in-time recovery for PostgreSQL (B6) with nothing but the stock
 * `postgres` image and the tools the backup job already has on the host.
 *
 * Why not pgBackRest or WAL-G: neither is in the official image, and adding
 * one means building, pinning and patching our own PostgreSQL image. What they
 * do for us here is small enough to do with what is there:
 *  - PostgreSQL's own archiver copies each finished WAL segment into a named
 *    volume (`test ! -f` + `cp` + rename, all in the image's busybox);
 *  - a systemd timer on the host ships new segments into the restic
 *    repository every minute (restic encrypts, deduplicates and checks them
 *    as it does the nightly dumps) and deletes a local copy only after restic
 *    has stored it;
 *  - the nightly job adds a `pg_basebackup` (tar) to its snapshot;
 *  - `infra-restore-pitr` puts a base backup and the segments back into a
 *    new data directory and lets PostgreSQL replay them up to a time.
 * The RPO is archive_timeout (PostgreSQL closes a segment at least that
 * often) plus the shipping interval.
 */

/** Key of the named volume PostgreSQL archives into; Docker names it `<container>-wal-archive`. */
export const WAL_VOLUME = "wal-archive";
/**
 * Where that volume is mounted in the container. A new volume is root-owned;
 * the shipping job hands it to the container's user (see walShipScript).
 */
export const WAL_ARCHIVE_PATH = "/var/lib/postgresql/wal-archive";
/** restic tag of the snapshots that carry shipped WAL segments. */
export const WAL_TAG = "wal";
/** The shipping timer's period; together with archive_timeout it bounds the RPO. */
export const SHIP_INTERVAL_SECONDS = 60;

export const SHIP_SCRIPT_PATH = "/usr/local/sbin/infra-wal-ship";
export const PITR_RESTORE_SCRIPT_PATH = "/usr/local/sbin/infra-restore-pitr";
export const SHIP_UNIT_NAME = "infra-wal-ship";

/**
 * The archive_command: copies the segment under a temporary name and renames
 * it, so the shipper never sees half a file. A segment already there (a retry
 * after PostgreSQL missed the success) counts as archived only if it is the
 * same file; anything else fails, and PostgreSQL keeps the segment and retries.
 */
export function archiveCommand(directory: string): string {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(directory)) throw new Error(`WAL archive directory "${directory}" must be an absolute path without spaces or quotes`);
  const target = `${directory}/%f`;
  const temporary = `${directory}/.%f.tmp`;
  return `if test ! -f ${target}; then cp %p ${temporary} && mv ${temporary} ${target}; else cmp -s %p ${target}; fi`;
}

/** The server settings that turn WAL archiving on; the same map goes to `-c` options or postgresql.conf. */
export function pitrPostgresSettings(directory: string, settings: PITRSettings): Record<string, string> {
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_timeout: `${settings.archiveTimeoutSeconds}s`,
    archive_command: archiveCommand(directory),
  };
}

/** The worst-case loss of committed PostgreSQL writes with PITR on. */
export function pitrRpoSeconds(settings: PITRSettings): number {
  return settings.archiveTimeoutSeconds + SHIP_INTERVAL_SECONDS;
}

/** "RPO ≈ 2 min" for the plan. */
export function describePitrRpo(settings: PITRSettings): string {
  const seconds = pitrRpoSeconds(settings);
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** A service whose blueprint configures archiving itself keeps its own setup. */
function archivesItself(service: ServiceSpec): boolean {
  return (service.command ?? []).some((word) => word.startsWith("archive_mode=") || word.startsWith("archive_command="));
}

/** Whether PITR as built here applies to a service: a PostgreSQL dump, not already archiving. */
export function pitrApplies(service: ServiceSpec, settings: PITRSettings): boolean {
  return settings.enabled && service.backup?.dump?.kind === "postgres" && !archivesItself(service);
}

/**
 * The PostgreSQL service with WAL archiving on: the archive volume mounted and
 * the settings passed as `-c` options. Other services, and everything when
 * PITR is off, come back unchanged, so a stack without PITR deploys exactly
 * what it did before.
 */
export function withWalArchive(service: ServiceSpec, settings: PITRSettings): ServiceSpec {
  if (!pitrApplies(service, settings)) return service;
  const command = service.command ?? ["postgres"];
  // The image's entrypoint runs `postgres` with these arguments; any other command could not take them.
  if (command[0] !== "postgres") throw new Error(`${service.name}: PITR needs the container to run postgres, but its command is ${command.join(" ")}`);
  const options = Object.entries(pitrPostgresSettings(WAL_ARCHIVE_PATH, settings)).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
  return {
    ...service,
    command: [...command, ...options],
    volumes: [...service.volumes, { volume: WAL_VOLUME, target: WAL_ARCHIVE_PATH }],
  };
}
