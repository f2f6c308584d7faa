import * as pulumi from "@pulumi/pulumi";
import type { PlatformModel } from "../platform-model";
import { resourceFindings } from "./graph-policy";
import { evaluateModel, modelWaivers } from "./model-policy";
import { PolicyError, type PolicyReport } from "./report";
import { applyWaivers } from "./waivers";

/**
 * The policy hook of deployPlatform: judges the model before anything is
 * registered, then checks every resource as it is registered (a stack
 * transformation, so preview and up get it too, not only the offline plan).
 * Either failure stops the run with every violation, its rule and its fix.
 */
export function enforcePolicy(model: PlatformModel): PolicyReport {
  const report = evaluateModel(model);
  if (report.violations.length > 0) throw new PolicyError(report.violations);
  const waivers = modelWaivers(model);
  // The in-process transformation, not registerResourceTransform: the latter
  // needs the CLI's callback server, which the offline plan's mock runtime
  // does not have, and the check must be the same in both.
  pulumi.runtime.registerStackTransformation((args) => {
    const findings = resourceFindings({ type: args.type, name: args.name, inputs: args.props as Record<string, unknown> }, model);
    const { violations } = applyWaivers(findings, waivers);
    if (violations.length > 0) throw new PolicyError(violations);
    return undefined;
  });
  return report;
}
