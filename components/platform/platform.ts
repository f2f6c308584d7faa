import * as pulumi from "@pulumi/pulumi";

/**
 * The whole platform of a stack: its hosts, and what serves them all (the
 * private network, the load balancer, the buckets, DNS). It registers nothing
 * itself; it gives the resource tree the shape of the system.
 */
export class Platform extends pulumi.ComponentResource {
  constructor(name: string, args: { readonly blueprint: string; readonly environment: string }, opts?: pulumi.ComponentResourceOptions) {
    super("infra:platform:Platform", name, {}, opts);
    this.registerOutputs({ blueprint: args.blueprint, environment: args.environment });
  }
}
