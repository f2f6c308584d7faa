import { describe, expect, it } from "vitest";
import { LOOPBACK_PUBLISHING_NETWORK, needsLoopbackPublishing, type NetworkSpec } from "../../components/container/network-spec";
import { planOf, resourcesOf } from "../support/plans";

// Docker publishes no port of a container whose networks are all internal
// (seen on the testbed: Grafana's 127.0.0.1:3000 was never bound, and the
// provider replaced the container on every deploy). Such a container also
// joins a bridge that exists only to carry the loopback ports.

const NETWORKS: NetworkSpec[] = [
  { key: "edge", subnet: "172.26.1.0/24", internal: false, purpose: "edge" },
  { key: "internal", subnet: "172.26.2.0/24", internal: true, purpose: "internal" },
];
const published = [{ publish: { host: 3000, address: "127.0.0.1" } }];

describe("needsLoopbackPublishing", () => {
  it.each([
    ["internal networks only, with a published port", ["internal"], published, true],
    ["a reachable network too", ["internal", "edge"], published, false],
    ["nothing published", ["internal"], [{}], false],
    ["no network at all, with a published port", [], published, true],
    ["a network the blueprint does not declare", ["elsewhere"], published, true],
  ])("%s → %s", (_case, networks, ports, needed) => {
    expect(needsLoopbackPublishing({ networks, ports }, NETWORKS)).toBe(needed);
  });
});

describe("the loopback publishing bridge", () => {
  it("masquerades nothing and forbids traffic between its members", () => {
    expect(LOOPBACK_PUBLISHING_NETWORK.internal).toBe(false);
    expect(LOOPBACK_PUBLISHING_NETWORK.options).toEqual({
      "com.docker.network.bridge.enable_ip_masquerade": "false",
      "com.docker.network.bridge.enable_icc": "false",
    });
  });

  it("is created with those options where a tunnelled admin UI needs it, and nowhere else", async () => {
    const tunnelled = await planOf("prod", { overrides: ["blueprint=fastapi"] });
    const bridge = resourcesOf(tunnelled, "docker:index/network:Network").find((network) => network.inputs.name === "fastapi-loopback-publish");
    expect(bridge?.inputs.options).toEqual(LOOPBACK_PUBLISHING_NETWORK.options);
    const routed = await planOf("prod", { overrides: ["blueprint=fastapi", 'monitoring={"adminAccess":"ingress"}'] });
    expect(resourcesOf(routed, "docker:index/network:Network").map((network) => network.inputs.name)).not.toContain("fastapi-loopback-publish");
  });
});

describe("every container that publishes a port", () => {
  it.each(["vpai", "ai-video", "fastapi", "nextmavens", "galion"].flatMap((blueprint) => ["prod", "preprod"].map((stack) => [stack, blueprint])))(
    "is on a network Docker publishes from (%s %s)",
    async (stack, blueprint) => {
      const plan = await planOf(stack, { overrides: [`blueprint=${blueprint}`] });
      const internal = new Set(
        resourcesOf(plan, "docker:index/network:Network")
          .filter((network) => network.inputs.internal === true)
          .map((network) => network.inputs.name),
      );
      const unpublished = resourcesOf(plan, "docker:index/container:Container")
        .filter((container) => ((container.inputs.ports as unknown[]) ?? []).length > 0)
        .filter((container) => (container.inputs.networksAdvanced as { name: string }[]).every((network) => internal.has(network.name)))
        .map((container) => container.inputs.name);
      expect(unpublished).toEqual([]);
    },
    60_000,
  );
});
