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

/** A waiver that matched a finding, as the plan lists it. */
export interface AppliedWaiver {
  readonly rule: string;
  readonly resource: string;
  readonly reason: string;
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
}

export function violationOf(finding: Finding): Violation {
  return { ...finding, fix: ruleNamed(finding.rule)?.fix ?? "see the security checklist" };
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
