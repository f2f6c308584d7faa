import * as pulumi from "@pulumi/pulumi";
import type { PlatformModel } from "../platform-model";
import { JUDGED_TYPES, resourceFindings, type GraphResource } from "./graph-policy";
import { containsUnresolved } from "./input-values";
import { evaluateModel, modelWaivers } from "./model-policy";
import { PolicyError, type PolicyReport } from "./report";
import { applyWaivers, type WaiverIndex } from "./waivers";

/**
 * The policy hook of deployPlatform: judges the model before anything is
 * registered, then checks every resource as it is registered (a stack
 * transformation, so preview and up get it too, not only the offline plan).
 * Either failure stops the run with every violation, its rule and its fix.
 */
export function enforcePolicy(model: PlatformModel): PolicyReport {
  const report = refuseModelViolations(model);
  judgeEachResource(model);
  return report;
}

/** The model's judgement alone: throws with every violation, or returns the report (its waived findings). Needs no stack. */
export function refuseModelViolations(model: PlatformModel): PolicyReport {
  const report = evaluateModel(model);
  if (report.violations.length > 0) throw new PolicyError(report.violations);
  return report;
}

/** Checks every resource of the running stack as it is registered, against the model's waivers. */
export function judgeEachResource(model: PlatformModel): void {
  const waivers = modelWaivers(model);
  // The in-process transformation, not registerResourceTransform: the latter
  // needs the CLI's callback server, which the offline plan's mock runtime
  // does not have, and the check must be the same in both.
  pulumi.runtime.registerStackTransformation((args) => {
    const resource: GraphResource = { type: args.type, name: args.name, inputs: args.props as Record<string, unknown> };
    refuseViolations(resource, model, waivers);
    if (!isJudged(args.type) || !containsUnresolved(args.props)) return undefined;
    return { props: args.props, opts: { ...args.opts, dependsOn: afterJudgement(resource, args.opts.dependsOn, model, waivers) } };
  });
}

function isJudged(type: string): boolean {
  return JUDGED_TYPES.includes(type) || type.startsWith("command:remote:");
}

function refuseViolations(resource: GraphResource, model: PlatformModel, waivers: WaiverIndex): void {
  const { violations } = applyWaivers(resourceFindings(resource, model), waivers);
  if (violations.length > 0) throw new PolicyError(violations);
}

/**
 * The resource's dependencies, available only once its inputs have resolved
 * and been judged. An input given as an Output (a flag, a path, a script) is
 * unknown when the resource is registered; Pulumi resolves dependsOn before
 * it sends the resource to the engine, so a violation found on the resolved
 * values fails the registration and nothing is created. During preview an
 * input that stays unknown is judged at `up`, before the resource is created.
 */
function afterJudgement(
  resource: GraphResource,
  dependsOn: pulumi.ResourceOptions["dependsOn"],
  model: PlatformModel,
  waivers: WaiverIndex,
): pulumi.Output<pulumi.Input<pulumi.Resource>[]> {
  return pulumi.output(resource.inputs).apply((resolved) => {
    refuseViolations({ ...resource, inputs: resolved as Record<string, unknown> }, model, waivers);
    return dependsOn === undefined
      ? []
      : ([] as pulumi.Input<pulumi.Resource>[]).concat(dependsOn as pulumi.Input<pulumi.Resource> | pulumi.Input<pulumi.Resource>[]);
  });
}
