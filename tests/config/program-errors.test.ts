import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform } from "../../infra/platform-model";
import { evaluateModel } from "../../infra/policy/model-policy";
import { PolicyError } from "../../infra/policy/report";
import { completeRawConfig } from "../support/stack-config";

// `pulumi preview` runs infra/index.ts. The SDK prints a RunError as its
// message alone; any other error thrown by a program comes with its stack
// trace and an inspection of its fields. So whatever the program raises for
// bad input is a RunError (V5). The errors are made here by the functions
// the program calls; tests/engine/program-errors.test.ts runs the real
// `pulumi preview` on them.

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal");
}

describe("the program's refusals are RunErrors, which the SDK prints without a stack trace (V5)", () => {
  it("a config problem (V1)", () => {
    const error = thrown(() => validateStackConfig(completeRawConfig("prod", { "infra:blueprint": "wordpress" }), BLUEPRINT_CATALOG));
    expect(error.message).toContain("infra:blueprint");
    expect(pulumi.RunError.isInstance(error)).toBe(true);
  });

  it("a policy violation found on the model", () => {
    const unproxied = JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: false, hsts: true });
    const { config } = validateStackConfig(completeRawConfig("prod", { "infra:dns": unproxied }), BLUEPRINT_CATALOG);
    const report = evaluateModel(planPlatform(config, blueprintNamed("vpai")));
    expect(report.violations.map((violation) => violation.rule)).toContain("CF4");
    const error = new PolicyError(report.violations);
    expect(error.message).toContain("CF4");
    expect(pulumi.RunError.isInstance(error)).toBe(true);
  });
});
