import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { planCLI as plan } from "../support/plan-cli";
import { PROJECT_DIR } from "../support/stack-config";

describe("npm run plan", () => {
  it("--json prints exactly one JSON document with the documented fields", () => {
    const result = plan("--stack", "prod", "--json");
    expect(result.status, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ project: "infra", stack: "prod", blueprint: "vpai" });
    for (const resource of document.resources) {
      expect(Object.keys(resource)).toEqual(expect.arrayContaining(["type", "name", "parent", "dependsOn", "inputs"]));
      expect(resource.parent === null || typeof resource.parent === "string").toBe(true);
    }
    const components = document.resources
      .filter((resource: { type: string }) => resource.type.startsWith("infra:"))
      .map((resource: { type: string }) => resource.type);
    expect(new Set(components)).toEqual(
      new Set([
        "infra:platform:Platform",
        "infra:platform:Host",
        "infra:compute:Server",
        "infra:network:Firewall",
        "infra:container:Network",
        "infra:container:Service",
        "infra:ingress:Ingress",
        "infra:dns:Zone",
        "infra:storage:Bucket",
        "infra:backup:Backup",
        "infra:monitoring:Monitoring",
        "infra:ops:OpsHost",
      ]),
    );
    expect(document.resources.filter((resource: { parent: string | null }) => resource.parent === null)).toHaveLength(1);
    expect(document.outputs.urls).toContain("https://n8n.vpai.example.com");
  });

  it("--json keys the tree by URN: each parent is exactly one resource, even where two share a name", () => {
    const result = plan("--stack", "prod", "--json");
    expect(result.status, result.stderr).toBe(0);
    const resources = JSON.parse(result.stdout).resources as { urn: string; name: string; type: string; parentUrn: string | null }[];
    const urns = resources.map((resource) => resource.urn);
    expect(new Set(urns).size).toBe(urns.length);
    for (const resource of resources) expect(resource.parentUrn === null || urns.includes(resource.parentUrn), resource.urn).toBe(true);
    // A Docker network and the monitoring component are both vpai-main-monitoring: each keeps its own children.
    const named = resources.filter((resource) => resource.name === "vpai-main-monitoring" && !resource.type.startsWith("docker:"));
    expect(named.map((resource) => resource.type).sort()).toEqual(["infra:container:Network", "infra:monitoring:Monitoring"]);
    const childrenOf = (type: string) =>
      resources.filter((resource) => resource.parentUrn === named.find((candidate) => candidate.type === type)!.urn).map((resource) => resource.type);
    expect(childrenOf("infra:container:Network")).toEqual(["docker:index/network:Network"]);
    expect(childrenOf("infra:monitoring:Monitoring").length).toBeGreaterThanOrEqual(5);
    expect(new Set(childrenOf("infra:monitoring:Monitoring"))).toEqual(new Set(["infra:container:Service"]));
  });

  it("through npm, as the README says, stdout is still nothing but the JSON document", () => {
    const result = spawnSync("npm", ["run", "plan", "--", "--stack", "preprod", "--json"], { cwd: PROJECT_DIR, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).stack).toBe("preprod");
  });

  it("the text plan shows the tree, exposure and firewall, DNS, memory budget, cost and the secrets to set", () => {
    const result = plan("--stack", "preprod");
    expect(result.status, result.stderr).toBe(0);
    for (const section of [
      "Resources",
      "exposes to the internet: 80/tcp (caddy), 443/tcp (caddy)",
      "firewall (inbound",
      "DNS (Cloudflare)",
      "memory budget: containers",
      "Estimated monthly cost",
      "Secrets to set before `pulumi up`",
    ]) {
      expect(result.stdout).toContain(section);
    }
    expect(result.stdout).toContain("pulumi config set --secret hcloud:token <value>");
    // Preprod's server and its ops host, both cx23 (3.49 each), and the object storage (4.99).
    expect(result.stdout).toMatch(/3\.49 EUR {2}server ops \(Hetzner cx23\)/);
    expect(result.stdout).toMatch(/11\.97 EUR {2}total/);
  });

  it("takes config overrides with -c, as pulumi config does", () => {
    // The stack's ops host needs its VPN range among the admin CIDRs.
    const result = plan("--stack", "prod", "--json", "-c", "domain=ai.example.org", "-c", 'infra:adminCidrs=["192.0.2.10/32","100.64.0.0/10"]');
    expect(result.status, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    const records = document.resources.filter((resource: { type: string }) => resource.type === "cloudflare:index/dnsRecord:DnsRecord");
    const names: string[] = records.map((record: { inputs: { name: string } }) => record.inputs.name);
    expect(names).toEqual(expect.arrayContaining(["grafana.ai.example.org", "llm.ai.example.org", "n8n.ai.example.org", "openclaw.ai.example.org"]));
    expect(names.every((name) => name.endsWith(".ai.example.org"))).toBe(true);
    const ssh = document.hosts[0].firewall.find((rule: { port?: number }) => rule.port === 22);
    expect(ssh.sourceCidrs).toEqual(["192.0.2.10/32", "100.64.0.0/10"]);
    expect(document.opsHost.breakGlass).toEqual([{ server: "main", sources: ["192.0.2.10/32"] }]);
  });

  it("fails with every config problem and its key path, before registering anything", () => {
    const result = plan("--stack", "prod", "-c", "blueprint=wordpress", "-c", 'adminCidrs=["0.0.0.0/0"]');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("stack configuration has 2 problems");
    expect(result.stderr).toContain('infra:blueprint: "wordpress" is not one of vpai');
    expect(result.stderr).toContain("infra:adminCidrs[0]");
    expect(result.stderr).not.toContain("    at ");
  });

  it("fails with the policy's violations and their fixes, one error and no stack trace", () => {
    const result = plan("--stack", "prod", "-c", "protect=false");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^plan failed: /);
    expect(result.stderr).toContain("infra:disposable: true");
    expect(result.stderr.match(/plan failed/g)).toHaveLength(1);
    expect(result.stderr).not.toContain("    at ");
  });

  it("--mermaid prints the architecture diagram", () => {
    const result = plan("--stack", "prod", "--mermaid");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe("flowchart LR");
    // Internet, then Cloudflare (prod's DNS is proxied), then Caddy; tests/plan/mermaid.test.ts reads the whole graph back.
    expect(result.stdout).toContain('internet -->|"80/tcp, 443/tcp"| cloudflare');
    expect(result.stdout).toContain('cloudflare -->|"80/tcp, 443/tcp"| service_main_caddy');
    expect(result.stdout).toContain('service_main_caddy -->|"grafana.vpai.example.com"| service_main_grafana');
    expect(result.stdout).toMatch(
      /subgraph network_main_backend\["backend network \(172\.20\.2\.0\/24, internal\)"\]\n(?:(?! *end\n).*\n)*? *service_main_postgres\[/,
    );
  });

  it("rejects an unknown stack and bad arguments with a usage line", () => {
    expect(plan("--stack", "staging").stderr).toContain("Pulumi.staging.yaml");
    const bad = plan("--frobnicate");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("usage: npm run plan");
  });
});
