import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../compute/content-hash";
import { SSHCommand, type SSHConnectionArgs } from "../remote/ssh-command";
import { firewallRules, hetznerRules, sshSourceProblems, ufwScript, type Exposure, type FirewallPolicy, type FirewallRule } from "./firewall-rules";

/**
 * Where the rules are enforced: Hetzner's cloud firewall, or UFW on a host
 * reached over SSH once it is prepared (Server.ready: the preparation
 * installs ufw).
 */
export type FirewallTarget = { readonly kind: "hetzner" } | { readonly kind: "ufw"; readonly connection: SSHConnectionArgs; readonly ready: pulumi.Resource };

export interface FirewallArgs {
  readonly exposed: readonly Exposure[];
  readonly policy: FirewallPolicy;
  readonly target: FirewallTarget;
  readonly labels?: Readonly<Record<string, string>>;
}

export class Firewall extends pulumi.ComponentResource {
  /** The rules this firewall enforces, for the plan's firewall matrix. */
  public readonly rules: readonly FirewallRule[];
  /** Set for a Hetzner firewall; the server attaches it at creation (F4). */
  public readonly hetznerFirewallId?: pulumi.Output<number>;

  constructor(name: string, args: FirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:network:Firewall", name, {}, opts);
    const problems = sshSourceProblems(args.policy.adminCidrs).map((problem) => `admin CIDRs ${problem}`);
    if (args.policy.adminCidrs.length === 0) problems.push("no admin CIDR: SSH would be unreachable");
    if (problems.length > 0) throw new Error(`firewall ${name}: ${problems.join("; ")}`);

    this.rules = firewallRules(args.exposed, args.policy);
    if (args.target.kind === "hetzner") {
      const firewall = new hcloud.Firewall(name, { name, rules: hetznerRules(this.rules), labels: { ...args.labels } }, { parent: this });
      this.hetznerFirewallId = firewall.id.apply(Number);
    } else {
      const script = ufwScript(this.rules);
      new SSHCommand(
        `${name}-ufw`,
        {
          connection: args.target.connection,
          create: "sudo bash -s",
          stdin: script,
          // Runs again when, and only when, the rendered rules change.
          triggers: [contentHash(script)],
        },
        { parent: this, dependsOn: [args.target.ready] },
      );
    }
    this.registerOutputs({ rules: this.rules });
  }
}
