import { describe, expect, it } from "vitest";
import { planOf, resourcesOf } from "../support/plans";
import { CLOUDFLARE_RANGES_FOR_TEST } from "./dns-none.support";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { validateStackConfig } from "../../infra/config/validate";
import { evaluateModel } from "../../infra/policy/model-policy";
import { configProblemsOf, rawConfigWithSecrets } from "../support/stack-config";
import { modelOf, violationsOf } from "../policy/models";

// `infra:dns: none`: stacks without a Cloudflare account (and the local
// testbed) manage no zone and no record, need no Cloudflare token, and their
// web ports are not limited to Cloudflare's ranges, since nothing proxies them.

const unmanaged = (stack: string, ...overrides: string[]) => planOf(stack, { overrides: ["dns=none", ...overrides] });

describe("infra:dns: none", () => {
  it.each(["vpai", "fastapi", "ai-video", "nextmavens", "galion"])("registers no Cloudflare resource for %s on preprod", async (blueprint) => {
    const plan = await unmanaged("preprod", `blueprint=${blueprint}`);
    expect(plan.resources.filter((resource) => resource.type.startsWith("cloudflare:") || resource.type === "infra:dns:Zone")).toEqual([]);
    expect(plan.secretsToSet.map((secret) => secret.key)).not.toContain("cloudflare:apiToken");
    expect(plan.dns.length).toBeGreaterThan(0);
    expect(plan.dns.every((record) => !record.managed && !record.proxied)).toBe(true);
  });

  it("keeps the Cloudflare zone, its token and Cloudflare-only web ports when infra:dns is an object", async () => {
    const plan = await planOf("preprod");
    expect(resourcesOf(plan, "infra:dns:Zone")).toHaveLength(1);
    expect(plan.secretsToSet.map((secret) => secret.key)).toContain("cloudflare:apiToken");
    const web = plan.hosts[0]!.firewall.find((rule) => rule.port === 443)!;
    expect(web.sourceCidrs).toEqual(expect.arrayContaining(CLOUDFLARE_RANGES_FOR_TEST));
  });

  it("opens the web ports to everyone, since no proxy stands in front", async () => {
    const plan = await unmanaged("preprod");
    const web = plan.hosts[0]!.firewall.find((rule) => rule.port === 443)!;
    expect(web.sourceCidrs).toEqual(["0.0.0.0/0", "::/0"]);
  });

  it("is refused for prod by CF4: prod's names must be behind Cloudflare", () => {
    const report = evaluateModel(modelOf("prod", { values: { "infra:dns": "none" } }));
    expect(violationsOf(report, "CF4").map((violation) => `${violation.resource}: ${violation.message}`)).toEqual([
      expect.stringMatching(/^zone vpai-dns: prod's web names are not behind Cloudflare: infra:dns is none/),
    ]);
    expect(violationsOf(evaluateModel(modelOf("preprod", { values: { "infra:dns": "none" } })), "CF4")).toEqual([]);
  });

  it.each(["None", "NONE", " none", "none ", "off", "false", ""])("reports the plain string %j with both accepted forms", (value) => {
    expect(configProblemsOf(rawConfigWithSecrets({ "infra:dns": value }, "preprod"))).toEqual([
      { path: "infra:dns", message: expect.stringMatching(/is neither an object \{ zoneId, proxied, hsts \} for Cloudflare nor none/) },
    ]);
  });

  it("needs no Cloudflare token when the program manages no DNS", () => {
    const withoutToken = (changes: Record<string, string>) => {
      const raw = rawConfigWithSecrets(changes, "preprod");
      const { ["cloudflare:apiToken"]: _removed, ...values } = raw.values;
      return { ...raw, values };
    };
    expect(validateStackConfig(withoutToken({ "infra:dns": "none" }), BLUEPRINT_CATALOG).config.dns).toEqual({ provider: "none" });
    expect(configProblemsOf(withoutToken({})).map((problem) => problem.path)).toEqual(["cloudflare:apiToken"]);
  });
});
