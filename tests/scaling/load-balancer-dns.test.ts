import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { overlayOverrides } from "../../tools/plan/plan";
import { planOf, resourcesOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * Seed 004, phase 4: "DNS moves to the balancer". The Cloudflare records get
 * the balancer's public address, so the app servers can drop their public
 * 80/443 (the mock engine gives the balancer a documentation address).
 */
const phase = (n: number) => planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)) });

const recordTargets = async (n: number) =>
  resourcesOf(await phase(n), "cloudflare:index/dnsRecord:DnsRecord").map((record) => [record.inputs.name, record.inputs.content]);

describe("DNS of the GALION phases", () => {
  it("points every name at the only ingress server before there is a balancer (phase 3)", async () => {
    const plan = await phase(3);
    const app = plan.hosts.find((host) => host.server === "app-1")!;
    expect(app.address).toMatch(/^203\.0\.113\.\d+$/);
    const targets = await recordTargets(3);
    expect(targets).toHaveLength(6);
    for (const [name, content] of targets) expect(content, String(name)).toBe(app.address);
  });

  it.each([4, 5])("points every name at the load balancer, never at a server, from phase %i", async (n) => {
    const plan = await phase(n);
    const targets = await recordTargets(n);
    expect(targets.map(([name]) => name)).toEqual(
      ["app", "api", "voice", "studio", "studio-api", "realtime"].map((subdomain) => `${subdomain}.galion.example.com`),
    );
    const addresses = new Set(targets.map(([, content]) => content));
    expect(addresses.size).toBe(1);
    const [balancer] = [...addresses];
    expect(balancer).toMatch(/^203\.0\.113\.\d+$/);
    expect(plan.hosts.map((host) => host.address)).not.toContain(balancer);
    // The balancer listens on the private network at its configured address, and forwards to both app servers there.
    expect(resourcesOf(plan, "hcloud:index/loadBalancerNetwork:LoadBalancerNetwork")[0]!.inputs).toMatchObject({
      ip: "10.0.1.100",
      enablePublicInterface: true,
    });
    expect(plan.loadBalancer).toMatchObject({ targets: ["app-1", "app-2"], ports: [80, 443] });
    // The plan's DNS section says the same as the registered records.
    expect(new Set(plan.dns.map((record) => record.target))).toEqual(new Set([balancer]));
  });

  it("makes the records depend on the balancer, so Cloudflare changes only once it exists", async () => {
    const plan = await phase(4);
    for (const record of resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord")) expect(record.dependsOn, record.name).toContain("galion-lb");
  });
});
