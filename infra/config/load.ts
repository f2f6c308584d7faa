import * as pulumi from "@pulumi/pulumi";
import { BLUEPRINT_CATALOG } from "../blueprints";
import type { SecretDeclaration, StackConfig } from "./schema";
import { validateStackConfig, type RawConfig } from "./validate";

/** The validated stack config with every secret it needs, as Pulumi secret outputs. */
export interface LoadedConfig {
  readonly config: StackConfig;
  readonly secrets: Readonly<Record<string, pulumi.Output<string>>>;
  readonly secretDeclarations: readonly SecretDeclaration[];
}

/** Reads the stack's configuration from the running Pulumi program. */
export function readRawConfig(): RawConfig {
  const values = pulumi.runtime.allConfig();
  // isConfigSecret is not in the SDK's typings, but it is how the SDK itself
  // decides whether `config.get` of a secret key deserves a warning.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
  return { values, secretKeys: new Set(Object.keys(values).filter((key) => isSecret(key))) };
}

/** Validates once, before any resource exists, and wraps each secret as a Pulumi secret. */
export function loadStackConfig(raw: RawConfig = readRawConfig()): LoadedConfig {
  const { config, secrets } = validateStackConfig(raw, BLUEPRINT_CATALOG);
  const values: Record<string, pulumi.Output<string>> = {};
  for (const secret of secrets) values[secret.key] = pulumi.secret(raw.values[secret.key] as string);
  return { config, secrets: values, secretDeclarations: secrets };
}
