import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { delimiter, join } from "node:path";
import { toolsBin } from "../support/tools";

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs the real `pulumi` CLI in one project directory with a fixed environment
 * (backend, passphrase, plugin lookup), the way CI would.
 */
export class PulumiCLI {
  constructor(
    private readonly binary: string,
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs `pulumi <args>` (with `input` on stdin, e.g. a secret for `config set`); a non-zero exit throws with the command's output unless `allowFailure`. */
  async run(args: string[], options: { allowFailure?: boolean; input?: string } = {}): Promise<PulumiResult> {
    const started = performance.now();
    const child = spawn(this.binary, [...args, "--non-interactive", "--color", "never"], {
      cwd: this.cwd,
      env: this.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    child.stdin?.end(options.input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode) => resolve(exitCode ?? -1));
    });
    const result = { code, stdout, stderr, seconds: (performance.now() - started) / 1000 };
    if (code !== 0 && !options.allowFailure)
      throw new Error(`pulumi ${args.join(" ")} exited with ${code}\n--- stdout\n${stdout.slice(-6000)}\n--- stderr\n${stderr.slice(-6000)}`);
    return result;
  }
}

/**
 * The environment a test runs the CLI in: this machine's environment without
 * any PULUMI_ variable, the tools directory first on PATH, a home and a file
 * backend under `workDir` (which must hold a `state` directory), a fresh
 * passphrase, and no plugin downloads, so that only the plugins built here run.
 */
export function isolatedPulumiEnv(workDir: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PULUMI_")));
  return Object.assign(env, {
    PATH: [toolsBin, process.env.PATH ?? "/usr/bin:/bin"].join(delimiter),
    PULUMI_HOME: join(workDir, "home"),
    PULUMI_BACKEND_URL: `file://${join(workDir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Without it ts-node type-checks the program with its own defaults (lib
    // ES2020 rejects the repo's ES2022 code); `tsc --noEmit -p .` type-checks
    // the program with the rest of the repository.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    ...extra,
  });
}
