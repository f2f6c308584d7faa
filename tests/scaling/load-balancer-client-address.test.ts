import { join } from "node:path";
import * as hcloud from "@pulumi/hcloud";
import { describe, expect, it } from "vitest";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel } from "../../infra/policy/model-policy";
import { ruleNamed } from "../../infra/policy/rules";
import { overlayOverrides } from "../../tools/plan/plan";
import { galionPhaseValues, modelWith } from "../support/galion-phases";
import { graphOf } from "../support/graph";
import { planOf, resourcesOf, uploadOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { violationsOf } from "../policy/models";

/**
 * Seed 004, phases 4-5: the Hetzner load balancer listens on public 80/443
 * and filters nothing, so F3 (Cloudflare only) has to hold behind it: the
 * balancer passes each client's address in the PROXY protocol, and nginx on
 * the targets trusts that header from the balancer's private address alone,
 * admits only Cloudflare's edge through it, and keys its rate limit on the
 * client Cloudflare names.
 */
const phase = (n: number) => planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)) });

/** The directives of an nginx.conf, one per entry, without comments. */
const directives = (conf: string) =>
  conf
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);

describe.each([4, 5])("the load balancer of GALION phase %i (F3)", (n) => {
  it("forwards 80 and 443 with the PROXY protocol, so the targets see each client's address", async () => {
    const services = resourcesOf(await phase(n), "hcloud:index/loadBalancerService:LoadBalancerService");
    expect(services.map((service) => [service.inputs.listenPort, service.inputs.proxyprotocol])).toEqual([
      [80, true],
      [443, true],
    ]);
  });

  it("has nginx take the client address from the balancer's PROXY header only, and Cloudflare's header only through it", async () => {
    const conf = directives(uploadOf(await phase(n), "galion-nginx", "/etc/infra/live/nginx.conf"));
    expect(conf.filter((line) => line.startsWith("set_real_ip_from"))).toEqual(["set_real_ip_from 10.0.1.100;"]);
    expect(conf).toContain("real_ip_header proxy_protocol;");
    for (const listen of conf.filter((line) => /^listen (\[::\]:)?(80|443)\b/.test(line))) expect(listen, listen).toMatch(/ proxy_protocol[ ;]/);
    expect(conf.find((line) => line.startsWith("limit_req_zone"))).toMatch(/^limit_req_zone \$client_address /);
  });
});

describe("F3 on a load balancer in front of proxied names", () => {
  const phase4 = () => modelWith(galionPhaseValues(4));

  it("the shipped phase 4 passes", () => {
    expect(violationsOf(evaluateModel(phase4()), "F3")).toEqual([]);
  });

  it("a balancer without the PROXY protocol lets anyone past Cloudflare and puts every client under one key", () => {
    const model = phase4();
    const found = violationsOf(evaluateModel({ ...model, loadBalancer: { ...model.loadBalancer!, proxyProtocol: false } }), "F3");
    expect(found.map((violation) => [violation.resource, violation.message])).toEqual([
      [
        "load balancer galion-lb",
        "forwards 80, 443 without the PROXY protocol: behind it every client has the balancer's address, so the targets can neither admit only Cloudflare nor tell clients apart",
      ],
    ]);
    expect(found[0]!.fix).toBe(ruleNamed("F3")!.fix);
  });

  it("a balancer whose targets admit more than Cloudflare's ranges", () => {
    const model = phase4();
    const found = violationsOf(
      evaluateModel({ ...model, loadBalancer: { ...model.loadBalancer!, admits: [...model.loadBalancer!.admits, "0.0.0.0/00"] } }),
      "F3",
    );
    expect(found.map((violation) => violation.message)).toEqual(["its targets admit 0.0.0.0/00 through it, outside Cloudflare's ranges, while DNS is proxied"]);
  });

  it("a load balancer service registered without the PROXY protocol", async () => {
    const run = await graphOf(() => {
      new hcloud.LoadBalancerService("galion-lb-443", { loadBalancerId: "1", protocol: "tcp", listenPort: 443, destinationPort: 443, proxyprotocol: false });
      new hcloud.LoadBalancerService("galion-lb-80", { loadBalancerId: "1", protocol: "tcp", listenPort: 80, destinationPort: 80, proxyprotocol: true });
    });
    const found = violationsOf(evaluateGraph(run.resources, phase4()), "F3");
    expect(found.map((violation) => [violation.resource, violation.message])).toEqual([
      ["load balancer service galion-lb-443", "forwards 443 without the PROXY protocol while DNS is proxied: the targets cannot admit only Cloudflare"],
    ]);
  });
});

describe("a load balancer in front of an ingress that does not take the PROXY protocol", () => {
  it.each(["vpai"])("is refused for blueprint %s (Caddy), at infra:loadBalancer", (blueprint) => {
    expect(() => modelWith({ ...galionPhaseValues(4), "infra:blueprint": blueprint })).toThrow(
      /infra:loadBalancer: blueprint \S+'s ingress is (caddy|traefik), which is not set up here to take the PROXY protocol/,
    );
  });
});
