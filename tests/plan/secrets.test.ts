import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLDEN_STACKS, goldenGraph, goldenPlans } from "../../tools/golden-graph";
import { mermaidDiagram } from "../../tools/plan/mermaid";
import { MASKED_SECRET } from "../../tools/plan/mock-run";
import { buildPlan, type PlanResult } from "../../tools/plan/plan";
import { textReport } from "../../tools/plan/text-report";
import { container, secretsCommandOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * V3: known secret values are planted in the config the way `pulumi config
 * set --secret` would hand them over, and then searched for in everything
 * the program lets out: the text, JSON and Mermaid plans, the golden graph,
 * every registered input that is not marked secret, the stack outputs and
 * whatever was written to the console while planning.
 */
const PLANTED: Record<string, string> = {
  "infra:postgresPassword": "planted-Pg-7f3a9c1e5b",
  "infra:redisPassword": "planted-Redis-0d9e4b2a71",
  "infra:sshPrivateKey": "planted-SshKey-5c8e1f0a93",
  "infra:resticPassword": "planted-Restic-a41b7d3e60",
  "infra:storageSecretAccessKey": "planted-S3-9e2c6a1f48",
};

/** The ways a value could slip out besides verbatim. */
function encodings(value: string): string[] {
  return [
    ...new Set([value, Buffer.from(value).toString("base64"), encodeURIComponent(value), JSON.stringify(value).slice(1, -1), [...value].reverse().join("")]),
  ];
}

const plans = new Map<string, Promise<{ plan: PlanResult; console: string }>>();

/** One planted plan per stack: the program is deterministic. */
function plantedPlan(stack: string): Promise<{ plan: PlanResult; console: string }> {
  if (!plans.has(stack)) plans.set(stack, planWithCapturedConsole(stack));
  return plans.get(stack)!;
}

async function planWithCapturedConsole(stack: string): Promise<{ plan: PlanResult; console: string }> {
  let captured = "";
  const write = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => (stream.write = original as typeof stream.write);
  };
  const restore = [write(process.stdout), write(process.stderr)];
  try {
    const plan = await buildPlan({ projectDir: PROJECT_DIR, stack, secretOverrides: Object.entries(PLANTED).map(([key, value]) => `${key}=${value}`) });
    return { plan, console: captured };
  } finally {
    restore.forEach((undo) => undo());
  }
}

function leaks(where: string, text: string): string[] {
  return Object.entries(PLANTED).flatMap(([key, value]) =>
    encodings(value)
      .filter((form) => text.includes(form))
      .map((form) => `${key} (${form === value ? "verbatim" : `as ${form}`}) in ${where}`),
  );
}

describe.each(GOLDEN_STACKS)("no planted secret leaves the program on %s (V3)", (stack) => {
  it("the planted values reach the program and stay masked where they are used", async () => {
    const { plan } = await plantedPlan(stack);
    // Set, so not listed as missing: the program did read them.
    for (const key of Object.keys(PLANTED)) expect(plan.secretsToSet.map((secret) => secret.key)).not.toContain(key);
    // PostgreSQL and Redis read theirs from files (C15): their environment is plain, and the command that writes the files carries them masked.
    for (const service of ["postgres", "redis"]) {
      expect(container(plan, service).inputs.envs, service).not.toBe(MASKED_SECRET);
      expect(secretsCommandOf(plan, container(plan, service)).inputs.stdin, service).toBe(MASKED_SECRET);
    }
  });

  it("is in no output, golden file, unmasked input or console line", async () => {
    const { plan, console } = await plantedPlan(stack);
    const found = [
      ...leaks("the text plan", textReport(plan)),
      ...leaks("the JSON plan", `${JSON.stringify(plan, null, 2)}\n`),
      ...leaks("the Mermaid plan", mermaidDiagram(plan)),
      ...leaks("the golden graph of this plan", goldenGraph(plan)),
      ...goldenPlans(PROJECT_DIR).flatMap((golden) => leaks(golden.path, readFileSync(join(PROJECT_DIR, golden.path), "utf8"))),
      ...plan.resources.flatMap((resource) => leaks(`inputs of ${resource.type} ${resource.name}`, JSON.stringify(resource.inputs))),
      ...leaks("the stack outputs", JSON.stringify(plan.outputs)),
      ...leaks("the console", console),
    ];
    expect(found).toEqual([]);
  });

  it("the search itself finds a planted value when one is let out", async () => {
    const { plan } = await plantedPlan(stack);
    const leaked = { ...plan, outputs: { ...plan.outputs, oops: `postgres://x:${PLANTED["infra:postgresPassword"]}@db` } };
    expect(leaks("the JSON plan", JSON.stringify(leaked))).toEqual(["infra:postgresPassword (verbatim) in the JSON plan"]);
    expect(leaks("a file", Buffer.from(PLANTED["infra:sshPrivateKey"]!).toString("base64"))).toHaveLength(1);
  });
});
