import { resolve } from "node:path";
import { isInputError } from "../infra/input-error";
import { mermaidDiagram } from "./plan/mermaid";
import { buildPlan, type PlanResult } from "./plan/plan";
import { PlanInputError } from "./plan/stack-file";
import { textReport } from "./plan/text-report";

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

// `npm run plan -- --json | head` closes the pipe early; that is not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const plan = await buildPlan({ projectDir: resolve(__dirname, ".."), stack: args.stack, overrides: args.overrides });
  const render = { text: textReport, json: planJSON, mermaid: mermaidDiagram }[args.format];
  process.stdout.write(render(plan));
}

main().catch((error: unknown) => {
  // Bad input (config, overlay, usage, policy) is the user's to fix: print its
  // lines, not a stack trace (V5). Anything else is a fault of the program.
  const message = isInputError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`plan failed: ${message}\n`);
  process.exit(1);
});
