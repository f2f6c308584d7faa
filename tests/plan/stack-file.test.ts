import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isInputError } from "../../infra/input-error";
import { readStackFile } from "../../tools/plan/stack-file";

// The plan reads Pulumi.<stack>.yaml itself. A stack file Pulumi would not
// take is refused with its path and what is wrong, never turned into keys
// such as infra:0 (V1, V5).

const dir = mkdtempSync(join(tmpdir(), "stack-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(text: string): string {
  writeFileSync(join(dir, "Pulumi.bad.yaml"), text);
  try {
    readStackFile(dir, "bad");
  } catch (error) {
    expect(isInputError(error), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected the stack file to be refused");
}

describe("readStackFile", () => {
  it.each([
    ["config: as a list", "config:\n  - infra:blueprint\n  - vpai\n", "config: is a list; it must be a mapping of keys to values"],
    ["config: as a string", "config: vpai\n", "config: is a string; it must be a mapping of keys to values"],
    ["a list", "- config: {}\n", "is a list; a stack file is a YAML mapping with a config: section"],
    ["duplicate keys", "config:\n  infra:domain: a.example.com\n  infra:domain: b.example.com\n", "Map keys must be unique"],
    ["a misspelt section", "confg:\n  infra:domain: a.example.com\n", 'unknown top-level key "confg"; did you mean config?'],
    ["a key with no value", "config:\n  infra:domain:\n", "infra:domain has no value"],
    [
      "a secure: value inside an object",
      "config:\n  infra:storage:\n    endpoint:\n      secure: AAAB\n",
      "infra:storage.endpoint nests a secure value inside an object",
    ],
  ])("refuses %s, naming the file", (_case, text, message) => {
    const shown = refusal(text);
    expect(shown).toContain(join(dir, "Pulumi.bad.yaml"));
    expect(shown).toContain(message);
  });

  it("reads merge keys and anchors as Pulumi does, and the settings Pulumi keeps beside config:", () => {
    writeFileSync(
      join(dir, "Pulumi.merge.yaml"),
      [
        "encryptionsalt: v1:abc",
        "secretsprovider: passphrase",
        "config:",
        "  infra:storage:",
        "    <<: &s { endpoint: https://s3.example.com, region: fsn1 }",
        "    bucketPrefix: merged",
        "  infra:resticPassword:",
        "    secure: v1:AAAB",
        "",
      ].join("\n"),
    );
    const file = readStackFile(dir, "merge");
    expect(file.values["infra:storage"]).toBe('{"endpoint":"https://s3.example.com","region":"fsn1","bucketPrefix":"merged"}');
    expect([...file.secretKeys]).toEqual(["infra:resticPassword"]);
  });

  it("takes an empty config: section, as Pulumi does", () => {
    writeFileSync(join(dir, "Pulumi.empty.yaml"), "config:\n");
    expect(readStackFile(dir, "empty").values).toEqual({});
  });
});
