import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { requireTool } from "./support/tools";

// actionlint (tools/install/actionlint.sh) checks every workflow: syntax,
// expressions and contexts, `needs`, reusable-workflow inputs, the inputs of
// known actions such as pulumi/actions, and the shell of `run:` steps through
// shellcheck. Any finding fails the test.

const REPO = resolve(__dirname, "..");
const WORKFLOWS = join(REPO, ".github", "workflows");
const workflowFiles = readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .sort();

let actionlintBinary: string;
let shellcheckBinary: string;
let scratchDir: string | undefined;

beforeAll(() => {
  const install = spawnSync("bash", [join(REPO, "tools/install/actionlint.sh")], { encoding: "utf8" });
  if (install.status !== 0) throw new Error(`tools/install/actionlint.sh exited with ${install.status}:\n${install.stderr}`);
  actionlintBinary = requireTool("actionlint");
  shellcheckBinary = requireTool("shellcheck");
}, 10 * 60_000);

afterAll(async () => {
  if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
});

/** actionlint's findings, one line each, for the given files relative to `cwd`. */
function actionlint(cwd: string, files: string[]): string[] {
  const started = performance.now();
  const run = spawnSync(actionlintBinary, ["-no-color", "-oneline", "-shellcheck", shellcheckBinary, ...files], { cwd, encoding: "utf8" });
  console.log(`actionlint ${files.join(" ")}: ${Math.round(performance.now() - started)} ms`);
  // Exit 1 means findings; anything else is actionlint itself failing.
  if (run.status !== 0 && run.status !== 1) throw new Error(`actionlint exited with ${run.status}:\n${run.stderr}`);
  return run.stdout.split("\n").filter(Boolean);
}

/** A throwaway repository holding one workflow, so actionlint resolves local reusable workflows in it. */
async function scratchRepo(files: Record<string, string>): Promise<string> {
  scratchDir ??= await mkdtemp(join(tmpdir(), "workflows-test-"));
  const root = await mkdtemp(join(scratchDir, "repo-"));
  await mkdir(join(root, ".git"));
  await mkdir(join(root, ".github", "workflows"), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, ".github", "workflows", name), text);
  return root;
}

/** A workflow's job as GitHub reads it, walked by path; its schema is GitHub's, not typed here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Job = Record<string, any>;

function workflow(name: string): { on: Record<string, unknown>; jobs: Record<string, Job> } {
  return parse(readFileSync(join(WORKFLOWS, name), "utf8"));
}

describe("actionlint", () => {
  test("there are workflows to lint", () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(["deploy.yml", "pull-request.yml", "pulumi-up.yml"]));
  });

  test.each(workflowFiles)("%s has no finding", (name) => {
    expect(actionlint(REPO, [join(".github", "workflows", name)])).toEqual([]);
  });

  test("catches a job that needs a job which does not exist", async () => {
    const root = await scratchRepo({
      "broken.yml": "name: broken\non: push\njobs:\n  deploy:\n    needs: build\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo deploy\n",
    });
    const findings = actionlint(root, [".github/workflows/broken.yml"]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/needs job "build" which does not exist.*\[job-needs\]/);
  });

  test("runs shellcheck on run: steps", async () => {
    const root = await scratchRepo({
      "unquoted.yml": "name: unquoted\non: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: ls $HOME\n",
    });
    expect(actionlint(root, [".github/workflows/unquoted.yml"]).join("\n")).toMatch(/SC2086.*\[shellcheck\]/);
  });

  test("checks deploy.yml's inputs against the reusable workflow it calls", async () => {
    const misspelt = readFileSync(join(WORKFLOWS, "deploy.yml"), "utf8").replace("stack: prod", "stak: prod");
    const root = await scratchRepo({ "deploy.yml": misspelt, "pulumi-up.yml": readFileSync(join(WORKFLOWS, "pulumi-up.yml"), "utf8") });
    expect(actionlint(root, [".github/workflows/deploy.yml"]).join("\n")).toMatch(/input "stak" is not defined/);
  });
});

describe("delivery rules", () => {
  test("prod deploys after preprod, inside the protected production environment", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.on).toEqual({ push: { branches: ["main"] } });
    expect(deploy.jobs.preprod).toMatchObject({ uses: "./.github/workflows/pulumi-up.yml", with: { stack: "preprod" } });
    expect(deploy.jobs.prod).toMatchObject({
      needs: "preprod",
      uses: "./.github/workflows/pulumi-up.yml",
      with: { stack: "prod", environment: "production" },
    });
  });

  test("an update is never cancelled and never runs beside another on the same stack", () => {
    const up = workflow("pulumi-up.yml").jobs.up;
    expect(up.concurrency).toEqual({ group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false });
    expect(up.environment).toBe("${{ inputs.environment }}");
  });

  test("pull requests run the tests, plan prod offline without a secret, and preview preprod with a comment (R4)", () => {
    const jobs = workflow("pull-request.yml").jobs;
    expect(Object.keys(jobs).sort()).toEqual(["plan-prod", "preview-preprod", "test"]);
    const runs = (job: Job) => job.steps.map((step: { run?: string }) => step.run).filter(Boolean);
    expect(runs(jobs.test)).toEqual(["bash tools/ensure-deps.sh", "npm test"]);

    // Prod in a pull request: the offline plan and the golden diff, with nothing secret in the job at all.
    const planProd = jobs["plan-prod"]!;
    expect(runs(planProd).join("\n")).toMatch(/npm run --silent plan -- --stack prod/);
    expect(runs(planProd).join("\n")).toMatch(/git diff HEAD\^1 HEAD -- tests\/golden\/prod\.json/);
    expect(JSON.stringify(planProd.steps)).not.toMatch(/secrets/i);
    expect(planProd).not.toHaveProperty("environment");
    expect(planProd).not.toHaveProperty("env");
    expect(planProd.steps.some((step: { uses?: string }) => step.uses?.startsWith("pulumi/actions@"))).toBe(false);

    const preview = jobs["preview-preprod"]!;
    expect(preview.needs).toBe("test");
    const pulumiPreview = preview.steps.find((step: { with?: { command?: string } }) => step.with?.command === "preview");
    expect(pulumiPreview.with).toMatchObject({ "stack-name": "preprod", "work-dir": ".", "comment-on-pr": true, diff: true });
    expect(pulumiPreview.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PREPROD_PULUMI_CONFIG_PASSPHRASE }}");
  });

  test("a deploy joins the VPN, loads the deploy key, pins and reaches every server, then updates (R5)", () => {
    const steps: { name?: string; uses?: string; if?: string; with?: { command?: string } }[] = workflow("pulumi-up.yml").jobs.up.steps;
    const order = [
      "Put the credentials into the ${{ inputs.stack }} stack config",
      "Join the VPN",
      "Load the deploy key into ssh-agent",
      "pulumi preview (${{ inputs.stack }})",
      "Reach every server with its pinned host key",
      "pulumi up (${{ inputs.stack }})",
      "Stop ssh-agent",
      "Leave the VPN",
    ];
    expect(steps.map((step) => step.name).filter((name) => name && order.includes(name))).toEqual(order);
    expect(steps.filter((step) => step.name === "Join the VPN")).toHaveLength(1);
    expect(steps.find((step) => step.name === "pulumi preview (${{ inputs.stack }})")!.with?.command).toBe("preview");
    expect(steps.find((step) => step.name === "pulumi up (${{ inputs.stack }})")!.with?.command).toBe("up");
    // The agent goes and the ephemeral node leaves even when the update fails.
    expect(steps.find((step) => step.name === "Stop ssh-agent")!.if).toMatch(/^always\(\)/);
    expect(steps.find((step) => step.name === "Leave the VPN")!.if).toBe("always()");
  });

  test("every pulumi/actions step installs the CLI version of the npm SDK", () => {
    const sdkVersion = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
    const pulumiSteps = workflowFiles.flatMap((name) =>
      Object.values(workflow(name).jobs).flatMap((job) => (job.steps ?? []).filter((step: { uses?: string }) => step.uses?.startsWith("pulumi/actions@"))),
    );
    expect(pulumiSteps.length).toBeGreaterThanOrEqual(4);
    for (const step of pulumiSteps) expect(step.with["pulumi-version"]).toBe(sdkVersion);
  });

  test("every preview and up runs the policy pack, from the project's own directory", () => {
    const operations = workflowFiles.flatMap((name) =>
      Object.values(workflow(name).jobs).flatMap((job) =>
        (job.steps ?? []).filter(
          (step: { uses?: string; with?: { command?: string } }) =>
            step.uses?.startsWith("pulumi/actions@") && ["preview", "up"].includes(step.with?.command ?? ""),
        ),
      ),
    );
    expect(operations.map((step) => step.with.command).sort()).toEqual(["preview", "preview", "up"]);
    for (const step of operations) {
      expect(step.with.policyPacks, step.name).toBe("policy-pack");
      expect(step.with["work-dir"], step.name).toBe(".");
    }
    expect(existsSync(join(REPO, "policy-pack", "PulumiPolicy.yaml"))).toBe(true);
  });
});
