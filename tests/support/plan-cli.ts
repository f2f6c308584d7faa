import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runPlanCli } from "../../tools/plan/cli";
import { PROJECT_DIR } from "./stack-config";

export interface PlanCLIResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs the README's plan command exactly as a user would. */
export function planCLI(...args: string[]): PlanCLIResult {
  const started = performance.now();
  const result = spawnSync("bash", [join(PROJECT_DIR, "tools/plan.sh"), ...args], { cwd: PROJECT_DIR, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds: (performance.now() - started) / 1000 };
}

/**
 * The same command without a process of its own: what it prints and its exit
 * code for these arguments. The unit tier uses it for the many answers to bad
 * input; tests/plan/cli.test.ts keeps running the real command.
 */
export async function planInProcess(...args: string[]): Promise<Omit<PlanCLIResult, "seconds">> {
  return runPlanCli(args, PROJECT_DIR);
}

/** A frame of a JavaScript stack trace, as Node prints one. */
export const STACK_FRAME = /^\s+at .+$/m;
