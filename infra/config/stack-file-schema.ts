/**
 * The schema of a whole stack file, `Pulumi.<stack>.yaml`: its top-level keys
 * and, under `config:`, every key the program accepts, each as the stack
 * file writes it (a secret as Pulumi's `secure:` ciphertext). Built from the
 * config schema (schema.ts), so the JSON Schema editors read
 * (docs/stack-config.schema.json, written by tools/config-schema.ts) cannot
 * drift from what validation takes.
 */
import { z } from "zod";
import type { BlueprintCatalog } from "./validate";
import { knownSecrets } from "./validate";
import { configKey, PROVIDER_KEYS, PULUMI_KEYS, stackConfigShape } from "./schema";

/** The top-level keys of Pulumi.<stack>.yaml (Pulumi's "stack settings file reference"). */
export const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"] as const;

/** What each provider setting the program takes is, as its SDK documents it (@pulumi/hcloud/config, @pulumi/cloudflare/config). */
const PROVIDER_SETTING_DESCRIPTIONS: Readonly<Record<string, string>> = {
  "hcloud:endpoint": "Hetzner Cloud API endpoint",
  "hcloud:endpointHetzner": "Hetzner API endpoint (Storage Boxes)",
  "hcloud:pollFunction": "how the provider polls actions: constant or exponential",
  "hcloud:pollInterval": "interval between polls of an action, e.g. 500ms",
  "cloudflare:baseUrl": "Cloudflare API base URL",
  "cloudflare:userAgentOperatorSuffix": "suffix of the provider's User-Agent",
};

/** A secret as `pulumi config set --secret` writes it into the stack file. */
function secureValue(purpose: string) {
  return z
    .strictObject({ secure: z.string().min(1).describe("ciphertext written by pulumi config set --secret") })
    .optional()
    .describe(`secret: ${purpose}; set it with pulumi config set --secret`);
}

/** The `config:` section: every key the program reads, the secrets as ciphertext. */
export function stackFileConfigSchema(blueprints: BlueprintCatalog) {
  const plain = Object.fromEntries(Object.entries(stackConfigShape(blueprints.names)).map(([field, schema]) => [configKey(field), schema]));
  const secrets = Object.fromEntries(knownSecrets(blueprints).map((secret) => [secret.key, secureValue(secret.purpose)]));
  const providerSettings = Object.fromEntries(
    Object.entries(PROVIDER_KEYS)
      .flatMap(([provider, names]) => names.map((name) => `${provider}:${name}`))
      .filter((key) => !(key in secrets))
      .map((key) => [
        key,
        z
          .string()
          .optional()
          .describe(PROVIDER_SETTING_DESCRIPTIONS[key] ?? `a setting of the ${key.split(":")[0]} provider`),
      ]),
  );
  const pulumiSettings = Object.fromEntries(
    PULUMI_KEYS.map((key) => [key, z.array(z.string()).optional().describe('providers Pulumi creates no default instance of, e.g. ["*"]')]),
  );
  return z.strictObject({ ...plain, ...secrets, ...providerSettings, ...pulumiSettings });
}

/** A whole stack file. */
export function stackFileSchema(blueprints: BlueprintCatalog) {
  return z
    .strictObject({
      config: stackFileConfigSchema(blueprints).describe("the stack's configuration; the README's Configuration section explains each key"),
      secretsprovider: z.string().optional().describe("where the stack's secrets are encrypted (passphrase, awskms://..., ...)"),
      encryptedkey: z.string().optional().describe("the data key, encrypted by the secrets provider"),
      encryptionsalt: z.string().optional().describe("salt of the passphrase secrets provider"),
      environment: z.array(z.string()).optional().describe("Pulumi ESC environments the stack imports"),
    })
    .describe("Pulumi.<stack>.yaml of the infra project");
}

/** Where the committed JSON Schema lives, from the project's root; the stack files and the README point at it. */
export const STACK_FILE_SCHEMA_PATH = "docs/stack-config.schema.json";

/**
 * The JSON Schema of the stack files, for editors (yaml-language-server reads
 * draft 7). Checks that are code (a CIDR's breadth, a host key's structure)
 * are not in it; validation still runs them.
 */
export function stackFileJSONSchema(blueprints: BlueprintCatalog): Record<string, unknown> {
  const schema = z.toJSONSchema(stackFileSchema(blueprints), { io: "input", target: "draft-7", unrepresentable: "any" }) as Record<string, unknown>;
  return {
    ...schema,
    title: "Pulumi stack file of the infra project",
    $comment: "Generated from infra/config/schema.ts by tools/config-schema.ts; do not edit.",
  };
}
