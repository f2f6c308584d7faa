import { readStackFile } from "../../tools/plan/stack-file";
import type { RawConfig } from "../../infra/config/validate";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { requiredSecrets } from "../../infra/config/validate";
import { resolve } from "node:path";

export const PROJECT_DIR = resolve(__dirname, "..", "..");

/** A stack file's config with every required secret set as a secret, i.e. what `pulumi up` would see. */
export function completeRawConfig(stack: string, changes: Record<string, string | undefined> = {}, plainKeys: string[] = []): RawConfig {
  const file = readStackFile(PROJECT_DIR, stack);
  const values: Record<string, string> = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  const servers = JSON.parse(values["infra:servers"] ?? "[]");
  for (const secret of requiredSecrets(values["infra:blueprint"], servers, BLUEPRINT_CATALOG, JSON.parse(values["infra:monitoring"] ?? "null"))) {
    values[secret.key] = `test-value-of-${secret.key}`;
    secretKeys.add(secret.key);
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete values[key];
    else values[key] = value;
  }
  for (const key of plainKeys) secretKeys.delete(key);
  return { values, secretKeys };
}
