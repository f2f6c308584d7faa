import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { GOLDEN_STACKS, goldenGraph, goldenPath } from "./golden-graph";
import { buildPlan } from "./plan/plan";

/** `npm run golden`: rewrites tests/golden/<stack>.json from the current program. */
async function main(): Promise<void> {
  const projectDir = resolve(__dirname, "..");
  for (const stack of GOLDEN_STACKS) {
    const plan = await buildPlan({ projectDir, stack });
    const path = goldenPath(projectDir, stack);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, goldenGraph(plan));
    process.stdout.write(`${path}: ${plan.resources.length} resources\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`golden failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
