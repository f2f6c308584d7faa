import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GOLDEN_STACKS, goldenGraph, goldenPath } from "../../tools/golden-graph";
import { planOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

describe.each(GOLDEN_STACKS)("golden graph of %s", (stack) => {
  it("matches tests/golden (regenerate with `npm run golden` and review the diff)", async () => {
    const committed = readFileSync(goldenPath(PROJECT_DIR, stack), "utf8");
    const current = goldenGraph(await planOf(stack));
    expect(current === committed, `tests/golden/${stack}.json is stale: run \`npm run golden\` and review the diff`).toBe(true);
  });

  it("is sorted by type and name and carries no unmasked secret placeholder", async () => {
    const golden = JSON.parse(readFileSync(goldenPath(PROJECT_DIR, stack), "utf8")) as { resources: { type: string; name: string }[] };
    const keys = golden.resources.map((resource) => `${resource.type}\u0000${resource.name}`);
    expect(keys).toEqual([...keys].sort((a, b) => a.localeCompare(b)));
    expect(readFileSync(goldenPath(PROJECT_DIR, stack), "utf8")).not.toMatch(/test-value-of|BEGIN OPENSSH PRIVATE KEY|\$2y\$10\$/);
  });
});
