import { InputError } from "../input-error";
import { ruleNamed } from "./rules";

/** One broken rule on one resource. */
export interface Violation {
  readonly rule: string;
  /** `<kind> <name>`, e.g. `container vpai-postgres`, `firewall vpai-main-firewall`. */
  readonly resource: string;
  readonly message: string;
  readonly fix: string;
}

/** A waiver that matched a finding, as the plan and the golden graph list it: what it silences, so a reviewer sees a waiver start covering something new. */
export interface AppliedWaiver {
  readonly rule: string;
  readonly resource: string;
  readonly reason: string;
  /** The messages of the findings it silences. */
  readonly silences: readonly string[];
}

/** A rule that cannot be checked on this platform, and why (S4's AWS-only controls). */
export interface NotApplicable {
  readonly rule: string;
  readonly reason: string;
}

export interface PolicyReport {
  readonly violations: readonly Violation[];
  readonly waivers: readonly AppliedWaiver[];
  readonly notApplicable: readonly NotApplicable[];
}

/** A finding before waivers: the rule and what is wrong. */
export interface Finding {
  readonly rule: string;
  readonly resource: string;
  readonly message: string;
  /** What no waiver may silence, even under a waivable rule (a read-write Docker socket under C3). */
  readonly unwaivable?: true;
}

export function violationOf(finding: Finding): Violation {
  return { rule: finding.rule, resource: finding.resource, message: finding.message, fix: ruleNamed(finding.rule)?.fix ?? "see the security checklist" };
}

/** Raised before any resource is registered when the platform breaks a rule; printed without a stack trace (V5). */
export class PolicyError extends InputError {
  constructor(public readonly violations: readonly Violation[]) {
    super(
      `policy: ${violations.length} violation${violations.length === 1 ? "" : "s"}:\n` +
        violations.map((violation) => `  - ${violation.rule} ${violation.resource}: ${violation.message}\n      fix: ${violation.fix}`).join("\n"),
    );
    this.name = "PolicyError";
  }
}
