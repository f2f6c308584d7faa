/**
 * How a rule reads one input of a registered resource. The same rules run on
 * three kinds of inputs: the program's own while it registers (plain values
 * and Outputs not resolved yet), a recorded graph (resolved, secrets shown as
 * [secret]), and a policy pack's (resolved, unknown during preview). A rule
 * judges only a value it can read; one it cannot read for good (a masked
 * secret) is a finding in its own right, so hiding a value never hides it
 * from the policy.
 */

/** How a masked secret shows in a recorded graph (tools/plan/mock-run.ts). */
export const MASKED = "[secret]";

/** What the engine sends for a value not known during preview. */
export const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type InputValue = { readonly state: "known"; readonly value: unknown } | { readonly state: "unknown" } | { readonly state: "masked" };

/** A value that is not resolved yet: an Output or a promise during registration, the engine's unknown in preview. */
export function isUnresolved(value: unknown): boolean {
  if (value === UNKNOWN_SENTINEL) return true;
  if (typeof value !== "object" || value === null) return false;
  return "__pulumiOutput" in value || typeof (value as { then?: unknown }).then === "function";
}

export function readInput(value: unknown): InputValue {
  if (isUnresolved(value)) return { state: "unknown" };
  if (value === MASKED) return { state: "masked" };
  return { state: "known", value };
}

/** Whether a value, or anything inside it, is not resolved yet. */
export function containsUnresolved(value: unknown, depth = 0): boolean {
  if (isUnresolved(value)) return true;
  if (depth > 16 || typeof value !== "object" || value === null) return false;
  return Object.values(value).some((item) => containsUnresolved(item, depth + 1));
}

/** Whether a value, or anything inside it, is a masked secret. */
export function containsMasked(value: unknown, depth = 0): boolean {
  if (value === MASKED) return true;
  if (depth > 16 || typeof value !== "object" || value === null) return false;
  return Object.values(value).some((item) => containsMasked(item, depth + 1));
}

/**
 * A boolean as Docker and the Terraform bridge accept one: true and false,
 * and Go's strconv.ParseBool spellings ("1", "t", "TRUE", ...), which the
 * bridge converts. Anything else is not a boolean.
 */
export function parseBool(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value !== "string") return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value.trim())) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value.trim())) return false;
  return undefined;
}
