import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerSettings } from "./container-settings";
import { removeSecretFilesCommand, secretFileEnv, secretFileProblems, secretFilesStdin, writeSecretFilesCommand } from "./secret-files";
import { imageName, publishAddress, type ServiceSpec } from "./service-spec";
import type { ImageRegistry } from "./image-registry";
import { HEALTH_GATE_SCRIPT, healthGateCommand, healthWaitSeconds } from "./health-gate";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";
import { LIVE_CONFIG_MOUNT, liveConfigHostPath, liveConfigProblems, liveConfigScript, liveConfigTrigger, liveFiles } from "./live-config";
import { releaseAlias } from "./release";
import { BACKUP_BEFORE_REPLACE_SCRIPT, backupBeforeReplaceCommand } from "../backup/before-replace";
import { contentHash } from "../compute/content-hash";

export interface ServiceArgs {
  readonly spec: ServiceSpec;
  /** Explicit container name on the host, e.g. `vpai-postgres`, or `fastapi-backend-<release id>` for a release. */
  readonly containerName: string;
  /** Docker on the target host, reached over SSH once the host is ready. */
  readonly provider: docker.Provider;
  /** Docker network name for each network key the spec lists. */
  readonly networks: Readonly<Record<string, pulumi.Input<string>>>;
  /** The spec's environment with secret references resolved (secrets stay Pulumi secrets). */
  readonly env: Readonly<Record<string, pulumi.Input<string>>>;
  /** Services that must be healthy before this one starts. */
  readonly after?: readonly pulumi.Resource[];
  /** Keep named volumes (the data) from being deleted by a destroy or a replace. */
  readonly protectVolumes: boolean;
  /** The registry the stack pulls every image from (infra:registry), if any. */
  readonly imageRegistry?: ImageRegistry;
  /**
   * The contents of the spec's secret files by name (Pulumi secrets), and SSH
   * to the host that writes them there once it is ready (hostReady): required
   * when the spec has any.
   */
  readonly secretFiles?: { readonly connection: SSHConnectionArgs; readonly contents: Readonly<Record<string, pulumi.Input<string>>> };
  /**
   * SSH to the host, for the health gate: a new container counts as started
   * once it is healthy, and a container that never gets there fails the
   * deploy with its health checks' output. Without it the Docker provider
   * waits, and reports only a timeout.
   */
  readonly healthGate?: { readonly connection: SSHConnectionArgs };
  /**
   * The current release of a service that releases with zero downtime
   * (release.ts): its container, image and gate are named by it, so a new
   * release is new resources beside the running ones, and Pulumi removes the
   * previous release only after everything else of the update, the ingress's
   * switch included, has succeeded. A release that fails leaves it serving.
   */
  readonly releaseId?: string;
  /**
   * For a service whose data the backup takes, on a host with the backup job:
   * the job runs before its container is replaced (a new image, new
   * settings), and a failed backup stops the replacement. `installed` is the
   * job's install step: the backup runs the job as it is after this update,
   * never while a changed job is being reinstalled.
   */
  readonly backupBeforeReplace?: { readonly connection: SSHConnectionArgs; readonly installed: pulumi.Resource };
  /** The host's readiness step (its preparation, or its firewall on a Hetzner server): what every host command waits for first. */
  readonly hostReady?: pulumi.Resource;
}

/** One container with its image and named volumes. */
export class Service extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly image: string;
  public readonly container: docker.Container;
  /** The container's health gate, when it has one: what "started" means for what waits on this service. */
  public readonly healthy?: SSHCommand;
  /** The command that writes the container's secret files on its host, when it has any. */
  public readonly secrets?: SSHCommand;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:container:Service", name, {}, opts);
    const problems = serviceProblems(args);
    if (problems.length > 0) throw new Error(`service ${name}: ${problems.join("; ")}`);

    const settings = containerSettings(args.spec, args.containerName);
    this.image = imageName(args.spec.image, args.imageRegistry);
    const childOptions = { parent: this, provider: args.provider };
    const release = args.releaseId;
    // A release's resources carry its id (its container name does too: the model's containerNames).
    const childName = release === undefined ? name : `${name}-${release}`;
    const containerName = args.containerName;
    // Volumes hold data every release shares: they are named after the service, never after one release.
    const volumePrefix = release === undefined ? args.containerName : args.containerName.slice(0, -`-${release}`.length);
    const aliases = release === undefined ? [args.spec.name] : [args.spec.name, releaseAlias(args.spec.name, release)];

    // keepLocally: removing a service from the graph must not delete an image
    // another container (or a rollback) still uses.
    const image = new docker.RemoteImage(`${childName}-image`, { name: this.image, keepLocally: true }, childOptions);

    const live = liveFiles(args.spec);
    const liveConfig =
      live.length > 0 && args.spec.liveReload && args.healthGate
        ? new SSHCommand(
            `${name}-live-config`,
            {
              connection: args.healthGate.connection,
              create: "sudo bash -s",
              stdin: liveConfigScript(args.containerName, live, args.spec.liveReload),
              // The files as data beside the script: what the graph policy judges (liveConfigOf).
              triggers: [liveConfigTrigger(args.containerName, live)],
            },
            // The switch: it waits for what the configuration points at, the new
            // releases of the upstreams behind their gates, and for the host.
            { parent: this, dependsOn: [...(args.hostReady ? [args.hostReady] : []), ...(args.after ?? [])] },
          )
        : undefined;

    const volumes = args.spec.volumes.map(
      (mount) =>
        new docker.Volume(
          `${name}-${mount.volume}`,
          { name: `${volumePrefix}-${mount.volume}`, labels: [{ label: "infra.service", value: args.spec.name }] },
          { ...childOptions, protect: args.protectVolumes, retainOnDelete: args.protectVolumes },
        ),
    );

    // The files exist before the container that mounts them, in a directory
    // named for the container: a release's files are its own, written beside
    // the running release's and removed with it. A changed secret reruns the
    // command (its stdin changed), which restarts the container.
    const files = args.spec.secretFiles;
    const secrets =
      files.length > 0 && args.secretFiles
        ? new SSHCommand(
            `${childName}-secrets`,
            {
              connection: args.secretFiles.connection,
              create: writeSecretFilesCommand(containerName, files),
              stdin: pulumi.secret(pulumi.all(files.map((file) => args.secretFiles!.contents[file.name]!)).apply((values) => secretFilesStdin(values))),
              delete: removeSecretFilesCommand(containerName),
            },
            { parent: this, ...(args.hostReady ? { dependsOn: [args.hostReady] } : {}) },
          )
        : undefined;
    this.secrets = secrets;

    const containerArgs: docker.ContainerArgs = {
      name: containerName,
      image: image.imageId,
      hostname: args.spec.name,
      networksAdvanced: args.spec.networks.map((network) => ({ name: args.networks[network]!, aliases })),
      envs: Object.entries({ ...args.env, ...secretFileEnv(args.spec) })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => pulumi.interpolate`${key}=${value}`),
      volumes: [
        ...args.spec.volumes.map((mount, index) => ({ volumeName: volumes[index]!.name, containerPath: mount.target, readOnly: mount.readOnly ?? false })),
        ...settings.binds,
        ...(live.length > 0 ? [{ hostPath: liveConfigHostPath(args.containerName), containerPath: LIVE_CONFIG_MOUNT, readOnly: true }] : []),
      ],
      ports: settings.ports,
      healthcheck: settings.healthcheck,
      memory: settings.memory,
      memorySwap: settings.memorySwap,
      restart: settings.restart,
      ...(settings.maxRetryCount === undefined ? {} : { maxRetryCount: settings.maxRetryCount }),
      logDriver: settings.logDriver,
      logOpts: settings.logOpts,
      securityOpts: settings.securityOpts,
      capabilities: settings.capabilities,
      ulimits: settings.ulimits,
      readOnly: settings.readOnly,
      tmpfs: settings.tmpfs,
      ...(settings.user === undefined ? {} : { user: settings.user }),
      ...(settings.command === undefined ? {} : { command: settings.command }),
      ...(settings.entrypoints === undefined ? {} : { entrypoints: settings.entrypoints }),
      uploads: settings.uploads,
      labels: settings.labels,
      // Startup order means "healthy first": the gate below waits, or else the provider does.
      wait: args.healthGate === undefined,
      waitTimeout: healthWaitSeconds(args.spec.healthcheck),
    };

    // The data the old container holds goes into a snapshot first; the
    // trigger is everything the container is created with, so the job runs
    // exactly when Docker would get a new container (the hash is kept
    // secret: a service that waives C15 has passwords in its environment).
    const backupFirst =
      args.spec.backup && args.backupBeforeReplace
        ? new SSHCommand(
            `${childName}-backup-first`,
            {
              connection: args.backupBeforeReplace.connection,
              create: backupBeforeReplaceCommand(containerName),
              stdin: BACKUP_BEFORE_REPLACE_SCRIPT,
              triggers: [pulumi.secret(pulumi.output(containerArgs).apply((resolved) => contentHash(JSON.stringify(resolved))))],
            },
            { parent: this, dependsOn: [...(args.hostReady ? [args.hostReady] : []), args.backupBeforeReplace.installed, ...(args.after ?? [])] },
          )
        : undefined;

    this.container = new docker.Container(
      childName,
      containerArgs,
      // The container name is fixed (per release, for a release), so a
      // replacement must remove the old one first. A release changes its name
      // and so is never a replacement; a rotated secret in its environment is,
      // while a rotated secret file restarts the container in place.
      {
        ...childOptions,
        dependsOn: [...(args.after ?? []), ...(secrets ? [secrets] : []), ...(liveConfig ? [liveConfig] : []), ...(backupFirst ? [backupFirst] : [])],
        deleteBeforeReplace: true,
      },
    );

    if (args.healthGate) {
      // Runs once per container: the container's id is its trigger.
      this.healthy = new SSHCommand(
        `${childName}-healthy`,
        {
          connection: args.healthGate.connection,
          create: healthGateCommand(containerName, healthWaitSeconds(args.spec.healthcheck)),
          stdin: HEALTH_GATE_SCRIPT,
          triggers: [this.container.id],
        },
        { parent: this },
      );
    }

    this.containerName = this.container.name;
    this.registerOutputs({ containerName: this.containerName, image: this.image });
  }
}

function isLoopbackOrPrivate(address: string): boolean {
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(address) || address === "::1";
}

function serviceProblems(args: ServiceArgs): string[] {
  const problems: string[] = [...liveConfigProblems(args.spec)];
  if (liveFiles(args.spec).length > 0 && !args.healthGate) problems.push("its live files need SSH to the host (healthGate) to be written and reloaded");
  if (args.releaseId !== undefined && !/^[0-9a-f]+$/.test(args.releaseId)) problems.push(`release id "${args.releaseId}" is not hexadecimal`);
  if (args.releaseId !== undefined && !args.containerName.endsWith(`-${args.releaseId}`))
    problems.push(`container name "${args.containerName}" does not carry its release id ${args.releaseId}`);
  for (const network of args.spec.networks) {
    if (!(network in args.networks)) problems.push(`network "${network}" is not defined (known: ${Object.keys(args.networks).join(", ")})`);
  }
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(args.containerName)) problems.push(`container name "${args.containerName}" is not a valid Docker name`);
  if (args.spec.memoryMb < 6) problems.push("memoryMb must be at least 6 (Docker's minimum)");
  problems.push(...secretFileProblems(args.spec));
  if (args.spec.secretFiles.length > 0) {
    if (!args.secretFiles) problems.push(`it reads ${args.spec.secretFiles.length} secret file(s), but no connection writes them on its host`);
    else
      for (const file of args.spec.secretFiles)
        if (args.secretFiles.contents[file.name] === undefined) problems.push(`secret file ${file.name} has no content`);
  }
  for (const port of args.spec.ports) {
    const address = publishAddress(port);
    if (address !== undefined && args.spec.role !== "ingress" && !isLoopbackOrPrivate(address)) {
      problems.push(`port ${port.container} is published on ${address}; only the ingress may publish on a public address, others bind 127.0.0.1 (C11)`);
    }
  }
  return problems;
}
