import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { requiredSecrets } from "../../infra/config/validate";
import { testSecretValue } from "../support/stack-config";
import { requireTool } from "../support/tools";
import { isolatedPulumiEnv, PulumiCLI } from "./pulumi-cli";

// The real program (infra/index.ts) under the real `pulumi preview`, given
// bad input: each refusal is one clear message with its key path or rule,
// and neither a JavaScript stack trace nor the SDK's "unhandled exception"
// wrapper (V5). Nothing is registered, so no provider plugin is needed.

const REPO = resolve(__dirname, "../..");
const SETUP_TIMEOUT_MS = 45 * 60_000;
const PREVIEW_TIMEOUT_MS = 3 * 60_000;

let workDir: string;
let pulumi: PulumiCLI;
let stackName: string;
/** The stack file after `config set-all --secret`: the passphrase salt and every secret prod needs, encrypted. */
let encrypted: { encryptionsalt?: string; config: Record<string, unknown> };
let prodConfig: Record<string, unknown>;

beforeAll(async () => {
  const install = spawnSync("bash", [join(REPO, "tools/install/pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (install.status !== 0) throw new Error(`tools/install/pulumi.sh exited with ${install.status}:\n${install.stderr}`);
  workDir = await mkdtemp(join(tmpdir(), "program-errors-"));
  const project = join(workDir, "project");
  await mkdir(join(workDir, "state"));
  await mkdir(project);
  // The repository's program, run from a project directory of the test's own,
  // so that no stack file is ever written into the checkout.
  await writeFile(
    join(project, "Pulumi.yaml"),
    stringify({ name: "infra", runtime: { name: "nodejs", options: { typescript: true } }, main: `${join(REPO, "infra")}/` }),
  );
  pulumi = new PulumiCLI(requireTool("pulumi"), project, isolatedPulumiEnv(workDir));
  stackName = "bad-input";
  await pulumi.run(["stack", "init", stackName]);
  prodConfig = (parse(await readFile(join(REPO, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
  const servers = prodConfig["infra:servers"] as Parameters<typeof requiredSecrets>[1];
  const secrets = requiredSecrets(
    prodConfig["infra:blueprint"] as string,
    servers,
    BLUEPRINT_CATALOG,
    prodConfig["infra:monitoring"],
    true,
    prodConfig["infra:opsHost"] !== undefined,
  );
  await pulumi.run(["config", "set-all", "--stack", stackName, ...secrets.flatMap((secret) => ["--secret", `${secret.key}=${testSecretValue(secret)}`])]);
  encrypted = parse(await readFile(join(project, `Pulumi.${stackName}.yaml`), "utf8"));
  await rename(join(project, `Pulumi.${stackName}.yaml`), join(workDir, "secrets.yaml"));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** `pulumi preview` of prod's config with `changes` (a value of undefined removes the key), as a stack file of its own. */
async function preview(name: string, changes: Record<string, unknown>): Promise<{ code: number; output: string }> {
  const config: Record<string, unknown> = { ...prodConfig, ...encrypted.config };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  const file = join(workDir, `${name}.yaml`);
  await writeFile(file, stringify({ encryptionsalt: encrypted.encryptionsalt, config }));
  const result = await pulumi.run(["preview", "--stack", stackName, "--config-file", file], { allowFailure: true });
  return { code: result.code, output: `${result.stdout}\n${result.stderr}` };
}

/** The diagnostics of a failed preview: what follows `error: ` up to the resource summary. */
function diagnostics(output: string): string {
  const start = output.indexOf("Diagnostics:");
  const end = output.indexOf("Resources:", start);
  return start < 0 ? output : output.slice(start, end < 0 ? undefined : end);
}

describe("bad input under pulumi preview (V5)", () => {
  it.each([
    [
      "a config problem (V1)",
      "config-problem",
      { "infra:blueprint": "wordpress" },
      ["stack configuration has 1 problem:", 'infra:blueprint: "wordpress" is not one of'],
    ],
    [
      "a policy violation",
      "policy",
      { "infra:dns": { zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: false, hsts: true } },
      ["policy: ", "CF4 record vpai-dns-n8n", "fix: set infra:dns.proxied: true"],
    ],
    [
      "a storage endpoint with a fragment",
      "storage-fragment",
      { "infra:storage": { endpoint: "https://fsn1.your-objectstorage.com/#frag", region: "fsn1", bucketPrefix: "vpai" } },
      ["stack configuration has 1 problem:", "infra:storage.endpoint: ", "has a path, query or fragment"],
    ],
    [
      "a storage endpoint with credentials",
      "storage-credentials",
      { "infra:storage": { endpoint: "https://key:planted-Pw7q@fsn1.your-objectstorage.com", region: "fsn1", bucketPrefix: "vpai" } },
      ["stack configuration has 1 problem:", "infra:storage.endpoint: ", "embeds credentials"],
    ],
    [
      "a webhook URL with a line feed",
      "webhook-newline",
      { "infra:monitoring": { receivers: { webhook: { url: "https://hooks.example.com/alerts\nX-Injected: 1" } } } },
      ["stack configuration has 1 problem:", "infra:monitoring.receivers.webhook.url: contains a line feed (U+000A)"],
    ],
    [
      "a typo of the Hetzner token",
      "hcloud-typo",
      { "hcloud:tokn": "x" },
      ["stack configuration has 1 problem:", "hcloud:tokn: ", "did you mean hcloud:token?"],
    ],
    [
      "a typo of the namespace",
      "namespace-typo",
      { "infr:blueprint": "vpai" },
      ["stack configuration has 1 problem:", "infr:blueprint: ", "did you mean infra:blueprint?"],
    ],
    [
      "one bad memoryMb",
      "memory",
      {
        "infra:servers": [
          {
            name: "main",
            provider: "existing",
            address: "203.0.113.20",
            sshUser: "deploy",
            memoryMb: 100,
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAb0uFoTIDizB7DZnMlBC/GPTsTXRC96f8nxjkMNjHB1",
          },
        ],
      },
      ["stack configuration has 1 problem:", "infra:servers[0].memoryMb: 100 must be an integer from 512 to 1048576"],
    ],
    [
      "an IPv6 address with a zone id",
      "zone-id",
      {
        "infra:servers": [
          {
            name: "main",
            provider: "existing",
            address: "fe80::20%eth0",
            sshUser: "deploy",
            memoryMb: 16384,
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAb0uFoTIDizB7DZnMlBC/GPTsTXRC96f8nxjkMNjHB1",
          },
        ],
      },
      ["stack configuration has 1 problem:", "infra:servers[0].address: ", "zone id"],
    ],
  ])(
    "%s is one error with its key path or rule, and no stack trace",
    async (_case, name, changes, expected) => {
      const { code, output } = await preview(name, changes);
      expect(code, output).not.toBe(0);
      const shown = diagnostics(output);
      for (const text of expected) expect(shown, output).toContain(text);
      expect(shown).not.toMatch(/^\s+at .+$/m);
      expect(shown).not.toContain("unhandled exception");
      expect(shown).not.toMatch(/problems: \[|violations: \[/);
      expect(shown.match(/error: /g), shown).toHaveLength(1);
      expect(output).not.toContain("planted-Pw7q");
    },
    PREVIEW_TIMEOUT_MS,
  );

  it(
    "a stack file whose config: is a list is refused by Pulumi itself, before the program runs",
    async () => {
      const file = join(workDir, "config-list.yaml");
      await writeFile(file, stringify({ encryptionsalt: encrypted.encryptionsalt, config: ["infra:blueprint", "vpai"] }));
      const result = await pulumi.run(["preview", "--stack", stackName, "--config-file", file], { allowFailure: true });
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.code, output).not.toBe(0);
      expect(output).not.toMatch(/^\s+at .+$/m);
      expect(output).not.toContain("infra:0");
      // Pulumi's own words: "getting stack configuration: invalid YAML file ... cannot unmarshal !!seq into map".
      expect(output).toContain("getting stack configuration");
    },
    PREVIEW_TIMEOUT_MS,
  );
});
