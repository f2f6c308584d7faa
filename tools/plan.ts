import { resolve } from "node:path";
import { runPlanCli } from "./plan/cli";

// `npm run plan -- --json | head` closes the pipe early; that is not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

void runPlanCli(process.argv.slice(2), resolve(__dirname, "..")).then((outcome) => {
  process.stdout.write(outcome.stdout);
  process.stderr.write(outcome.stderr);
  process.exitCode = outcome.status;
});
