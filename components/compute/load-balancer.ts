import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { balancedServices, type HealthCheckTarget } from "./load-balancer-services";

export interface LoadBalancerTargetArgs {
  readonly name: string;
  readonly serverId: pulumi.Input<number>;
  /** The target's attachment to the private network; the balancer reaches it there. */
  readonly attachment: pulumi.Resource;
}

export interface LoadBalancerArgs {
  readonly type: string;
  readonly location: string;
  readonly subnetId: pulumi.Input<string>;
  readonly privateIp: string;
  readonly ports: readonly number[];
  readonly healthCheck: HealthCheckTarget;
  /** PROXY protocol on every service, so the targets see each client's address (F3). */
  readonly proxyProtocol: boolean;
  readonly targets: readonly LoadBalancerTargetArgs[];
  readonly protect: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A Hetzner load balancer in front of the servers that run the ingress (seed
 * 004, phase 4): on the private network, forwarding TCP to each target's
 * private address, with an HTTP health check per service.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  public readonly publicAddress: pulumi.Output<string>;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:compute:LoadBalancer", name, {}, opts);
    if (args.targets.length === 0) throw new Error(`load balancer ${name}: no target`);
    const services = balancedServices(args.ports, args.healthCheck, args.proxyProtocol);

    const balancer = new hcloud.LoadBalancer(
      name,
      {
        name,
        loadBalancerType: args.type,
        location: args.location,
        algorithm: { type: "round_robin" },
        deleteProtection: args.protect,
        labels: { ...args.labels },
      },
      { parent: this },
    );
    const balancerId = balancer.id.apply(Number);
    const network = new hcloud.LoadBalancerNetwork(
      `${name}-network`,
      { loadBalancerId: balancerId, subnetId: args.subnetId, ip: args.privateIp, enablePublicInterface: true },
      { parent: this },
    );
    for (const target of args.targets) {
      new hcloud.LoadBalancerTarget(
        `${name}-${target.name}`,
        { type: "server", loadBalancerId: balancerId, serverId: target.serverId, usePrivateIp: true },
        // Private targets need both ends on the network first, or Hetzner refuses them.
        { parent: this, dependsOn: [network, target.attachment] },
      );
    }
    for (const service of services) {
      new hcloud.LoadBalancerService(
        `${name}-${service.listenPort}`,
        {
          loadBalancerId: balancer.id,
          protocol: service.protocol,
          listenPort: service.listenPort,
          destinationPort: service.destinationPort,
          proxyprotocol: service.proxyprotocol,
          healthCheck: { ...service.healthCheck, http: { ...service.healthCheck.http, statusCodes: [...service.healthCheck.http.statusCodes] } },
        },
        { parent: this },
      );
    }
    this.publicAddress = balancer.ipv4;
    this.registerOutputs({ publicAddress: this.publicAddress });
  }
}
