import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RecordedResource, recordGraph } from "../../tools/plan/mock-run";
import { requireTool } from "../support/tools";
import { isolatedPulumiEnv, PulumiCLI } from "./pulumi-cli";
import { registerTree } from "./tree-move/tree";

// The resource tree moved: what sat at the stack's root now sits under the
// platform and a host per server, each moved component answering to its old
// URN through movedFromRoot, the ingress through ingressAliases as well, and
// every child through the aliases the engine carries down from its parent.
// tests/stacks/resource-tree-move.test.ts proves the move on every plan with
// the URNs tools/plan/mock-run.ts resolves aliases to; this file proves, on a
// miniature of the tree with the same shapes (tests/engine/tree-move), that
// the real engine resolves them the same way: it takes every old resource
// over, creates only the platform and the host, runs no create script, and
// tries no alias URN that the resolver does not list.

const REPO = resolve(__dirname, "../..");
const PROJECT = join(__dirname, "tree-move");
const PROJECT_NAME = "infra-tree-move-test";
// Building the CLI from source takes minutes on a cold Go build cache.
const SETUP_TIMEOUT_MS = 45 * 60_000;
const STEP_TIMEOUT_MS = 5 * 60_000;

const STACK_TYPE = "pulumi:pulumi:Stack";
const PROVIDER_TYPE_PREFIX = "pulumi:providers:";
/** The two components the move adds: the only resources the engine may create. */
const ADDED = [`infra:platform:Platform::tm`, `infra:platform:Platform$infra:platform:Host::tm-web-host`];

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  parent?: string;
}

interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { urn: string };
  detailedDiff?: Record<string, unknown> | null;
  diffReasons?: string[];
}

let workDir: string | undefined;
let stackName: string | undefined;
let configFile: string;
let logFile: string;
let pulumi: PulumiCLI;
/** The program's resources after step 1, by URN: what a stack deployed before the move holds. */
let before: StateResource[];

const stackCommand = (...args: string[]) => pulumi.run([...args, "--stack", stackName!, "--config-file", configFile]);
const stateCommand = (...args: string[]) => pulumi.run([...args, "--stack", stackName!]);
const loggedLines = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").filter(Boolean) : []);
/** The URN without `urn:pulumi:<stack>::<project>::`, to read in a failure. */
const short = (urn: string) => urn.split("::").slice(2).join("::");
const urnOf = (rest: string) => `urn:pulumi:${stackName}::${PROJECT_NAME}::${rest}`;

async function programResources(): Promise<StateResource[]> {
  const exported = JSON.parse((await stateCommand("stack", "export")).stdout) as { deployment: { resources?: StateResource[] } };
  return (exported.deployment.resources ?? []).filter((resource) => resource.type !== STACK_TYPE && !resource.type.startsWith(PROVIDER_TYPE_PREFIX));
}

async function setStep(step: 1 | 2, aliases = true): Promise<void> {
  await stackCommand("config", "set", "step", String(step));
  await stackCommand("config", "set", "aliases", String(aliases));
}

/** The step-2 program under Pulumi's mock runtime, with each resource's URN and alias URNs as tools/plan/mock-run.ts resolves them. */
async function resolvedTree(aliases: boolean): Promise<RecordedResource[]> {
  const run = await recordGraph({ project: PROJECT_NAME, stack: stackName!, values: {}, secretKeys: new Set() }, () => {
    registerTree({ step: 2, aliases, logFile });
    return {};
  });
  return run.resources.filter((resource) => resource.type !== STACK_TYPE);
}

/** What the engine logs at -v=7 as it looks for each resource's old state. */
interface EngineAliasLog {
  /** Per new URN, every alias URN the engine computed for it. */
  generated: Map<string, string[]>;
  /** Per new URN, the old URN it took over through an alias. */
  matched: Map<string, string>;
}

function engineAliasLog(stderr: string): EngineAliasLog {
  const generated = new Map<string, string[]>();
  const matched = new Map<string, string>();
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = (JSON.parse(line) as { msg?: string }).msg ?? "";
    const aliases = /^Generated aliases for (\S+): \[(.*)\]$/.exec(message);
    if (aliases) generated.set(aliases[1]!, aliases[2]!.split(" ").filter(Boolean));
    const match = /^Matched alias (\S+) resolving to \S+ for resource (\S+)$/.exec(message);
    if (match) matched.set(match[2]!, match[1]!);
  }
  return { generated, matched };
}

let engineLog: EngineAliasLog;

beforeAll(async () => {
  const install = spawnSync("bash", [join(REPO, "tools/install/pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (install.status !== 0) throw new Error(`tools/install/pulumi.sh exited with ${install.status}:\n${install.stderr}`);
  const binary = requireTool("pulumi");
  workDir = await mkdtemp(join(tmpdir(), "tree-move-test-"));
  logFile = join(workDir, "created.log");
  await mkdir(join(workDir, "state"));
  // No plugin downloads: every custom resource is a dynamic one.
  pulumi = new PulumiCLI(binary, PROJECT, isolatedPulumiEnv(workDir));
  stackName = `tree-move-${randomBytes(4).toString("hex")}`;
  await pulumi.run(["stack", "init", stackName]);
  configFile = join(workDir, `Pulumi.${stackName}.yaml`);
  await rename(join(PROJECT, `Pulumi.${stackName}.yaml`), configFile);
  await stackCommand("config", "set", "logFile", logFile);
  await setStep(1);
  await stackCommand("up", "--yes", "--skip-preview");
  before = await programResources();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (stackName) await rm(join(PROJECT, `Pulumi.${stackName}.yaml`), { force: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the resource tree's move under the real Pulumi engine", () => {
  test("step 1 holds the tree as stacks deployed before the move do: every component at the stack's root", () => {
    expect(loggedLines().sort()).toEqual(
      ["tm-web-caddy-service-container", "tm-web-install", "tm-web-monitoring-grafana-container", "tm-web-prepare", "tm-web-setup"].map(
        (name) => `created ${name}`,
      ),
    );
    expect(before.map((resource) => short(resource.urn)).sort()).toEqual([
      "infra:compute:Server$pulumi-nodejs:dynamic/engine:LocalCommand::tm-web-prepare",
      "infra:compute:Server$pulumi-nodejs:dynamic/engine:LocalCommand::tm-web-setup",
      "infra:compute:Server$pulumi-nodejs:dynamic/engine:PreviousCommand::tm-web-install",
      "infra:compute:Server::tm-web",
      "infra:ingress:Caddy$infra:container:Service$pulumi-nodejs:dynamic/engine:LocalCommand::tm-web-caddy-service-container",
      "infra:ingress:Caddy$infra:container:Service::tm-web-caddy-service",
      "infra:ingress:Caddy::tm-web-caddy",
      "infra:monitoring:Monitoring$infra:container:Service$pulumi-nodejs:dynamic/engine:LocalCommand::tm-web-monitoring-grafana-container",
      "infra:monitoring:Monitoring$infra:container:Service::tm-web-monitoring-grafana",
      "infra:monitoring:Monitoring::tm-web-monitoring",
    ]);
  });

  test(
    "without the aliases, the engine would delete every old resource and create it anew, and the resolver claims none",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      await setStep(2, false);
      const preview = JSON.parse((await stackCommand("preview", "--json")).stdout) as { steps?: PreviewStep[] };
      const steps = preview.steps ?? [];
      const urnsOf = (op: string) =>
        steps
          .filter((step) => step.op === op)
          .map((step) => step.urn)
          .sort();
      expect(urnsOf("delete")).toEqual(before.map((resource) => resource.urn).sort());
      const resolved = await resolvedTree(false);
      expect(urnsOf("create")).toEqual(resolved.map((resource) => resource.urn).sort());
      // The check below, on the same tree without its aliases, fails as it should.
      const claimed = new Set(resolved.flatMap((resource) => [resource.urn, ...resource.aliases]));
      expect(before.filter((resource) => claimed.has(resource.urn))).toEqual([]);
      expect(loggedLines()).toHaveLength(5);
    },
  );

  test("with them, preview creates only the platform and the host and leaves every moved resource the same", { timeout: STEP_TIMEOUT_MS }, async () => {
    await setStep(2);
    const { stdout, stderr } = await stackCommand("preview", "--json", "--show-sames", "-v=7", "--logtostderr");
    engineLog = engineAliasLog(stderr);
    const steps = (JSON.parse(stdout) as { steps?: PreviewStep[] }).steps ?? [];
    const ops = Object.fromEntries(steps.map((step) => [short(step.urn), step.op]));
    const moved = steps.filter((step) => step.oldState && step.urn !== step.oldState.urn);
    // The engine says `same` for each moved resource: no update, no diff.
    expect(ops).toEqual({
      [`${STACK_TYPE}::${PROJECT_NAME}-${stackName}`]: "same",
      ...Object.fromEntries(ADDED.map((urn) => [urn, "create"])),
      ...Object.fromEntries(moved.map((step) => [short(step.urn), "same"])),
    });
    expect(moved.map((step) => step.oldState!.urn).sort()).toEqual(before.map((resource) => resource.urn).sort());
    expect(moved.filter((step) => (step.diffReasons ?? []).length > 0 || Object.keys(step.detailedDiff ?? {}).length > 0)).toEqual([]);
  });

  test("up takes the old resources over: no create script runs, and the state holds the new URNs with the old ids", { timeout: STEP_TIMEOUT_MS }, async () => {
    await setStep(2);
    await stackCommand("up", "--yes", "--skip-preview");
    expect(loggedLines()).toHaveLength(5);

    const after = await programResources();
    const resolved = await resolvedTree(true);
    expect(after.map((resource) => resource.urn).sort()).toEqual(resolved.map((resource) => resource.urn).sort());
    const idBefore = new Map(before.map((resource) => [resource.urn, resource.id]));
    const takenOver = after
      .filter((resource) => resource.id !== undefined)
      .map((resource) => [short(resource.urn), idBefore.get(engineLog.matched.get(resource.urn) ?? "") === resource.id]);
    expect(takenOver).toHaveLength(5);
    expect(takenOver.filter(([, sameId]) => !sameId)).toEqual([]);

    await stackCommand("up", "--yes", "--skip-preview", "--expect-no-changes");
    expect(loggedLines()).toHaveLength(5);
  });

  test(
    "tools/plan/mock-run.ts resolves the aliases as the engine did: each old URN among the aliases of the resource that took it over",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const resolved = new Map((await resolvedTree(true)).map((resource) => [resource.urn, resource.aliases]));
      expect([...engineLog.matched.values()].sort()).toEqual(before.map((resource) => resource.urn).sort());
      const missed = [...engineLog.matched]
        .filter(([urn, old]) => !(resolved.get(urn) ?? []).includes(old))
        .map(([urn, old]) => `${short(urn)} took over ${short(old)}`);
      expect(missed).toEqual([]);
      // The engine's list depends on which alias each parent matched; the resolver lists every one a parent could.
      const untried = [...engineLog.generated]
        .filter(([urn]) => resolved.has(urn))
        .flatMap(([urn, aliases]) => aliases.filter((alias) => !resolved.get(urn)!.includes(alias)).map((alias) => `${short(urn)}: ${short(alias)}`));
      expect(untried).toEqual([]);
      expect(engineLog.generated.size).toBeGreaterThanOrEqual(resolved.size);
    },
  );

  test("the ingress answers to its old type at the root through the alias the real Ingress class builds", () => {
    const ingress = urnOf("infra:platform:Platform$infra:platform:Host$infra:ingress:Ingress::tm-web-caddy");
    expect(engineLog.matched.get(ingress)).toBe(urnOf("infra:ingress:Caddy::tm-web-caddy"));
  });
});
