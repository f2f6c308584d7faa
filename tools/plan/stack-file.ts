import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SECRET_PLACEHOLDER } from "../../infra/config/schema";
import { InputError } from "../../infra/input-error";

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

export function readStackFile(projectDir: string, stack: string): StackFile {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanInputError(`"${stack}" is not a stack name`);
  const path = join(projectDir, `Pulumi.${stack}.yaml`);
  let document: unknown;
  try {
    document = parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new PlanInputError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const config = (document as { config?: Record<string, unknown> } | null)?.config ?? {};
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const encrypted: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (isSecure(value)) {
      secretKeys.add(key);
      encrypted.push(key);
      values[key] = SECRET_PLACEHOLDER;
    } else if (containsSecure(value)) {
      throw new PlanInputError(`${path}: ${key} nests a secure value inside an object; set secrets as top-level keys`);
    } else {
      // Pulumi passes scalars as their text and structured values as JSON.
      values[key] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    }
  }
  return { values, secretKeys, encrypted };
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

function containsSecure(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return isSecure(value) || Object.values(value).some(containsSecure);
}

/** Applies `-c key=value` overrides; values that look like JSON lists or objects stay structured. */
export function applyOverrides(file: StackFile, overrides: readonly string[], secretOverrides: readonly string[] = []): StackFile {
  const values = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  for (const [list, secret] of [[overrides, false], [secretOverrides, true]] as const) {
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
