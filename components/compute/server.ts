import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_SSH_PORT, sshPortOf, type ServerConfig } from "./server-spec";
import type { ImageRegistry } from "../container/image-registry";
import { findServerType } from "./server-types";
import { contentHash } from "./content-hash";
import { ServerRunning } from "./server-running";
import { SSHHostKey } from "./ssh-host-key";
import { dockerProviderOptions, urlHost } from "../remote/ssh-arguments";
import { writePinnedSSHFiles } from "../remote/ssh-client-config-file";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";
import { ufwScript, type HostFirewall } from "../network/firewall-rules";
import { cloudInitUserData, HOST_READY_COMMAND, hostPrepareScript } from "./host-setup";

export interface ServerArgs {
  readonly server: ServerConfig;
  /** Admin private key for SSH: host preparation and readiness checks. */
  readonly sshPrivateKey: pulumi.Input<string>;
  /**
   * Inbound rules for the host's own UFW and DOCKER-USER chain on a Hetzner
   * server (H6), a second layer behind the cloud firewall, with what its
   * private-network peers may reach; existing hosts get theirs from the
   * Firewall component over SSH.
   */
  readonly hostFirewall?: HostFirewall;
  /**
   * The Hetzner API token, for powering the server on again after a resize
   * (ServerRunning); required for Hetzner servers, unused for existing hosts.
   */
  readonly hcloudToken?: pulumi.Input<string>;
  /** The Hetzner firewall to attach at creation (F4); unused for existing hosts. */
  readonly hetznerFirewallId?: pulumi.Input<number>;
  /** Delete and rebuild protection plus Pulumi `protect` (F4, prod). */
  readonly protect: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** The registry every image comes from (infra:registry); its CA is installed with the host's files. */
  readonly imageRegistry?: ImageRegistry;
}

/**
 * A container host: a Hetzner Cloud server, or an existing VPS adopted by its
 * address. Either way it ends prepared (Docker with the platform's daemon
 * settings) and offers a Docker provider that is usable only once it is ready.
 */
export class Server extends pulumi.ComponentResource {
  public readonly publicAddress: pulumi.Output<string>;
  public readonly dockerProvider: docker.Provider;
  /** SSH connection settings for other components (the UFW firewall, backups), with the host key they pin (H9). */
  public readonly connection: SSHConnectionArgs;
  /**
   * The host's last preparation step: an existing host's `-prepare`, a
   * Hetzner server's readiness check or, when it has one, the `-host-ufw`
   * after it. Every command on the host and the Docker provider wait for it.
   */
  public readonly ready: pulumi.Resource;
  /** RAM in MB, for the memory budget. */
  public readonly memoryMb: number;
  /** The Hetzner server's id, for private-network attachments and load-balancer targets; unset for existing hosts. */
  public readonly hetznerServerId?: pulumi.Output<number>;

  constructor(name: string, args: ServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:compute:Server", name, {}, opts);
    const config = args.server;
    let ready: pulumi.Resource;

    if (config.provider === "hetzner") {
      if (args.hetznerFirewallId === undefined) throw new Error(`server ${name}: a Hetzner server needs a firewall attached (F4)`);
      if (args.hcloudToken === undefined)
        throw new Error(`server ${name}: a Hetzner server needs the hcloud:token secret, to power it on again after a resize`);
      const sshKey = new hcloud.SshKey(
        `${name}-ssh-key`,
        { name: `${name}-admin`, publicKey: config.sshPublicKey, labels: { ...args.labels } },
        { parent: this },
      );
      const volume =
        config.volumeGb === undefined
          ? undefined
          : new hcloud.Volume(
              `${name}-data`,
              {
                name: `${name}-data`,
                size: config.volumeGb,
                location: config.location,
                format: "ext4",
                deleteProtection: args.protect,
                labels: { ...args.labels },
              },
              { parent: this, protect: args.protect },
            );
      // Made before the server, so that its first boot installs it and the first connection pins it (H9).
      const hostKey = new SSHHostKey(`${name}-host-key`, { parent: this, protect: args.protect });
      const cloudInit = {
        sshUser: config.sshUser,
        sshPublicKey: config.sshPublicKey,
        ...(args.imageRegistry ? { imageRegistry: args.imageRegistry } : {}),
        ...(args.hostFirewall ? { firewall: args.hostFirewall } : {}),
      };
      // The user-data carries the host's private key, so it is a secret: encrypted in the state, masked in plans.
      const userData = pulumi.secret(
        pulumi
          .all([volume?.linuxDevice, hostKey.publicKey, hostKey.privateKey])
          .apply(([device, publicKey, privateKey]) =>
            cloudInitUserData({ ...cloudInit, ...(device === undefined ? {} : { dataVolumeDevice: device }), hostKey: { publicKey, privateKey } }),
          ),
      );
      const server = new hcloud.Server(
        name,
        {
          name,
          serverType: config.serverType,
          image: config.image,
          location: config.location,
          sshKeys: [sshKey.id],
          firewallIds: [args.hetznerFirewallId],
          userData,
          labels: { ...args.labels },
          publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
          deleteProtection: args.protect,
          rebuildProtection: args.protect,
          // A resize keeps the root disk's size, so a later move back to a
          // smaller type stays possible; the data lives on the volume.
          keepDisk: true,
        },
        // Both are ForceNew in the provider, and neither may ever rebuild a
        // server that holds data: user-data only runs at first boot, and the
        // SSH key is only installed at creation, so rotating the admin key
        // is a change on the running host, not a reason to replace it.
        { parent: this, protect: args.protect, ignoreChanges: ["userData", "sshKeys"] },
      );
      if (volume) {
        new hcloud.VolumeAttachment(
          `${name}-data`,
          { serverId: server.id.apply(Number), volumeId: volume.id.apply(Number), automount: false },
          { parent: this },
        );
      }
      this.publicAddress = server.ipv4Address;
      this.hetznerServerId = server.id.apply(Number);
      this.connection = {
        host: server.ipv4Address,
        port: sshPortOf(config),
        user: config.sshUser,
        privateKey: args.sshPrivateKey,
        hostPublicKey: hostKey.publicKey,
      };
      this.memoryMb = findMemoryMb(config.serverType);
      // The provider resizes a server by powering it off and changing its
      // type, and leaves it off; this powers it on again, and the readiness
      // check below runs again after every resize.
      const running = new ServerRunning(
        `${name}-running`,
        { serverId: server.id.apply(Number), serverType: config.serverType, token: args.hcloudToken },
        { parent: this },
      );
      ready = new SSHCommand(
        `${name}-ready`,
        { connection: this.connection, create: HOST_READY_COMMAND, triggers: [server.id, config.serverType] },
        { parent: this, dependsOn: [running] },
      );
      if (args.hostFirewall) {
        // The user-data applied these rules at first boot only (it is in
        // ignoreChanges). When a later phase changes what the host exposes,
        // or what its peers reach on the private network, the same script
        // runs again over SSH, so the host converges on the current rules.
        const script = ufwScript(args.hostFirewall.rules, args.hostFirewall.peers);
        ready = new SSHCommand(
          `${name}-host-ufw`,
          { connection: this.connection, create: "sudo bash -s", stdin: script, triggers: [contentHash(script)] },
          { parent: this, dependsOn: [ready] },
        );
      }
    } else {
      this.publicAddress = pulumi.output(config.address);
      this.connection = { host: config.address, port: sshPortOf(config), user: config.sshUser, privateKey: args.sshPrivateKey, hostPublicKey: config.hostKey };
      this.memoryMb = config.memoryMb;
      const script = hostPrepareScript({ sshUser: config.sshUser, ...(args.imageRegistry ? { imageRegistry: args.imageRegistry } : {}) });
      ready = new SSHCommand(
        `${name}-prepare`,
        {
          connection: this.connection,
          create: "sudo bash -s",
          stdin: script,
          // Runs again when, and only when, the script changes.
          triggers: [contentHash(script)],
        },
        { parent: this },
      );
    }

    this.ready = ready;
    const port = sshPortOf(config) !== DEFAULT_SSH_PORT ? `:${sshPortOf(config)}` : "";
    // The Docker provider runs ssh itself, so it gets the pin as a file (H9);
    // the options resolve once the file is written. Beside it goes a client
    // config with the provider's way in, which the deploy workflow checks
    // before `pulumi up` (R5).
    const knownHosts = pulumi
      .all([this.connection.host, this.connection.port, this.connection.hostPublicKey])
      .apply(([host, sshPort, hostKey]) => writePinnedSSHFiles({ host, port: sshPort, user: config.sshUser }, hostKey));
    this.dockerProvider = new docker.Provider(
      `${name}-docker`,
      {
        host: pulumi.interpolate`ssh://${config.sshUser}@${this.publicAddress.apply(urlHost)}${port}`,
        sshOpts: knownHosts.apply(dockerProviderOptions),
      },
      { parent: this, dependsOn: [ready] },
    );
    this.registerOutputs({ publicAddress: this.publicAddress, memoryMb: this.memoryMb });
  }
}

function findMemoryMb(serverType: string): number {
  const type = findServerType(serverType);
  if (!type) throw new Error(`unknown Hetzner server type "${serverType}"`);
  return type.memoryMb;
}
