import ipaddr from "ipaddr.js";

/**
 * IP addresses and CIDR ranges, parsed once and compared as numbers: config
 * validation, the firewall rules, the components' own argument checks and the
 * policy all judge sources here, so that "what a list of sources admits" has
 * one answer however the list is spelled. Parsing is ipaddr.js's; this file
 * adds what it leaves out: refusing spellings that tools read differently,
 * and the union of many ranges.
 */

export type IPFamily = "ipv4" | "ipv6";

const WIDTH: Readonly<Record<IPFamily, number>> = { ipv4: 32, ipv6: 128 };

/** A CIDR range as numbers: host bits cleared, first and last address inclusive. */
export interface IPRange {
  readonly family: IPFamily;
  readonly prefix: number;
  readonly first: bigint;
  readonly last: bigint;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * IPv4 only as four decimal numbers without leading zeros. inet_aton reads
 * `010.0.0.1` as 8.0.0.1 and `0x7f.1` as 127.0.0.1, and ipaddr.js follows
 * it, while other parsers refuse those or read them as decimal: a source
 * whose meaning depends on the reader is refused, never guessed.
 */
function parseIPv4(text: string): ipaddr.IPv4 | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
}

/**
 * IPv6, with an embedded IPv4 part held to the same four decimal numbers.
 * Zone ids (`fe80::1%eth0`) name an interface, not a network, and `::1.2.3.4`
 * (the deprecated IPv4-compatible form) is one address to the kernel and
 * another to ipaddr.js, so both are refused.
 */
function parseIPv6(text: string): ipaddr.IPv6 | undefined {
  if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
  if (text.includes(".")) {
    const dotted = text.slice(text.lastIndexOf(":") + 1);
    if (!ipaddr.IPv4.isValidFourPartDecimal(dotted) || /^::[^:]+$/.test(text)) return undefined;
  }
  return ipaddr.IPv6.parse(text);
}

function parseAddress(text: string): Address | undefined {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== undefined;
}

export function isIPv6(text: string): boolean {
  return parseIPv6(text) !== undefined;
}

export function isIPAddress(text: string): boolean {
  return parseAddress(text) !== undefined;
}

function toBigInt(address: Address): bigint {
  return address.toByteArray().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function fromBigInt(value: bigint, family: IPFamily): Address {
  const bytes = Array.from({ length: WIDTH[family] / 8 }, (_, index) => Number((value >> BigInt(8 * (WIDTH[family] / 8 - 1 - index))) & 0xffn));
  return ipaddr.fromByteArray(bytes);
}

function rangeOf(family: IPFamily, address: bigint, prefix: number): IPRange {
  const hostBits = BigInt(WIDTH[family] - prefix);
  const first = (address >> hostBits) << hostBits;
  return { family, prefix, first, last: first + (1n << hostBits) - 1n };
}

interface ParsedCIDR {
  readonly range: IPRange;
  /** The address as written, as a number, host bits included. */
  readonly address: bigint;
}

/**
 * A CIDR as firewalls read it, however it is written: any number of leading
 * zeros in the prefix (`/00` is `/0`), IPv6 in any case and any compression,
 * host bits left in (masked off, as UFW and iptables do). Anything else, a
 * bare address included, is not a CIDR.
 */
function parseCIDRText(text: string): ParsedCIDR | undefined {
  const match = /^([^/\s]+)\/(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const address = parseAddress(match[1]!);
  if (!address) return undefined;
  const family = address.kind();
  const prefix = Number(match[2]);
  if (prefix > WIDTH[family]) return undefined;
  const value = toBigInt(address);
  return { range: rangeOf(family, value, prefix), address: value };
}

export function parseCIDR(text: string): IPRange | undefined {
  return parseCIDRText(text)?.range;
}

export function isCIDR(text: string): boolean {
  return parseCIDR(text) !== undefined;
}

export function isIPv4CIDR(text: string): boolean {
  return parseCIDR(text)?.family === "ipv4";
}

export function isIPv6CIDR(text: string): boolean {
  return parseCIDR(text)?.family === "ipv6";
}

/** The CIDR of one address: `/32` for IPv4, `/128` for IPv6; undefined when the text is no address. */
export function singleAddressCIDR(text: string): string | undefined {
  const address = parseAddress(text);
  return address ? `${text}/${WIDTH[address.kind()]}` : undefined;
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address written with a dotted IPv4
 * part stands for (`::ffff:203.0.113.20` is 203.0.113.20), or undefined.
 * Such a spelling says "IPv4" to a reader and "IPv6" to ssh and Docker.
 */
export function ipv4MappedAddressOf(text: string): string | undefined {
  const address = text.includes(".") ? parseIPv6(text) : undefined;
  return address?.isIPv4MappedAddress() ? address.toIPv4Address().toString() : undefined;
}

/** The range's one plain spelling: dotted decimal, or RFC 5952 lowercase compressed IPv6. */
export function formatRange(range: IPRange): string {
  const address = fromBigInt(range.first, range.family);
  return `${address.kind() === "ipv6" ? (address as ipaddr.IPv6).toRFC5952String() : address.toString()}/${range.prefix}`;
}

/**
 * The network address a CIDR stands for, or undefined for a malformed one.
 * `10.0.0.5/16` names the network 10.0.0.0/16 with a host's bits left in;
 * firewalls and cloud APIs read that differently (some silently mask it,
 * Hetzner's API refuses it), so config asks for the network address itself.
 */
export function networkAddressOf(cidr: string): string | undefined {
  const range = parseCIDR(cidr);
  return range ? formatRange(range).split("/")[0] : undefined;
}

/** True when the CIDR's address has no bits set past its prefix. */
export function isNetworkCIDR(cidr: string): boolean {
  const parsed = parseCIDRText(cidr);
  return parsed !== undefined && parsed.address === parsed.range.first;
}

/** IPv4-mapped IPv6 (`::ffff:0:0/96`): the whole of IPv4, written as IPv6. */
const IPV4_MAPPED = rangeOf("ipv6", toBigInt(ipaddr.IPv6.parse("::ffff:0:0")), 96);

/** The IPv4 part of an IPv6 range, for a range that reaches into `::ffff:0:0/96`. */
function mappedIPv4(range: IPRange): IPRange | undefined {
  if (range.family !== "ipv6" || range.last < IPV4_MAPPED.first || range.first > IPV4_MAPPED.last) return undefined;
  const first = (range.first > IPV4_MAPPED.first ? range.first : IPV4_MAPPED.first) - IPV4_MAPPED.first;
  const last = (range.last < IPV4_MAPPED.last ? range.last : IPV4_MAPPED.last) - IPV4_MAPPED.first;
  return { family: "ipv4", prefix: Math.max(0, range.prefix - 96), first, last };
}

/**
 * When the text is an IPv4-mapped IPv6 CIDR, the same range in IPv4 form:
 * `::ffff:203.0.113.10/128` is 203.0.113.10/32.
 */
export function ipv4FormOf(cidr: string): string | undefined {
  const range = parseCIDR(cidr);
  if (!range || range.family !== "ipv6" || range.prefix < 96) return undefined;
  const mapped = mappedIPv4(range);
  return mapped ? formatRange(mapped) : undefined;
}

export function cidrContainsCIDR(outer: string, inner: string): boolean {
  const a = parseCIDR(outer);
  const b = parseCIDR(inner);
  return a !== undefined && b !== undefined && a.family === b.family && a.first <= b.first && b.last <= a.last;
}

/** Hetzner only accepts private networks from the RFC 1918 ranges. */
export const PRIVATE_IPV4_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

export function isPrivateIPv4CIDR(cidr: string): boolean {
  return PRIVATE_IPV4_RANGES.some((block) => cidrContainsCIDR(block, cidr));
}

/** True for a loopback address or one in an RFC 1918 range, which nothing on the internet can reach. */
export function isPrivateOrLoopbackAddress(text: string): boolean {
  const address = parseAddress(text);
  if (!address) return false;
  const plain = address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
  return ["private", "loopback"].includes(plain.range());
}

/** True for the unspecified address, 0.0.0.0 or ::, which a socket binds to mean every address. */
export function isUnspecifiedAddress(text: string): boolean {
  return parseAddress(text)?.range() === "unspecified";
}

/**
 * Whether a server or load balancer may take `address` in `subnet`. Hetzner
 * keeps the subnet's first address for its gateway, and the network and
 * broadcast addresses are never assignable.
 */
export function isAssignableIn(subnet: string, address: string): boolean {
  const range = parseCIDR(subnet);
  const value = parseIPv4(address);
  if (!range || range.family !== "ipv4" || !value) return false;
  const number = toBigInt(value);
  return number > range.first + 1n && number < range.last;
}

/** The address `offset` places after a range's network address (100.64.0.0/10 and 1 give 100.64.0.1); undefined when that is not one of its hosts. */
export function hostAddressIn(cidr: string, offset: number): string | undefined {
  const range = parseCIDR(cidr);
  if (!range || !Number.isInteger(offset) || offset <= 0) return undefined;
  const value = range.first + BigInt(offset);
  return value < range.last ? fromBigInt(value, range.family).toString() : undefined;
}

/** Whether an address is one of a range's hosts: inside it, and neither its network nor its broadcast address. */
export function isHostAddressIn(cidr: string, address: string): boolean {
  const range = parseCIDR(cidr);
  const value = parseAddress(address);
  if (!range || !value || value.kind() !== range.family) return false;
  const number = toBigInt(value);
  return number > range.first && number < range.last;
}

/** How many addresses of each family a list of sources admits, overlaps counted once. */
export interface Coverage {
  /** IPv4 addresses, those reached through IPv4-mapped IPv6 ranges included. */
  readonly ipv4: bigint;
  readonly ipv6: bigint;
  /** Entries that are not CIDRs and so cannot be judged. */
  readonly unreadable: readonly string[];
}

export const FAMILY_SIZE: Readonly<Record<IPFamily, bigint>> = { ipv4: 1n << 32n, ipv6: 1n << 128n };

/** The merged, sorted ranges of one family, as [first, last] pairs. */
function union(ranges: readonly IPRange[]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.first <= last[1] + 1n) last[1] = range.last > last[1] ? range.last : last[1];
    else merged.push([range.first, range.last]);
  }
  return merged;
}

function rangesOf(sources: readonly string[]): { ranges: IPRange[]; unreadable: string[] } {
  const ranges: IPRange[] = [];
  const unreadable: string[] = [];
  for (const source of sources) {
    const range = parseCIDR(source);
    if (!range) {
      unreadable.push(source);
      continue;
    }
    ranges.push(range);
    const mapped = mappedIPv4(range);
    if (mapped) ranges.push(mapped);
  }
  return { ranges, unreadable };
}

/** What a list of sources covers, summed over the list: `0.0.0.0/1` and `128.0.0.0/1` together are all of IPv4. */
export function coverageOf(sources: readonly string[]): Coverage {
  const { ranges, unreadable } = rangesOf(sources);
  const size = (family: IPFamily) => union(ranges.filter((range) => range.family === family)).reduce((sum, [first, last]) => sum + (last - first + 1n), 0n);
  return { ipv4: size("ipv4"), ipv6: size("ipv6"), unreadable };
}

/**
 * True when every address `inner` admits is one `outer` admits too, each
 * summed over its list: the test for "only from Cloudflare", "only from the
 * admin networks", "only from the private network".
 */
export function coversAll(outer: readonly string[], inner: readonly string[]): boolean {
  const within = rangesOf(inner);
  if (within.unreadable.length > 0) return false;
  const around = rangesOf(outer).ranges;
  for (const family of ["ipv4", "ipv6"] as const) {
    const blocks = union(around.filter((range) => range.family === family));
    for (const [first, last] of union(within.ranges.filter((range) => range.family === family))) {
      if (!blocks.some(([start, end]) => start <= first && last <= end)) return false;
    }
  }
  return true;
}

/** The sources among `sources` that admit something outside `outer`, or cannot be read at all. */
export function sourcesOutside(outer: readonly string[], sources: readonly string[]): string[] {
  return sources.filter((source) => !coversAll(outer, [source]));
}
