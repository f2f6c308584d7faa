import { describe, expect, it } from "vitest";
import { BLUEPRINTS } from "../../infra/blueprints";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { containerResource, evaluateModel } from "../../infra/policy/model-policy";
import { POLICY_RULES } from "../../infra/policy/rules";
import { reasonProblem } from "../../infra/policy/waivers";
import { textReport } from "../../tools/plan/text-report";
import { planOf } from "../support/plans";
import { modelOf } from "./models";

/** The shipped stacks plan with no violation, and every waiver they use is written next to its service. */
describe.each(["prod", "preprod"])("the shipped %s stack under the policy", (stack) => {
  it("has no violation on the model or on the registered graph", async () => {
    const model = modelOf(stack);
    const plan = await planOf(stack);
    expect(evaluateModel(model).violations).toEqual([]);
    expect(evaluateGraph(plan.resources, model).violations).toEqual([]);
    expect(plan.policy.violations).toEqual([]);
  });

  it("lists each waiver with rule, resource, reason and what it silences, and each comes from a service's own waivers", async () => {
    const plan = await planOf(stack);
    const model = modelOf(stack);
    expect(plan.policy.waivers.length).toBeGreaterThan(0);
    const written = model.hosts.flatMap((host) =>
      host.services.flatMap((service) =>
        service.waivers.map((waiver) => ({ rule: waiver.rule, resource: containerResource(model, service.name), reason: waiver.reason })),
      ),
    );
    for (const { silences, ...waiver } of plan.policy.waivers) {
      expect(Object.keys(waiver).sort()).toEqual(["reason", "resource", "rule"]);
      expect(silences.length, `${waiver.rule} ${waiver.resource}`).toBeGreaterThan(0);
      expect(written).toContainEqual(waiver);
      expect(POLICY_RULES.find((rule) => rule.id === waiver.rule)?.waivable).toBe(true);
    }
    // Every written waiver is in use: none is stale.
    expect(written.length).toBe(plan.policy.waivers.length);
  });

  it("puts the policy in the JSON plan and the waivers and the S4 note in the text plan", async () => {
    const plan = await planOf(stack);
    const json = JSON.parse(JSON.stringify(plan, null, 2)) as {
      policy: { violations: unknown[]; waivers: { rule: string; resource: string; reason: string }[]; notApplicable: { rule: string; reason: string }[] };
    };
    expect(json.policy.violations).toEqual([]);
    expect(json.policy.waivers).toEqual(plan.policy.waivers);
    expect(json.policy.notApplicable.map((note) => note.rule)).toEqual(["S4"]);
    const text = textReport(plan);
    expect(text).toContain(`Security policy (checklist C, F, CF, S, H; exposure E): 0 violations, ${plan.policy.waivers.length} waivers`);
    for (const waiver of plan.policy.waivers) expect(text).toContain(`waived ${waiver.rule.padEnd(4)} ${waiver.resource}: ${waiver.reason}`);
    expect(text).toMatch(/S4 not applicable: AWS-only controls .* do not exist on Hetzner Object Storage/);
  });
});

describe("every blueprint", () => {
  it.each(Object.keys(BLUEPRINTS))("%s declares only waivers with a rule the policy knows and a reason", (name) => {
    const spec = BLUEPRINTS[name]!.build({ domain: "example.com", environment: "preprod" });
    for (const service of spec.services) {
      for (const waiver of service.waivers) {
        expect(
          POLICY_RULES.map((rule) => rule.id),
          `${service.name}`,
        ).toContain(waiver.rule);
        expect(waiver.reason.trim().length, `${service.name} ${waiver.rule}`).toBeGreaterThan(20);
        expect(reasonProblem(waiver.reason), `${service.name} ${waiver.rule}`).toBeUndefined();
      }
    }
  });
});
