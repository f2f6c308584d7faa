/**
 * The building blocks of the stack configuration's zod schema, each with the
 * project's messages: what was given, what is expected, and the allowed values.
 * A message here is the part after the key path; `issues.ts` adds the path.
 */
import { z } from "zod";
import { didYouMean } from "./suggest";

/** What a check of a string says: true, or why not (the part after the quoted value). */
export type Check = (value: string) => true | string;

/** Longer values are cut short in messages, so that one problem stays one readable line. */
const QUOTE_LIMIT = 80;

/** A value as a message quotes it: a string in double quotes, anything else as JSON; cut short when long. */
export function quoted(value: unknown): string {
  // JSON writes 1e400, which JSON.parse reads as Infinity, as null.
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "string") return value.length > QUOTE_LIMIT ? `"${value.slice(0, QUOTE_LIMIT)}…" (${value.length} characters)` : `"${value}"`;
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}… (${text.length} characters)` : text;
}

/** What a wrong input was, when it is no value of the expected kind; undefined for any other input. */
function wrongKind(input: unknown, expected: string): string | undefined {
  if (input === undefined) return "is required";
  if (input === null) return `is empty (YAML reads a key without a value as null); expected ${expected}`;
  return undefined;
}

/** A number written as text ("512"): YAML keeps quotes, so the value is a string. */
function numberAsText(input: unknown): boolean {
  return typeof input === "string" && input.trim() !== "" && Number.isFinite(Number(input));
}

/** A required string; `check` judges it, its verdict following the quoted value. An empty string is a missing one. */
export function text(check?: Check) {
  const schema = z.string({ error: (issue) => wrongKind(issue.input, "a string") ?? "must be a string" }).min(1, { error: "is required", abort: true });
  return check ? withCheck(schema, check, (value, verdict) => `${quoted(value)} ${verdict}`) : schema;
}

/** A required string that `check` judges, its verdict being the whole message (it quotes the value itself where that is safe). */
export function checkedText(check: Check) {
  return withCheck(text(), check, (_value, verdict) => verdict);
}

function withCheck(schema: z.ZodString, check: Check, message: (value: string, verdict: string) => string) {
  return schema.superRefine((value, context) => {
    const verdict = check(value);
    if (verdict !== true) context.addIssue({ code: "custom", message: message(value, verdict), input: value });
  });
}

/**
 * A required string that matches `pattern`: the pattern is also written into
 * the JSON Schema, so an editor flags the value as it is typed.
 */
export function matching(pattern: RegExp, expected: string) {
  return z
    .string({ error: (issue) => wrongKind(issue.input, "a string") ?? "must be a string" })
    .min(1, { error: "is required", abort: true })
    .regex(pattern, { error: (issue) => `${quoted(issue.input)} ${expected}` });
}

/** One of `allowed`, with the nearest one named when the value looks like a typo of it; `what` names the kind ("a role"). */
export function choice<const T extends readonly [string, ...string[]]>(allowed: T, what?: string) {
  return z.enum(allowed, { error: (issue) => choiceMessage(issue.input, allowed, what) });
}

/** One of `allowed` when the list is only known at run time (blueprint names, Hetzner's locations). */
export function oneOf(allowed: readonly string[]) {
  return z.enum(allowed as [string, ...string[]], { error: (issue) => choiceMessage(issue.input, allowed) });
}

export function choiceMessage(input: unknown, allowed: readonly string[], what?: string): string {
  const listed = allowed.join(", ");
  const wrong = wrongKind(input, `one of ${listed}`);
  if (wrong) return wrong;
  if (typeof input !== "string") return `${quoted(input)} must be a string, one of ${listed}`;
  const suggestion = didYouMean(input, allowed);
  const refusal = what ? `is not ${what} (one of ${listed})` : `is not one of ${listed}`;
  return `${quoted(input)} ${refusal}${suggestion ? `; ${suggestion}` : ""}`;
}

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number) {
  const expected = `an integer from ${min} to ${max}`;
  return z
    .int({ error: (issue) => numberMessage(issue.input, expected) })
    .min(min)
    .max(max);
}

/** A number from `min` to `max`, fractions allowed. */
export function number(min: number, max: number) {
  const expected = `a number from ${min} to ${max}`;
  return z
    .number({ error: (issue) => numberMessage(issue.input, expected) })
    .min(min)
    .max(max);
}

function numberMessage(input: unknown, expected: string): string {
  if (input === undefined) return `is required (${expected})`;
  if (input === null) return wrongKind(input, expected)!;
  if (numberAsText(input)) return `${quoted(input)} is text, not a number: write it without quotes (${expected})`;
  return `${quoted(input)} must be ${expected}`;
}

/** true or false. */
export function flag() {
  return z.boolean({
    error: (issue) => {
      const wrong = wrongKind(issue.input, "true or false");
      if (wrong) return wrong;
      if (issue.input === "true" || issue.input === "false") return `${quoted(issue.input)} is text: write ${issue.input} without quotes`;
      return `${quoted(issue.input)} must be true or false`;
    },
  });
}

/** Messages of an object whose input is not one. */
export function objectMessage(input: unknown): string {
  const wrong = wrongKind(input, "an object");
  if (wrong) return wrong === "is required" ? "is required (an object)" : wrong;
  return Array.isArray(input) ? "must be an object, not a list" : "must be an object";
}

/**
 * An object with exactly these fields. An unknown field is a problem of its
 * own, with the nearest known field named (issues.ts reads the shape back).
 */
export function record<const Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, { error: (issue) => (issue.code === "unrecognized_keys" ? "unknown field" : objectMessage(issue.input)) });
}

/** A map from free names to values of one kind (`infra:releases`, headers). */
export function map<V extends z.ZodType>(value: V, key: z.ZodType<string> = z.string()) {
  return z.record(key, value, { error: (issue) => objectMessage(issue.input) });
}

/**
 * A list. `expected` says what it holds, for a value that is none; `empty`
 * is the message for a list without items, which is then refused.
 */
export function list<T extends z.ZodType>(item: T, { expected = "a list", empty }: { expected?: string; empty?: string } = {}) {
  const schema = z.array(item, {
    error: (issue) => (issue.input === undefined ? `is required (${expected})` : (wrongKind(issue.input, expected) ?? `must be ${expected}`)),
  });
  return empty ? schema.min(1, { error: empty }) : schema;
}

/** A field that may never be set in plain config, with why and what to do instead. */
export function refused(message: string) {
  return z.never({ error: message }).optional();
}

/** `The field is unknown`, with the nearest known one named and the few that are known. */
export function unknownFieldMessage(field: string, known: readonly string[]): string {
  const suggestion = didYouMean(field, known);
  return `unknown field${suggestion ? `; ${suggestion}` : ""} (known: ${known.join(", ")})`;
}

/** The boolean a top-level key holds: Pulumi hands every scalar over as text. */
export function booleanFromText(value: string): boolean | string {
  return value === "true" ? true : value === "false" ? false : value;
}

/**
 * Whether `key` is `record`'s own key, not one it inherits: `constructor` is
 * in every object. (Object.hasOwn is ES2022; the policy pack is compiled for
 * ES2020.)
 */
export function hasOwnKey(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}
