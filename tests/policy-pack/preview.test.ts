import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedPulumiEnv, PulumiCLI } from "../engine/pulumi-cli";
import { requireTool, toolsBin } from "../support/tools";

/**
 * The CrossGuard pack (policy-pack/) under the real Pulumi CLI:
 * `pulumi preview --policy-pack policy-pack`, on a file backend, of a small
 * program (program/index.ts) whose containers the local Docker engine would
 * run. That program is not the platform program, so the program's own
 * policy, which refuses before anything is registered, never runs: what
 * stops the preview is the pack, reported by the engine with its rule and
 * resource. The stack is called prod, so the pack judges it against the
 * committed Pulumi.prod.yaml, as it would the platform's own prod stack.
 *
 * The nodejs language host tools/install/pulumi.sh builds (v3.68.0) cannot
 * start a policy pack (the first test shows its refusal), so the CLI talks
 * to language-host.ts, which adds that one call in front of it.
 */
const REPO = resolve(__dirname, "../..");
const PACK = join(REPO, "policy-pack");
const SETUP_TIMEOUT_MS = 45 * 60_000;
const PREVIEW_TIMEOUT_MS = 4 * 60_000;

let workDir: string;
let env: NodeJS.ProcessEnv;
let pulumi: PulumiCLI;

/** Runs one of the repository's installers (each reuses what it built before). */
function install(script: string): void {
  const run = spawnSync("bash", [join(REPO, script)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (run.status !== 0) throw new Error(`${script} exited with ${run.status}:\n${run.stderr}`);
}

beforeAll(async () => {
  install("tools/install/pulumi.sh");
  install("tools/install/docker-provider.sh");
  install("tools/testbed/docker-engine.sh");
  workDir = mkdtempSync(join(tmpdir(), "policy-pack-preview-"));
  for (const dir of ["state", "project", "bin"]) mkdirSync(join(workDir, dir));
  // The passphrase from a file only the test's user reads, never on a command line.
  const passphrase = join(workDir, "passphrase");
  writeFileSync(passphrase, randomBytes(24).toString("hex"), { mode: 0o600 });
  const shim = join(workDir, "bin", "pulumi-language-nodejs");
  writeFileSync(
    shim,
    `#!/bin/sh\nexec "${join(REPO, "node_modules/.bin/tsx")}" "${join(__dirname, "language-host.ts")}" "${join(toolsBin, "pulumi-language-nodejs")}" "$@"\n`,
  );
  chmodSync(shim, 0o755);
  const { PULUMI_CONFIG_PASSPHRASE: _inline, PULUMI_BACKEND_URL: _backend, ...isolated } = isolatedPulumiEnv(workDir);
  env = { ...isolated, PULUMI_CONFIG_PASSPHRASE_FILE: passphrase, PATH: [join(workDir, "bin"), isolated.PATH].join(delimiter) };
  writeFileSync(join(workDir, "project", "Pulumi.yaml"), stringify({ name: "policy-pack-check", runtime: "nodejs", main: `${join(__dirname, "program")}/` }));
  pulumi = new PulumiCLI(requireTool("pulumi"), join(workDir, "project"), env);
  await pulumi.run(["login", `file://${join(workDir, "state")}`]);
  await pulumi.run(["stack", "init", "prod"]);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** `pulumi preview --policy-pack policy-pack` of the test's stack, with `check:violate` set as given. */
async function preview(violate: boolean): Promise<{ code: number; output: string; seconds: number }> {
  await pulumi.run(["config", "set", "--stack", "prod", "check:violate", String(violate)]);
  const result = await pulumi.run(["preview", "--stack", "prod", "--policy-pack", PACK], { allowFailure: true });
  return { code: result.code, output: `${result.stdout}\n${result.stderr}`, seconds: result.seconds };
}

describe("the policy pack under `pulumi preview --policy-pack`", () => {
  it("cannot be started by the language host tools/install/pulumi.sh builds on its own", { timeout: PREVIEW_TIMEOUT_MS }, async () => {
    const bare = new PulumiCLI(requireTool("pulumi"), join(workDir, "project"), { ...env, PATH: env.PATH!.split(delimiter).slice(1).join(delimiter) });
    const result = await bare.run(["preview", "--stack", "prod", "--policy-pack", PACK], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/policy pack ".*policy-pack" failed to start: could not read plugin \[.*policy-pack\]: not supported/);
  });

  it("passes a stack whose containers follow the checklist", { timeout: PREVIEW_TIMEOUT_MS }, async () => {
    const { code, output, seconds } = await preview(false);
    console.log(`clean preview with the pack: ${seconds.toFixed(1)} s`);
    expect(code, output).toBe(0);
    expect(output).toContain("infra-checklist@v0.1.0 (local: ");
    expect(output).toMatch(/\+ 4 to create/);
    expect(output).not.toMatch(/mandatory/);
  });

  it(
    "fails a privileged container (C1) and a data API connecting as a superuser named only in a secret (E4), with each rule and resource",
    { timeout: PREVIEW_TIMEOUT_MS },
    async () => {
      const { code, output, seconds } = await preview(true);
      console.log(`violating preview with the pack: ${seconds.toFixed(1)} s`);
      expect(code, output).not.toBe(0);
      expect(output).toMatch(/\[mandatory\]\s+checklist-resource\s+\(docker:index\/container:Container: vpai-main-worker\)/);
      expect(output).toContain("C1 container vpai-worker: runs privileged");
      expect(output).toMatch(/\[mandatory\]\s+checklist-resource\s+\(docker:index\/container:Container: vpai-main-rest\)/);
      expect(output).toContain("E4 container vpai-rest: vpai-rest connects as postgres, a superuser");
      // The pack read the secret's value; the engine's report shows none of it.
      expect(output).not.toContain("not-a-real-password");
      expect(existsSync(join(PACK, "node_modules"))).toBe(false);
    },
  );
});
