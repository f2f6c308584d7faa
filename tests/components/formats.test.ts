import { describe, expect, it } from "vitest";
import { isNetworkCIDR, networkAddressOf } from "../../components/formats";

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
