import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig, type RawConfig } from "../../infra/config/validate";
import { completeRawConfig } from "../support/stack-config";

function problemsOf(raw: RawConfig): { path: string; message: string }[] {
  try {
    validateStackConfig(raw, BLUEPRINT_CATALOG);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected the configuration to be rejected");
}

const servers = (list: unknown[]) => JSON.stringify(list);
const existing = { name: "main", provider: "existing", address: "203.0.113.20", sshUser: "deploy", memoryMb: 16384 };

describe("stack config validation (V1, V2)", () => {
  it("accepts both shipped stacks and fills defaults in one place", () => {
    const prod = validateStackConfig(completeRawConfig("prod"), BLUEPRINT_CATALOG).config;
    expect(prod.servers[0]).toMatchObject({ provider: "existing", sshPort: 22, roles: ["ingress", "app", "data", "monitoring"] });
    expect(prod.protect).toBe(true);
    const preprod = validateStackConfig(completeRawConfig("preprod"), BLUEPRINT_CATALOG).config;
    expect(preprod.servers[0]).toMatchObject({ provider: "hetzner", serverType: "cx23", image: "ubuntu-24.04" });
    expect(preprod.protect).toBe(false);
  });

  it.each([
    ["infra:blueprint", undefined, "infra:blueprint", "is required"],
    ["infra:blueprint", "wordpress", "infra:blueprint", "is not one of vpai"],
    ["infra:environment", "Prod!", "infra:environment", "lowercase DNS label"],
    ["infra:domain", "localhost", "infra:domain", "DNS name"],
    ["infra:adminCidrs", JSON.stringify(["0.0.0.0/0"]), "infra:adminCidrs[0]", "F1"],
    ["infra:adminCidrs", JSON.stringify(["::/0"]), "infra:adminCidrs[0]", "F1"],
    ["infra:adminCidrs", JSON.stringify(["10.0.0.300/32"]), "infra:adminCidrs[0]", "not a CIDR"],
    ["infra:adminCidrs", JSON.stringify([]), "infra:adminCidrs", "at least one admin CIDR"],
    ["infra:adminCidrs", "198.51.100.7/32", "infra:adminCidrs", "YAML list or object"],
    ["infra:protect", "yes", "infra:protect", "true or false"],
    ["infra:servers", servers([]), "infra:servers", "at least one server"],
    ["infra:servers", servers([{ ...existing, provider: "ovh" }]), "infra:servers[0].provider", "not one of hetzner, existing"],
    ["infra:servers", servers([{ ...existing, memoryMb: undefined }]), "infra:servers[0].memoryMb", "is required"],
    ["infra:servers", servers([{ ...existing, memoryMb: 100 }]), "infra:servers[0].memoryMb", "from 512"],
    ["infra:servers", servers([{ ...existing, address: "not an address!" }]), "infra:servers[0].address", "IPv4/IPv6"],
    ["infra:servers", servers([{ ...existing, colour: "blue" }]), "infra:servers[0].colour", "unknown field"],
    ["infra:servers", servers([{ ...existing, roles: ["web"] }]), "infra:servers[0].roles[0]", "not a role"],
    ["infra:servers", servers([{ ...existing, roles: ["app"] }]), "infra:servers", 'role "ingress"'],
    ["infra:servers", servers([existing, existing]), "infra:servers[1].name", "unique"],
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx99", location: "fsn1", sshPublicKey: "ssh-ed25519 AAAA" }]), "infra:servers[0].serverType", "cx23"],
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "mars1", sshPublicKey: "ssh-ed25519 AAAA" }]), "infra:servers[0].location", "fsn1"],
    ["infra:servers", servers([{ name: "pre", provider: "hetzner", serverType: "cx23", location: "fsn1", sshPublicKey: "hunter2" }]), "infra:servers[0].sshPublicKey", "OpenSSH public key"],
    ["infra:dns", JSON.stringify({ zoneId: "example.com" }), "infra:dns.zoneId", "32-character hex"],
    ["infra:dns", JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: "yes" }), "infra:dns.proxied", "true or false"],
    ["infra:storage", JSON.stringify({ endpoint: "fsn1.your-objectstorage.com", region: "fsn1", bucketPrefix: "vpai" }), "infra:storage.endpoint", "http(s) URL"],
    ["infra:storage", JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "VPAI" }), "infra:storage.bucketPrefix", "lowercase"],
    ["infra:storage", JSON.stringify({ endpoint: "https://s3.example.com", region: "fsn1", bucketPrefix: "vpai", noncurrentVersionExpiryDays: 0 }), "infra:storage.noncurrentVersionExpiryDays", "from 1"],
    ["infra:typo", "x", "infra:typo", "unknown key"],
  ])("%s = %s is rejected at %s", (key, value, path, message) => {
    const problems = problemsOf(completeRawConfig("prod", { [key]: value }));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("reports every problem at once, each with its key path, in one error", () => {
    const raw = completeRawConfig("prod", {
      "infra:blueprint": "nope",
      "infra:domain": "x",
      "infra:servers": servers([{ ...existing, memoryMb: "lots", sshPort: 70000 }]),
      "infra:storage": undefined,
    });
    let message = "";
    try {
      validateStackConfig(raw, BLUEPRINT_CATALOG);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^stack configuration has 5 problems:/);
    for (const path of ["infra:blueprint", "infra:domain", "infra:servers[0].memoryMb", "infra:servers[0].sshPort", "infra:storage"]) {
      expect(message).toContain(`  - ${path}: `);
    }
    expect(message).toContain("is not one of vpai");
  });

  it("refuses a secret stored in plain text, naming the key (V2)", () => {
    const problems = problemsOf(completeRawConfig("prod", {}, ["infra:postgresPassword", "cloudflare:apiToken"]));
    expect(problems.map((problem) => problem.path).sort()).toEqual(["cloudflare:apiToken", "infra:postgresPassword"]);
    for (const problem of problems) {
      expect(problem.message).toContain("stored in plain text (V2)");
      expect(problem.message).toContain(`pulumi config set --secret ${problem.path}`);
    }
  });

  it("requires every secret the blueprint and the servers need", () => {
    const problems = problemsOf(completeRawConfig("preprod", { "infra:grafanaAdminPassword": undefined, "hcloud:token": undefined }));
    expect(problems.map((problem) => problem.path).sort()).toEqual(["hcloud:token", "infra:grafanaAdminPassword"]);
    expect(problems[0]!.message).toContain("pulumi config set --secret");
  });

  it("asks for the Hetzner token only when a server is provisioned on Hetzner", () => {
    expect(() => validateStackConfig(completeRawConfig("prod", { "hcloud:token": undefined }), BLUEPRINT_CATALOG)).not.toThrow();
  });
});
