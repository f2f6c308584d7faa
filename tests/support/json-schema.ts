/**
 * A small JSON Schema (draft 7) validator for the keywords the stack file's
 * schema uses, so that the tests judge the shipped files by the schema an
 * editor reads, without a validator package. `SUPPORTED_KEYWORDS` lists what
 * it understands; a test checks that the schema uses nothing else, so that no
 * keyword is silently ignored.
 */

export type JSONSchema = boolean | { readonly [keyword: string]: unknown };

/** Keywords that say something about a value, and the ones that only annotate. */
export const SUPPORTED_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "items",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  // Annotations: they constrain nothing.
  "$schema",
  "$comment",
  "title",
  "description",
  "default",
]);

/** Every keyword used anywhere in `schema`. */
export function keywordsOf(schema: JSONSchema): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (typeof node !== "object" || node === null) return;
    for (const [keyword, value] of Object.entries(node)) {
      found.add(keyword);
      if (keyword === "properties") Object.values(value as object).forEach(visit);
      else if (["items", "additionalProperties", "propertyNames", "not"].includes(keyword)) visit(value);
      else if (["anyOf", "oneOf", "allOf"].includes(keyword)) (value as unknown[]).forEach(visit);
    }
  };
  visit(schema);
  return found;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every way `value` breaks `schema`, each as "<path>: <what>"; empty when it conforms. */
export function validateJSON(schema: JSONSchema, value: unknown, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  const errors: string[] = [];
  const s = schema as Record<string, unknown>;
  for (const keyword of Object.keys(s))
    if (!SUPPORTED_KEYWORDS.has(keyword)) errors.push(`${path}: the schema uses "${keyword}", which this validator does not know`);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((type) => matchesType(value, type))) return [...errors, `${path}: is ${typeOf(value)}, expected ${types.join(" or ")}`];
  }
  if (s.enum !== undefined && !(s.enum as unknown[]).some((item) => equal(item, value)))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.const !== undefined && !equal(s.const, value)) errors.push(`${path}: is not ${JSON.stringify(s.const)}`);
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) errors.push(`${path}: ${value} < ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) errors.push(`${path}: ${value} > ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) errors.push(`${path}: ${value} <= ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && value >= s.exclusiveMaximum) errors.push(`${path}: ${value} >= ${s.exclusiveMaximum}`);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof s.minLength === "number" && length < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && length > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) errors.push(`${path}: does not match ${s.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) errors.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems) errors.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined) value.forEach((item, index) => errors.push(...validateJSON(s.items as JSONSchema, item, `${path}[${index}]`)));
  }
  if (isObject(value)) {
    const properties = (s.properties ?? {}) as Record<string, JSONSchema>;
    for (const name of (s.required ?? []) as string[]) if (!(name in value)) errors.push(`${path}.${name}: is required`);
    for (const [name, item] of Object.entries(value)) {
      if (s.propertyNames !== undefined) errors.push(...validateJSON(s.propertyNames as JSONSchema, name, `${path}.${name} (name)`));
      if (Object.hasOwn(properties, name)) errors.push(...validateJSON(properties[name]!, item, `${path}.${name}`));
      else if (s.additionalProperties !== undefined)
        errors.push(
          ...validateJSON(s.additionalProperties as JSONSchema, item, `${path}.${name}`).map((error) =>
            s.additionalProperties === false ? `${path}.${name}: is not a known key` : error,
          ),
        );
    }
  }
  const branches = (keyword: string) => ((s[keyword] ?? []) as JSONSchema[]).map((branch) => validateJSON(branch, value, path));
  if (s.allOf !== undefined) errors.push(...branches("allOf").flat());
  if (s.anyOf !== undefined && !branches("anyOf").some((branch) => branch.length === 0)) errors.push(`${path}: matches none of anyOf`);
  if (s.oneOf !== undefined) {
    const results = branches("oneOf");
    const passing = results.filter((branch) => branch.length === 0).length;
    if (passing !== 1)
      errors.push(`${path}: matches ${passing} of oneOf, not exactly one${passing === 0 ? ` (${results.map((branch) => branch[0]).join("; ")})` : ""}`);
  }
  if (s.not !== undefined && validateJSON(s.not as JSONSchema, value, path).length === 0) errors.push(`${path}: is not allowed here`);
  return errors;
}
