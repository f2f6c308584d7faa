import { describe, expect, it } from "vitest";
import { planOf, type PlannedResource } from "../support/plans";
import { pluginFields, sdkInputNames, unmappedPaths } from "./mapping";

// The Docker plugin is built here from the upstream Terraform provider through
// pulumi-terraform-bridge (tools/install/docker-provider.sh). The bridge drops
// an input property it cannot map without a word, so a container would run
// without, say, its read-only root or dropped capabilities. These tests hold
// the plugin's mapping against the SDK's own inputs and against every value
// the program sets, in every blueprint and stack.

const fields = pluginFields();
const DOCKER_TOKENS = {
  "container.js": "docker:index/container:Container",
  "network.js": "docker:index/network:Network",
  "volume.js": "docker:index/volume:Volume",
  "remoteImage.js": "docker:index/remoteImage:RemoteImage",
  "provider.js": "pulumi:providers:docker",
} as const;
const BLUEPRINTS = ["vpai", "ai-video", "fastapi", "nextmavens", "galion"] as const;
const STACKS = ["prod", "preprod"] as const;

describe("the Docker plugin's mapping", () => {
  it.each(Object.entries(DOCKER_TOKENS))("maps every input the SDK sends for %s", (moduleFile, token) => {
    const sdkNames = sdkInputNames(moduleFile);
    expect(sdkNames.length).toBeGreaterThan(3);
    const mapped = fields.get(token);
    expect(mapped, `the plugin maps no resource ${token}`).toBeDefined();
    expect(sdkNames.filter((name) => !mapped!.has(name))).toEqual([]);
  });

  it.each(STACKS.flatMap((stack) => BLUEPRINTS.map((blueprint) => [stack, blueprint] as const)))(
    "maps every property the program sets on %s %s, nested ones included",
    async (stack, blueprint) => {
      const plan = await planOf(stack, { overrides: [`blueprint=${blueprint}`] });
      const docker = plan.resources.filter((resource: PlannedResource) => Object.values(DOCKER_TOKENS).includes(resource.type as never));
      expect(docker.filter((resource) => resource.type === DOCKER_TOKENS["container.js"]).length).toBeGreaterThan(5);
      const problems = docker.flatMap((resource) =>
        unmappedPaths(resource.inputs as Record<string, unknown>, fields.get(resource.type)!).map((path) => `${resource.type} ${resource.name}: ${path}`),
      );
      expect(problems).toEqual([]);
    },
    120_000,
  );

  it("reports a property the plugin would drop, at any depth", () => {
    const container = fields.get(DOCKER_TOKENS["container.js"])!;
    const inputs = {
      name: "app",
      readOnly: true,
      capabilities: { drops: ["ALL"], dropped: ["NET_RAW"] },
      healthcheck: { tests: ["CMD", "true"], interval: "10s" },
      networkAdvanced: [{ name: "backend" }],
      uploads: [{ file: "/etc/app.conf", content: "x", mode: "0644" }],
    };
    expect(unmappedPaths(inputs, container)).toEqual(["capabilities.dropped", "networkAdvanced", "uploads.mode"]);
  });
});
