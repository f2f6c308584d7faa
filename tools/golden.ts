import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

/**
 * `npm run golden`: writes tests/golden again from the current program, for
 * every blueprint, stack and GALION phase (tools/golden-graph.ts lists them).
 * The files are vitest file snapshots of tests/stacks/golden.test.ts, so this
 * is that test with --update; review the result with `git diff tests/golden`.
 * (`--update` takes an optional value, so it comes after the file: before
 * it, it would take the file as its value and run every test.)
 */
const projectDir = resolve(__dirname, "..");
const vitest = join(projectDir, "node_modules", ".bin", "vitest");
const run = spawnSync(vitest, ["run", "tests/stacks/golden.test.ts", "--update=all"], { cwd: projectDir, stdio: "inherit" });
if (run.error) {
  process.stderr.write(`golden failed: ${run.error.message}\n`);
  process.exit(1);
}
process.exit(run.status ?? 1);
