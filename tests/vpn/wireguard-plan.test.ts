import { describe, expect, it } from "vitest";
import { hostAddressIn, isHostAddressIn } from "../../components/network/ip-ranges";
import { addressInRange, vpnPlan, vpnProblems } from "../../components/vpn/wireguard-spec";

const KEY_A = "wQ8e0mO0rB1Zb9zL2yq3bJ1cX8V5q6kQ9m1n2p3r4s0=";
const KEY_B = "xR9f1nP1sC2Ac0aM3zr4cK2dY9W6r7lR0n2o3q4s5t1=";
const peer = (name: string, address: string, publicKey = KEY_A) => ({ name, address, publicKey });

describe("the VPN's addresses (ip-ranges, the one implementation)", () => {
  it.each([
    ["100.64.0.0/10", 1, "100.64.0.1"],
    ["100.64.0.0/10", 256, "100.64.1.0"],
    ["10.8.0.0/29", 6, "10.8.0.6"],
  ])("%s, offset %i, is %s", (range, offset, address) => {
    expect(hostAddressIn(range, offset)).toBe(address);
    expect(addressInRange(range, offset)).toBe(address);
  });

  it.each([
    ["10.8.0.0/29", 0],
    ["10.8.0.0/29", 7],
    ["10.8.0.0/29", 8],
    ["10.8.0.0/29", -1],
    ["10.8.0.0/29", 1.5],
    ["not a range", 1],
  ])("%s has no host at offset %s (network, broadcast, outside, not a whole number)", (range, offset) => {
    expect(hostAddressIn(range, offset)).toBeUndefined();
    expect(() => addressInRange(range, offset)).toThrow(/outside/);
  });

  it.each([
    ["100.64.0.0", false, "the network address"],
    ["100.127.255.255", false, "the broadcast address"],
    ["100.128.0.1", false, "past the range"],
    ["100.064.0.2", false, "an octal-looking spelling"],
    ["::ffff:100.64.0.2", false, "an IPv4-mapped IPv6 spelling"],
    ["100.64.0.2", true, "a host"],
  ])("%s is a host of 100.64.0.0/10: %s (%s)", (address, expected) => {
    expect(isHostAddressIn("100.64.0.0/10", address)).toBe(expected);
  });
});

describe("the VPN's members", () => {
  const problems = (peers: ReturnType<typeof peer>[]) => vpnProblems(vpnPlan("100.64.0.0/10", ["main", "db"], peers));

  it("accepts peers with their own names, addresses and keys", () => {
    expect(problems([peer("laptop", "100.64.0.9"), peer("phone", "100.64.0.10", KEY_B)])).toEqual([]);
  });

  it("refuses a peer named like a server, and two peers of one name", () => {
    expect(problems([peer("main", "100.64.0.9")])).toEqual(["main is the name of another member: give the peer a name of its own"]);
    expect(problems([peer("laptop", "100.64.0.9"), peer("laptop", "100.64.0.10", KEY_B)])).toEqual([
      "laptop is the name of another member: give the peer a name of its own",
    ]);
  });

  it("refuses two peers under one public key, naming the first", () => {
    expect(problems([peer("laptop", "100.64.0.9"), peer("phone", "100.64.0.10"), peer("tablet", "100.64.0.11")])).toEqual([
      "phone's public key is already laptop's: each machine has a key of its own",
      "tablet's public key is already laptop's: each machine has a key of its own",
    ]);
  });

  it("refuses the hub's and a server's address, and the range's broadcast address", () => {
    expect(problems([peer("laptop", "100.64.0.1")])).toEqual(["laptop's VPN address 100.64.0.1 is already the ops host's"]);
    expect(problems([peer("laptop", "100.64.0.3")])).toEqual(["laptop's VPN address 100.64.0.3 is already db's"]);
    expect(problems([peer("laptop", "100.127.255.255")])).toEqual(["laptop's VPN address 100.127.255.255 is not inside 100.64.0.0/10"]);
  });
});
