import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import type { FirewallRule } from "../../components/network/firewall-rules";
import { sshSourceProblems } from "../../components/network/firewall-rules";
import { coversAll, parseCIDR, sourcesOutside } from "../../components/network/ip-ranges";
import { DEFAULT_SSH_PORT } from "../../components/compute/server-spec";
import type { Finding } from "./report";

/** One inbound rule, whichever way it was written: a FirewallRule or a Hetzner rule with a port range. */
export interface InboundRule {
  readonly protocol: string;
  /** Inclusive; absent for protocols without ports. */
  readonly ports?: readonly [number, number];
  readonly sources: readonly string[];
}

/**
 * Ports that must never be reachable from outside (F2): PostgreSQL,
 * PgBouncer, Redis, Qdrant, VictoriaMetrics, Prometheus, Alertmanager,
 * Grafana, Loki, node-exporter and the Docker API.
 */
export const FORBIDDEN_PORTS: readonly number[] = [5432, 6432, 6379, 6333, 6334, 8428, 9090, 9093, 3000, 3100, 9100, 2375, 2376];

const WEB = [80, 443];
const CLOUDFLARE: readonly string[] = [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6];

export function inboundOf(rule: FirewallRule): InboundRule {
  return { protocol: rule.protocol, ...(rule.port === undefined ? {} : { ports: [rule.port, rule.port] as const }), sources: rule.sourceCidrs };
}

/** A Hetzner firewall rule as registered: `port` is "22", "80-85" or "any". */
export function inboundOfHetzner(rule: { direction?: unknown; protocol?: unknown; port?: unknown; sourceIps?: unknown }): InboundRule | undefined {
  if (rule.direction !== "in") return undefined;
  const sources = Array.isArray(rule.sourceIps) ? (rule.sourceIps as string[]) : [];
  const port = typeof rule.port === "string" ? rule.port : undefined;
  if (port === undefined) return { protocol: String(rule.protocol), sources };
  if (port === "any") return { protocol: String(rule.protocol), ports: [1, 65535], sources };
  const [low, high] = port.split("-").map(Number);
  return { protocol: String(rule.protocol), ports: [low!, high ?? low!], sources };
}

const covers = (rule: InboundRule, port: number) => rule.protocol !== "icmp" && rule.ports !== undefined && rule.ports[0] <= port && port <= rule.ports[1];

export interface FirewallContext {
  readonly resource: string;
  readonly adminCidrs: readonly string[];
  readonly behindCloudflare: boolean;
  /** The port the server's sshd listens on (H10). */
  readonly sshPort: number;
}

/**
 * F1-F3 on one firewall's inbound rules, and H10: the admins must still
 * reach SSH on the server's own port. F1 judges that port and 22 alike, so a
 * rule left open on 22 is caught before sshd is ever moved back there.
 */
export function firewallFindings(rules: readonly InboundRule[], context: FirewallContext): Finding[] {
  const reachSSH = rules.filter((rule) => rule.protocol === "tcp" && covers(rule, context.sshPort)).flatMap((rule) => rule.sources);
  const lockedOut = coversAll(reachSSH, context.adminCidrs)
    ? []
    : [
        {
          rule: "H10",
          resource: context.resource,
          message: `no rule admits the admin CIDRs to SSH on port ${context.sshPort}, where the server's sshd listens: the firewall would lock SSH out`,
        },
      ];
  return [...lockedOut, ...openingFindings(rules, context)];
}

/**
 * F1-F3 on some inbound rules, which need not be a whole firewall (the
 * ports a host command opens): whether SSH stays reachable is not theirs to say.
 */
export function openingFindings(rules: readonly InboundRule[], context: FirewallContext): Finding[] {
  const findings: Finding[] = [];
  const report = (rule: string, message: string) => findings.push({ rule, resource: context.resource, message });
  const sshPorts = [...new Set([context.sshPort, DEFAULT_SSH_PORT])];
  for (const rule of rules) {
    const range = rule.ports ? (rule.ports[0] === rule.ports[1] ? `${rule.ports[0]}` : `${rule.ports[0]}-${rule.ports[1]}`) : "";
    if (sshPorts.some((port) => covers(rule, port))) {
      // Judged on what the sources cover, not how they are written (F1).
      for (const problem of sshSourceProblems(rule.sources)) report("F1", `${rule.protocol}/${range} opens SSH to ${problem}`);
      const strangers = sourcesOutside(context.adminCidrs, rule.sources).filter((source) => parseCIDR(source) !== undefined);
      if (strangers.length > 0) report("F1", `${rule.protocol}/${range} admits SSH from ${strangers.join(", ")}, which are not admin CIDRs`);
    }
    const forbidden = FORBIDDEN_PORTS.filter((port) => covers(rule, port));
    if (forbidden.length > 0) report("F2", `${rule.protocol}/${range} opens ${forbidden.join(", ")} to ${rule.sources.length} source range(s)`);
    if (context.behindCloudflare && WEB.some((port) => covers(rule, port))) {
      const outside = sourcesOutside(CLOUDFLARE, rule.sources);
      if (outside.length > 0) report("F3", `${rule.protocol}/${range} admits ${outside.join(", ")}, outside Cloudflare's ranges, while DNS is proxied`);
    }
  }
  return findings;
}

/** A load balancer as the policy sees it: what it forwards, and what the targets admit through it. */
export interface BalancerView {
  readonly ports: readonly number[];
  readonly proxyProtocol: boolean;
  readonly admits: readonly string[];
}

/**
 * F3 on a load balancer in front of proxied names. A Hetzner balancer has no
 * firewall: it takes 80/443 from anyone and connects to the targets from its
 * own address, so their firewalls cannot hold Cloudflare-only. The targets
 * can, when the balancer names each client in the PROXY protocol and the
 * ingress admits only Cloudflare's ranges through it.
 */
export function loadBalancerFindings(balancer: BalancerView, context: { readonly resource: string; readonly behindCloudflare: boolean }): Finding[] {
  const web = balancer.ports.filter((port) => WEB.includes(port));
  if (!context.behindCloudflare || web.length === 0) return [];
  const findings: Finding[] = [];
  if (!balancer.proxyProtocol) {
    findings.push({
      rule: "F3",
      resource: context.resource,
      message: `forwards ${web.join(", ")} without the PROXY protocol: behind it every client has the balancer's address, so the targets can neither admit only Cloudflare nor tell clients apart`,
    });
  }
  const outside = sourcesOutside(CLOUDFLARE, balancer.admits);
  if (outside.length > 0)
    findings.push({
      rule: "F3",
      resource: context.resource,
      message: `its targets admit ${outside.join(", ")} through it, outside Cloudflare's ranges, while DNS is proxied`,
    });
  return findings;
}
