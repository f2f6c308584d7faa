import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../compute/content-hash";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";
import { environmentFile, exportEnvironmentFile } from "./environment-file";
import { installScript, REMOVE_ENVIRONMENT_COMMAND, UNINSTALL_COMMAND, WRITE_ENVIRONMENT_COMMAND } from "./install-script";
import { HOST_PATHS, type BackupJob } from "./job";

export interface BackupArgs {
  /** What to back up and how, from hostBackupJob. */
  readonly job: BackupJob;
  /** SSH to the server (Server.connection); the account needs sudo. */
  readonly connection: SSHConnectionArgs;
  /** The server's last preparation step (Server.ready): the job needs the host's packages and Docker. */
  readonly ready: pulumi.Resource;
  /** Region of the object storage, for restic's S3 client. */
  readonly region: string;
  readonly resticPassword: pulumi.Input<string>;
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
  /** Uptime Kuma push or healthchecks.io URL; only a successful run calls it. */
  readonly heartbeatUrl?: pulumi.Input<string>;
  /** Secrets the sources read, by environment variable (e.g. QDRANT_API_KEY). */
  readonly variables?: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * The nightly backup of one server: a systemd timer running a generated job
 * that dumps every stateful service consistently into a restic repository in
 * the backups bucket, with GFS retention, prune and a rotating check, plus
 * `infra-restore` beside it. Kept up to date over SSH: each remote command
 * runs again exactly when what it installs changes.
 */
export class Backup extends pulumi.ComponentResource {
  public readonly repository: string;
  public readonly schedule: string;
  /** The step that installs the job's script and units: what runs the job (a backup before a replacement) waits for it. */
  public readonly installed: SSHCommand;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.job.sources.length === 0) throw new Error(`backup ${name}: the job has nothing to back up`);
    // A variable without its secret would reach the host as an empty value and fail every night instead of now.
    const unset = Object.entries(args.variables ?? {})
      .filter(([, value]) => value === undefined)
      .map(([variable]) => variable);
    if (unset.length > 0) throw new Error(`backup ${name}: no secret loaded for ${unset.join(", ")}`);
    super("infra:backup:Backup", name, {}, opts);
    this.repository = args.job.repository;
    this.schedule = args.job.settings.schedule;

    const variableNames = Object.keys(args.variables ?? {}).sort();
    // Every input that carries a secret is wrapped in pulumi.secret, so the
    // command's stdin and triggers are stored encrypted in the state.
    const environment = pulumi.secret(
      args.job.export
        ? // Pull mode: the server gets its sources' secrets and nothing of the repository's (components/backup/pull.ts).
          pulumi
            .all(variableNames.map((variable) => args.variables![variable]!))
            .apply((values) =>
              exportEnvironmentFile(args.job, HOST_PATHS, Object.fromEntries(variableNames.map((variable, index) => [variable, values[index]!]))),
            )
        : pulumi
            .all([
              args.resticPassword,
              args.accessKeyId,
              args.secretAccessKey,
              args.heartbeatUrl,
              pulumi.all(variableNames.map((variable) => args.variables![variable]!)),
            ])
            .apply(([resticPassword, accessKeyId, secretAccessKey, heartbeatUrl, values]) =>
              environmentFile(
                args.job,
                HOST_PATHS,
                {
                  resticPassword,
                  accessKeyId,
                  secretAccessKey,
                  ...(heartbeatUrl ? { heartbeatUrl } : {}),
                  variables: Object.fromEntries(variableNames.map((variable, index) => [variable, values[index]!])),
                },
                args.region,
              ),
            ),
    );
    const environmentCommand = new SSHCommand(
      `${name}-environment`,
      {
        connection: args.connection,
        create: WRITE_ENVIRONMENT_COMMAND,
        stdin: environment,
        delete: REMOVE_ENVIRONMENT_COMMAND,
        // Rotating a secret rewrites the file; the hash is of secrets, so it is secret too.
        triggers: [pulumi.secret(environment.apply(contentHash))],
      },
      { parent: this, dependsOn: [args.ready], deleteBeforeReplace: true },
    );

    const script = installScript(args.job);
    this.installed = new SSHCommand(
      `${name}-install`,
      {
        connection: args.connection,
        create: "sudo bash -s",
        stdin: script,
        delete: UNINSTALL_COMMAND,
        // Runs again when, and only when, a script or unit changes.
        triggers: [contentHash(script)],
      },
      // Removing the old install after the new one would delete what was just installed.
      { parent: this, dependsOn: [args.ready, environmentCommand], deleteBeforeReplace: true },
    );
    this.registerOutputs({ repository: this.repository, schedule: this.schedule });
  }
}
