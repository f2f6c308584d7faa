import { join } from "node:path";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { overlayOverrides } from "../../tools/plan/plan";
import { PROJECT_DIR, rawConfigWithSecrets } from "./stack-config";

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

/** The validated prod config with `changes`, every secret set, planned with its blueprint. */
export function modelWith(changes: Record<string, string | undefined>): PlatformModel {
  const config = validateStackConfig(rawConfigWithSecrets(changes), BLUEPRINT_CATALOG).config;
  return planPlatform(config, blueprintNamed(config.blueprint));
}
