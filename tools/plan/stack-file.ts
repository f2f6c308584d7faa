import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { SECRET_PLACEHOLDER } from "../../infra/config/schema";
import { STACK_FILE_KEYS } from "../../infra/config/stack-file-schema";
import { didYouMean } from "../../infra/config/suggest";
import { InputError, isInputError } from "../../infra/input-error";

/** A stack's configuration as Pulumi would hand it to the program, minus the secrets it cannot decrypt. */
export interface StackFile {
  readonly values: Record<string, string>;
  readonly secretKeys: Set<string>;
  /** Secret keys present in the file as `secure:` ciphertext; the plan cannot decrypt them. */
  readonly encrypted: string[];
}

/** A problem with what the plan was asked to do: reported as a message, without a stack trace. */
export class PlanInputError extends InputError {
  override name = "PlanInputError";
}

export { SECRET_PLACEHOLDER };

/** An overlay holds config and nothing else: no secrets provider, no secret. */
const OVERLAY_KEYS = ["config"];

// More aliases than any hand-written file uses: a file whose aliases expand
// without end (a "billion laughs") is refused instead of filling memory.
const MAX_ALIAS_COUNT = 100;

export function readStackFile(projectDir: string, stack: string): StackFile {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanInputError(`"${stack}" is not a stack name`);
  const path = join(projectDir, `Pulumi.${stack}.yaml`);
  const config = configSection(path, readYAML(path), "stack file");
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const encrypted: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (value === null) throw new PlanInputError(`${path}: ${key} has no value`);
    if (isSecure(value)) {
      secretKeys.add(key);
      encrypted.push(key);
      values[key] = SECRET_PLACEHOLDER;
      continue;
    }
    const nested = securePath(value, key);
    if (nested) throw new PlanInputError(`${path}: ${nested} nests a secure value inside an object; set secrets as top-level keys`);
    values[key] = configText(value);
  }
  return { values, secretKeys, encrypted };
}

/**
 * `-c @file.yaml`: every key of the file's `config:` map as an override, the
 * way examples/galion/phase-<n>.yaml describe seed 004's scaling phases.
 * Secrets do not belong in such a file, so a `secure:` value is refused.
 */
export function overlayOverrides(path: string): string[] {
  const config = configSection(path, readYAML(path), "overlay");
  return Object.entries(config).map(([key, value]) => {
    if (key === "" || /[=\s\p{Cc}]/u.test(key)) throw new PlanInputError(`${path}: ${JSON.stringify(key)} is not a config key`);
    if (value === null) throw new PlanInputError(`${path}: ${key} has no value`);
    if (isSecure(value)) throw new PlanInputError(`${path}: ${key} is a secret; set it with pulumi config set --secret ${qualify(key)}`);
    const nested = securePath(value, key);
    if (nested)
      throw new PlanInputError(
        `${path}: ${nested} is a secret inside an object; an overlay holds no secrets, and Pulumi takes them only as top-level keys (pulumi config set --secret <key>)`,
      );
    return `${key}=${configText(value)}`;
  });
}

/** The file's YAML as plain data, read with Pulumi's reading of merge keys; any problem becomes a PlanInputError naming the file. */
function readYAML(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new PlanInputError(`${path}: ${fileProblem(error as NodeJS.ErrnoException)}`);
  }
  try {
    // Pulumi reads stack files with Go's yaml.v3, which applies `<<` merge keys.
    const document = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
    // A warning (an unresolved tag such as `!secure`) would change what a value
    // means without saying so, so it is refused like an error.
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem) throw new PlanInputError(`${path}: ${problem.message.trim()}`);
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (isInputError(error)) throw error;
    throw new PlanInputError(`${path}: ${(error as Error).message} (a YAML alias is expanded at most ${MAX_ALIAS_COUNT} times)`);
  }
}

function fileProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "is a directory, not a YAML file";
    case "EACCES":
      return "cannot be read (permission denied)";
    default:
      return `cannot be read (${error.code ?? error.message})`;
  }
}

/** The `config:` map of a stack file or an overlay, refused with what is wrong when it is not one. */
function configSection(path: string, document: unknown, kind: "stack file" | "overlay"): Record<string, unknown> {
  const form = `${kind === "overlay" ? "an overlay" : "a stack file"} is a YAML mapping with a config: section`;
  if (document === null || document === undefined) {
    if (kind === "stack file") return {};
    throw new PlanInputError(`${path}: is empty; ${form}`);
  }
  if (!isMapping(document)) throw new PlanInputError(`${path}: is ${describe(document)}; ${form}`);
  const allowed: readonly string[] = kind === "overlay" ? OVERLAY_KEYS : STACK_FILE_KEYS;
  for (const key of Object.keys(document)) {
    if (!allowed.includes(key)) {
      const hint = didYouMean(key, allowed) ?? (kind === "overlay" ? "an overlay holds only config:" : `a stack file holds ${allowed.join(", ")}`);
      throw new PlanInputError(`${path}: unknown top-level key ${JSON.stringify(key)}; ${hint}`);
    }
  }
  const config = document.config;
  if (config === null || config === undefined) {
    if (kind === "stack file") return {};
    throw new PlanInputError(`${path}: ${"config" in document ? "config: is empty" : "has no config: section"}; ${form}`);
  }
  if (!isMapping(config)) throw new PlanInputError(`${path}: config: is ${describe(config)}; it must be a mapping of keys to values`);
  return config;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "empty";
  return `a ${typeof value}`;
}

/** Pulumi passes scalars as their text and structured values as JSON. */
function configText(value: unknown): string {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

function isSecure(value: unknown): boolean {
  return isMapping(value) && Object.keys(value).length === 1 && "secure" in value;
}

/** The path of the first `secure:` value nested inside `value`, or undefined. */
function securePath(value: unknown, path: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  for (const [field, item] of Object.entries(value)) {
    const at = Array.isArray(value) ? `${path}[${field}]` : `${path}.${field}`;
    if (isSecure(item)) return at;
    const deeper = securePath(item, at);
    if (deeper) return deeper;
  }
  return undefined;
}

/** Applies `-c key=value` overrides; values that look like JSON lists or objects stay structured. */
export function applyOverrides(file: StackFile, overrides: readonly string[], secretOverrides: readonly string[] = []): StackFile {
  const values = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  for (const [list, secret] of [
    [overrides, false],
    [secretOverrides, true],
  ] as const) {
    for (const override of list) {
      const separator = override.indexOf("=");
      if (separator <= 0) throw new PlanInputError(`config override "${override}" is not key=value`);
      const key = qualify(override.slice(0, separator));
      values[key] = override.slice(separator + 1);
      if (secret) secretKeys.add(key);
      else secretKeys.delete(key);
    }
  }
  return { values, secretKeys, encrypted: file.encrypted.filter((key) => !secretKeys.has(key) || values[key] === SECRET_PLACEHOLDER) };
}

/** `blueprint` means `infra:blueprint`, as with `pulumi config set`. */
function qualify(key: string): string {
  return key.includes(":") ? key : `infra:${key}`;
}
