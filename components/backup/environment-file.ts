import type { BackupJob, JobPaths } from "./job";
import { shellQuote } from "./shell";

/**
 * What restic needs to reach a repository: its address, its password and the
 * storage key, whichever host runs it (the server pushing, or the ops host
 * pulling).
 */
export function repositoryEntries(
  repository: string,
  secrets: Pick<JobSecrets, "resticPassword" | "accessKeyId" | "secretAccessKey">,
  region: string,
): [string, string][] {
  return [
    ["RESTIC_REPOSITORY", repository],
    ["RESTIC_PASSWORD", secrets.resticPassword],
    ["AWS_ACCESS_KEY_ID", secrets.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", secrets.secretAccessKey],
    ["AWS_DEFAULT_REGION", region],
  ];
}

/** The secrets the job needs, as plain strings once Pulumi has resolved them. */
export interface JobSecrets {
  readonly resticPassword: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A push URL carries its monitor's token, so it is a secret too. */
  readonly heartbeatUrl?: string;
  /** Further variables by name, e.g. QDRANT_API_KEY. */
  readonly variables?: Readonly<Record<string, string>>;
}

/**
 * The environment file both scripts source: repository, credentials and
 * directories. It is the one place secrets live on the host (mode 0600, root),
 * and the one place a test points the same scripts at its own servers.
 */
export function environmentFile(job: BackupJob, paths: JobPaths, secrets: JobSecrets, region: string, extra: Readonly<Record<string, string>> = {}): string {
  const entries: [string, string][] = [
    ...repositoryEntries(job.repository, secrets, region),
    ["BACKUP_STAGING_DIR", paths.stagingDir],
    ["BACKUP_STATE_DIR", paths.stateDir],
    ["BACKUP_TEXTFILE_DIR", paths.textfileDir],
    ...(secrets.heartbeatUrl ? ([["BACKUP_HEARTBEAT_URL", secrets.heartbeatUrl]] as [string, string][]) : []),
    ...Object.entries(secrets.variables ?? {}),
    ...Object.entries(extra),
  ];
  for (const [name] of entries) if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`"${name}" is not an environment variable name`);
  return `# Written by the platform's Backup component; read by infra-backup and infra-restore.\n${entries.map(([name, value]) => `${name}=${shellQuote(value)}`).join("\n")}\n`;
}

/**
 * The environment file of a pull-mode job (job.export): directories and the
 * sources' own secrets only. No repository, no restic password, no storage
 * key and no heartbeat: those live on the ops host, which pulls.
 */
export function exportEnvironmentFile(
  job: BackupJob,
  paths: JobPaths,
  variables: Readonly<Record<string, string>> = {},
  extra: Readonly<Record<string, string>> = {},
): string {
  if (!job.export) throw new Error(`the job of server ${job.server} is not in pull mode`);
  const entries: [string, string][] = [
    ["BACKUP_STAGING_DIR", paths.stagingDir],
    ["BACKUP_STATE_DIR", paths.stateDir],
    ["BACKUP_TEXTFILE_DIR", paths.textfileDir],
    ["BACKUP_EXPORT_DIR", job.export.dir],
    ...Object.entries(variables),
    ...Object.entries(extra),
  ];
  for (const [name] of entries) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`"${name}" is not an environment variable name`);
    if (/^(RESTIC_|AWS_)|HEARTBEAT/.test(name)) throw new Error(`${name} must not reach a pull-mode server: its repository's keys stay on the ops host`);
  }
  return `# Written by the platform's Backup component (pull mode); read by infra-backup.\n${entries.map(([name, value]) => `${name}=${shellQuote(value)}`).join("\n")}\n`;
}
