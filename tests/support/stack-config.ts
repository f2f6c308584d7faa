import { readStackFile } from "../../tools/plan/stack-file";
import type { RawConfig } from "../../infra/config/validate";
import type { SecretDeclaration } from "../../infra/config/schema";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { requiredSecrets, validateStackConfig } from "../../infra/config/validate";
import { ConfigError } from "../../infra/config/errors";
import { expect } from "vitest";
import { resolve } from "node:path";

export const PROJECT_DIR = resolve(__dirname, "..", "..");

import { TEST_BCRYPT_HASH } from "./test-secrets";

export { TEST_BCRYPT_HASH };

/** An example SSH host key (ssh-keygen -t ed25519) for the existing servers tests declare; Pulumi.prod.yaml has its own. */
export const TEST_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIArUDylfarOvzxdhCuNbdDREM+e92Gjfq1jXbj0z5I0a";

/** The value tests set for a required secret: recognisable, and of the form validation asks for. */
export function testSecretValue(secret: SecretDeclaration): string {
  return secret.bcryptHash ? TEST_BCRYPT_HASH : `test-value-of-${secret.key}`;
}

/** A stack file's config with every required secret set as a secret, i.e. what `pulumi up` would see. */
export function completeRawConfig(stack: string, changes: Record<string, string | undefined> = {}, plainKeys: string[] = []): RawConfig {
  const file = readStackFile(PROJECT_DIR, stack);
  const values: Record<string, string> = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  const servers = JSON.parse(values["infra:servers"] ?? "[]");
  for (const secret of requiredSecrets(
    values["infra:blueprint"],
    servers,
    BLUEPRINT_CATALOG,
    JSON.parse(values["infra:monitoring"] ?? "null"),
    true,
    values["infra:opsHost"] !== undefined,
  )) {
    values[secret.key] = testSecretValue(secret);
    secretKeys.add(secret.key);
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete values[key];
    else values[key] = value;
  }
  for (const key of plainKeys) secretKeys.delete(key);
  return { values, secretKeys };
}

/**
 * A shipped stack's config with `changes` applied, every secret the result
 * needs set as a secret, and then `secrets` set as secrets over them.
 */
export function rawConfigWithSecrets(changes: Record<string, string | undefined>, stack = "prod", secrets: Record<string, string> = {}): RawConfig {
  const raw = completeRawConfig(stack, changes);
  const values = { ...raw.values };
  const secretKeys = new Set(raw.secretKeys);
  let servers: unknown;
  try {
    servers = JSON.parse(values["infra:servers"] ?? "[]");
  } catch {
    servers = [];
  }
  for (const secret of requiredSecrets(
    values["infra:blueprint"],
    Array.isArray(servers) ? servers : [],
    BLUEPRINT_CATALOG,
    JSON.parse(values["infra:monitoring"] ?? "null"),
    true,
    values["infra:opsHost"] !== undefined,
  )) {
    values[secret.key] ??= testSecretValue(secret);
    secretKeys.add(secret.key);
  }
  for (const [key, value] of Object.entries(secrets)) {
    values[key] = value;
    secretKeys.add(key);
  }
  return { values, secretKeys };
}

/** Every problem validation reports for `raw`; the test fails when the config is accepted. */
export function configProblemsOf(raw: RawConfig): { path: string; message: string }[] {
  try {
    validateStackConfig(raw, BLUEPRINT_CATALOG);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected the configuration to be rejected");
}
