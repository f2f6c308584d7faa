import { describe, expect, it } from "vitest";
import { LOCATIONS } from "../../components/compute/server-types";
import { NETWORK_ZONES } from "../../components/network/network-zones";

describe("NETWORK_ZONES", () => {
  it("puts every server location in exactly one network zone", () => {
    for (const location of LOCATIONS) {
      expect(
        Object.entries(NETWORK_ZONES)
          .filter(([, locations]) => locations.includes(location))
          .map(([zone]) => zone),
        location,
      ).toHaveLength(1);
    }
    expect(NETWORK_ZONES["eu-central"]).toEqual(["fsn1", "nbg1", "hel1"]);
  });
});
