import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inventoryOf, PLAN_CASES, type InventoryEntry } from "../../tools/plan/inventory";
import type { PlanResult } from "../../tools/plan/plan";
import { planOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * Stacks deployed before the platform → host → service tree hold every
 * component at the stack's root, and the ingress under a type per proxy.
 * The fixtures (tests/fixtures/inventories/before-resource-tree, written by
 * tools/inventory.ts from that version) list what such a stack holds, by URN
 * and input digest. The engine matches a state's resource to the program's
 * by URN or by one of the program's aliases; a match with the same inputs
 * is neither replaced nor updated, and a resource left unmatched would be
 * deleted. So each old resource must be claimed by exactly one new one,
 * with the same inputs.
 */
const before = (name: string): InventoryEntry[] =>
  JSON.parse(readFileSync(join(PROJECT_DIR, "tests/fixtures/inventories/before-resource-tree", `${name}.json`), "utf8")) as InventoryEntry[];

interface Takeover {
  /** Old URNs no new resource answers to: the engine would delete them. */
  readonly unclaimed: string[];
  /** Old URNs two new resources answer to: the engine refuses the update. */
  readonly claimedTwice: string[];
  /** Old URNs taken over with other inputs: an update or a replacement. */
  readonly changed: string[];
  /** New resources that take over nothing: created. */
  readonly created: string[];
}

export function takeover(old: readonly InventoryEntry[], plan: PlanResult): Takeover {
  const now = new Map(inventoryOf(plan).map((entry) => [entry.urn, entry]));
  const claims = new Map<string, string[]>();
  for (const resource of plan.resources) {
    for (const urn of [resource.urn, ...resource.aliases]) claims.set(urn, [...(claims.get(urn) ?? []), resource.urn]);
  }
  const claimed = new Set<string>();
  const result: Takeover = { unclaimed: [], claimedTwice: [], changed: [], created: [] };
  for (const entry of old) {
    const by = claims.get(entry.urn) ?? [];
    if (by.length === 0) result.unclaimed.push(entry.urn);
    if (by.length > 1) result.claimedTwice.push(entry.urn);
    for (const urn of by) {
      claimed.add(urn);
      if (now.get(urn)!.inputs !== entry.inputs) result.changed.push(entry.urn);
    }
  }
  result.created.push(...[...now.keys()].filter((urn) => !claimed.has(urn)));
  return result;
}

describe.each(PLAN_CASES.map((planCase) => [planCase.name, planCase] as const))("%s, deployed before the resource tree, planned now", (name, planCase) => {
  it("takes over every resource by URN or alias, with the same inputs, and creates only the platform and host components", async () => {
    const old = before(name);
    // The inventories were taken before the stacks had an ops host; the ops host is new, not moved, and its own tests cover it.
    const plan = await planOf(planCase.stack, { overrides: [...planCase.overrides], without: ["infra:opsHost"] });
    const result = takeover(old, plan);
    expect(old.length).toBeGreaterThan(50);
    expect(result.unclaimed).toEqual([]);
    expect(result.claimedTwice).toEqual([]);
    expect(result.changed).toEqual([]);
    const created = result.created.map((urn) => urn.split("::")[2]!.split("$").pop());
    expect(new Set(created)).toEqual(new Set(["infra:platform:Platform", "infra:platform:Host"]));
    expect(created.filter((type) => type === "infra:platform:Host")).toHaveLength(plan.hosts.length);
  });
});

describe("the takeover check", () => {
  const entry = (urn: string, inputs = "0"): InventoryEntry => ({ urn, type: urn.split("::")[2]!.split("$").pop()!, inputs });
  const planWith = (resources: { urn: string; aliases?: string[] }[]): PlanResult =>
    ({
      resources: resources.map((resource) => ({
        type: resource.urn.split("::")[2]!.split("$").pop()!,
        name: resource.urn.split("::")[3]!,
        parent: null,
        parentUrn: null,
        aliases: resource.aliases ?? [],
        dependsOn: [],
        custom: true,
        protect: false,
        inputs: {},
        ...resource,
      })),
    }) as unknown as PlanResult;
  const A = "urn:pulumi:prod::infra::t:a:A::a";
  const movedA = "urn:pulumi:prod::infra::infra:platform:Host$t:a:A::a";

  it("finds a resource that moved without an alias: the engine would delete the old and create the new", () => {
    const result = takeover([entry(A, inputsOf({}))], planWith([{ urn: movedA }]));
    expect(result.unclaimed).toEqual([A]);
    expect(result.created).toEqual([movedA]);
  });

  it("accepts a move whose alias names the old URN", () => {
    expect(takeover([entry(A, inputsOf({}))], planWith([{ urn: movedA, aliases: [A] }]))).toEqual({
      unclaimed: [],
      claimedTwice: [],
      changed: [],
      created: [],
    });
  });

  it("finds two resources answering to one old URN, and a takeover with other inputs", () => {
    expect(
      takeover(
        [entry(A, inputsOf({}))],
        planWith([
          { urn: movedA, aliases: [A] },
          { urn: "urn:pulumi:prod::infra::t:a:A::b", aliases: [A] },
        ]),
      ).claimedTwice,
    ).toEqual([A]);
    expect(takeover([entry(A, "different")], planWith([{ urn: movedA, aliases: [A] }])).changed).toEqual([A]);
  });
});

function inputsOf(inputs: Record<string, unknown>): string {
  return inventoryOf({
    resources: [{ urn: "x", type: "t", name: "x", parent: null, parentUrn: null, aliases: [], dependsOn: [], custom: true, protect: false, inputs }],
  } as unknown as PlanResult)[0]!.inputs;
}
