import { buildPlan, type PlanOptions, type PlanResult } from "../../tools/plan/plan";
import { PROJECT_DIR } from "./stack-config";

const cache = new Map<string, Promise<PlanResult>>();

/** The offline plan of a shipped stack (cached per test file; the program is deterministic). */
export function planOf(stack: string, options: Omit<PlanOptions, "projectDir" | "stack"> = {}): Promise<PlanResult> {
  const key = JSON.stringify([stack, options]);
  if (!cache.has(key)) cache.set(key, buildPlan({ projectDir: PROJECT_DIR, stack, ...options }));
  return cache.get(key)!;
}

export type PlannedResource = PlanResult["resources"][number];

export function resourcesOf(plan: PlanResult, type: string): PlannedResource[] {
  return plan.resources.filter((resource) => resource.type === type);
}

/** The container registered for a VPAI service, by its explicit container name. */
export function container(plan: PlanResult, service: string): PlannedResource {
  const found = resourcesOf(plan, "docker:index/container:Container").find((resource) => resource.inputs.name === `vpai-${service}`);
  if (!found) throw new Error(`no container vpai-${service}`);
  return found;
}
