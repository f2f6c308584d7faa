import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ranges";

/** A port some service opens to the outside world. */
export interface Exposure {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  readonly service: string;
}

/** One inbound allow rule; everything not allowed is dropped. */
export interface FirewallRule {
  readonly description: string;
  readonly protocol: "tcp" | "udp" | "icmp";
  /** Absent for ICMP. */
  readonly port?: number;
  readonly sourceCidrs: readonly string[];
}

export const SSH_PORT = 22;
export const ANYWHERE = ["0.0.0.0/0", "::/0"] as const;

export interface FirewallPolicy {
  readonly adminCidrs: readonly string[];
  /** When Cloudflare proxies the web names, the web ports admit only its edge (F3). */
  readonly behindCloudflare: boolean;
}

/**
 * Inbound rules for one server: SSH from the admin CIDRs only (F1), each
 * exposed port from anywhere or from Cloudflare (F3), and ICMP so path-MTU
 * discovery and ping keep working. Nothing else is opened (F2).
 */
export function firewallRules(exposed: readonly Exposure[], policy: FirewallPolicy): FirewallRule[] {
  const webSources = policy.behindCloudflare ? [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6] : [...ANYWHERE];
  const ports = new Map<string, Exposure[]>();
  for (const exposure of exposed) {
    const key = `${exposure.protocol}/${exposure.port}`;
    ports.set(key, [...(ports.get(key) ?? []), exposure]);
  }
  const rules: FirewallRule[] = [
    { description: "ssh from admin networks", protocol: "tcp", port: SSH_PORT, sourceCidrs: [...policy.adminCidrs] },
  ];
  for (const [, exposures] of [...ports.entries()].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
    const first = exposures[0]!;
    const services = [...new Set(exposures.map((exposure) => exposure.service))].join(", ");
    rules.push({
      description: `${first.protocol}/${first.port} for ${services}${policy.behindCloudflare ? " from Cloudflare" : ""}`,
      protocol: first.protocol,
      port: first.port,
      sourceCidrs: webSources,
    });
  }
  rules.push({ description: "icmp", protocol: "icmp", sourceCidrs: [...ANYWHERE] });
  return rules;
}

/** The same rules as a Hetzner Cloud firewall's `rules` input. */
export function hetznerRules(rules: readonly FirewallRule[]): { direction: "in"; protocol: string; port?: string; sourceIps: string[]; description: string }[] {
  return rules.map((rule) => ({
    direction: "in" as const,
    protocol: rule.protocol,
    ...(rule.port === undefined ? {} : { port: String(rule.port) }),
    sourceIps: [...rule.sourceCidrs],
    // Hetzner limits descriptions to 255 characters.
    description: rule.description.slice(0, 255),
  }));
}

/**
 * The same rules for UFW on a host that has no cloud firewall. Reset then
 * re-add makes the script idempotent: it converges on exactly these rules.
 */
export function ufwScript(rules: readonly FirewallRule[]): string {
  const lines = [
    "#!/usr/bin/env bash",
    "# Host firewall rendered from the platform's exposures; re-running converges on these rules.",
    "set -euo pipefail",
    "export DEBIAN_FRONTEND=noninteractive",
    "command -v ufw >/dev/null || apt-get install -y -q ufw",
    "ufw --force reset >/dev/null",
    "ufw default deny incoming",
    "ufw default allow outgoing",
    // Routed traffic to containers is filtered by DOCKER-USER, not here.
    "ufw default allow routed",
  ];
  for (const rule of rules) {
    if (rule.protocol === "icmp") continue; // UFW's before.rules already accept ICMP echo
    for (const source of rule.sourceCidrs) {
      lines.push(`ufw allow proto ${rule.protocol} from ${source} to any port ${rule.port} comment '${rule.description.replace(/'/g, "")}'`);
    }
  }
  lines.push("ufw --force enable", "ufw status verbose");
  return `${lines.join("\n")}\n`;
}
