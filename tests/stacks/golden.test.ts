import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLDEN_DIR, goldenGraph, goldenPlans, type GoldenPlan } from "../../tools/golden-graph";
import { planOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { TEST_BCRYPT_HASH } from "../support/test-secrets";

/**
 * The graph of every plan of every blueprint, stack and GALION phase, as
 * committed in tests/golden. A change to the resource tree shows as the diff
 * of these files: a stale file fails here with that diff, and `npm run golden`
 * (vitest --update on this file) writes them again, to be reviewed with
 * `git diff tests/golden`.
 */
const PLANS = goldenPlans(PROJECT_DIR);

/** Values that would mean a secret got into a golden file: the tests' own secret values, key material, a bcrypt hash. */
const SECRET_MARKERS = [/test-value-of-/, /planted-/, /BEGIN [A-Z ]*PRIVATE KEY/, /\$2[aby]\$\d\d\$/, new RegExp(TEST_BCRYPT_HASH.replace(/[$/.]/g, "\\$&"))];

/** Every value a stack file or overlay holds in clear under a key that names a secret (none should: secrets are `pulumi config set --secret`). */
function secretLookingValues(text: string): string[] {
  return [...text.matchAll(/^\s*[\w:]*(?:password|secret|token|privatekey|apikey)\w*:\s*(?!secure:)(\S.*)$/gim)].map((match) => match[1]!.trim());
}

/** What a golden graph must never hold, with where it was found. */
function secretsIn(graph: string, golden: GoldenPlan): string[] {
  const sources = [`Pulumi.${golden.stack}.yaml`, ...golden.overrides.filter((override) => override.startsWith("@")).map((override) => override.slice(1))];
  const clearValues = sources.flatMap((source) => secretLookingValues(readFileSync(join(PROJECT_DIR, source), "utf8")));
  return [...SECRET_MARKERS.filter((marker) => marker.test(graph)).map(String), ...clearValues.filter((value) => graph.includes(value))];
}

/** `npm run golden` writes every file anew, missing ones included; any other run fails on a missing one. */
const updating = () => expect.getState().snapshotState.snapshotUpdateState === "all";

describe.each(PLANS)("golden graph of $title", (golden) => {
  it(`matches ${golden.path} (regenerate with \`npm run golden\` and review \`git diff tests/golden\`)`, async () => {
    const plan = await planOf(golden.stack, { overrides: golden.overrides });
    expect(plan.blueprint).toBe(golden.blueprint);
    const graph = goldenGraph(plan);
    const keys = (JSON.parse(graph) as { resources: { type: string; name: string }[] }).resources.map((resource) => `${resource.type}\u0000${resource.name}`);
    expect(keys).toEqual([...keys].sort((a, b) => a.localeCompare(b)));
    expect(secretsIn(graph, golden)).toEqual([]);
    if (!updating()) expect(existsSync(join(PROJECT_DIR, golden.path)), `${golden.path} is missing: run \`npm run golden\``).toBe(true);
    await expect(graph).toMatchFileSnapshot(join(PROJECT_DIR, golden.path));
  });
});

describe("the golden files", () => {
  it("are one per plan, with none left from a blueprint or phase that is gone", () => {
    const committed = readdirSync(join(PROJECT_DIR, GOLDEN_DIR), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(PROJECT_DIR, join(entry.parentPath, entry.name)));
    const planned = new Set(PLANS.map((golden) => golden.path));
    expect(committed.filter((path) => !planned.has(path))).toEqual([]);
  });

  it("cover every blueprint and every GALION phase on every stack", () => {
    const covered = new Set(PLANS.map((golden) => `${golden.stack} ${golden.blueprint}`));
    const paths = PLANS.map((golden) => golden.path);
    for (const stack of ["prod", "preprod"]) {
      for (const blueprint of ["vpai", "ai-video", "fastapi", "nextmavens", "galion"]) expect(covered).toContain(`${stack} ${blueprint}`);
      for (const phase of [1, 2, 3, 4, 5]) expect(paths).toContain(join(GOLDEN_DIR, stack, `galion-phase-${phase}.json`));
    }
  });

  it("the secret check finds a secret when one is there", () => {
    expect(secretLookingValues("config:\n  infra:postgresPassword: hunter2\n  infra:apiToken:\n    secure: AAAx\n  infra:cfToken: secure: AAAy\n")).toEqual([
      "hunter2",
    ]);
    const prod = PLANS.find((golden) => golden.path === join(GOLDEN_DIR, "prod.json"))!;
    expect(secretsIn(`{"x": "${TEST_BCRYPT_HASH}"}`, prod)).not.toEqual([]);
    expect(secretsIn('{"x": "-----BEGIN OPENSSH PRIVATE KEY-----"}', prod)).not.toEqual([]);
    expect(secretsIn('{"x": "test-value-of-infra:redisPassword"}', prod)).not.toEqual([]);
  });
});
