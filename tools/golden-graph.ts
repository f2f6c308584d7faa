import { readdirSync } from "node:fs";
import { join } from "node:path";
import { BLUEPRINTS } from "../infra/blueprints";
import type { PlanResult } from "./plan/plan";
import { readStackFile } from "./plan/stack-file";

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

/** The folder that holds every golden graph. */
export const GOLDEN_DIR = join("tests", "golden");

/** Seed 004's scaling phases, examples/galion/phase-<n>.yaml, by number. */
export const GALION_PHASES_DIR = join("examples", "galion");

/** One plan whose graph is committed: a stack, the `-c` overrides it is planned with, and its file. */
export interface GoldenPlan {
  readonly stack: string;
  /** What the plan is, in words: "prod", "prod with blueprint fastapi", "prod with GALION phase 3". */
  readonly title: string;
  /** The blueprint the plan must come out with: an override that did not apply shows as a failure, not as a golden file of the wrong platform. */
  readonly blueprint: string;
  /** As `-c` takes them: `blueprint=<name>` or `@examples/galion/phase-<n>.yaml`. */
  readonly overrides: readonly string[];
  /** Relative to the project: tests/golden/<stack>.json, tests/golden/<stack>/<blueprint>.json, tests/golden/<stack>/galion-phase-<n>.json. */
  readonly path: string;
}

/**
 * Every plan of every blueprint, stack and GALION phase: each stack as it
 * ships, each stack with every other blueprint, and each stack with each of
 * seed 004's phases. A blueprint or phase added later gets its golden graph
 * without a change here.
 */
export function goldenPlans(projectDir: string): GoldenPlan[] {
  const phases = readdirSync(join(projectDir, GALION_PHASES_DIR))
    .flatMap((file) => /^phase-(\d+)\.yaml$/.exec(file)?.[1] ?? [])
    .map(Number)
    .sort((a, b) => a - b);
  return GOLDEN_STACKS.flatMap((stack): GoldenPlan[] => {
    const shipped = readStackFile(projectDir, stack).values["infra:blueprint"] ?? "";
    return [
      { stack, title: stack, blueprint: shipped, overrides: [], path: join(GOLDEN_DIR, `${stack}.json`) },
      ...Object.keys(BLUEPRINTS)
        .filter((blueprint) => blueprint !== shipped)
        .map((blueprint) => ({
          stack,
          title: `${stack} with blueprint ${blueprint}`,
          blueprint,
          overrides: [`blueprint=${blueprint}`],
          path: join(GOLDEN_DIR, stack, `${blueprint}.json`),
        })),
      ...phases.map((phase) => ({
        stack,
        title: `${stack} with GALION phase ${phase}`,
        blueprint: "galion",
        overrides: [`@${join(GALION_PHASES_DIR, `phase-${phase}.yaml`)}`],
        path: join(GOLDEN_DIR, stack, `galion-phase-${phase}.json`),
      })),
    ];
  });
}

/** The committed graph of a stack as it ships (the file the pull request's golden diff shows). */
export function goldenPath(projectDir: string, stack: string): string {
  return join(projectDir, GOLDEN_DIR, `${stack}.json`);
}
