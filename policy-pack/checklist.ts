import { resolve } from "node:path";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../infra/blueprints";
import { UNMANAGED_DNS } from "../infra/config/schema";
import { requiredSecrets, validateStackConfig } from "../infra/config/validate";
import { planPlatform, type PlatformModel } from "../infra/platform-model";
import { graphWideFindings, resourceFindings, type GraphResource } from "../infra/policy/graph-policy";
import { evaluateModel, modelWaivers } from "../infra/policy/model-policy";
import type { Violation } from "../infra/policy/report";
import { applyWaivers } from "../infra/policy/waivers";
import { readStackFile, SECRET_PLACEHOLDER } from "../tools/plan/stack-file";

/**
 * The checklist as the policy pack runs it: the same pure rule functions as
 * the program's stack transformation and the offline plan, on the inputs the
 * engine resolved (secrets unwrapped, unknowns only during preview), judged
 * against the platform model of the stack's own configuration file.
 */

/** Where the project (and its Pulumi.<stack>.yaml files) lives: the folder above the pack. */
export const PROJECT_DIR = resolve(__dirname, "..");

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string {
  const stack = /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
  if (!stack) throw new Error(`"${urn}" is not a Pulumi URN`);
  return stack;
}

const models = new Map<string, PlatformModel>();

/**
 * The platform model of a stack, from its committed configuration: plain
 * values as written, each secret it needs as a placeholder (the pack needs
 * their presence, never their values), validated and planned as
 * deployPlatform does.
 */
export function stackModel(stack: string, projectDir = PROJECT_DIR): PlatformModel {
  const key = `${projectDir}\u0000${stack}`;
  const cached = models.get(key);
  if (cached) return cached;
  const file = readStackFile(projectDir, stack);
  const values = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  const loose = (text: string | undefined): unknown => {
    try {
      return JSON.parse(text ?? "null");
    } catch {
      return undefined;
    }
  };
  const servers = loose(values["infra:servers"]);
  const needed = requiredSecrets(
    values["infra:blueprint"],
    Array.isArray(servers) ? servers : undefined,
    BLUEPRINT_CATALOG,
    loose(values["infra:monitoring"]),
    values["infra:dns"] !== UNMANAGED_DNS,
    values["infra:opsHost"] !== undefined,
  );
  for (const secret of needed) {
    if (!(secret.key in values)) {
      values[secret.key] = SECRET_PLACEHOLDER;
      secretKeys.add(secret.key);
    }
  }
  const { config } = validateStackConfig({ values, secretKeys }, BLUEPRINT_CATALOG);
  const model = planPlatform(config, blueprintNamed(config.blueprint));
  models.set(key, model);
  return model;
}

/** A resource as the engine hands it to a policy: type, name, resolved inputs (or outputs), and whether it is protected. */
export interface PolicyInput {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly protect?: boolean;
}

const asGraphResource = (resource: PolicyInput): GraphResource => ({
  type: resource.type,
  name: resource.name,
  inputs: resource.props,
  ...(resource.protect === undefined ? {} : { protect: resource.protect }),
});

/** The violations one resource shows on its own, after the waivers written next to the services. */
export function resourceViolations(model: PlatformModel, resource: PolicyInput): Violation[] {
  return applyWaivers(resourceFindings(asGraphResource(resource), model), modelWaivers(model)).violations;
}

/**
 * The violations only the whole stack shows (zone settings together, an
 * existing host without its UFW command), and the model's own (what the
 * configuration decides before any resource), after waivers.
 */
export function stackViolations(model: PlatformModel, resources: readonly PolicyInput[]): Violation[] {
  const graphWide = applyWaivers(graphWideFindings(resources.map(asGraphResource), model, { secretsMasked: false }), modelWaivers(model)).violations;
  return [...evaluateModel(model).violations, ...graphWide];
}

export function violationText(violation: Violation): string {
  return `${violation.rule} ${violation.resource}: ${violation.message}\nfix: ${violation.fix}`;
}
