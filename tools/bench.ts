import { resolve } from "node:path";
import { GOLDEN_STACKS } from "./golden-graph";
import { buildPlan } from "./plan/plan";

/** `npm run bench`: mock-run time and resource count of each stack, first (cold) and repeated (warm) runs. */
async function main(): Promise<void> {
  const projectDir = resolve(__dirname, "..");
  const runs = 5;
  for (const stack of GOLDEN_STACKS) {
    const times: number[] = [];
    let resources = 0;
    for (let run = 0; run < runs; run++) {
      const plan = await buildPlan({ projectDir, stack });
      times.push(plan.elapsedMs);
      resources = plan.resources.length;
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    process.stdout.write(
      `${stack.padEnd(8)} resources ${String(resources).padStart(4)}  first run ${times[0]!.toFixed(0).padStart(5)} ms  warm median ${warm[Math.floor(warm.length / 2)]!.toFixed(0).padStart(5)} ms (${runs - 1} runs)\n`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
