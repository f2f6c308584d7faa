import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerSettings } from "./container-settings";
import { removeSecretFilesCommand, secretFileEnv, secretFileProblems, secretFilesStdin, writeSecretFilesCommand } from "./secret-files";
import { imageName, publishAddress, type ServiceSpec } from "./service-spec";
import type { ImageRegistry } from "./image-registry";
import { HEALTH_GATE_SCRIPT, healthGateCommand, healthWaitSeconds } from "./health-gate";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";

export interface ServiceArgs {
  readonly spec: ServiceSpec;
  /** Explicit container name on the host, e.g. `vpai-postgres`. */
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
   * The contents of the spec's secret files by name (Pulumi secrets), SSH to
   * the host that writes them there, and the host's last preparation step
   * (Server.ready: sudo and Docker are there): required when the spec has any.
   */
  readonly secretFiles?: { readonly connection: SSHConnectionArgs; readonly contents: Readonly<Record<string, pulumi.Input<string>>>; readonly ready?: pulumi.Resource };
  /**
   * SSH to the host, for the health gate: a new container counts as started
   * once it is healthy, and a container that never gets there fails the
   * deploy with its health checks' output. Without it the Docker provider
   * waits, and reports only a timeout.
   */
  readonly healthGate?: { readonly connection: SSHConnectionArgs };
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

    // keepLocally: removing a service from the graph must not delete an image
    // another container (or a rollback) still uses.
    const image = new docker.RemoteImage(`${name}-image`, { name: this.image, keepLocally: true }, childOptions);

    const volumes = args.spec.volumes.map(
      (mount) =>
        new docker.Volume(
          `${name}-${mount.volume}`,
          { name: `${args.containerName}-${mount.volume}`, labels: [{ label: "infra.service", value: args.spec.name }] },
          { ...childOptions, protect: args.protectVolumes, retainOnDelete: args.protectVolumes },
        ),
    );

    // The files exist before the container that mounts them; a changed secret
    // reruns the command (its stdin changed), which restarts the container.
    const files = args.spec.secretFiles;
    if (files.length > 0 && args.secretFiles) {
      const contents = args.secretFiles.contents;
      this.secrets = new SSHCommand(
        `${name}-secrets`,
        {
          connection: args.secretFiles.connection,
          create: writeSecretFilesCommand(args.containerName, files),
          stdin: pulumi.secret(pulumi.all(files.map((file) => contents[file.name]!)).apply((values) => secretFilesStdin(values))),
          delete: removeSecretFilesCommand(args.containerName),
        },
        { parent: this, ...(args.secretFiles.ready ? { dependsOn: [args.secretFiles.ready] } : {}) },
      );
    }

    this.container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.imageId,
        hostname: args.spec.name,
        networksAdvanced: args.spec.networks.map((network) => ({ name: args.networks[network]!, aliases: [args.spec.name] })),
        envs: Object.entries({ ...args.env, ...secretFileEnv(args.spec) })
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => pulumi.interpolate`${key}=${value}`),
        volumes: [
          ...args.spec.volumes.map((mount, index) => ({ volumeName: volumes[index]!.name, containerPath: mount.target, readOnly: mount.readOnly ?? false })),
          ...settings.binds,
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
      },
      // The container name is fixed, so a replacement must remove the old one first.
      { ...childOptions, dependsOn: [...(args.after ?? []), ...(this.secrets ? [this.secrets] : [])], deleteBeforeReplace: true },
    );

    if (args.healthGate) {
      // Runs once per container: the container's id is its trigger.
      this.healthy = new SSHCommand(
        `${name}-healthy`,
        { connection: args.healthGate.connection, create: healthGateCommand(args.containerName, healthWaitSeconds(args.spec.healthcheck)), stdin: HEALTH_GATE_SCRIPT, triggers: [this.container.id] },
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
  const problems: string[] = [];
  for (const network of args.spec.networks) {
    if (!(network in args.networks)) problems.push(`network "${network}" is not defined (known: ${Object.keys(args.networks).join(", ")})`);
  }
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(args.containerName)) problems.push(`container name "${args.containerName}" is not a valid Docker name`);
  if (args.spec.memoryMb < 6) problems.push("memoryMb must be at least 6 (Docker's minimum)");
  problems.push(...secretFileProblems(args.spec));
  if (args.spec.secretFiles.length > 0) {
    if (!args.secretFiles) problems.push(`it reads ${args.spec.secretFiles.length} secret file(s), but no connection writes them on its host`);
    else for (const file of args.spec.secretFiles) if (args.secretFiles.contents[file.name] === undefined) problems.push(`secret file ${file.name} has no content`);
  }
  for (const port of args.spec.ports) {
    const address = publishAddress(port);
    if (address !== undefined && args.spec.role !== "ingress" && !isLoopbackOrPrivate(address)) {
      problems.push(`port ${port.container} is published on ${address}; only the ingress may publish on a public address, others bind 127.0.0.1 (C11)`);
    }
  }
  return problems;
}
