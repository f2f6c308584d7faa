import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RELEASE_ID_PATTERN } from "../../components/container/release";
import { goldenGraph } from "../../tools/golden-graph";
import type { PlanResult } from "../../tools/plan/plan";
import { planOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * A stack deployed before zero-downtime releases moves to them without
 * losing data. The fixtures are the graphs the program planned before
 * (tests/fixtures/graphs, taken from the version without releases); each is
 * planned again now and the two are compared by URN, as Pulumi compares a
 * stack's state with the program.
 */
type Graph = Pick<PlanResult, "resources">;
/** The graph in the committed form of the fixtures: what varies between runs (the serialized dynamic provider) left out. */
const plannedNow = async (overrides: string[]): Promise<Graph> => JSON.parse(goldenGraph(await planOf("prod", { overrides }))) as Graph;
const before = (name: string): Graph =>
  JSON.parse(readFileSync(join(PROJECT_DIR, "tests/fixtures/graphs", `${name}-prod-before-releases.json`), "utf8")) as Graph;
/** Resources whose replacement or deletion loses data: volumes, buckets, servers. */
const DATA_TYPES = new Set(["docker:index/volume:Volume", "pulumi-nodejs:dynamic/storage:Bucket", "hcloud:index/server:Server", "hcloud:index/volume:Volume"]);

function compare(old: Graph, now: Graph) {
  // The engine matches a state's resource by URN or by one of the program's aliases (resources that moved into the platform's tree).
  const current = new Map(now.resources.flatMap((resource) => [resource.urn, ...resource.aliases].map((urn) => [urn, resource] as const)));
  const previous = new Map(old.resources.map((resource) => [resource.urn, resource]));
  const data = old.resources.filter((resource) => DATA_TYPES.has(resource.type));
  return {
    data,
    missing: data.filter((resource) => !current.has(resource.urn)).map((resource) => resource.urn),
    changed: data
      .filter((resource) => current.has(resource.urn) && JSON.stringify(current.get(resource.urn)!.inputs) !== JSON.stringify(resource.inputs))
      .map((resource) => resource.urn),
    removed: old.resources
      .filter((resource) => !current.has(resource.urn))
      .map((resource) => resource.name)
      .sort(),
    added: now.resources
      .filter((resource) => ![resource.urn, ...resource.aliases].some((urn) => previous.has(urn)))
      .map((resource) => resource.name.replace(new RegExp(`-${RELEASE_ID_PATTERN}`), "-<id>"))
      .sort(),
  };
}

describe.each<[string, string[], string, string[]]>([
  ["fastapi", ["blueprint=fastapi"], "backend", []],
  // Since then VPAI's metrics, alerts and logs names went too: seed 002 keeps Caddy off the monitoring network.
  ["vpai", [], "litellm", ["vpai-dns-alerts", "vpai-dns-logs", "vpai-dns-metrics"]],
])("%s prod, deployed before releases, planned again now", (name, overrides, released, unrouted) => {
  it("keeps every volume, bucket and server under the same URN with the same inputs: nothing that holds data is replaced or deleted", async () => {
    const result = compare(before(name), await plannedNow(overrides));
    expect(result.data.length).toBeGreaterThan(3);
    expect(result.missing).toEqual([]);
    expect(result.changed).toEqual([]);
  });

  it(`moves ${released} to a release container beside the old one, and removes only stateless resources`, async () => {
    const result = compare(before(name), await plannedNow(overrides));
    const prefix = `${name}-main-${released}`;
    // The old container, its image and gate go, after the new release has taken over.
    expect(result.removed).toEqual([...unrouted, prefix, `${prefix}-healthy`, `${prefix}-image`].sort());
    expect(result.added).toEqual(expect.arrayContaining([`${prefix}-<id>`, `${prefix}-<id>-healthy`, `${prefix}-<id>-image`]));
    expect(result.added.filter((added) => added.endsWith("-live-config"))).toHaveLength(1);
  });
});
