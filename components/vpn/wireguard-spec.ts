/**
 * The admin VPN as data: a WireGuard hub on the ops host and every server of
 * the stack as a member. Seed 002 runs Headscale for this; its module cannot
 * be built here (the Go module proxy refuses github.com/juanfont/headscale),
 * so the program configures WireGuard itself, the protocol Headscale's
 * clients speak, with the ops host as the hub: members dial out to it, so no
 * member opens a port, and the hub routes between members.
 */

import { hostAddressIn, isHostAddressIn } from "../network/ip-ranges";

/** WireGuard's registered port; the ops host's firewall opens it and nothing else besides SSH. */
export const WIREGUARD_PORT = 51820;
/** The interface name on every host: wg-quick@wg0. */
export const WIREGUARD_INTERFACE = "wg0";
/** Members keep the tunnel open through NAT and stateful firewalls on their side. */
export const KEEPALIVE_SECONDS = 25;

export interface VpnMember {
  readonly name: string;
  /** The member's address inside the VPN range, a /32. */
  readonly address: string;
  /** A server of this stack (its key is made by the program), or a peer configured by hand (a laptop, another stack's server). */
  readonly kind: "server" | "peer";
  /** A peer's public key, given in config; absent for servers, whose key the program makes. */
  readonly publicKey?: string;
}

export interface VpnPlan {
  /** The VPN range: admin SSH and admin UIs are reached from here (it is one of infra:adminCidrs). */
  readonly range: string;
  readonly port: number;
  /** The hub's address inside the range. */
  readonly hubAddress: string;
  readonly members: readonly VpnMember[];
}

/** The n-th address after the range's network address: 100.64.0.0/10 and 1 give 100.64.0.1. */
export function addressInRange(range: string, offset: number): string {
  const address = hostAddressIn(range, offset);
  if (!address) throw new Error(`offset ${offset} is outside ${range}`);
  return address;
}

/** Whether a member's address is one of the range's hosts (not its network or broadcast address). */
export function inRange(range: string, address: string): boolean {
  return isHostAddressIn(range, address);
}

/**
 * The hub takes the range's first address, the stack's servers the next
 * ones in the order infra:servers lists them, and hand-configured peers the
 * addresses they were given.
 */
export function vpnPlan(
  range: string,
  servers: readonly string[],
  peers: readonly { name: string; address: string; publicKey: string }[],
  port = WIREGUARD_PORT,
): VpnPlan {
  const members: VpnMember[] = servers.map((name, index) => ({ name, address: addressInRange(range, index + 2), kind: "server" }));
  for (const peer of peers) members.push({ name: peer.name, address: peer.address, kind: "peer", publicKey: peer.publicKey });
  return { range, port, hubAddress: addressInRange(range, 1), members };
}

/** What is wrong with the plan's addresses: one taken twice, or one outside the range. */
export function vpnProblems(plan: VpnPlan): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>([[plan.hubAddress, "the ops host"]]);
  // A name and a key each stand for one machine: two peers under one key are
  // one peer to WireGuard, which routes only the last one's address.
  const names = new Set<string>();
  const keys = new Map<string, string>();
  for (const member of plan.members) {
    if (!inRange(plan.range, member.address)) problems.push(`${member.name}'s VPN address ${member.address} is not inside ${plan.range}`);
    const holder = seen.get(member.address);
    if (holder) problems.push(`${member.name}'s VPN address ${member.address} is already ${holder}'s`);
    seen.set(member.address, member.name);
    if (names.has(member.name)) problems.push(`${member.name} is the name of another member: give the peer a name of its own`);
    names.add(member.name);
    if (member.publicKey) {
      const owner = keys.get(member.publicKey);
      if (owner) problems.push(`${member.name}'s public key is already ${owner}'s: each machine has a key of its own`);
      else keys.set(member.publicKey, member.name);
    }
  }
  return problems;
}

/** A public key as `wg pubkey` prints it: base64 of 32 bytes. */
export function isWireGuardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text);
}

/**
 * The hub's wg-quick configuration. Each member may send from its own /32
 * only, so one member cannot speak for another; the hub forwards between
 * members (wg-quick's PostUp), which is how the ops host's checks and pulls,
 * and the admins on their laptops, reach the servers.
 */
export function hubConfig(plan: VpnPlan, privateKey: string, memberKeys: Readonly<Record<string, string>>): string {
  const peers = plan.members.map((member) => {
    const key = member.publicKey ?? memberKeys[member.name];
    if (!key) throw new Error(`no WireGuard public key for VPN member ${member.name}`);
    return `[Peer]\n# ${member.name}\nPublicKey = ${key}\nAllowedIPs = ${member.address}/32\n`;
  });
  return `# The ops host: hub of the admin VPN, generated by components/vpn/wireguard-spec.ts.
[Interface]
Address = ${plan.hubAddress}/${plan.range.split("/")[1]}
ListenPort = ${plan.port}
PrivateKey = ${privateKey}
PostUp = sysctl -q -w net.ipv4.ip_forward=1

${peers.join("\n")}`;
}

/**
 * A member's wg-quick configuration: one peer, the hub, at its public
 * address, for the whole VPN range. The member listens on no port of its
 * own; it dials out and keeps the tunnel open.
 */
export function memberConfig(plan: VpnPlan, member: string, privateKey: string, hubPublicKey: string, hubEndpoint: string): string {
  const own = plan.members.find((candidate) => candidate.name === member);
  if (!own) throw new Error(`${member} is not a member of the VPN`);
  return `# ${member}: member of the admin VPN, generated by components/vpn/wireguard-spec.ts.
[Interface]
Address = ${own.address}/32
PrivateKey = ${privateKey}

[Peer]
# the ops host
PublicKey = ${hubPublicKey}
Endpoint = ${hubEndpoint.includes(":") && !hubEndpoint.startsWith("[") ? `[${hubEndpoint}]` : hubEndpoint}:${plan.port}
AllowedIPs = ${plan.range}
PersistentKeepalive = ${KEEPALIVE_SECONDS}
`;
}

/**
 * Installs a wg-quick configuration read from stdin as /etc/wireguard/wg0.conf
 * (0600, root) and (re)starts the interface. The configuration holds the
 * private key, so it never is an argument.
 */
export const INSTALL_WIREGUARD_COMMAND = `sudo sh -c 'set -e; command -v wg-quick >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wireguard-tools; }; umask 077; mkdir -p /etc/wireguard; cat >/etc/wireguard/${WIREGUARD_INTERFACE}.conf.new; mv -f /etc/wireguard/${WIREGUARD_INTERFACE}.conf.new /etc/wireguard/${WIREGUARD_INTERFACE}.conf; systemctl enable wg-quick@${WIREGUARD_INTERFACE} >/dev/null 2>&1; systemctl restart wg-quick@${WIREGUARD_INTERFACE}'`;

export const REMOVE_WIREGUARD_COMMAND = `sudo sh -c 'systemctl disable --now wg-quick@${WIREGUARD_INTERFACE} 2>/dev/null || true; rm -f /etc/wireguard/${WIREGUARD_INTERFACE}.conf'`;
