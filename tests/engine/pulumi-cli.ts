import { spawn } from "node:child_process";

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
