import { describe, expect, it } from "vitest";
import { LOCATIONS } from "../../components/compute/server-types";
import { cidrContainsCIDR, ipv4ToNumber, isAssignableIn, isIPv4CIDR, isPrivateIPv4CIDR, NETWORK_ZONES } from "../../components/network/private-network-addresses";

/** The IPv4 arithmetic config validation and the PrivateNetwork component share. */
describe("ipv4ToNumber", () => {
  it.each([
    ["0.0.0.0", 0],
    ["0.0.0.1", 1],
    ["10.0.1.2", 167772418],
    ["172.16.0.0", 2886729728],
    ["255.255.255.255", 4294967295],
  ])("%s is %i", (address, value) => {
    expect(ipv4ToNumber(address)).toBe(value);
  });
});

describe("isIPv4CIDR", () => {
  it.each([
    ["10.0.0.0/16", true],
    ["0.0.0.0/0", true],
    ["10.0.1.2/32", true],
    ["10.0.0.0/33", false],
    ["10.0.0.0", false],
    ["10.0.0/16", false],
    ["fd00::/8", false],
    ["10.0.0.0/16/1", false],
    ["", false],
  ])("%j is %s", (cidr, expected) => {
    expect(isIPv4CIDR(cidr)).toBe(expected);
  });
});

describe("isPrivateIPv4CIDR (Hetzner networks take RFC 1918 ranges only)", () => {
  it.each([
    ["10.0.0.0/8", true],
    ["10.0.0.0/16", true],
    ["10.255.255.0/24", true],
    ["172.16.0.0/12", true],
    ["172.31.255.0/24", true],
    ["192.168.0.0/16", true],
    ["192.168.1.0/24", true],
    ["10.0.0.0/7", false],
    ["11.0.0.0/8", false],
    ["172.15.0.0/16", false],
    ["172.32.0.0/16", false],
    ["172.0.0.0/8", false],
    ["192.169.0.0/16", false],
    ["192.0.0.0/8", false],
    ["203.0.113.0/24", false],
    ["0.0.0.0/0", false],
    ["fd00::/8", false],
    ["not a cidr", false],
  ])("%s is %s", (cidr, expected) => {
    expect(isPrivateIPv4CIDR(cidr)).toBe(expected);
  });
});

describe("cidrContainsCIDR", () => {
  it.each([
    ["10.0.0.0/16", "10.0.1.0/24", true],
    ["10.0.0.0/16", "10.0.0.0/16", true],
    ["10.0.0.0/16", "10.0.255.0/24", true],
    ["10.0.0.0/16", "10.0.1.7/32", true],
    ["10.0.1.0/24", "10.0.0.0/16", false],
    ["10.0.0.0/16", "10.1.0.0/24", false],
    ["10.0.0.0/24", "10.0.1.0/24", false],
    ["10.0.0.0/16", "10.0.0.0/15", false],
    ["0.0.0.0/0", "203.0.113.0/24", true],
    ["10.0.0.0/16", "fd00::/64", false],
    ["nonsense", "10.0.1.0/24", false],
  ])("%s contains %s: %s", (outer, inner, expected) => {
    expect(cidrContainsCIDR(outer, inner)).toBe(expected);
  });
});

describe("isAssignableIn (network address, Hetzner's gateway and broadcast are never assignable)", () => {
  it.each([
    ["10.0.1.0/24", "10.0.1.0", false],
    ["10.0.1.0/24", "10.0.1.1", false],
    ["10.0.1.0/24", "10.0.1.2", true],
    ["10.0.1.0/24", "10.0.1.100", true],
    ["10.0.1.0/24", "10.0.1.254", true],
    ["10.0.1.0/24", "10.0.1.255", false],
    ["10.0.1.0/24", "10.0.2.5", false],
    ["10.0.1.0/24", "10.0.0.255", false],
    ["10.0.1.0/30", "10.0.1.2", true],
    ["10.0.1.0/30", "10.0.1.3", false],
    ["10.0.1.0/31", "10.0.1.1", false],
    ["10.0.1.0/24", "10.0.1.300", false],
    ["10.0.1.0/24", "10.0.1", false],
    ["10.0.1.0/33", "10.0.1.2", false],
  ])("in %s, %s: %s", (subnet, address, expected) => {
    expect(isAssignableIn(subnet, address)).toBe(expected);
  });
});

describe("NETWORK_ZONES", () => {
  it("puts every server location in exactly one network zone", () => {
    for (const location of LOCATIONS) {
      expect(Object.entries(NETWORK_ZONES).filter(([, locations]) => locations.includes(location)).map(([zone]) => zone), location).toHaveLength(1);
    }
    expect(NETWORK_ZONES["eu-central"]).toEqual(["fsn1", "nbg1", "hel1"]);
  });
});
