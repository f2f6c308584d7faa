import { describe, expect, it } from "vitest";
import { isHostAddress } from "../../components/formats";
import {
  cidrContainsCIDR,
  coverageOf,
  coversAll,
  formatRange,
  ipv4FormOf,
  isAssignableIn,
  isIPv4,
  isIPv4CIDR,
  isIPv6,
  isIPv6CIDR,
  ipv4MappedAddressOf,
  singleAddressCIDR,
  isNetworkCIDR,
  isPrivateIPv4CIDR,
  networkAddressOf,
  parseCIDR,
  sourcesOutside,
} from "../../components/network/ip-ranges";

/** The one implementation of address arithmetic that config validation, the firewall rules, the components and the policy share. */

/** The network a CIDR names, in both families: config refuses CIDRs with a host's bits left in. */
describe("networkAddressOf and isNetworkCIDR", () => {
  it.each([
    ["10.0.0.5/16", "10.0.0.0", false],
    ["10.0.0.0/16", "10.0.0.0", true],
    ["198.51.100.7/32", "198.51.100.7", true],
    ["198.51.100.7/31", "198.51.100.6", false],
    ["0.0.0.0/0", "0.0.0.0", true],
    ["255.255.255.255/1", "128.0.0.0", false],
    ["2001:db8::1/64", "2001:db8::", false],
    ["2001:db8::/64", "2001:db8::", true],
    ["2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8::", true],
    ["2400:cb00:abcd::/32", "2400:cb00::", false],
    ["fe80::1:2:3:4/96", "fe80::1:2:0:0", false],
    ["::/0", "::", true],
    ["::1/128", "::1", true],
  ] as const)("%s is in network %s (network address as written: %s)", (cidr, network, exact) => {
    expect(networkAddressOf(cidr)).toBe(network);
    expect(isNetworkCIDR(cidr)).toBe(exact);
  });

  it("answers nothing for text that is not a CIDR", () => {
    for (const text of ["10.0.0.0", "10.0.0.0/33", "example.com/24", "2001:db8::/129"]) {
      expect(networkAddressOf(text)).toBeUndefined();
      expect(isNetworkCIDR(text)).toBe(false);
    }
  });
});

describe("isIPv6 and isIPv4", () => {
  it.each(["::ffff:1.2.3.4", "::ffff:203.0.113.20", "64:ff9b::192.0.2.33", "2001:DB8::1", "::", "::1", "fe80::1:2:3:4"])("accepts %s", (address) => {
    expect(isIPv6(address)).toBe(true);
    expect(isHostAddress(address)).toBe(true);
  });

  it.each(["1.2.3.4", ":::1", "2001:db8::1::2", "12345::", "fe80::1%eth0", "::ffff:1.2.3", "::ffff:256.1.1.1", "::ffff:01.2.3.4", "g::1"])(
    "refuses %s",
    (address) => {
      expect(isIPv6(address)).toBe(false);
    },
  );

  it.each([
    ["203.0.113.20", true],
    ["010.0.0.1", false],
    ["0x7f.0.0.1", false],
    ["127.1", false],
    ["2130706433", false],
    ["256.0.0.1", false],
  ] as const)("isIPv4(%s) is %s", (address, expected) => {
    expect(isIPv4(address)).toBe(expected);
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

describe("parseCIDR reads what firewalls read, however it is written", () => {
  it.each([
    ["0.0.0.0/00", "0.0.0.0/0"],
    ["0.0.0.0/000", "0.0.0.0/0"],
    ["::/00", "::/0"],
    ["0000:0000:0000:0000:0000:0000:0000:0000/0", "::/0"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["2001:0db8:0001:0000::/48", "2001:db8:1::/48"],
    ["::FFFF:0.0.0.0/96", "::ffff:0.0.0.0/96"],
    ["198.51.100.7/24", "198.51.100.0/24"],
    ["203.0.113.0/024", "203.0.113.0/24"],
  ])("%s is %s", (text, plain) => {
    expect(formatRange(parseCIDR(text)!)).toBe(plain === "::ffff:0.0.0.0/96" ? "::ffff:0:0/96" : plain);
  });

  it.each([
    "010.0.0.1/32",
    "0x7f.0.0.1/32",
    "2130706433/32",
    "127.1/32",
    "fe80::1%eth0/64",
    "::1.2.3.4/128",
    "10.0.0.0/33",
    "::/129",
    "10.0.0.0",
    "10.0.0.0/-1",
    "10.0.0.0/ 8",
    " 10.0.0.0/8",
    "",
  ])("refuses %j, which tools read differently or not at all", (text) => {
    expect(parseCIDR(text)).toBeUndefined();
  });

  it("gives the IPv4 form of an IPv4-mapped IPv6 CIDR", () => {
    expect(ipv4FormOf("::ffff:203.0.113.10/128")).toBe("203.0.113.10/32");
    expect(ipv4FormOf("::FFFF:CB00:7100/120")).toBe("203.0.113.0/24");
    expect(ipv4FormOf("::ffff:0:0/96")).toBe("0.0.0.0/0");
    expect(ipv4FormOf("2001:db8::/96")).toBeUndefined();
    expect(ipv4FormOf("203.0.113.10/32")).toBeUndefined();
  });
});

describe("coverageOf sums what a list of sources admits, overlaps once, per family", () => {
  const all4 = 1n << 32n;
  const all6 = 1n << 128n;
  it.each<[string[], bigint, bigint]>([
    [["198.51.100.7/32"], 1n, 0n],
    [["198.51.100.7/32", "198.51.100.7/32", "198.51.100.0/24"], 256n, 0n],
    [["0.0.0.0/1", "128.0.0.0/1"], all4, 0n],
    [["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], all4, 0n],
    [["0.0.0.0/1", "0.0.0.0/2", "128.0.0.0/2"], all4 - (1n << 30n), 0n],
    [["0.0.0.0/00"], all4, 0n],
    [["::/1", "8000::/1"], all4, all6],
    [["::ffff:0:0/96"], all4, 1n << 32n],
    [["::ffff:0:0/97", "128.0.0.0/1"], all4, 1n << 31n],
    [["::/0"], all4, all6],
    [["100.64.0.0/10", "2001:db8::/48"], 1n << 22n, 1n << 80n],
  ])("%j covers %s IPv4 and %s IPv6 addresses", (sources, ipv4, ipv6) => {
    expect(coverageOf(sources)).toEqual({ ipv4, ipv6, unreadable: [] });
  });

  it("lists what it cannot read instead of guessing", () => {
    expect(coverageOf(["198.51.100.7/32", "0177.0.0.1/32", "any"]).unreadable).toEqual(["0177.0.0.1/32", "any"]);
  });
});

describe("coversAll and sourcesOutside judge containment over whole lists", () => {
  it.each<[string[], string[], boolean]>([
    [["173.245.48.0/20"], ["173.245.48.0/020"], true],
    [["173.245.48.0/20"], ["173.245.48.0/21", "173.245.56.0/21"], true],
    [["173.245.48.0/21", "173.245.56.0/21"], ["173.245.48.0/20"], true],
    [["173.245.48.0/20"], ["173.245.48.0/19"], false],
    // Written as IPv6, a rule is an ip6tables or IPv6 rule: not inside any IPv4 range.
    [["10.0.0.0/8"], ["::ffff:10.0.0.0/104"], false],
    [["10.0.0.0/8"], ["::ffff:0:0/96"], false],
    [["2400:cb00::/32"], ["2400:CB00:0::/33"], true],
    [["10.0.0.0/8"], ["fd00::/8"], false],
    [["10.0.0.0/8"], ["not a cidr"], false],
  ])("%j around %j: %s", (outer, inner, expected) => {
    expect(coversAll(outer, inner)).toBe(expected);
  });

  it("names each source that reaches outside", () => {
    expect(sourcesOutside(["173.245.48.0/20"], ["173.245.48.0/24", "0.0.0.0/00", "173.245.48.0/19"])).toEqual(["0.0.0.0/00", "173.245.48.0/19"]);
  });
});

describe("isIPv6CIDR (the firewall's split of sources by family)", () => {
  it.each([
    ["2001:db8::/32", true],
    ["::ffff:1.2.3.4/128", true],
    ["::ffff:0:0/96", true],
    ["10.0.0.0/8", false],
    ["2001:db8::1", false],
    ["fe80::1%eth0/64", false],
  ] as const)("isIPv6CIDR(%s) is %s", (cidr, expected) => {
    expect(isIPv6CIDR(cidr)).toBe(expected);
  });
});

describe("singleAddressCIDR: one address as a range, the width its family has", () => {
  it.each([
    ["203.0.113.20", "203.0.113.20/32"],
    ["2001:db8::20", "2001:db8::20/128"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4/128"],
    ["010.0.0.1", undefined],
    ["example.com", undefined],
    ["10.0.0.0/8", undefined],
  ] as const)("%s is %s", (address, expected) => {
    expect(singleAddressCIDR(address)).toBe(expected);
  });
});

describe("ipv4MappedAddressOf: an IPv4-mapped IPv6 address with a dotted IPv4 part", () => {
  it.each([
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::FFFF:203.0.113.20", "203.0.113.20"],
    ["0:0:0:0:0:ffff:203.0.113.20", "203.0.113.20"],
    ["::ffff:cb00:7114", undefined],
    ["64:ff9b::192.0.2.33", undefined],
    ["::ffff:01.2.3.4", undefined],
    ["203.0.113.20", undefined],
  ] as const)("%s stands for %s", (address, expected) => {
    expect(ipv4MappedAddressOf(address)).toBe(expected);
  });
});
