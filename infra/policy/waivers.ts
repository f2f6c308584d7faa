import type { ServiceSpec } from "../../components/container/service-spec";
import { ruleNamed } from "./rules";
import { violationOf, type AppliedWaiver, type Finding, type Violation } from "./report";

/** The waivers written next to each service, by the container resource they cover. */
export type WaiverIndex = ReadonlyMap<string, ServiceSpec["waivers"]>;

export function waiverIndex(services: readonly { resource: string; spec: ServiceSpec }[]): WaiverIndex {
  return new Map(services.map(({ resource, spec }) => [resource, spec.waivers]));
}

/** Splits findings into violations and waived findings; a waiver counts only with a reason. */
export function applyWaivers(findings: readonly Finding[], index: WaiverIndex): { violations: Violation[]; waivers: AppliedWaiver[] } {
  const violations: Violation[] = [];
  const waivers = new Map<string, AppliedWaiver>();
  for (const finding of findings) {
    const waiver = index.get(finding.resource)?.find((candidate) => candidate.rule === finding.rule && candidate.reason.trim() !== "");
    if (waiver && ruleNamed(finding.rule)?.waivable) waivers.set(`${finding.rule} ${finding.resource}`, { rule: finding.rule, resource: finding.resource, reason: waiver.reason.trim() });
    else violations.push(violationOf(finding));
  }
  return { violations, waivers: [...waivers.values()] };
}

/** Rules whose findings only the registered graph can show (ServiceSpec has no field for them). */
const GRAPH_ONLY_RULES = ["C1", "C2", "C4", "C12", "C13"];

/**
 * Problems with the waivers themselves: an unknown or platform-wide rule, a
 * missing reason, and a waiver that no longer matches anything (it would
 * silently cover the next real problem).
 */
export function waiverProblems(index: WaiverIndex, findings: readonly Finding[]): Violation[] {
  const problems: Violation[] = [];
  for (const [resource, waivers] of index) {
    for (const waiver of waivers) {
      const rule = ruleNamed(waiver.rule);
      const report = (message: string, fix: string) => problems.push({ rule: waiver.rule, resource, message, fix });
      if (!rule) report(`waiver names unknown rule "${waiver.rule}"`, "name a checklist rule such as C6");
      else if (!rule.waivable) report(`waiver of ${waiver.rule}: only container rules can be waived next to a service`, "fix the platform setting instead");
      else if (waiver.reason.trim() === "") report(`waiver of ${waiver.rule} has no reason`, "say why the rule does not fit this service, next to the waiver");
      else if (!GRAPH_ONLY_RULES.includes(waiver.rule) && !findings.some((finding) => finding.resource === resource && finding.rule === waiver.rule)) {
        report(`waiver of ${waiver.rule} matches nothing: the service already follows the rule`, "remove the waiver");
      }
    }
  }
  return problems;
}
