import { createHash } from "node:crypto";
import { goldenGraph } from "../golden-graph";
import type { PlanResult } from "./plan";

/**
 * One resource of a planned stack as the engine matches it to its state: by
 * URN, and a digest of its inputs. Two plans whose inventories agree, URN by
 * URN (or by alias), with the same digests, differ by nothing Pulumi would
 * replace, update or delete.
 */
export interface InventoryEntry {
  readonly urn: string;
  readonly type: string;
  readonly inputs: string;
}

/** Every plan the program can make from the shipped stacks: each blueprint on each stack, and each GALION phase. */
export const PLAN_CASES: readonly { readonly name: string; readonly stack: string; readonly overrides: readonly string[] }[] = [
  ...["vpai", "fastapi", "galion", "nextmavens", "ai-video"].flatMap((blueprint) =>
    ["prod", "preprod"].map((stack) => ({ name: `${blueprint}-${stack}`, stack, overrides: [`blueprint=${blueprint}`] })),
  ),
  ...[1, 2, 3, 4, 5].map((phase) => ({ name: `galion-phase-${phase}-prod`, stack: "prod", overrides: [`@examples/galion/phase-${phase}.yaml`] })),
];

/** The inventory of a plan, in the committed form (what varies between runs left out, as in the golden files). */
export function inventoryOf(plan: PlanResult): InventoryEntry[] {
  const graph = JSON.parse(goldenGraph(plan)) as Pick<PlanResult, "resources">;
  return graph.resources
    .map((resource) => ({
      urn: resource.urn,
      type: resource.type,
      inputs: createHash("sha256").update(JSON.stringify(resource.inputs)).digest("hex").slice(0, 16),
    }))
    .sort((a, b) => a.urn.localeCompare(b.urn));
}
