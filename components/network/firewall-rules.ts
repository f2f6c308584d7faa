import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ranges";
import { coverageOf, FAMILY_SIZE, isIPv6CIDR, parseCIDR, type IPFamily } from "./ip-ranges";

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
  /** Set on the rule that admits the admins to sshd: the one rule a firewall must never lose (H10). */
  readonly ssh?: true;
}

export const ANYWHERE = ["0.0.0.0/0", "::/0"] as const;

/**
 * The most F1 lets SSH sources cover, as a prefix length per family, summed
 * over every source of a rule: a /8 of IPv4 (16.7 million addresses, so
 * 10.0.0.0/8 or a VPN's 100.64.0.0/10 fits and half the internet does not)
 * and a /32 of IPv6 (an ISP's whole allocation, where an office gets a /48
 * or a /56). Admin networks are far smaller; anything wider is a mistake or
 * a way round the rule, such as 0.0.0.0/1 and 128.0.0.0/1 together.
 */
export const SSH_SOURCE_LIMIT: Readonly<Record<IPFamily, number>> = { ipv4: 8, ipv6: 32 };

const FAMILY_NAME: Readonly<Record<IPFamily, string>> = { ipv4: "IPv4", ipv6: "IPv6" };

/** How far a list of SSH sources reaches past F1's limit. */
export interface SSHSourceBreadth {
  /** One phrase per family over the limit: "every IPv4 address", "33,554,432 IPv4 addresses, more than a /8". */
  readonly tooWide: readonly string[];
  /** Sources that are not CIDRs every firewall reads the same way, so what they admit cannot be judged. */
  readonly unreadable: readonly string[];
}

export function sshSourceBreadth(sources: readonly string[]): SSHSourceBreadth {
  const coverage = coverageOf(sources);
  const tooWide = (["ipv4", "ipv6"] as const).flatMap((family) => {
    const limit = FAMILY_SIZE[family] >> BigInt(SSH_SOURCE_LIMIT[family]);
    if (coverage[family] === FAMILY_SIZE[family]) return [`every ${FAMILY_NAME[family]} address`];
    return coverage[family] > limit
      ? [`${coverage[family].toLocaleString("en")} ${FAMILY_NAME[family]} addresses, more than a /${SSH_SOURCE_LIMIT[family]}`]
      : [];
  });
  return { tooWide, unreadable: coverage.unreadable };
}

/**
 * The F1 problems of a list of SSH sources, each naming the sources and
 * going on with "which ...", so a caller can say what opens SSH to them;
 * empty when the list is narrow enough and readable.
 */
export function sshSourceProblems(sources: readonly string[]): string[] {
  const { tooWide, unreadable } = sshSourceBreadth(sources);
  const readable = sources.filter((source) => parseCIDR(source) !== undefined);
  const problems: string[] = [];
  if (tooWide.length > 0) {
    problems.push(
      `${readable.join(", ")}, which ${readable.length === 1 ? "covers" : "together cover"} ${tooWide.join(" and ")}; F1 allows SSH from at most a /${SSH_SOURCE_LIMIT.ipv4} of IPv4 and a /${SSH_SOURCE_LIMIT.ipv6} of IPv6`,
    );
  }
  if (unreadable.length > 0) problems.push(`${unreadable.join(", ")}, which cannot be judged: not a CIDR that every firewall reads the same way (F1)`);
  return problems;
}

export interface FirewallPolicy {
  readonly adminCidrs: readonly string[];
  /** The server's own SSH port (server-spec.ts sshPortOf), which the admins are admitted to (H10). */
  readonly sshPort: number;
  /** When Cloudflare proxies the web names, the web ports admit only its edge (F3). */
  readonly behindCloudflare: boolean;
}

/**
 * Inbound rules for one server: SSH on its own port from the admin CIDRs
 * only (F1, H10), each
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
    { description: "ssh from admin networks", protocol: "tcp", port: policy.sshPort, sourceCidrs: [...policy.adminCidrs], ssh: true },
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
 * What the other servers of a private network may reach on this one: the
 * ports its services publish on its private address (seed 004 from phase 3:
 * PgBouncer, Redis and PostgreSQL for the app servers and the replica, the
 * ingress for the load balancer, exporters for Prometheus). Hetzner's cloud
 * firewall does not filter private-network traffic, so these only matter to
 * the host's own DOCKER-USER chain, which would otherwise drop them.
 */
export interface PeerAccess {
  /** The server's own address on the private network. */
  readonly address: string;
  /** The private network's range: the only sources admitted. */
  readonly sourceCidr: string;
  readonly ports: readonly Exposure[];
}

/** A host's own firewall: the inbound rules, and what its private-network peers may reach. */
export interface HostFirewall {
  readonly rules: readonly FirewallRule[];
  readonly peers?: PeerAccess;
}

/** Docker's bridges: docker0 and one `br-<id>` per user-defined network. */
export const DOCKER_BRIDGES = ["docker0", "br-+"] as const;

/**
 * The DOCKER-USER chain for one address family, in iptables-restore form.
 * A published port is DNATed in PREROUTING and then forwarded to the
 * container, so it never meets UFW's INPUT rules (docker/for-linux#690);
 * Docker sends every forwarded packet through DOCKER-USER first, which makes
 * this the place to apply the same decision to published ports (H6, after
 * chaifeng/ufw-docker). Matching the original destination port through
 * conntrack compares the port as the client saw it, the one the rules name,
 * not the container port behind it. Traffic that leaves a Docker bridge
 * (container egress, replies) is not the firewall's business here.
 */
export function dockerUserRules(rules: readonly FirewallRule[], family: "ipv4" | "ipv6", peers?: PeerAccess): string {
  const lines = [
    "*filter",
    ":DOCKER-USER - [0:0]",
    "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    ...DOCKER_BRIDGES.map((bridge) => `-A DOCKER-USER -i ${bridge} -j RETURN`),
  ];
  for (const rule of rules) {
    if (rule.protocol === "icmp" || rule.port === undefined) continue;
    for (const source of rule.sourceCidrs.filter((cidr) => isIPv6CIDR(cidr) === (family === "ipv6"))) {
      lines.push(`-A DOCKER-USER -s ${source} -p ${rule.protocol} -m conntrack --ctstate DNAT --ctorigdstport ${rule.port} -j RETURN`);
    }
  }
  // Peers match on the address they connected to as well as the port: a
  // port published for them on the private address stays closed on every
  // other address, and the private network is IPv4 only.
  if (peers && family === "ipv4") {
    for (const port of peers.ports) {
      lines.push(
        `-A DOCKER-USER -s ${peers.sourceCidr} -p ${port.protocol} -m conntrack --ctstate DNAT --ctorigdst ${peers.address} --ctorigdstport ${port.port} -j RETURN`,
      );
    }
  }
  lines.push("-A DOCKER-USER -j DROP", "COMMIT");
  return `${lines.join("\n")}\n`;
}

/**
 * Stops the script before `ufw reset` when nothing listens on the port the
 * rules admit SSH to (H10). sshd on another port than the config says would
 * otherwise be cut off by `default deny incoming`, and with it the admins
 * and every later deploy; the rules in force stay as they were.
 */
function sshListenerGuard(rules: readonly FirewallRule[]): string[] {
  const ssh = rules.find((rule) => rule.ssh && rule.port !== undefined);
  if (!ssh) return [];
  return [
    `if [ -z "$(ss -Hltn 'sport = :${ssh.port}')" ]; then`,
    `  echo "infra-firewall: nothing listens on TCP port ${ssh.port}, the SSH port the rules admit the admins to; check the server's sshPort. UFW is left as it was, since enabling it would lock SSH out (H10)." >&2`,
    "  exit 1",
    "fi",
  ];
}

/** Where UFW loads extra iptables-restore rules from after its own, per family. */
export const UFW_AFTER_RULES = { ipv4: "/etc/ufw/after.rules", ipv6: "/etc/ufw/after6.rules" } as const;

/**
 * The same rules for UFW on a host, plus DOCKER-USER for published ports.
 * Reset then re-add makes the script idempotent: `ufw reset` restores the
 * packaged after.rules, so the DOCKER-USER block is appended exactly once per
 * run and the host converges on exactly these rules.
 */
export function ufwScript(rules: readonly FirewallRule[], peers?: PeerAccess): string {
  const lines = [
    "#!/usr/bin/env bash",
    "# Host firewall rendered from the platform's exposures; re-running converges on these rules.",
    "set -euo pipefail",
    "export DEBIAN_FRONTEND=noninteractive",
    "command -v ufw >/dev/null || apt-get install -y -q ufw",
    ...sshListenerGuard(rules),
    "ufw --force reset >/dev/null",
    "ufw default deny incoming",
    "ufw default allow outgoing",
    // Docker accepts its own containers' traffic in FORWARD before UFW's
    // chains; anything else routed through the host is refused.
    "ufw default deny routed",
  ];
  for (const rule of rules) {
    if (rule.protocol === "icmp") continue; // UFW's before.rules already accept ICMP echo
    for (const source of rule.sourceCidrs) {
      lines.push(`ufw allow proto ${rule.protocol} from ${source} to any port ${rule.port} comment '${rule.description.replace(/'/g, "")}'`);
    }
  }
  for (const family of ["ipv4", "ipv6"] as const) {
    lines.push(
      `cat >> ${UFW_AFTER_RULES[family]} <<'DOCKER_USER'`,
      `# DOCKER-USER: published ports get the same decision as the host (H6).`,
      dockerUserRules(rules, family, peers).trimEnd(),
      "DOCKER_USER",
    );
  }
  lines.push("ufw --force enable", "ufw status verbose");
  return `${lines.join("\n")}\n`;
}
