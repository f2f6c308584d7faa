import type { ServiceSpec, Waiver } from "../../components/container/service-spec";
import { ruleNamed } from "./rules";
import { violationOf, type AppliedWaiver, type Finding, type Violation } from "./report";

/** The waivers written next to each service, by the container resource they cover. */
export type WaiverIndex = ReadonlyMap<string, ServiceSpec["waivers"]>;

export function waiverIndex(services: readonly { resource: string; spec: ServiceSpec }[]): WaiverIndex {
  return new Map(services.map(({ resource, spec }) => [resource, spec.waivers]));
}

/**
 * What no waiver silences, whatever its reason: each would let a service
 * take the host, or open it to the internet. The platform rules (F, CF, S,
 * H) are never waived either; they are listed by the one a reviewer asks
 * about first.
 */
export const NEVER_WAIVED: readonly { readonly rule: string; readonly what: string }[] = [
  { rule: "C1", what: "privileged" },
  { rule: "C2", what: "the host's network, pid, ipc, user or cgroup namespace" },
  { rule: "C3", what: "a runtime socket mounted read-write, or one other than the Docker socket" },
  {
    rule: "C14",
    what: "the Docker socket (or a directory that shows a runtime socket) in any container but the socket proxy, read-only or not; the proxy published, or on a network a non-consumer joins",
  },
  { rule: "C5", what: "ALL, SYS_ADMIN and the other capabilities that amount to privileged" },
  {
    rule: "C11",
    what: "a port of a service other than the ingress (or every port) published on a public address; a public route to an admin UI without a login",
  },
  { rule: "C16", what: "seccomp, AppArmor, SELinux confinement or the masked system paths turned off" },
  { rule: "E1", what: "a public route to a service whose first visitor becomes its owner" },
  { rule: "E2", what: "a metrics endpoint served by a public route" },
  { rule: "E3", what: "a public route to a data API without a key check" },
  { rule: "E4", what: "a data API acting as a database superuser" },
  { rule: "F1", what: "SSH open to the world, like every F, CF, S and H rule" },
  { rule: "any", what: "a value the policy cannot read (a secret where a plain value belongs)" },
];

/** Words that stand for a reason without giving one. */
const PLACEHOLDERS = new Set(["todo", "tbd", "fixme", "xxx", "wip", "n/a", "na", "none", "temp", "later"]);

/**
 * Why a waiver's reason is not one a reviewer can weigh, or undefined when it
 * is: a reason says in words why the rule does not fit the service (at least
 * four different words, not a placeholder), not punctuation or a token.
 */
export function reasonProblem(reason: string): string | undefined {
  const text = reason.trim();
  if (text === "") return "it is empty";
  const words = text.toLowerCase().match(/[a-z][a-z'/-]*[a-z]/g) ?? [];
  if (PLACEHOLDERS.has(words[0] ?? "") || PLACEHOLDERS.has(text.toLowerCase().replace(/[^a-z/]/g, ""))) return `"${text}" is a placeholder`;
  if (new Set(words).size < 4) return `"${text}" does not say why in words (four different words at least)`;
  return undefined;
}

function silencingWaiver(finding: Finding, index: WaiverIndex): Waiver | undefined {
  return index.get(finding.resource)?.find((candidate) => candidate.rule === finding.rule && reasonProblem(candidate.reason) === undefined);
}

/**
 * Splits findings into violations and waived findings. A waiver silences a
 * finding of a waivable rule with a reason (reasonProblem); a finding no
 * waiver may silence stays a violation and says so when one was written.
 */
export function applyWaivers(findings: readonly Finding[], index: WaiverIndex): { violations: Violation[]; waivers: AppliedWaiver[] } {
  const violations: Violation[] = [];
  const waivers = new Map<string, AppliedWaiver>();
  for (const finding of findings) {
    const waiver = silencingWaiver(finding, index);
    const waivable = ruleNamed(finding.rule)?.waivable === true && finding.unwaivable !== true;
    if (waiver && waivable) {
      const key = `${finding.rule} ${finding.resource}`;
      const silences = waivers.get(key)?.silences ?? [];
      waivers.set(key, {
        rule: finding.rule,
        resource: finding.resource,
        reason: waiver.reason.trim(),
        silences: silences.includes(finding.message) ? silences : [...silences, finding.message],
      });
    } else violations.push(violationOf(waiver ? { ...finding, message: `${finding.message}; no waiver silences this` } : finding));
  }
  return { violations, waivers: [...waivers.values()] };
}

/** Rules whose findings only the registered graph can show (ServiceSpec has no field for them). */
const GRAPH_ONLY_RULES = ["C4", "C12", "C13", "C16"];

/**
 * Problems with the waivers themselves: an unknown rule, one never waived,
 * a reason that is none, and a waiver that no longer matches anything (it
 * would silently cover the next real problem).
 */
export function waiverProblems(index: WaiverIndex, findings: readonly Finding[]): Violation[] {
  const problems: Violation[] = [];
  for (const [resource, waivers] of index) {
    for (const waiver of waivers) {
      const rule = ruleNamed(waiver.rule);
      const report = (message: string, fix: string) => problems.push({ rule: waiver.rule, resource, message, fix });
      const reason = reasonProblem(waiver.reason);
      if (!rule) report(`waiver names unknown rule "${waiver.rule}"`, "name a checklist rule such as C6");
      else if (!rule.waivable) report(`waiver of ${waiver.rule}: ${waiver.rule} is never waived (${rule.statement})`, rule.fix);
      else if (reason !== undefined)
        report(`waiver of ${waiver.rule} has no reason a reviewer can read: ${reason}`, "say why the rule does not fit this service, next to the waiver");
      else if (!GRAPH_ONLY_RULES.includes(waiver.rule) && !findings.some((finding) => finding.resource === resource && finding.rule === waiver.rule)) {
        report(`waiver of ${waiver.rule} matches nothing: the service already follows the rule`, "remove the waiver");
      }
    }
  }
  return problems;
}
