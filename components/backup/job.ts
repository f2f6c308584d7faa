import { imageName, type ImageRef, type ServiceSpec } from "../container/service-spec";
import { secretFileTarget } from "../container/secret-files";
import type { ImageRegistry } from "../container/image-registry";
import { LIBPQ_VARIABLE_NAMES } from "./database-url";
import type { DumpKind } from "./declaration";
import { pitrApplies, WAL_VOLUME } from "./pitr";
import { TEXTFILE_DIR } from "./metrics";
import { withMinimumDaily } from "./retention";
import type { BackupSettings } from "./settings";

/**
 * How the job reaches a service: through `docker exec` into its container on a
 * host, through a throwaway container of a pinned client image for a server
 * the platform does not run, or directly on this machine, which is how the
 * live tests run the very same generated script against PostgreSQL and Redis
 * started on 127.0.0.1.
 */
export type Access =
  | { readonly kind: "docker"; readonly container: string }
  /**
   * `docker run --rm` of `image` as `user`; `environment` names the variables
   * handed in from the script's environment, by name only, so their values
   * are never on a command line.
   */
  | { readonly kind: "image"; readonly image: string; readonly user: string; readonly environment: readonly string[] }
  /** `runAs`: the account the server's own tools must run as (PostgreSQL refuses root), through runuser. */
  | { readonly kind: "local"; readonly runAs?: string };

interface SourceBase {
  /** The service it belongs to; `infra-restore --service` takes this name. */
  readonly service: string;
  readonly access: Access;
}

export type BackupSource =
  /**
   * `walArchive`, with PITR on (B6): where PostgreSQL archives WAL, the Docker
   * volume's name with docker access, a directory with local access.
   */
  | (SourceBase & { readonly kind: "postgres"; readonly user: string; readonly databases: readonly string[]; readonly walArchive?: string })
  /**
   * A PostgreSQL the platform does not run, at the URL in the job's
   * environment variable `urlVariable`, which carries the secret `urlSecret`.
   */
  | (SourceBase & { readonly kind: "postgres-url"; readonly urlSecret: string; readonly urlVariable: string })
  /**
   * `cliArgs` follow `redis-cli` (e.g. `-p 6390` locally). The password comes
   * from REDISCLI_AUTH: read from `passwordFile` inside the container when it
   * is set, from the job's environment otherwise (the live tests).
   */
  | (SourceBase & { readonly kind: "redis"; readonly cliArgs: readonly string[]; readonly restorePort: number; readonly passwordFile?: string })
  /** `apiKeyVariable` names the variable in the job's environment file that holds the API key. */
  | (SourceBase & { readonly kind: "qdrant"; readonly port: number; readonly apiKeyVariable: string })
  | (SourceBase & { readonly kind: "n8n-workflows" })
  /** With docker access `volume` is the Docker volume's name; with local access it is a directory. */
  | (SourceBase & { readonly kind: "volume"; readonly volume: string });

export type SourceKind = BackupSource["kind"];

/** One server's backup job as data: the scripts and units are rendered from it. */
export interface BackupJob {
  /** The server's name; restic records it as the snapshots' host. */
  readonly server: string;
  readonly settings: BackupSettings;
  /** restic repository URL, without credentials. */
  readonly repository: string;
  readonly sources: readonly BackupSource[];
  /**
   * Why the daily count is higher than the stack's `infra:backup.retention`:
   * a service's own promise (BackupDeclaration.minimumRetention). Absent
   * when no service makes one.
   */
  readonly minimumRetention?: { readonly daily: number; readonly reasons: readonly string[] };
  /**
   * Pull mode (components/backup/pull.ts): the server only writes its dumps
   * into `export` and holds no restic password and no storage key; the ops
   * host pulls them over the VPN and pushes them into restic. Absent in push
   * mode, where the server uploads itself.
   */
  readonly export?: ExportTarget;
}

/** Where a pull-mode job publishes its latest complete dump, read-only to the ops host's key. */
export interface ExportTarget {
  /** `current/` below it is the newest complete run; rrsync serves this directory read-only. */
  readonly dir: string;
  /** The account the ops host logs in as; the published files are readable by its group, writable by no one but root. */
  readonly group?: string;
}

/** Where the job keeps its files on a host; the environment file passes them to the scripts. */
export interface JobPaths {
  readonly envFile: string;
  /** Dumps are written here, then backed up; a fixed path keeps restic's parent snapshot. */
  readonly stagingDir: string;
  /** Last success time and the check rotation survive here between runs. */
  readonly stateDir: string;
  readonly textfileDir: string;
}

export const HOST_PATHS: JobPaths = {
  envFile: "/etc/infra-backup/backup.env",
  stagingDir: "/var/lib/infra-backup/staging",
  stateDir: "/var/lib/infra-backup/state",
  textfileDir: TEXTFILE_DIR,
};

export const BACKUP_SCRIPT_PATH = "/usr/local/sbin/infra-backup";
export const RESTORE_SCRIPT_PATH = "/usr/local/sbin/infra-restore";
export const UNIT_NAME = "infra-backup";

/** Port of the throwaway Redis a restore loads the RDB into, inside the Redis container. */
export const REDIS_RESTORE_PORT = 6380;

/** restic's S3 repository for one server, inside the stack's backups bucket. */
export function resticRepository(endpoint: string, bucket: string, server: string): string {
  return `s3:${endpoint.replace(/\/+$/, "")}/${bucket}/restic/${server}`;
}

export interface HostBackupInput {
  readonly server: string;
  readonly services: readonly ServiceSpec[];
  readonly settings: BackupSettings;
  readonly repository: string;
  /** Container name of a service on the host, e.g. `vpai-postgres`. */
  readonly containerName: (service: string) => string;
  /** The registry the stack pulls images from, for the images the job runs itself. */
  readonly imageRegistry?: ImageRegistry;
}

/** The environment variable that carries a secret config key to the job: `infra:qdrantApiKey` is QDRANT_API_KEY. */
export function secretVariable(key: string): string {
  const name = key.includes(":") ? key.slice(key.indexOf(":") + 1) : key;
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** Secret config keys the job's sources read, by the variable that carries each. */
export function secretVariables(services: readonly ServiceSpec[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const service of services) {
    const dump = service.backup?.dump;
    if (dump?.kind === "qdrant") variables[secretVariable(dump.apiKeySecret)] = dump.apiKeySecret;
    if (dump?.kind === "postgres-url") variables[secretVariable(dump.urlSecret)] = dump.urlSecret;
  }
  return variables;
}

/**
 * The redis-cli words of a Redis source. With a password file, a shell in
 * the container reads it into REDISCLI_AUTH for redis-cli's process alone:
 * the password is in no argument, and the container's environment has none.
 */
export function redisCliWords(source: Extract<BackupSource, { kind: "redis" }>): string[] {
  if (source.passwordFile === undefined) return ["redis-cli", ...source.cliArgs];
  return ["sh", "-c", 'REDISCLI_AUTH="$(cat "$0")" && export REDISCLI_AUTH && exec redis-cli "$@"', source.passwordFile, ...source.cliArgs];
}

/** The lines a generated script puts before a command with redisCliWords: its `$0` and `$@` are the inner shell's. */
export function redisCliDirective(source: Extract<BackupSource, { kind: "redis" }>): string {
  return source.passwordFile === undefined ? "" : "# $0 and $@ belong to the shell in the container.\n  # shellcheck disable=SC2016\n  ";
}

/** Dumps run in this order, and restores follow it: databases before what reads them. */
const ORDER: readonly SourceKind[] = ["postgres", "postgres-url", "redis", "qdrant", "volume", "n8n-workflows"];

/**
 * The PostgreSQL client of a managed database: its pinned image, run with
 * `docker run --rm` on the host. Why an image rather than the host's
 * postgresql-client package: pg_dump refuses a server newer than itself, and
 * the image pins the major version the blueprint chose, where the package is
 * whatever the distribution ships (15 on Debian 12, 16 on Ubuntu 24.04) and
 * changes under an OS upgrade; Docker is on every host already, so no apt
 * repository is added; and the same client takes the dump and restores it.
 * It runs as the image's unprivileged postgres user and gets libpq's
 * variables by name only. Files a URL names (sslrootcert, sslcert, passfile)
 * would be looked for inside the container, which has none of the host's;
 * sslmode=require, what managed services ask for, needs none.
 */
export function postgresClientAccess(client: ImageRef, registry?: ImageRegistry): Access {
  return { kind: "image", image: imageName(client, registry), user: "postgres", environment: LIBPQ_VARIABLE_NAMES };
}

/** The job for one server: every declared dump and file volume of the services placed on it. */
export function hostBackupJob(input: HostBackupInput): BackupJob {
  const sources: BackupSource[] = [];
  for (const service of input.services) {
    const declaration = service.backup;
    if (!declaration) continue;
    const container = input.containerName(service.name);
    const access: Access = { kind: "docker", container };
    const base = { service: service.name, access };
    const dump = declaration.dump;
    if (dump?.kind === "postgres") {
      // The same test withWalArchive applies to the container, so the job ships exactly the volume it mounts.
      const walArchive = pitrApplies(service, input.settings.pitr) ? { walArchive: `${container}-${WAL_VOLUME}` } : {};
      sources.push({ ...base, kind: "postgres", user: dump.user, databases: [...dump.databases], ...walArchive });
    }
    if (dump?.kind === "postgres-url") {
      sources.push({
        service: service.name,
        access: postgresClientAccess(dump.client, input.imageRegistry),
        kind: "postgres-url",
        urlSecret: dump.urlSecret,
        urlVariable: secretVariable(dump.urlSecret),
      });
    }
    if (dump?.kind === "redis") {
      const file = service.secretFiles.find((candidate) => candidate.name === dump.passwordFile);
      sources.push({ ...base, kind: "redis", cliArgs: [], restorePort: REDIS_RESTORE_PORT, ...(file ? { passwordFile: secretFileTarget(file) } : {}) });
    }
    if (dump?.kind === "qdrant") sources.push({ ...base, kind: "qdrant", port: dump.port, apiKeyVariable: secretVariable(dump.apiKeySecret) });
    if (dump?.kind === "n8n-workflows") sources.push({ ...base, kind: "n8n-workflows" });
    for (const volume of declaration.volumes ?? []) sources.push({ ...base, kind: "volume", volume: `${container}-${volume}` });
  }
  const promises = input.services.flatMap((service) =>
    service.backup?.minimumRetention ? [{ service: service.name, ...service.backup.minimumRetention }] : [],
  );
  if (promises.length === 0) return { server: input.server, settings: input.settings, repository: input.repository, sources: orderSources(sources) };
  const daily = Math.max(...promises.map((promise) => promise.daily));
  return {
    server: input.server,
    settings: { ...input.settings, retention: withMinimumDaily(input.settings.retention, daily) },
    repository: input.repository,
    sources: orderSources(sources),
    minimumRetention: { daily, reasons: promises.map((promise) => `${promise.service} keeps ${promise.daily} (${promise.reason})`) },
  };
}

export function orderSources(sources: readonly BackupSource[]): BackupSource[] {
  return [...sources].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
}

/** Problems with a declaration that the job could not carry out; the blueprint checks use it. */
export function declarationProblems(service: ServiceSpec): string[] {
  const problems: string[] = [];
  const volumes = new Set(service.volumes.map((mount) => mount.volume));
  for (const volume of service.backup?.volumes ?? []) {
    if (!volumes.has(volume)) problems.push(`${service.name} backs up volume "${volume}", which it does not mount`);
  }
  const dump = service.backup?.dump;
  if (dump?.kind === "postgres" && dump.databases.length === 0) problems.push(`${service.name} declares a PostgreSQL dump of no database`);
  if (dump?.kind === "redis" && dump.passwordFile !== undefined && !service.secretFiles.some((file) => file.name === dump.passwordFile)) {
    problems.push(`${service.name}'s backup reads the password from secret file ${dump.passwordFile}, which the service does not have`);
  }
  if (dump?.kind === "postgres-url") {
    // The service's own connection is the database worth keeping; a URL it does not use is a typo or another service's.
    const used = Object.values(service.env).some((value) => typeof value !== "string" && "secret" in value && value.secret === dump.urlSecret);
    if (!used) problems.push(`${service.name} backs up the database at secret ${dump.urlSecret}, which it does not connect to`);
    if (dump.client.repository !== "postgres" || !/^\d+(\.\d+)*-alpine$/.test(dump.client.tag)) {
      problems.push(`${service.name}'s database client must be a pinned postgres:<version>-alpine image (C10), not ${imageName(dump.client)}`);
    }
  }
  const minimum = service.backup?.minimumRetention;
  if (minimum && (!Number.isInteger(minimum.daily) || minimum.daily < 1))
    problems.push(`${service.name} promises a retention of ${minimum.daily} daily snapshots; it must be a whole number of at least 1`);
  return problems;
}

/** What the plan says is taken of a source. */
export function describeSource(source: BackupSource): string {
  switch (source.kind) {
    case "postgres":
      return `pg_dump (custom format, one snapshot per database with its row counts): ${source.databases.join(", ")}${source.walArchive ? "; pg_basebackup (tar) for PITR" : ""}`;
    case "postgres-url":
      return `pg_dump (custom format, row counts from the dump's snapshot, read back with pg_restore; no globals) of the PostgreSQL at secret ${source.urlSecret}, by ${source.access.kind === "image" ? `${source.access.image} (docker run)` : "the local client"}`;
    case "redis":
      return "BGSAVE, wait for LASTSAVE to change, copy the RDB";
    case "qdrant":
      return "snapshot API: one snapshot per collection, with point counts";
    case "n8n-workflows":
      return "n8n export:workflow --all";
    case "volume":
      return `files of volume ${source.volume}`;
  }
}

export const DUMP_KINDS: readonly DumpKind[] = ["postgres", "postgres-url", "redis", "qdrant", "n8n-workflows"];
