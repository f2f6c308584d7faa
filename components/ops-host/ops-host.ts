import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../compute/content-hash";
import { Server } from "../compute/server";
import { SSHHostKey } from "../compute/ssh-host-key";
import { Firewall } from "../network/firewall";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";
import {
  knownHostsSteps,
  PULL_ACCOUNT,
  pullAuthorizedKey,
  pullEnvironmentFile,
  pullInstallScript,
  pullPaths,
  PULL_ACCOUNT_COMMAND,
  PULL_KEY_FILE,
  REMOVE_PULL_ACCOUNT_COMMAND,
  restrictedKey,
  writeSecretFileCommand,
} from "../backup/pull";
import { hubConfig, INSTALL_WIREGUARD_COMMAND, memberConfig, REMOVE_WIREGUARD_COMMAND } from "../vpn/wireguard-spec";
import { WireGuardKey } from "../vpn/wireguard-key";
import type { OpsHostPlan } from "./ops-host-spec";
import {
  OPS_STATUS_KEY_FILE,
  OPS_STATUS_RECEIVER,
  opsMonitoringInstallScript,
  opsStatusInstallScript,
  opsStatusReceiverInstallScript,
  opsStatusScript,
} from "./ops-monitoring";

/** A server of the stack as the ops host reaches it: over SSH for its VPN membership and its pull account. */
export interface OpsHostMember {
  readonly name: string;
  /** The prefix of the member's own resources (`vpai-main`): commands that run on it are named with it. */
  readonly resourceName: string;
  readonly connection: SSHConnectionArgs;
  readonly ready: pulumi.Resource;
}

export interface OpsHostArgs {
  readonly plan: OpsHostPlan;
  readonly members: readonly OpsHostMember[];
  readonly adminCidrs: readonly string[];
  readonly sshPrivateKey: pulumi.Input<string>;
  readonly hcloudToken: pulumi.Input<string>;
  readonly protect: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly region: string;
  readonly resticPassword: pulumi.Input<string>;
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
  readonly heartbeatUrl?: pulumi.Input<string>;
}

/**
 * Seed 002's ops host: a Hetzner server behind a firewall that opens only
 * the VPN's port and SSH from the admin networks; the WireGuard hub every
 * server of the stack joins with a key the program makes; the pull of each
 * server's dumps over the VPN into restic; and the uptime checks.
 */
export class OpsHost extends pulumi.ComponentResource {
  public readonly publicAddress: pulumi.Output<string>;
  public readonly hubPublicKey: pulumi.Output<string>;

  constructor(name: string, args: OpsHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:ops:OpsHost", name, {}, opts);
    const { plan } = args;
    const policy = { adminCidrs: args.adminCidrs, behindCloudflare: false, sshPort: 22 };
    const firewall = new Firewall(`${name}-firewall`, { exposed: plan.exposed, policy, target: { kind: "hetzner" }, labels: args.labels }, { parent: this });
    const server = new Server(
      name,
      {
        server: plan.server,
        sshPrivateKey: args.sshPrivateKey,
        hcloudToken: args.hcloudToken,
        hetznerFirewallId: firewall.hetznerFirewallId!,
        hostFirewall: { rules: plan.firewall },
        protect: args.protect,
        labels: args.labels,
      },
      { parent: this },
    );
    this.publicAddress = server.publicAddress;

    // The VPN: a key per end, made by the program; the private halves reach their hosts only inside wg0.conf, from stdin.
    const hubKey = new WireGuardKey(`${name}-wireguard-key`, { host: plan.server.name }, { parent: this, protect: args.protect });
    this.hubPublicKey = hubKey.publicKey;
    const memberKeys = new Map(
      args.members.map((member) => [
        member.name,
        new WireGuardKey(`${member.resourceName}-wireguard-key`, { host: member.name }, { parent: this, protect: args.protect }),
      ]),
    );
    const memberPublicKeys = pulumi.all(Object.fromEntries([...memberKeys].map(([member, key]) => [member, key.publicKey])));
    const hubWireGuard = pulumi.secret(pulumi.all([hubKey.privateKey, memberPublicKeys]).apply(([privateKey, keys]) => hubConfig(plan.vpn, privateKey, keys)));
    const hub = new SSHCommand(
      `${name}-wireguard`,
      {
        connection: server.connection,
        create: INSTALL_WIREGUARD_COMMAND,
        stdin: hubWireGuard,
        delete: REMOVE_WIREGUARD_COMMAND,
        triggers: [pulumi.secret(hubWireGuard.apply(contentHash))],
      },
      { parent: this, dependsOn: [server.ready], deleteBeforeReplace: true },
    );
    const joined: pulumi.Resource[] = [];
    for (const member of args.members) {
      const config = pulumi.secret(
        pulumi
          .all([memberKeys.get(member.name)!.privateKey, hubKey.publicKey, server.publicAddress])
          .apply(([privateKey, hubPublicKey, endpoint]) => memberConfig(plan.vpn, member.name, privateKey, hubPublicKey, endpoint)),
      );
      joined.push(
        new SSHCommand(
          `${member.resourceName}-wireguard`,
          {
            connection: member.connection,
            create: INSTALL_WIREGUARD_COMMAND,
            stdin: config,
            delete: REMOVE_WIREGUARD_COMMAND,
            triggers: [pulumi.secret(config.apply(contentHash))],
          },
          { parent: this, dependsOn: [member.ready, hub], deleteBeforeReplace: true },
        ),
      );
    }

    // Two keys of the ops host's, each authorized on every server for one forced command, from the hub's VPN address only:
    // rrsync -ro of the backup export, and the receiver of the ops host's status.
    const pullKey = new SSHHostKey(`${name}-pull-key`, { parent: this, protect: args.protect });
    const statusKey = new SSHHostKey(`${name}-status-key`, { parent: this, protect: args.protect });
    const keyFiles = [
      [PULL_KEY_FILE, pullKey],
      [OPS_STATUS_KEY_FILE, statusKey],
    ] as const;
    const secretsWritten: pulumi.Resource[] = keyFiles.map(
      ([path, key]) =>
        new SSHCommand(
          `${name}-${path.split("/").pop()!.replace(".", "-")}`,
          {
            connection: server.connection,
            create: writeSecretFileCommand(path),
            stdin: pulumi.secret(key.privateKey),
            triggers: [pulumi.secret(key.privateKey.apply(contentHash))],
          },
          { parent: this, dependsOn: [server.ready] },
        ),
    );
    const authorizedKeys = pulumi
      .all([pullKey.publicKey, statusKey.publicKey])
      .apply(
        ([pull, status]) =>
          `${plan.pulls.length > 0 ? pullAuthorizedKey(pull, plan.vpn.hubAddress) : ""}${restrictedKey(status, plan.vpn.hubAddress, OPS_STATUS_RECEIVER)}`,
      );
    const receiver = opsStatusReceiverInstallScript(PULL_ACCOUNT);
    const accounts: pulumi.Resource[] = [];
    for (const member of args.members) {
      const account = new SSHCommand(
        `${member.resourceName}-ops-account`,
        { connection: member.connection, create: PULL_ACCOUNT_COMMAND, stdin: authorizedKeys, delete: REMOVE_PULL_ACCOUNT_COMMAND, triggers: [authorizedKeys] },
        { parent: this, dependsOn: [member.ready] },
      );
      accounts.push(
        account,
        new SSHCommand(
          `${member.resourceName}-status-receiver`,
          { connection: member.connection, create: "sudo bash -s", stdin: receiver, triggers: [contentHash(receiver)] },
          { parent: this, dependsOn: [member.ready, account] },
        ),
      );
    }
    for (const pull of plan.pulls) {
      const paths = pullPaths(pull.server);
      const environment = pulumi.secret(
        pulumi
          .all([args.resticPassword, args.accessKeyId, args.secretAccessKey, args.heartbeatUrl])
          .apply(([resticPassword, accessKeyId, secretAccessKey, heartbeatUrl]) =>
            pullEnvironmentFile(pull, paths, { resticPassword, accessKeyId, secretAccessKey, ...(heartbeatUrl ? { heartbeatUrl } : {}) }, args.region),
          ),
      );
      secretsWritten.push(
        new SSHCommand(
          `${name}-${pull.server}-pull-environment`,
          {
            connection: server.connection,
            create: writeSecretFileCommand(paths.envFile),
            stdin: environment,
            triggers: [pulumi.secret(environment.apply(contentHash))],
          },
          { parent: this, dependsOn: [server.ready] },
        ),
      );
    }
    const hostKeys = pulumi.all(Object.fromEntries(args.members.map((member) => [member.name, pulumi.output(member.connection.hostPublicKey)])));
    if (plan.pulls.length > 0) {
      const install = hostKeys.apply((keys) => pullInstallScript(plan.pulls, plan.pullSchedule, keys));
      new SSHCommand(
        `${name}-pull-install`,
        { connection: server.connection, create: "sudo bash -s", stdin: install, triggers: [install.apply(contentHash)] },
        { parent: this, dependsOn: [server.ready, hub, ...joined, ...secretsWritten, ...accounts] },
      );
    }

    // The uptime checks, as code: Prometheus with the blackbox exporter, from the same declarations as the routes and services.
    const monitoringScript = opsMonitoringInstallScript(plan.monitoring);
    const checks = new SSHCommand(
      `${name}-checks`,
      { connection: server.connection, create: "sudo bash -s", stdin: monitoringScript, triggers: [contentHash(monitoringScript)] },
      { parent: this, dependsOn: [server.ready, hub, ...joined] },
    );
    // The monitor of the monitor: the ops host's status, sent to every server, whose own alerting notices when it stops.
    const members = plan.vpn.members
      .filter((member) => member.kind === "server")
      .map((member) => ({ name: member.name, address: member.address, sshPort: plan.monitoring.input.sshPorts[member.name] ?? 22 }));
    const status = hostKeys.apply((keys) => opsStatusInstallScript(opsStatusScript(members, plan.pulls, PULL_ACCOUNT), knownHostsSteps(members, keys)));
    new SSHCommand(
      `${name}-status`,
      { connection: server.connection, create: "sudo bash -s", stdin: status, triggers: [status.apply(contentHash)] },
      { parent: this, dependsOn: [server.ready, checks, ...secretsWritten, ...accounts] },
    );
    this.registerOutputs({ publicAddress: this.publicAddress, hubPublicKey: this.hubPublicKey });
  }
}
