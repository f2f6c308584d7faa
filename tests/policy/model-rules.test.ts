import { describe, expect, it } from "vitest";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { evaluateModel } from "../../infra/policy/model-policy";
import { clientEncryptionFindings } from "../../infra/policy/storage-rules";
import { PolicyError } from "../../infra/policy/report";
import { ruleNamed } from "../../infra/policy/rules";
import { modelOf, violationsOf, type ModelChanges } from "./models";

/**
 * Each rule the model can break, broken once on an otherwise shipped stack:
 * the rule's violation must name the resource and carry the rule's fix.
 */
function expectViolation(changes: ModelChanges, rule: string, resource: string, message: RegExp, stack = "preprod"): void {
  const report = evaluateModel(modelOf(stack, changes));
  const found = violationsOf(report, rule).filter((violation) => violation.resource === resource);
  expect(found.map((violation) => violation.message).join("\n"), `${rule} on ${resource}; got ${JSON.stringify(report.violations)}`).toMatch(message);
  expect(found[0]!.fix).toBe(ruleNamed(rule)!.fix);
  expect(new PolicyError(report.violations).message).toContain(`${rule} ${resource}: `);
}

const onService = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ service: { name, change } });

describe("container rules on the model", () => {
  it("C3: the Docker socket for an image that is not an allow-listed consumer", () => {
    expectViolation(onService("n8n", (spec) => ({ ...spec, binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] })), "C3", "container vpai-n8n", /not an allow-listed socket consumer/);
  });

  it("C3: the Docker socket read-write, even for an allow-listed consumer", () => {
    expectViolation(onService("diun", (spec) => ({ ...spec, binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: false }] })), "C3", "container vpai-diun", /socket .* read-write/);
  });

  it("C3: a sensitive host directory mounted read-write", () => {
    expectViolation(onService("grafana", (spec) => ({ ...spec, binds: [{ hostPath: "/etc", target: "/host/etc", readOnly: false }] })), "C3", "container vpai-grafana", /\/etc read-write/);
  });

  it("C5: a capability beyond the reviewed set", () => {
    expectViolation(onService("n8n", (spec) => ({ ...spec, capAdd: ["NET_ADMIN"] })), "C5", "container vpai-n8n", /adds back NET_ADMIN/);
  });

  it("C6: a writable root filesystem without a waiver", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false })), "C6", "container vpai-redis", /root filesystem is writable/);
  });

  it("C6: read-only with uploaded files, which Docker refuses", () => {
    expectViolation(onService("victoriametrics", (spec) => ({ ...spec, files: [{ path: "/etc/vm.yml", content: "x: 1\n" }] })), "C6", "container vpai-victoriametrics", /uploaded into it/);
  });

  it("C7: no memory limit", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, memoryMb: 0 })), "C7", "container vpai-redis", /no memory limit/);
  });

  it("C7: no pids limit", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, pidsLimit: 0 })), "C7", "container vpai-redis", /no pids limit/);
  });

  it("C8: no healthcheck", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, healthcheck: { ...spec.healthcheck, test: ["NONE"] } })), "C8", "container vpai-redis", /no healthcheck/);
  });

  it("C9: root user without a waiver", () => {
    expectViolation(onService("grafana", (spec) => ({ ...spec, user: "0:0" })), "C9", "container vpai-grafana", /runs as 0:0/);
  });

  it("C10: the latest tag", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, image: { repository: "redis", tag: "latest" } })), "C10", "container vpai-redis", /moving tag latest/);
  });

  it("C10: a malformed digest", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, image: { ...spec.image, digest: "sha256:abc" } })), "C10", "container vpai-redis", /malformed digest/);
  });

  it("C11: a database published on a public address", () => {
    expectViolation(onService("postgres", (spec) => ({ ...spec, ports: [{ container: 5432, publish: { host: 5432, address: "0.0.0.0" } }] })), "C11", "container vpai-postgres", /publishes 5432 on the public address/);
  });

  it("C11: the ingress publishing a port other than 80/443 publicly", () => {
    expectViolation(onService("caddy", (spec) => ({ ...spec, ports: [...spec.ports, { container: 2019, publish: { host: 2019, address: "0.0.0.0" } }] })), "C11", "container vpai-caddy", /only 80 and 443/);
  });

  it("C13: no restart policy", () => {
    expectViolation(onService("redis", (spec) => ({ ...spec, restart: "no" as never })), "C13", "container vpai-redis", /restart policy is no/);
  });

  it("C11 is not triggered by a private or loopback publish", () => {
    const report = evaluateModel(modelOf("preprod", onService("postgres", (spec) => ({ ...spec, ports: [{ container: 5432, publish: { host: 5432, address: "127.0.0.1" } }, { container: 5432, publish: { host: 15432, address: "10.0.0.2" } }] }))));
    expect(violationsOf(report, "C11")).toEqual([]);
  });
});

describe("firewall, zone and bucket rules on the model", () => {
  it("F1: SSH open to the whole internet", () => {
    expectViolation({ config: (config) => ({ ...config, adminCidrs: ["0.0.0.0/0"] }) }, "F1", "firewall vpai-main-firewall", /opens SSH to 0\.0\.0\.0\/0/);
  });

  it("F2: a database port on the host firewall", () => {
    const publicPostgres: ModelChanges = onService("postgres", (spec) => ({ ...spec, ports: [{ container: 5432, publish: { host: 5432, address: "0.0.0.0" } }] }));
    expectViolation(publicPostgres, "F2", "firewall vpai-main-firewall", /opens 5432/);
  });

  it("F3: web ports open to everyone while Cloudflare proxies the names", () => {
    // The rules are derived for an unproxied zone, then the zone is proxied.
    const unproxied = modelOf("preprod", { config: (config) => ({ ...config, dns: { ...config.dns, proxied: false } }) });
    const model = { ...unproxied, config: { ...unproxied.config, dns: { ...unproxied.config.dns, proxied: true } } };
    const found = violationsOf(evaluateModel(model), "F3");
    expect(found.map((violation) => violation.resource)).toEqual(["firewall vpai-main-firewall", "firewall vpai-main-firewall"]);
    expect(found[0]!.message).toMatch(/admits 0\.0\.0\.0\/0, ::\/0, outside Cloudflare's ranges/);
  });

  it("F4: a prod server without protection", () => {
    expectViolation({ config: (config) => ({ ...config, protect: false }) }, "F4", "server vpai-main", /without delete and rebuild protection/, "prod");
  });

  it("CF3: a prod zone without HSTS", () => {
    expectViolation({ config: (config) => ({ ...config, dns: { ...config.dns, hsts: false } }) }, "CF3", "zone vpai-dns", /HSTS is off/, "prod");
  });

  it("CF4: web records not proxied", () => {
    expectViolation({ config: (config) => ({ ...config, dns: { ...config.dns, proxied: false } }) }, "CF4", "record vpai-dns-n8n", /not proxied/);
  });

  it("S3: noncurrent versions expire inside the retention window", () => {
    expectViolation({ config: (config) => ({ ...config, storage: { ...config.storage, noncurrentVersionExpiryDays: 3 } }) }, "S3", "bucket vpai-backups", /after 3 days, inside the 7-day retention window/);
  });
});

describe("retention and client-side encryption", () => {
  it("S3 measures against the stack's own daily retention when it sets one", () => {
    const longer: ModelChanges = { config: (config) => ({ ...config, backup: { ...config.backup, retention: { ...config.backup.retention, daily: 45 } } }) };
    expectViolation(longer, "S3", "bucket vpai-backups", /after 30 days, inside the 45-day retention window/);
  });

  it("S4: a restic repository without a restic key among the secrets", () => {
    expect(clientEncryptionFindings("bucket vpai-backups", ["infra:postgresPassword", "infra:storageSecretAccessKey"])).toEqual([
      { rule: "S4", resource: "bucket vpai-backups", message: expect.stringContaining("no restic key is declared as a secret") },
    ]);
    expect(clientEncryptionFindings("bucket vpai-backups", ["infra:resticPassword"])).toEqual([]);
  });
});

describe("waivers", () => {
  it("a waiver with a reason turns the finding into a listed waiver", () => {
    const reason = "test: the image writes next to its binary";
    const report = evaluateModel(modelOf("preprod", onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false, waivers: [{ rule: "C6", reason }] }))));
    expect(violationsOf(report, "C6")).toEqual([]);
    expect(report.waivers).toContainEqual({ rule: "C6", resource: "container vpai-redis", reason });
  });

  it("a waiver without a reason is itself an error, and waives nothing", () => {
    const report = evaluateModel(modelOf("preprod", onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false, waivers: [{ rule: "C6", reason: "  " }] }))));
    const messages = violationsOf(report, "C6").map((violation) => violation.message);
    expect(messages).toContain("waiver of C6 has no reason");
    expect(messages).toContain("root filesystem is writable");
  });

  it("a waiver that matches nothing, names an unknown rule, or waives a platform rule is an error", () => {
    const report = evaluateModel(
      modelOf("preprod", onService("grafana", (spec) => ({ ...spec, waivers: [...spec.waivers, { rule: "C9", reason: "stale" }, { rule: "C99", reason: "typo" }, { rule: "F1", reason: "not per service" }] }))),
    );
    expect(report.violations.map((violation) => [violation.rule, violation.resource, violation.message])).toEqual([
      ["C9", "container vpai-grafana", "waiver of C9 matches nothing: the service already follows the rule"],
      ["C99", "container vpai-grafana", 'waiver names unknown rule "C99"'],
      ["F1", "container vpai-grafana", "waiver of F1: only container rules can be waived next to a service"],
    ]);
  });

  it("a new service with no hardening at all breaks every container rule it can", () => {
    const bare = service({ name: "bare", description: "test", role: "app", image: { repository: "example/bare", tag: "latest" }, networks: ["backend"], healthcheck: healthcheck(["NONE"]), memoryMb: 0 });
    const report = evaluateModel(modelOf("preprod", { spec: (spec) => ({ ...spec, services: [...spec.services, bare] }) }));
    const rules = report.violations.filter((violation) => violation.resource === "container vpai-bare").map((violation) => violation.rule);
    expect([...new Set(rules)].sort()).toEqual(["C10", "C6", "C7", "C8", "C9"]);
  });
});
