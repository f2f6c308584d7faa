import { isInputError } from "../../infra/input-error";
import { mermaidDiagram } from "./mermaid";
import { buildPlan, type PlanResult } from "./plan";
import { PlanInputError } from "./stack-file";
import { textReport } from "./text-report";

const USAGE = "usage: npm run plan -- --stack <prod|preprod> [-c key=value ...] [--json | --mermaid]";

interface Arguments {
  stack: string;
  overrides: string[];
  format: "text" | "json" | "mermaid";
}

function parseArguments(argv: readonly string[]): Arguments {
  const args: Arguments = { stack: "", overrides: [], format: "text" };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new PlanInputError(`${argument} needs a value\n${USAGE}`);
      return next;
    };
    if (argument === "--stack" || argument === "-s") args.stack = value();
    else if (argument.startsWith("--stack=")) args.stack = argument.slice("--stack=".length);
    else if (argument === "-c" || argument === "--config") args.overrides.push(value());
    else if (argument === "--json") args.format = "json";
    else if (argument === "--mermaid") args.format = "mermaid";
    else if (argument === "--help" || argument === "-h") throw new PlanInputError(USAGE);
    else throw new PlanInputError(`unknown argument "${argument}"\n${USAGE}`);
  }
  if (!args.stack) throw new PlanInputError(`--stack is required\n${USAGE}`);
  return args;
}

/** The plan as one JSON document; see the README for the fields. */
export function planJSON(plan: PlanResult): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

export interface PlanCliOutcome {
  /** The process's exit code: 0, or 1 for a refusal or a fault. */
  readonly status: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The plan command without its process: the arguments in, what it prints and
 * its exit code out. Bad input (config, overlay, usage, policy) is the user's
 * to fix, so it prints its lines, not a stack trace (V5); anything else is a
 * fault of the program and keeps its stack.
 */
export async function runPlanCli(argv: readonly string[], projectDir: string): Promise<PlanCliOutcome> {
  try {
    const args = parseArguments(argv);
    const plan = await buildPlan({ projectDir, stack: args.stack, overrides: args.overrides });
    const render = { text: textReport, json: planJSON, mermaid: mermaidDiagram }[args.format];
    return { status: 0, stdout: render(plan), stderr: "" };
  } catch (error: unknown) {
    const message = isInputError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { status: 1, stdout: "", stderr: `plan failed: ${message}\n` };
  }
}
