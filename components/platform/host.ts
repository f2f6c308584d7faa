import * as pulumi from "@pulumi/pulumi";

/**
 * One server and everything on it: its firewall, the machine, its backup
 * job, its Docker networks and containers. It registers nothing itself; the
 * tree then reads like the seeds' diagrams, a box per server.
 */
export class Host extends pulumi.ComponentResource {
  constructor(name: string, args: { readonly server: string }, opts?: pulumi.ComponentResourceOptions) {
    super("infra:platform:Host", name, {}, opts);
    this.registerOutputs({ server: args.server });
  }
}
