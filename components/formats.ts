/** Syntax checks shared by config validation and the components' own argument checks. */

const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

export function isIPv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(value) || !value.includes(":")) return false;
  const doubleColons = value.split("::").length - 1;
  if (doubleColons > 1) return false;
  const groups = value.split(":").filter((group) => group !== "");
  if (groups.some((group) => group.length > 4)) return false;
  return doubleColons === 1 ? groups.length < 8 : groups.length === 8;
}

export function isCIDR(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (isIPv4(address)) return bits <= 32;
  if (isIPv6(address)) return bits <= 128;
  return false;
}

/** True for CIDRs that match every address: SSH open to these is what F1 forbids. */
export function isAnyAddress(cidr: string): boolean {
  const [address, prefix] = cidr.split("/");
  return prefix === "0" && (address === "0.0.0.0" || (address !== undefined && /^[0:]+$/.test(address)));
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDNSLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

export function isDomainName(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every(isDNSLabel) && /[a-z]/.test(labels[labels.length - 1] ?? "");
}

export function isHostAddress(value: string): boolean {
  return isIPv4(value) || isIPv6(value) || isDomainName(value);
}

export function isSSHPublicKey(value: string): boolean {
  return /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( \S.*)?$/.test(value.trim());
}

export function isHTTPURL(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "" && url.pathname === "/" && !url.search;
  } catch {
    return false;
  }
}

/**
 * The network address a CIDR stands for, or undefined for a malformed one.
 * `10.0.0.5/16` names the network 10.0.0.0/16 with a host's bits left in;
 * firewalls and cloud APIs read that differently (some silently mask it,
 * Hetzner's API refuses it), so config asks for the network address itself.
 */
export function networkAddressOf(cidr: string): string | undefined {
  if (!isCIDR(cidr)) return undefined;
  const [address, prefix] = cidr.split("/") as [string, string];
  const bits = Number(prefix);
  if (isIPv4(address)) {
    const value = address.split(".").reduce((sum, octet) => sum * 256n + BigInt(octet), 0n);
    const masked = maskBits(value, 32, bits);
    return [24n, 16n, 8n, 0n].map((shift) => String((masked >> shift) & 255n)).join(".");
  }
  const masked = maskBits(ipv6ToBigInt(address), 128, bits);
  const groups = Array.from({ length: 8 }, (_, index) => ((masked >> BigInt(16 * (7 - index))) & 0xffffn).toString(16));
  return compressIPv6(groups);
}

/** True when the CIDR's address has no bits set past its prefix. */
export function isNetworkCIDR(cidr: string): boolean {
  const network = networkAddressOf(cidr);
  if (network === undefined) return false;
  const address = cidr.split("/")[0]!;
  return isIPv4(address) ? network === address : ipv6ToBigInt(network) === ipv6ToBigInt(address);
}

function maskBits(value: bigint, width: number, prefix: number): bigint {
  const hostBits = BigInt(width - prefix);
  return (value >> hostBits) << hostBits;
}

function ipv6ToBigInt(address: string): bigint {
  const [head, tail] = address.includes("::") ? (address.split("::") as [string, string]) : [address, undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((sum, group) => (sum << 16n) + BigInt(parseInt(group, 16)), 0n);
}

/** RFC 5952 text: the longest run of two or more zero groups becomes "::". */
function compressIPv6(groups: readonly string[]): string {
  let best = { start: -1, length: 0 };
  for (let start = 0; start < groups.length; start++) {
    let length = 0;
    while (start + length < groups.length && groups[start + length] === "0") length++;
    if (length > best.length && length >= 2) best = { start, length };
  }
  if (best.start < 0) return groups.join(":");
  return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}
