import { isCIDR, isIPv4 } from "../formats";

/**
 * IPv4 arithmetic for Hetzner private networks, kept pure so config
 * validation and the components agree on what fits where.
 */

export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function parseIPv4CIDR(cidr: string): { base: number; size: number } | undefined {
  if (!isCIDR(cidr)) return undefined;
  const [address, prefix] = cidr.split("/") as [string, string];
  if (!isIPv4(address)) return undefined;
  const size = 2 ** (32 - Number(prefix));
  return { base: ipv4ToNumber(address) - (ipv4ToNumber(address) % size), size };
}

export function isIPv4CIDR(cidr: string): boolean {
  return parseIPv4CIDR(cidr) !== undefined;
}

/** Hetzner only accepts private networks from the RFC 1918 ranges. */
export function isPrivateIPv4CIDR(cidr: string): boolean {
  const range = parseIPv4CIDR(cidr);
  if (!range) return false;
  return ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].some((block) => cidrContainsCIDR(block, cidr));
}

export function cidrContainsCIDR(outer: string, inner: string): boolean {
  const a = parseIPv4CIDR(outer);
  const b = parseIPv4CIDR(inner);
  return a !== undefined && b !== undefined && b.base >= a.base && b.base + b.size <= a.base + a.size;
}

/**
 * Whether a server or load balancer may take `address` in `subnet`. Hetzner
 * keeps the subnet's first address for its gateway, and the network and
 * broadcast addresses are never assignable.
 */
export function isAssignableIn(subnet: string, address: string): boolean {
  const range = parseIPv4CIDR(subnet);
  if (!range || !isIPv4(address)) return false;
  const value = ipv4ToNumber(address);
  return value > range.base + 1 && value < range.base + range.size - 1;
}

/** Hetzner network zones and the locations in each (docs.hetzner.com, "Networks": network zones). */
export const NETWORK_ZONES: Readonly<Record<string, readonly string[]>> = {
  "eu-central": ["fsn1", "nbg1", "hel1"],
  "us-east": ["ash"],
  "us-west": ["hil"],
  "ap-southeast": ["sin"],
};
