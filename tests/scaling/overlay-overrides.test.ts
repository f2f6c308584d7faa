import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildPlan, overlayOverrides } from "../../tools/plan/plan";
import { PROJECT_DIR } from "../support/stack-config";

/** `-c @file.yaml`: a file's `config:` map as overrides, the way examples/galion/phase-<n>.yaml are planned. */
const dir = mkdtempSync(join(tmpdir(), "overlay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("overlayOverrides", () => {
  it("turns scalars into their text and lists and objects into JSON, key by key", () => {
    const path = file(
      "mixed.yaml",
      [
        "config:",
        "  infra:blueprint: galion",
        "  infra:protect: false",
        "  infra:adminCidrs:",
        "    - 198.51.100.7/32",
        "  infra:loadBalancer:",
        "    type: lb11",
        "    location: fsn1",
        "    privateIp: 10.0.1.100",
        "  infra:count: 3",
        "",
      ].join("\n"),
    );
    expect(overlayOverrides(path)).toEqual([
      "infra:blueprint=galion",
      "infra:protect=false",
      'infra:adminCidrs=["198.51.100.7/32"]',
      'infra:loadBalancer={"type":"lb11","location":"fsn1","privateIp":"10.0.1.100"}',
      "infra:count=3",
    ]);
  });

  it("refuses a secret in the file, naming the key: secrets are set with pulumi config set --secret", () => {
    const path = file("secret.yaml", ["config:", "  infra:blueprint: galion", "  infra:postgresPassword:", "    secure: AAABAJ5x", ""].join("\n"));
    expect(() => overlayOverrides(path)).toThrow(`${path}: infra:postgresPassword is a secret; set it with pulumi config set --secret infra:postgresPassword`);
  });

  it.each([
    ["an empty file", "", "is empty; an overlay is a YAML mapping with a config: section"],
    ["a file without a config map", "infra:blueprint: galion\n", 'unknown top-level key "infra:blueprint"; an overlay holds only config:'],
    ["a config that is not a map", "config: galion\n", "config: is a string; it must be a mapping of keys to values"],
  ])("refuses %s, saying why", (_case, text, message) => {
    const path = file("bad.yaml", text);
    expect(() => overlayOverrides(path)).toThrow(`${path}: ${message}`);
  });

  it("reads every shipped phase file", () => {
    for (const n of [1, 2, 3, 4, 5]) {
      const overrides = overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`));
      expect(overrides, `phase ${n}`).toContain("infra:blueprint=galion");
      expect(overrides.some((override) => override.startsWith("infra:servers=["))).toBe(true);
    }
  });
});

describe("-c @file in the plan", () => {
  it("applies the file's keys as overrides, with the path relative to the project, and later -c values win", async () => {
    const overlay = file("blueprint.yaml", ["config:", "  infra:blueprint: nextmavens", "  infra:domain: portal.example.org", ""].join("\n"));
    const plan = await buildPlan({
      projectDir: PROJECT_DIR,
      stack: "preprod",
      overrides: [`@${relative(PROJECT_DIR, overlay)}`, "domain=nextmavens.example.org"],
    });
    expect(plan.blueprint).toBe("nextmavens");
    expect(plan.dns.map((record) => record.hostname)).toEqual(["portal.nextmavens.example.org"]);
  });
});
