import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { isIPv4CIDR } from "../network/ip-ranges";
import type { NetworkSpec } from "./network-spec";

export interface NetworkArgs {
  readonly spec: NetworkSpec;
  /** Explicit Docker network name, e.g. `vpai-backend`. */
  readonly networkName: string;
  readonly provider: docker.Provider;
}

/** A user-defined bridge network with a fixed subnet. */
export class Network extends pulumi.ComponentResource {
  public readonly networkName: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:container:Network", name, {}, opts);
    if (!isIPv4CIDR(args.spec.subnet)) {
      throw new Error(`network ${name}: subnet "${args.spec.subnet}" is not an IPv4 CIDR`);
    }
    const network = new docker.Network(
      name,
      {
        name: args.networkName,
        driver: "bridge",
        internal: args.spec.internal,
        ipamConfigs: [{ subnet: args.spec.subnet }],
        ...(args.spec.options ? { options: { ...args.spec.options } } : {}),
        labels: [{ label: "infra.network", value: args.spec.key }],
      },
      { parent: this, provider: args.provider },
    );
    this.networkName = network.name;
    this.registerOutputs({ networkName: this.networkName });
  }
}
