import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { PLAIN_KEYS, PROVIDER_KEYS, PULUMI_KEYS, REFUSED_PROVIDER_KEYS } from "../../infra/config/schema";
import { STACK_FILE_SCHEMA_PATH, stackFileSchema } from "../../infra/config/stack-file-schema";
import { knownSecrets } from "../../infra/config/validate";
import { stackFileSchemaText } from "../../tools/config-schema";
import { keywordsOf, SUPPORTED_KEYWORDS, validateJSON, type JSONSchema } from "../support/json-schema";
import { PROJECT_DIR } from "../support/stack-config";

const committed = () => readFileSync(join(PROJECT_DIR, STACK_FILE_SCHEMA_PATH), "utf8");
const schema = () => JSON.parse(committed()) as { properties: { config: { properties: Record<string, JSONSchema>; required: string[] } } };
const stackFile = (stack: string) => readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8");
const STACKS = ["prod", "preprod"];

describe("the JSON Schema of the stack files (docs/stack-config.schema.json)", () => {
  it("is the one the config schema generates: run tsx tools/config-schema.ts after changing infra/config/schema.ts", () => {
    expect(committed()).toBe(stackFileSchemaText());
  });

  it("uses only keywords the test's validator understands, so none is silently skipped", () => {
    expect([...keywordsOf(schema() as JSONSchema)].filter((keyword) => !SUPPORTED_KEYWORDS.has(keyword))).toEqual([]);
  });

  it.each(STACKS)("Pulumi.%s.yaml validates against it, and against the zod schema it comes from", (stack) => {
    const document = parse(stackFile(stack)) as unknown;
    expect(validateJSON(schema() as JSONSchema, document)).toEqual([]);
    expect(stackFileSchema(BLUEPRINT_CATALOG).safeParse(document).error?.issues ?? []).toEqual([]);
  });

  it.each(STACKS)("Pulumi.%s.yaml points editors at it on its first line", (stack) => {
    expect(stackFile(stack).split("\n")[0]).toBe(`# yaml-language-server: $schema=./${STACK_FILE_SCHEMA_PATH}`);
  });

  it("is referenced from the README", () => {
    expect(readFileSync(join(PROJECT_DIR, "README.md"), "utf8")).toContain(STACK_FILE_SCHEMA_PATH);
  });

  it.each([1, 2, 3, 4, 5])("each key of the GALION phase overlay %i validates against its schema", (n) => {
    const overlay = parse(readFileSync(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const properties = schema().properties.config.properties;
    for (const [key, value] of Object.entries(overlay.config)) {
      expect(Object.hasOwn(properties, key), key).toBe(true);
      expect(validateJSON(properties[key]!, value, key)).toEqual([]);
    }
  });

  it("names every key validation takes, and nothing else", () => {
    const properties = Object.keys(schema().properties.config.properties).sort();
    const provider = Object.entries(PROVIDER_KEYS).flatMap(([namespace, names]) => names.map((name) => `${namespace}:${name}`));
    const taken = [...Object.keys(PLAIN_KEYS), ...knownSecrets(BLUEPRINT_CATALOG).map((secret) => secret.key), ...provider, ...PULUMI_KEYS];
    expect(properties).toEqual([...new Set(taken)].sort());
    for (const key of Object.keys(REFUSED_PROVIDER_KEYS)) expect(properties).not.toContain(key);
  });

  it("requires the keys validation requires, and describes every key", () => {
    const config = schema().properties.config;
    expect(config.required.sort()).toEqual([
      "infra:adminCidrs",
      "infra:blueprint",
      "infra:dns",
      "infra:domain",
      "infra:environment",
      "infra:servers",
      "infra:storage",
    ]);
    for (const [key, property] of Object.entries(config.properties)) expect((property as { description?: string }).description, key).toBeTruthy();
    // The same descriptions end "is required (...)" and tell what a key holds.
    for (const [key, description] of Object.entries(PLAIN_KEYS))
      expect(description, key).toBe((config.properties[key] as { description?: string }).description);
  });

  // The schema would be worthless if it let anything through: each of these
  // is a stack file an editor must flag.
  const prod = () => parse(stackFile("prod")) as { config: Record<string, unknown> };
  const server = () => (prod().config["infra:servers"] as Record<string, unknown>[])[0]!;
  it.each<[string, (file: { config: Record<string, unknown> }) => void, RegExp]>([
    ["a misspelt key", (file) => ((file.config["infra:domian"] = "x.example.com"), delete file.config["infra:domain"]), /infra:domian: is not a known key/],
    ["a missing required key", (file) => delete file.config["infra:storage"], /infra:storage: is required/],
    ["a secret in plain text", (file) => (file.config["infra:resticPassword"] = "hunter2-hunter2"), /infra:resticPassword: is string, expected object/],
    ["a secret without its ciphertext", (file) => (file.config["infra:resticPassword"] = { secure: "" }), /infra:resticPassword.secure: shorter than 1/],
    ["a number as text", (file) => (file.config["infra:servers"] = [{ ...server(), memoryMb: "16384" }]), /matches 0 of oneOf/],
    ["an unknown field of a server", (file) => (file.config["infra:servers"] = [{ ...server(), colour: "blue" }]), /matches 0 of oneOf/],
    ["an unknown provider", (file) => (file.config["infra:servers"] = [{ ...server(), provider: "ovh" }]), /matches 0 of oneOf/],
    ["a memory below the floor", (file) => (file.config["infra:servers"] = [{ ...server(), memoryMb: 100 }]), /matches 0 of oneOf/],
    ["an admin access that does not exist", (file) => (file.config["infra:monitoring"] = { adminAccess: "public" }), /adminAccess: "public" is not one of/],
    ["a fractional retention", (file) => (file.config["infra:backup"] = { retention: { daily: 1.5 } }), /daily: is number, expected integer/],
    ["a schedule that is no time", (file) => (file.config["infra:backup"] = { schedule: "noon" }), /schedule: does not match/],
    ["a list where an object belongs", (file) => (file.config["infra:storage"] = []), /infra:storage: is array, expected object/],
    [
      "a heartbeat URL in plain config",
      (file) => (file.config["infra:backup"] = { heartbeatUrl: "https://uptime.example.com/x" }),
      /heartbeatUrl: is not allowed here/,
    ],
    ["an unknown top-level key", (file) => ((file as Record<string, unknown>).confg = {}), /\$.confg: is not a known key/],
    ["a blueprint that does not exist", (file) => (file.config["infra:blueprint"] = "vpia"), /"vpia" is not one of/],
  ])("flags %s", (_case, change, error) => {
    const file = prod();
    change(file);
    expect(validateJSON(schema() as JSONSchema, file).join("\n")).toMatch(error);
  });
});
