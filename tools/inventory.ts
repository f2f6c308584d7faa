import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { inventoryOf, PLAN_CASES } from "./plan/inventory";
import { buildPlan } from "./plan/plan";

/**
 * Records what a deployed stack of this version holds, for every plan case,
 * in tests/fixtures/inventories/<tag>/: run it before a change that moves
 * resources (a new parent, a new type), so a test can prove the next version
 * takes over each of them by URN or alias without a replacement.
 * Usage: tsx tools/inventory.ts <tag>
 */
async function main(): Promise<void> {
  const tag = process.argv[2];
  if (!tag || !/^[a-z0-9-]+$/.test(tag)) throw new Error("usage: tsx tools/inventory.ts <tag, e.g. before-resource-tree>");
  const projectDir = resolve(__dirname, "..");
  const dir = resolve(projectDir, "tests/fixtures/inventories", tag);
  mkdirSync(dir, { recursive: true });
  for (const planCase of PLAN_CASES) {
    const plan = await buildPlan({ projectDir, stack: planCase.stack, overrides: [...planCase.overrides] });
    writeFileSync(resolve(dir, `${planCase.name}.json`), `${JSON.stringify(inventoryOf(plan), null, 1)}\n`);
    process.stdout.write(`${planCase.name}: ${plan.resources.length} resources\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`inventory failed: ${(error as Error).message}\n`);
  process.exit(1);
});
