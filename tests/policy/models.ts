import { containerSettings } from "../../components/container/container-settings";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import type { PlatformSpec } from "../../infra/blueprints/blueprint";
import type { StackConfig } from "../../infra/config/schema";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { expect } from "vitest";
import { evaluateModel } from "../../infra/policy/model-policy";
import { PolicyError, type PolicyReport, type Violation } from "../../infra/policy/report";
import { ruleNamed } from "../../infra/policy/rules";
import { rawConfigWithSecrets } from "../support/stack-config";

export interface ModelChanges {
  /** Raw stack values to set first, e.g. `infra:blueprint`; the secrets they bring are set too. */
  readonly values?: Readonly<Record<string, string>>;
  /** Rewrites one service of the shipped blueprint (by name). */
  readonly service?: { readonly name: string; readonly change: (spec: ServiceSpec) => ServiceSpec };
  readonly spec?: (spec: PlatformSpec) => PlatformSpec;
  readonly config?: (config: StackConfig) => StackConfig;
}

/** The model of a shipped stack, optionally with one thing changed, built the way deployPlatform builds it. */
export function modelOf(stack: string, changes: ModelChanges = {}): PlatformModel {
  const { config } = validateStackConfig(rawConfigWithSecrets(changes.values ?? {}, stack), BLUEPRINT_CATALOG);
  const shipped = blueprintNamed(config.blueprint);
  const blueprint = {
    ...shipped,
    build: (environment: Parameters<typeof shipped.build>[0]) => {
      let spec = shipped.build(environment);
      const target = changes.service;
      if (target) {
        if (!spec.services.some((service) => service.name === target.name)) throw new Error(`no service ${target.name}`);
        spec = { ...spec, services: spec.services.map((service) => (service.name === target.name ? target.change(service) : service)) };
      }
      return changes.spec ? changes.spec(spec) : spec;
    },
  };
  return planPlatform(changes.config ? changes.config(config) : config, blueprint);
}

/** The violations of one rule in a report. */
export function violationsOf(report: PolicyReport, rule: string): Violation[] {
  return report.violations.filter((violation) => violation.rule === rule);
}

/**
 * Checks that one rule, broken once on an otherwise shipped stack, names the
 * resource with the expected message, carries the rule's fix, and has its
 * line in the refusal.
 */
export function expectViolation(changes: ModelChanges, rule: string, resource: string, message: RegExp, stack = "preprod"): void {
  const report = evaluateModel(modelOf(stack, changes));
  const found = violationsOf(report, rule).filter((violation) => violation.resource === resource);
  expect(found.map((violation) => violation.message).join("\n"), `${rule} on ${resource}; got ${JSON.stringify(report.violations)}`).toMatch(message);
  expect(found[0]!.fix).toBe(ruleNamed(rule)!.fix);
  expect(new PolicyError(report.violations).message).toContain(`${rule} ${resource}: `);
}

/**
 * The container settings the program registers for a hardened, well-behaved
 * service (example/web: non-root, read-only root, 64 MB), without its uploads
 * and binds, which each test gives its own; `tmpfs` when the test masks paths.
 */
export function hardenedSettings(tmpfs?: readonly string[]) {
  const spec = service({
    name: "web",
    description: "test",
    role: "app",
    image: { repository: "example/web", tag: "1.0.0" },
    networks: [],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 64,
    user: "1000",
    readOnlyRootFilesystem: true,
    ...(tmpfs ? { tmpfs: [...tmpfs] } : {}),
  });
  const { uploads: _uploads, binds: _binds, ...settings } = containerSettings(spec);
  return settings;
}
