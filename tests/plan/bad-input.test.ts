import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { overlayOverrides } from "../../tools/plan/plan";
import { planInProcess, STACK_FRAME } from "../support/plan-cli";

/** Pulumi.prod.yaml's example host key. */
const PROD_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAb0uFoTIDizB7DZnMlBC/GPTsTXRC96f8nxjkMNjHB1";

// V5: bad input never prints a stack trace. Each case is what a user could
// type or commit; the plan answers with one message that names what to fix.

/** Runs the plan and checks the answer is a refusal: exit 1, nothing on stdout, and no stack frame. */
async function refused(...args: string[]): Promise<string> {
  const result = await planInProcess("--stack", "prod", ...args);
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^plan failed: /);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toMatch(/\b(Error|TypeError|YAMLParseError|PolicyError|ConfigError): /);
  return result.stderr;
}

describe("a policy violation (V5)", () => {
  it.each([
    [
      "prod without protection",
      ["-c", "protect=false"],
      ["infra:protect: false leaves the stack's volumes, buckets and servers deletable", "infra:disposable: true"],
    ],
    [
      "unproxied web records on prod",
      ["-c", 'dns={"zoneId":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","proxied":false,"hsts":true}'],
      ["CF4 record vpai-dns-n8n", "fix: set infra:dns.proxied: true"],
    ],
  ])("%s names the rule and the fix, without a stack trace", async (_case, args, expected) => {
    const stderr = await refused(...args);
    for (const text of expected) expect(stderr).toContain(text);
  });
});

describe("a -c @file overlay (V5)", () => {
  const dir = mkdtempSync(join(tmpdir(), "bad-overlay-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const overlay = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each([
    ["a missing file", () => join(dir, "missing.yaml"), ["missing.yaml: no such file"]],
    ["a directory", () => dir, ["is a directory, not a YAML file"]],
    ["an empty file", () => overlay("empty.yaml", ""), ["empty.yaml: is empty; an overlay is a YAML mapping with a config: section"]],
    ["a scalar", () => overlay("scalar.yaml", "galion\n"), ["scalar.yaml: is a string; an overlay is a YAML mapping with a config: section"]],
    ["a list", () => overlay("list.yaml", "- infra:blueprint: galion\n"), ["list.yaml: is a list; an overlay is a YAML mapping with a config: section"]],
    [
      "duplicate keys",
      () => overlay("duplicate.yaml", "config:\n  infra:domain: a.example.com\n  infra:domain: b.example.com\n"),
      ["duplicate.yaml: Map keys must be unique at line 3"],
    ],
    ["a syntax error", () => overlay("syntax.yaml", "config:\n  infra:domain: [a.example.com\n"), ["syntax.yaml: "]],
    ["a tag YAML does not know", () => overlay("tag.yaml", "config:\n  infra:domain: !secure a.example.com\n"), ["tag.yaml: Unresolved tag: !secure"]],
    [
      "aliases that expand without end",
      () =>
        overlay(
          "aliases.yaml",
          [
            "config:",
            "  a: &a [x, x, x, x, x, x, x, x, x]",
            "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
            "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
            "  infra:servers: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
            "",
          ].join("\n"),
        ),
      ["aliases.yaml: ", "alias"],
    ],
    [
      "no config: section",
      () => overlay("noconfig.yaml", "infra:blueprint: galion\n"),
      ['noconfig.yaml: unknown top-level key "infra:blueprint"; an overlay holds only config:'],
    ],
    [
      "a misspelt config: section",
      () => overlay("confg.yaml", "confg:\n  infra:blueprint: galion\n"),
      ['confg.yaml: unknown top-level key "confg"; did you mean config?'],
    ],
    [
      "config: as a list",
      () => overlay("config-list.yaml", "config:\n  - infra:blueprint\n  - galion\n"),
      ["config-list.yaml: config: is a list; it must be a mapping of keys to values"],
    ],
    [
      "config: as a string",
      () => overlay("config-scalar.yaml", "config: galion\n"),
      ["config-scalar.yaml: config: is a string; it must be a mapping of keys to values"],
    ],
    ["config: with nothing in it", () => overlay("config-empty.yaml", "config:\n"), ["config-empty.yaml: config: is empty"]],
    [
      "a secure: value",
      () => overlay("secure.yaml", "config:\n  infra:postgresPassword:\n    secure: AAABAJ5x\n"),
      ["secure.yaml: infra:postgresPassword is a secret; set it with pulumi config set --secret infra:postgresPassword"],
    ],
    [
      "a secure: value inside an object",
      () => overlay("nested-secure.yaml", "config:\n  infra:monitoring:\n    receivers:\n      slack:\n        webhookUrl:\n          secure: AAABAJ5x\n"),
      ["nested-secure.yaml: infra:monitoring.receivers.slack.webhookUrl is a secret"],
    ],
    [
      "a secure: value brought in by a merge key",
      () => overlay("merge-secure.yaml", "config:\n  infra:storage:\n    <<: &s { secure: AAABAJ5x }\n"),
      ["merge-secure.yaml: infra:storage is a secret"],
    ],
    ["a key with no value", () => overlay("null.yaml", "config:\n  infra:domain:\n"), ["null.yaml: infra:domain has no value"]],
  ])("%s is refused with the file's path", async (_case, path, expected) => {
    const stderr = await refused("-c", `@${path()}`);
    for (const text of expected) expect(stderr).toContain(text);
  });

  it("reads anchors and merge keys as Pulumi reads a stack file", async () => {
    const path = overlay(
      "merge.yaml",
      [
        "config:",
        "  infra:storage:",
        "    <<: &storage",
        "      endpoint: https://fsn1.your-objectstorage.com",
        "      region: fsn1",
        "    bucketPrefix: merged",
        "  infra:domain: &domain merged.example.com",
        "",
      ].join("\n"),
    );
    expect(overlayOverrides(path)).toEqual([
      'infra:storage={"endpoint":"https://fsn1.your-objectstorage.com","region":"fsn1","bucketPrefix":"merged"}',
      "infra:domain=merged.example.com",
    ]);
  });
});

describe("config the program would only refuse while registering resources (V5)", () => {
  const storage = (endpoint: string) => `storage={"endpoint":"${endpoint}","region":"fsn1","bucketPrefix":"vpai"}`;

  it.each([
    [
      "a storage endpoint with a fragment",
      ["-c", storage("https://fsn1.your-objectstorage.com/#frag")],
      ["infra:storage.endpoint", "has a path, query or fragment"],
    ],
    [
      "a storage endpoint with credentials",
      ["-c", storage("https://key:planted-Pw7q@fsn1.your-objectstorage.com")],
      ["infra:storage.endpoint", "embeds credentials"],
    ],
    [
      "a storage endpoint with a query string",
      ["-c", storage("https://fsn1.your-objectstorage.com?x=1")],
      ["infra:storage.endpoint", "has a path, query or fragment"],
    ],
    [
      "a bucket prefix S3 reserves",
      ["-c", 'storage={"endpoint":"https://fsn1.your-objectstorage.com","region":"fsn1","bucketPrefix":"xn--vpai"}'],
      ["infra:storage.bucketPrefix", 'start with "xn--", a prefix S3 reserves'],
    ],
    [
      "one bad memoryMb",
      ["-c", `servers=[{"name":"main","provider":"existing","address":"203.0.113.20","sshUser":"deploy","memoryMb":100,"hostKey":"${PROD_HOST_KEY}"}]`],
      ["infra:servers[0].memoryMb: 100 must be an integer from 512 to 1048576"],
    ],
  ])("%s is one config problem with its key path", async (_case, args, expected) => {
    const stderr = await refused(...args);
    expect(stderr).toContain("stack configuration has 1 problem:");
    for (const text of expected) expect(stderr).toContain(text);
    expect(stderr).not.toContain("planted-Pw7q");
  });
});

describe("a value with a control character (V1, V5)", () => {
  const dir = mkdtempSync(join(tmpdir(), "bad-control-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const webhookOverlay = (name: string, escaped: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `config:\n  infra:monitoring:\n    receivers:\n      webhook:\n        url: "https://hooks.example.com/alerts${escaped}"\n`);
    return `@${path}`;
  };

  it.each([
    [
      "a line feed in the webhook URL",
      () => ["-c", 'monitoring={"receivers":{"webhook":{"url":"https://hooks.example.com/alerts\\nX-Injected: 1"}}}'],
      "infra:monitoring.receivers.webhook.url",
      "a line feed (U+000A)",
    ],
    [
      "a carriage return in the webhook URL, from an overlay",
      () => ["-c", webhookOverlay("cr.yaml", "\\r")],
      "infra:monitoring.receivers.webhook.url",
      "a carriage return (U+000D)",
    ],
    ["a NUL in the webhook URL, from an overlay", () => ["-c", webhookOverlay("nul.yaml", "\\0")], "infra:monitoring.receivers.webhook.url", "a NUL (U+0000)"],
    ["a tab after the domain", () => ["-c", "domain=vpai.example.com\t"], "infra:domain", "a tab (U+0009)"],
    ["a line feed in a key's name", () => ["-c", "infra:domain\n  - forged=vpai.example.com"], "infra:domain\\n  - forged", "a line feed (U+000A)"],
  ])("%s is one config problem with its key path", async (_case, args, path, named) => {
    const stderr = await refused(...args());
    expect(stderr).toContain("stack configuration has 1 problem:");
    expect(stderr).toContain(`  - ${path}: `);
    expect(stderr).toContain(named);
    // Two lines: the count, and the one problem; nothing in the value adds a line.
    expect(stderr.trimEnd().split("\n")).toHaveLength(2);
  });
});

describe("a typo in a key (V1)", () => {
  it.each([
    ["hcloud:tokn=x", "hcloud:tokn", "did you mean hcloud:token?"],
    ["infr:blueprint=vpai", "infr:blueprint", "did you mean infra:blueprint?"],
    ["infra:domian=vpai.example.com", "infra:domian", "did you mean infra:domain?"],
    ["docker:host=ssh://deploy@203.0.113.20", "docker:host", 'reads no "docker:" keys'],
  ])("-c %s is one problem that names the key meant", async (override, path, expected) => {
    const stderr = await refused("-c", override);
    expect(stderr).toContain("stack configuration has 1 problem:");
    expect(stderr).toContain(`  - ${path}: `);
    expect(stderr).toContain(expected);
    expect(stderr.length).toBeLessThan(400);
  });
});
