import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { requireTool } from "../support/tools";

// Runs a workflow's own `run:` steps on this machine, as a GitHub runner
// would: the script straight from the YAML, under `bash --noprofile --norc
// -eo pipefail` (what `shell: bash` means), with the step's env, RUNNER_TEMP,
// HOME and a GITHUB_ENV file whose lines later steps get. strace records
// every program the step starts, with its full arguments.

export const WORKFLOWS = resolve(__dirname, "..", "..", ".github", "workflows");

export interface RunStep {
  readonly name?: string;
  readonly run: string;
  readonly env?: Record<string, unknown>;
  readonly shell?: string;
}

/** The `run:` step called `name` in a job of a workflow file; an error when there is none, or more than one. */
export function workflowStep(file: string, job: string, name: string): RunStep {
  const workflow = parse(readFileSync(join(WORKFLOWS, file), "utf8")) as {
    defaults?: { run?: { shell?: string } };
    jobs: Record<string, { defaults?: { run?: { shell?: string } }; steps?: RunStep[] }>;
  };
  const steps = (workflow.jobs[job]?.steps ?? []).filter((step) => step.name === name);
  if (steps.length !== 1) throw new Error(`${file} jobs.${job} has ${steps.length} steps named "${name}", not one`);
  const step = steps[0]!;
  if (typeof step.run !== "string") throw new Error(`${file} jobs.${job} step "${name}" is not a run: step`);
  const shell = step.shell ?? workflow.jobs[job]!.defaults?.run?.shell ?? workflow.defaults?.run?.shell;
  return { ...step, ...(shell ? { shell } : {}) };
}

/** A runner's per-job directories: its home, RUNNER_TEMP and the GITHUB_ENV file. */
export interface Runner {
  readonly home: string;
  readonly temp: string;
  readonly githubEnv: string;
  /** Every variable that earlier steps wrote to GITHUB_ENV (NAME=value lines). */
  exported(): Record<string, string>;
  remove(): Promise<void>;
}

export async function startRunner(): Promise<Runner> {
  const root = await mkdtemp(join(tmpdir(), "workflow-runner-"));
  const home = join(root, "home");
  const temp = join(root, "temp");
  const githubEnv = join(root, "github_env");
  await Promise.all([mkdir(home, { mode: 0o700 }), mkdir(temp, { mode: 0o700 })]);
  await writeFile(githubEnv, "");
  return {
    home,
    temp,
    githubEnv,
    exported: () =>
      Object.fromEntries(
        readFileSync(githubEnv, "utf8")
          .split("\n")
          .filter((line) => line.includes("="))
          .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      ),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export interface StepResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The argument lists of every program the step started (strace's execve lines). */
  readonly execs: string[];
}

/**
 * Runs `step` under strace. The step's `env:` values that are constants are
 * used as written; `values` gives one for each that is a GitHub expression
 * (a secret, an input), which this machine cannot evaluate, and a name the
 * step needs and the test does not give is an error. A daemon the step leaves
 * behind (ssh-agent) keeps running, as it does on a runner, and strace lets
 * go of it once the step's shell exits.
 */
export async function runStep(
  step: RunStep,
  runner: Runner,
  values: Record<string, string>,
  timeoutMs = 60_000,
  path = process.env.PATH ?? "/usr/bin:/bin",
): Promise<StepResult> {
  if (step.run.includes("${{")) throw new Error(`step "${step.name}" puts a GitHub expression into its script; it takes values from env`);
  if (step.shell !== "bash") throw new Error(`step "${step.name}" runs under ${step.shell ?? "the default shell"}, not bash`);
  const constants = Object.fromEntries(
    Object.entries(step.env ?? {})
      .filter(([, value]) => !String(value).includes("${{"))
      .map(([name, value]) => [name, String(value)]),
  );
  const missing = Object.keys(step.env ?? {}).filter((name) => !(name in constants) && !(name in values));
  if (missing.length > 0) throw new Error(`step "${step.name}" needs env ${missing.join(", ")}, which the test does not give`);
  const script = join(runner.temp, `step-${Date.now()}-${Math.random().toString(16).slice(2)}.sh`);
  await writeFile(script, step.run);
  const trace = `${script}.strace`;
  const env = {
    PATH: path,
    HOME: runner.home,
    RUNNER_TEMP: runner.temp,
    GITHUB_ENV: runner.githubEnv,
    GITHUB_RUN_ID: "1",
    ...runner.exported(),
    ...constants,
    ...values,
  };
  const child = spawn(
    requireTool("strace"),
    [
      "-f",
      "-q",
      "-I1",
      "-s",
      "1000000",
      "-e",
      "trace=execve,execveat",
      "-e",
      "signal=none",
      "-o",
      trace,
      "--",
      "bash",
      "--noprofile",
      "--norc",
      "-eo",
      "pipefail",
      script,
    ],
    {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // "close": strace has exited and the step's output is all read.
  const straceClosed = new Promise<void>((done) => child.once("close", () => done()));

  // The first traced process is the step's shell; its exit ends the step.
  const deadline = Date.now() + timeoutMs;
  let status: number | null | undefined;
  while (status === undefined) {
    // strace itself exits with the shell's status once nothing it traces is left.
    const straceExit = child.exitCode;
    const log = existsSync(trace) ? await readFile(trace, "utf8") : "";
    const shell = /^(\d+)\s/.exec(log)?.[1];
    const exit = shell ? new RegExp(`^${shell}\\s+\\+\\+\\+ (?:exited with (\\d+)|killed by \\S+)`, "m").exec(log) : null;
    if (exit) status = exit[1] === undefined ? null : Number(exit[1]);
    else if (straceExit !== null) status = straceExit;
    else if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`step "${step.name}" did not finish within ${timeoutMs / 1000}s:\n${stdout}${stderr}`);
    } else await new Promise((done) => setTimeout(done, 20));
  }
  // strace detaches from what still runs (-I1 lets the signal through) and exits.
  child.kill("SIGTERM");
  await straceClosed;
  const execs = (await readFile(trace, "utf8")).split("\n").filter((line) => / execve(at)?\(/.test(line));
  await rm(script, { force: true });
  await rm(trace, { force: true });
  return { status, stdout, stderr, execs };
}
