import type { PlanResult } from "./plan/plan";

/**
 * The committed form of a stack's graph: resources sorted by type and name,
 * secrets already masked by the plan, and nothing that varies between runs
 * (timings, the size of the serialized dynamic provider).
 */
export function goldenGraph(plan: PlanResult): string {
  const resources = [...plan.resources]
    .map((resource) => ({ ...resource, inputs: stripVolatile(resource.inputs) as Record<string, unknown> }))
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  const { elapsedMs: _elapsed, resources: _resources, ...rest } = plan;
  return `${JSON.stringify({ ...rest, resources }, null, 2)}\n`;
}

function stripVolatile(value: unknown): unknown {
  if (typeof value === "string" && value.startsWith("[serialized provider")) return "[serialized provider]";
  if (Array.isArray(value)) return value.map(stripVolatile);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, stripVolatile(item)]));
  return value;
}

export const GOLDEN_STACKS = ["prod", "preprod"] as const;

export function goldenPath(projectDir: string, stack: string): string {
  return `${projectDir}/tests/golden/${stack}.json`;
}
