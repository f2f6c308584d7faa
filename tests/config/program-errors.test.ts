import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { runProgram } from "../../tools/plan/mock-run";
import { completeRawConfig } from "../support/stack-config";

// `pulumi preview` runs infra/index.ts. The SDK prints a RunError as its
// message alone; any other error thrown by a program comes with its stack
// trace and an inspection of its fields. So whatever the program raises for
// bad input is a RunError (V5).

async function programError(changes: Record<string, string | undefined>): Promise<Error> {
  const raw = completeRawConfig("prod", changes);
  try {
    await runProgram({ project: "infra", stack: "prod", values: { ...raw.values }, secretKeys: raw.secretKeys });
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the program to refuse the configuration");
}

describe("the program's refusals under pulumi preview (V5)", () => {
  it.each([
    ["a config problem (V1)", { "infra:blueprint": "wordpress" }, "infra:blueprint"],
    ["a policy violation found on the model", { "infra:protect": "false" }, "F4 server vpai-main"],
  ])("%s is a RunError, which the SDK prints without a stack trace", async (_case, changes, expected) => {
    const error = await programError(changes);
    expect(error.message).toContain(expected);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
  });
});
