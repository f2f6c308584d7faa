import { join } from "node:path";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { requiredSecrets, validateStackConfig, type RawConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { overlayOverrides } from "../../tools/plan/plan";
import { completeRawConfig, PROJECT_DIR } from "./stack-config";

/** Seed 004's phase files (examples/galion/phase-N.yaml), as tests read them. */

/** A phase file's keys as config values, the way `-c @file` applies them. */
export function galionPhaseValues(n: number): Record<string, string> {
  return Object.fromEntries(
    overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)).map((override) => {
      const separator = override.indexOf("=");
      return [override.slice(0, separator), override.slice(separator + 1)];
    }),
  );
}

/** Prod's config with `changes` applied and every secret the result needs set as a secret. */
export function rawConfigWithSecrets(changes: Record<string, string | undefined>): RawConfig {
  const raw = completeRawConfig("prod", changes);
  const values = { ...raw.values };
  const secretKeys = new Set(raw.secretKeys);
  let servers: unknown;
  try {
    servers = JSON.parse(values["infra:servers"] ?? "[]");
  } catch {
    servers = [];
  }
  for (const secret of requiredSecrets(values["infra:blueprint"], Array.isArray(servers) ? servers : [], BLUEPRINT_CATALOG, JSON.parse(values["infra:monitoring"] ?? "null"))) {
    values[secret.key] ??= `test-value-of-${secret.key}`;
    secretKeys.add(secret.key);
  }
  return { values, secretKeys };
}

/** The validated prod config with `changes`, every secret set, planned with its blueprint. */
export function modelWith(changes: Record<string, string | undefined>): PlatformModel {
  const config = validateStackConfig(rawConfigWithSecrets(changes), BLUEPRINT_CATALOG).config;
  return planPlatform(config, blueprintNamed(config.blueprint));
}
