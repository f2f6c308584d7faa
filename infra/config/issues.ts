/**
 * zod's issues as the configuration's problems: each at its key path in the
 * project's notation (`infra:servers[0].memoryMb`), with the message the
 * schema gave it (field-schemas.ts), an unknown field named with the nearest
 * known one, and one problem per value.
 */
import type { z } from "zod";
import type { ConfigProblem } from "./errors";
import { hasOwnKey, unknownFieldMessage } from "./field-schemas";

type Segment = PropertyKey;

/** `infra:servers` and [0, "memoryMb"] as `infra:servers[0].memoryMb`. */
export function pathOf(key: string, segments: readonly Segment[]): string {
  return segments.reduce<string>((path, segment) => (typeof segment === "number" ? `${path}[${segment}]` : `${path}.${String(segment)}`), key);
}

/**
 * The problems of one key's value. `refused` holds the paths whose values
 * were reported already (a control character, a reserved name): nothing at
 * or below them is reported again.
 */
export function problemsOfIssues(
  issues: readonly z.core.$ZodIssue[],
  key: string,
  schema: z.ZodType,
  value: unknown,
  refused: ReadonlySet<string>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  // One problem per value: zod may go on checking a value that already
  // failed (the length of a list where text belongs), and the first issue
  // says what is wrong with it.
  const add = (segments: readonly Segment[], message: string) => {
    if (isRefused(key, segments, refused)) return;
    const path = pathOf(key, segments);
    if (seen.has(path)) return;
    seen.add(path);
    problems.push({ path, message });
  };
  const visit = (issue: z.core.$ZodIssue, base: readonly Segment[]) => {
    const segments = [...base, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = knownFieldsAt(schema, segments, value);
      for (const field of issue.keys) add([...segments, field], unknownFieldMessage(field, known));
    } else if (issue.code === "invalid_union" && unionBranches(issue).length > 0) {
      // A union of a word and an object (`infra:dns`): an object is judged
      // by the object's own fields, anything else by the union's message.
      const branch = unionBranches(issue).find((errors) =>
        errors.every((inner) => inner.path.length > 0 || (inner.code !== "invalid_type" && inner.code !== "invalid_value")),
      );
      if (branch) for (const inner of branch) visit(inner, segments);
      else add(segments, issue.message);
    } else if (issue.code === "invalid_key") {
      for (const inner of issue.issues) add(segments, inner.message);
    } else {
      add(segments, issue.message);
    }
  };
  for (const issue of issues) visit(issue, []);
  return problems;
}

/**
 * The issues of each option of a union, or none for a discriminated union
 * whose discriminator matched no option (its message says which are allowed).
 */
function unionBranches(issue: z.core.$ZodIssue): readonly (readonly z.core.$ZodIssue[])[] {
  const union = issue as { errors?: z.core.$ZodIssue[][]; note?: string };
  return union.note === undefined ? (union.errors ?? []) : [];
}

function isRefused(key: string, segments: readonly Segment[], refused: ReadonlySet<string>): boolean {
  for (let length = 0; length <= segments.length; length++) if (refused.has(pathOf(key, segments.slice(0, length)))) return true;
  return false;
}

interface Definition {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: z.ZodType[];
  readonly discriminator?: string;
  readonly values?: unknown[];
}

function definitionOf(schema: z.ZodType): Definition {
  return (schema as unknown as { _zod: { def: Definition } })._zod.def;
}

/**
 * The schema that judges `value`: through optional, default and pipe
 * wrappers, and for a union the object option the value's discriminator
 * (or shape) selects.
 */
export function unwrap(schema: z.ZodType, value: unknown, throughUnions = true): z.ZodType {
  let current = schema;
  for (;;) {
    const definition = definitionOf(current);
    if (["optional", "default", "prefault", "nullable", "readonly", "catch"].includes(definition.type) && definition.innerType) current = definition.innerType;
    else if (definition.type === "pipe" && definition.in) current = definition.in;
    else if (definition.type === "union" && definition.options && throughUnions) {
      const chosen = definition.options.find((option) => {
        const inner = definitionOf(unwrap(option, value));
        if (inner.type !== "object") return false;
        if (!definition.discriminator) return true;
        const literal = inner.shape?.[definition.discriminator];
        return (
          literal !== undefined && (definitionOf(literal).values ?? []).includes((value as Record<string, unknown> | undefined)?.[definition.discriminator])
        );
      });
      if (!chosen) return current;
      current = chosen;
    } else return current;
  }
}

/** The description of a schema, or of the schema inside its optional or default wrapper. */
export function descriptionOf(schema: z.ZodType): string | undefined {
  let current: z.ZodType | undefined = schema;
  while (current) {
    if (current.description) return current.description;
    const definition = definitionOf(current);
    current = ["optional", "default", "prefault", "nullable", "readonly"].includes(definition.type) ? definition.innerType : undefined;
  }
  return undefined;
}

/** The fields of the object schema at `segments` below `schema`, judging `value`. */
export function knownFieldsAt(schema: z.ZodType, segments: readonly Segment[], value: unknown): string[] {
  let current = unwrap(schema, value);
  let at: unknown = value;
  for (const segment of segments) {
    const definition = definitionOf(current);
    const next =
      definition.type === "object"
        ? definition.shape?.[String(segment)]
        : definition.type === "array"
          ? definition.element
          : definition.type === "record"
            ? definition.valueType
            : undefined;
    if (!next) return [];
    at = typeof at === "object" && at !== null ? (at as Record<PropertyKey, unknown>)[segment] : undefined;
    current = unwrap(next, at);
  }
  return Object.keys(shapeOf(current) ?? {});
}

/** The fields of an object schema (through its wrappers), or undefined for any other schema. */
export function shapeOf(schema: z.ZodType, value?: unknown): Record<string, z.ZodType> | undefined {
  const definition = definitionOf(unwrap(schema, value));
  return definition.type === "object" ? definition.shape : undefined;
}

/** The element schema of a list schema (through its wrappers), or undefined. */
export function elementOf(schema: z.ZodType): z.ZodType | undefined {
  const definition = definitionOf(unwrap(schema, undefined));
  return definition.type === "array" ? definition.element : undefined;
}

/** The schema's kind, through its wrappers: how Pulumi hands the value over (text, true/false, JSON). */
export function kindOf(schema: z.ZodType): string {
  return definitionOf(unwrap(schema, undefined, false)).type;
}

/**
 * `value` read by `schema` as if its unknown fields were not there, or
 * undefined when anything else is wrong: an unknown field is reported as
 * such, and the checks across keys still read the value around it.
 */
export function parseIgnoringUnknownFields<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const shape = shapeOf(schema, value);
  const known =
    shape && typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).filter(([field]) => hasOwnKey(shape, field)))
      : value;
  const result = schema.safeParse(known);
  return result.success ? result.data : undefined;
}

/**
 * The fields of `value` that each pass their own schema, when the object as
 * a whole may not: what a check across fields can still rely on, so that one
 * bad value does not hide another problem nor make a second one.
 */
export function fieldsThatParse(schema: z.ZodType, value: unknown): Record<string, unknown> {
  const shape = shapeOf(schema, value);
  if (!shape || typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const fields: Record<string, unknown> = {};
  for (const [field, fieldSchema] of Object.entries(shape)) {
    const result = fieldSchema.safeParse((value as Record<string, unknown>)[field]);
    if (result.success && (value as Record<string, unknown>)[field] !== undefined) fields[field] = result.data;
  }
  return fields;
}
