import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { cidrContainsCIDR, isAssignableIn } from "./ip-ranges";

export interface PrivateNetworkMember {
  /** Logical server name; names the attachment, so adding a server never renames another's. */
  readonly name: string;
  readonly serverId: pulumi.Input<number>;
  readonly ip: string;
}

export interface PrivateNetworkArgs {
  readonly ipRange: string;
  readonly subnet: string;
  readonly networkZone: string;
  readonly members: readonly PrivateNetworkMember[];
  readonly protect: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A Hetzner private network with one cloud subnet, and each server attached
 * at a fixed address (seed 004, phase 3). Attachments are their own
 * resources, not an argument of the server, so joining the network later
 * changes nothing about a server that already exists.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  public readonly networkId: pulumi.Output<number>;
  public readonly subnetId: pulumi.Output<string>;
  /** The attachment of each member, by server name; whatever listens on the private address waits for it. */
  public readonly attachments: Readonly<Record<string, hcloud.ServerNetwork>>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:network:PrivateNetwork", name, {}, opts);
    const problems: string[] = [];
    if (!cidrContainsCIDR(args.ipRange, args.subnet)) problems.push(`subnet ${args.subnet} is not inside ${args.ipRange}`);
    const seen = new Set<string>();
    for (const member of args.members) {
      if (!isAssignableIn(args.subnet, member.ip)) problems.push(`${member.name}: ${member.ip} is not assignable in ${args.subnet}`);
      if (seen.has(member.ip)) problems.push(`${member.name}: ${member.ip} is taken twice`);
      seen.add(member.ip);
    }
    if (problems.length > 0) throw new Error(`private network ${name}: ${problems.join("; ")}`);

    const network = new hcloud.Network(
      name,
      { name, ipRange: args.ipRange, deleteProtection: args.protect, labels: { ...args.labels } },
      { parent: this, protect: args.protect },
    );
    this.networkId = network.id.apply(Number);
    const subnet = new hcloud.NetworkSubnet(
      `${name}-subnet`,
      { networkId: this.networkId, type: "cloud", networkZone: args.networkZone, ipRange: args.subnet },
      { parent: this },
    );
    this.subnetId = subnet.id;
    const attachments: Record<string, hcloud.ServerNetwork> = {};
    for (const member of args.members) {
      attachments[member.name] = new hcloud.ServerNetwork(
        `${name}-${member.name}`,
        { serverId: member.serverId, subnetId: subnet.id, ip: member.ip },
        { parent: this },
      );
    }
    this.attachments = attachments;
    this.registerOutputs({ networkId: this.networkId, subnetId: this.subnetId });
  }
}
