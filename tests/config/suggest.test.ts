import { describe, expect, it } from "vitest";
import { didYouMean, editDistance, nearestNames } from "../../infra/config/suggest";

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["token", "token", 0],
    ["tokn", "token", 1],
    ["memroyMb", "memoryMb", 1],
    ["infr:blueprint", "infra:blueprint", 1],
    ["kitten", "sitting", 3],
    ["abc", "", 3],
  ])("%s -> %s is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe("nearestNames and didYouMean", () => {
  const keys = ["infra:blueprint", "infra:domain", "infra:adminCidrs", "infra:servers", "infra:storage", "hcloud:token", "cloudflare:apiToken"];

  it.each([
    ["hcloud:tokn", ["hcloud:token"]],
    ["infr:blueprint", ["infra:blueprint"]],
    ["infra:adminCIDRs", ["infra:adminCidrs"]],
    ["infra:server", ["infra:servers"]],
    ["infra:colour", []],
    ["x", []],
  ])("%s is near %j", (name, expected) => {
    expect(nearestNames(name, keys)).toEqual(expected);
  });

  it("names every key at the least distance, and nothing when none is near", () => {
    expect(nearestNames("ab", ["aa", "bb", "abcd"])).toEqual(["aa", "bb"]);
    expect(didYouMean("ab", ["aa", "bb", "abcd"])).toBe("did you mean aa or bb?");
    expect(didYouMean("confg", ["config"])).toBe("did you mean config?");
    expect(didYouMean("zzzzzz", ["config"])).toBeUndefined();
  });
});
