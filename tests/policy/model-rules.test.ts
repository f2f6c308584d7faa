import { NGINX_CONF_PATH } from "../../components/ingress/nginx-spec";
import { TRAEFIK_DYNAMIC_PATH } from "../../components/ingress/traefik-config";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import type { PlatformSpec } from "../../infra/blueprints/blueprint";
import { evaluateModel } from "../../infra/policy/model-policy";
import { clientEncryptionFindings } from "../../infra/policy/storage-rules";
import { ruleNamed } from "../../infra/policy/rules";
import { modelWith } from "../support/galion-phases";
import { expectViolation, modelOf, violationsOf, type ModelChanges } from "./models";

const onService = (name: string, change: (spec: ServiceSpec) => ServiceSpec): ModelChanges => ({ service: { name, change } });

describe("container rules on the model", () => {
  it("C14: the Docker socket, read-only, for a service other than the socket proxy", () => {
    expectViolation(
      onService("n8n", (spec) => ({ ...spec, binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] })),
      "C14",
      "container vpai-n8n",
      /read-only or not, whoever connects to it holds the whole Docker API/,
    );
  });

  it("C14: the Docker socket, read-only, for DIUN, which reads the API through the proxy", () => {
    expectViolation(
      onService("diun", (spec) => ({ ...spec, binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }] })),
      "C14",
      "container vpai-diun",
      /mounts the Docker socket/,
    );
  });

  it("C3: the Docker socket read-write, for any service", () => {
    expectViolation(
      onService("diun", (spec) => ({ ...spec, binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: false }] })),
      "C3",
      "container vpai-diun",
      /socket .* read-write/,
    );
  });

  it("C3: a sensitive host directory mounted read-write", () => {
    expectViolation(
      onService("grafana", (spec) => ({ ...spec, binds: [{ hostPath: "/etc", target: "/host/etc", readOnly: false }] })),
      "C3",
      "container vpai-grafana",
      /\/etc read-write/,
    );
  });

  it("C5: a capability beyond the reviewed set", () => {
    expectViolation(
      onService("n8n", (spec) => ({ ...spec, capAdd: ["NET_ADMIN"] })),
      "C5",
      "container vpai-n8n",
      /adds back NET_ADMIN/,
    );
  });

  it("C6: a writable root filesystem without a waiver", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false })),
      "C6",
      "container vpai-redis",
      /root filesystem is writable/,
    );
  });

  it("C6: read-only with uploaded files, which Docker refuses", () => {
    expectViolation(
      onService("victoriametrics", (spec) => ({ ...spec, files: [{ path: "/etc/vm.yml", content: "x: 1\n" }] })),
      "C6",
      "container vpai-victoriametrics",
      /uploaded into it/,
    );
  });

  it("C7: no memory limit", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, memoryMb: 0 })),
      "C7",
      "container vpai-redis",
      /no memory limit/,
    );
  });

  it("C7: no pids limit", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, pidsLimit: 0 })),
      "C7",
      "container vpai-redis",
      /no pids limit/,
    );
  });

  it("C8: no healthcheck", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, healthcheck: { ...spec.healthcheck, test: ["NONE"] } })),
      "C8",
      "container vpai-redis",
      /no healthcheck/,
    );
  });

  it("C9: root user without a waiver", () => {
    expectViolation(
      onService("loki", (spec) => ({ ...spec, user: "0:0" })),
      "C9",
      "container vpai-loki",
      /runs as 0:0/,
    );
  });

  it("C10: the latest tag", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, image: { repository: "redis", tag: "latest" } })),
      "C10",
      "container vpai-redis",
      /moving tag latest/,
    );
  });

  it("C10: a malformed digest", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, image: { ...spec.image, digest: "sha256:abc" } })),
      "C10",
      "container vpai-redis",
      /malformed digest/,
    );
  });

  it("C11: a database published on a public address", () => {
    expectViolation(
      onService("postgres", (spec) => ({ ...spec, ports: [{ container: 5432, publish: { host: 5432, address: "0.0.0.0" } }] })),
      "C11",
      "container vpai-postgres",
      /publishes 5432 on the public address/,
    );
  });

  it("C11: the ingress publishing a port other than 80/443 publicly", () => {
    expectViolation(
      onService("caddy", (spec) => ({ ...spec, ports: [...spec.ports, { container: 2019, publish: { host: 2019, address: "0.0.0.0" } }] })),
      "C11",
      "container vpai-caddy",
      /only 80 and 443/,
    );
  });

  it("C13: no restart policy", () => {
    expectViolation(
      onService("redis", (spec) => ({ ...spec, restart: "no" as never })),
      "C13",
      "container vpai-redis",
      /restart policy is no/,
    );
  });

  it("C11 is not triggered by a private or loopback publish", () => {
    const report = evaluateModel(
      modelOf(
        "preprod",
        onService("postgres", (spec) => ({
          ...spec,
          ports: [
            { container: 5432, publish: { host: 5432, address: "127.0.0.1" } },
            { container: 5432, publish: { host: 15432, address: "10.0.0.2" } },
          ],
        })),
      ),
    );
    expect(violationsOf(report, "C11")).toEqual([]);
  });
});

describe("C11 on the ingress: a public route to an admin UI without a login asks for a password, on every ingress", () => {
  const INGRESS_ADMIN = { "infra:monitoring": JSON.stringify({ adminAccess: "ingress" }) };
  const withFile =
    (path: string, edit: (content: string) => string) =>
    (spec: ServiceSpec): ServiceSpec => ({
      ...spec,
      files: spec.files.map((file) => (file.path === path ? { ...file, content: edit(file.content) } : file)),
    });

  it("Caddy: Grafana's basicauth removed from the Caddyfile while Grafana lets anonymous visitors in", () => {
    // VPAI routes Grafana alone among the admin UIs (seed 002); with anonymous access it has no login of its own either.
    const anonymous = (spec: PlatformSpec): PlatformSpec => ({
      ...spec,
      services: spec.services.map((service) =>
        service.name === "grafana" ? { ...service, env: { ...service.env, GF_AUTH_ANONYMOUS_ENABLED: "true" } } : service,
      ),
    });
    const open: ModelChanges = {
      ...onService(
        "caddy",
        withFile(CADDYFILE_PATH, (content) => content.replace(/\tbasicauth \{\n[^}]*\}\n/g, "")),
      ),
      spec: anonymous,
    };
    expectViolation(
      open,
      "C11",
      "route grafana.preprod.vpai.example.com",
      /serves grafana \(grafana\/grafana\), an admin UI without a login of its own, and caddy asks for no password there/,
    );
    expect(violationsOf(evaluateModel(modelOf("preprod", open)), "C11").map((violation) => violation.resource)).toEqual([
      "route grafana.preprod.vpai.example.com",
    ]);
    // Either alone is no violation: Caddy's password, or Grafana's own login.
    expect(violationsOf(evaluateModel(modelOf("preprod", { spec: anonymous })), "C11")).toEqual([]);
  });

  it("nginx: auth_basic removed from the admin servers (fastapi, adminAccess: ingress)", () => {
    const changes: ModelChanges = {
      values: { "infra:blueprint": "fastapi", ...INGRESS_ADMIN },
      service: { name: "nginx", change: withFile(NGINX_CONF_PATH, (content) => content.replace(/\n\s*auth_basic "restricted";/g, "")) },
    };
    expectViolation(changes, "C11", "route alerts.preprod.vpai.example.com", /serves alertmanager \(prom\/alertmanager\).*nginx asks for no password there/);
    expect(violationsOf(evaluateModel(modelOf("preprod", { values: changes.values })), "C11")).toEqual([]);
  });

  it("Traefik: the basicAuth middleware taken off Supabase Studio's router (seed 000, ai-video)", () => {
    const withoutAuth = withFile(TRAEFIK_DYNAMIC_PATH, (content) => {
      const dynamic = parse(content);
      for (const router of Object.values(dynamic.http.routers as Record<string, { middlewares: string[] }>))
        router.middlewares = router.middlewares.filter((name) => !name.startsWith("basic-auth-"));
      return stringify(dynamic);
    });
    const changes: ModelChanges = { values: { "infra:blueprint": "ai-video" }, service: { name: "traefik", change: withoutAuth } };
    expectViolation(changes, "C11", "route studio.preprod.vpai.example.com", /serves studio \(supabase\/studio\).*traefik asks for no password there/);
    expect(violationsOf(evaluateModel(modelOf("preprod", { values: changes.values })), "C11")).toEqual([]);
  });

  /** fastapi with a public route to Prometheus that nginx's generated config knows nothing of; nginx joins Prometheus' network. */
  const routeToPrometheus = (spec: PlatformSpec): PlatformSpec => ({
    ...spec,
    routes: [...spec.routes, { subdomain: "prom", service: "prometheus", port: 9090 }],
    services: spec.services.map((service) => (service.name === "nginx" ? { ...service, networks: [...service.networks, "internal"] } : service)),
  });

  it("a route the ingress configuration does not cover at all", () => {
    const changes: ModelChanges = { values: { "infra:blueprint": "fastapi" }, spec: routeToPrometheus };
    expectViolation(changes, "C11", "route prom.preprod.vpai.example.com", /serves prometheus/);
  });

  it("Grafana with anonymous access turned on, behind a route without a password", () => {
    const anonymous: ModelChanges = {
      values: { "infra:blueprint": "ai-video" },
      service: { name: "grafana", change: (spec) => ({ ...spec, env: { ...spec.env, GF_AUTH_ANONYMOUS_ENABLED: "true" } }) },
    };
    expectViolation(anonymous, "C11", "route grafana.preprod.vpai.example.com", /serves grafana \(grafana\/grafana\)/);
  });

  it("cannot be waived next to the service: the finding is the route's, and the waiver matches nothing", () => {
    const waived: ModelChanges = {
      values: { "infra:blueprint": "fastapi" },
      spec: routeToPrometheus,
      service: { name: "prometheus", change: (spec) => ({ ...spec, waivers: [...spec.waivers, { rule: "C11", reason: "test: let it be public" }] }) },
    };
    const report = evaluateModel(modelOf("preprod", waived));
    expect(violationsOf(report, "C11").map((violation) => [violation.resource, violation.message])).toEqual([
      ["container fastapi-prometheus", "waiver of C11 matches nothing: the service already follows the rule"],
      ["route prom.preprod.vpai.example.com", expect.stringContaining("admin UI without a login")],
    ]);
  });
});

describe("firewall, zone and bucket rules on the model", () => {
  it("F1: SSH open to the whole internet", () => {
    expectViolation(
      { config: ({ opsHost: _opsHost, ...config }) => ({ ...config, adminCidrs: ["0.0.0.0/0"] }) },
      "F1",
      "firewall vpai-main-firewall",
      /opens SSH to 0\.0\.0\.0\/0/,
    );
  });

  it("F1: an admin CIDR that stays well inside the limit passes (an office /32, a /10 VPN, a whole /8)", () => {
    for (const adminCidrs of [["198.51.100.7/32", "100.64.0.0/10"], ["10.0.0.0/8"], ["2001:db8::/32", "198.51.100.7/32"]]) {
      expect(
        violationsOf(evaluateModel(modelOf("preprod", { config: ({ opsHost: _opsHost, ...config }) => ({ ...config, adminCidrs }) })), "F1"),
        adminCidrs.join(", "),
      ).toEqual([]);
    }
  });

  it("F2: a database port on the host firewall", () => {
    const publicPostgres: ModelChanges = onService("postgres", (spec) => ({
      ...spec,
      ports: [{ container: 5432, publish: { host: 5432, address: "0.0.0.0" } }],
    }));
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
    expectViolation(
      { config: (config) => ({ ...config, storage: { ...config.storage, noncurrentVersionExpiryDays: 3 } }) },
      "S3",
      "bucket vpai-backups",
      /after 3 days, inside the 7-day retention window/,
    );
  });
});

/**
 * F1 judges what the SSH sources cover once parsed, summed over the list and
 * over both families, not how they are written: each of these admits far
 * more than an admin network, and several admit every address there is.
 */
describe("F1 on what the admin CIDRs cover, however they are written", () => {
  it.each([
    ["/0 written as /00", ["0.0.0.0/00", "::/00"], /every IPv4 address/],
    ["/0 written as /000", ["0.0.0.0/000"], /every IPv4 address/],
    ["two halves of IPv4", ["0.0.0.0/1", "128.0.0.0/1"], /every IPv4 address/],
    ["the halves in the other order", ["128.0.0.0/1", "0.0.0.0/1"], /every IPv4 address/],
    ["four quarters of IPv4", ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"], /every IPv4 address/],
    ["a half and two quarters, overlapping", ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2", "0.0.0.0/3"], /every IPv4 address/],
    ["IPv4 through its IPv4-mapped IPv6 form", ["::ffff:0:0/96"], /every IPv4 address/],
    ["IPv4-mapped, uppercase and dotted", ["::FFFF:0.0.0.0/96"], /every IPv4 address/],
    ["IPv6 with every zero written out", ["0000:0000:0000:0000:0000:0000:0000:0000/0"], /every IPv6 address/],
    ["two halves of IPv6", ["::/1", "8000::/1"], /every IPv6 address/],
    ["IPv6 halves in uppercase with leading zeros", ["0000::/01", "8000:0000::/1"], /every IPv6 address/],
    ["half of IPv4", ["0.0.0.0/1"], /more than a \/8/],
    ["a /7, twice a /8", ["10.0.0.0/7"], /more than a \/8/],
    ["two /8s that add up to more than one", ["10.0.0.0/8", "11.0.0.0/8"], /more than a \/8/],
    ["a /31 of IPv6, twice the /32 limit", ["2001:db8::/31"], /more than a \/32/],
    ["an octal-looking address nobody agrees on", ["0177.0.0.1/32"], /cannot be judged/],
  ])("%s: %j", (_, adminCidrs, message) => {
    // Without the ops host, whose own checks (a VPN range among the admin CIDRs) would refuse these first.
    expectViolation({ config: ({ opsHost: _opsHost, ...config }) => ({ ...config, adminCidrs }) }, "F1", "firewall vpai-main-firewall", message);
  });
});

/** An existing server whose sshd listens on another port than 22 (infra:servers[].sshPort). */
const sshOnPort = (port: number): ModelChanges => ({
  config: (config) => ({ ...config, servers: config.servers.map((server) => (server.provider === "existing" ? { ...server, sshPort: port } : server)) }),
});

describe("H10: every firewall layer uses the server's real SSH port", () => {
  it("an existing server with sshPort 2222 gets SSH from the admins on 2222, and nothing on 22", () => {
    const model = modelOf("prod", sshOnPort(2222));
    const rules = model.hosts[0]!.firewall;
    expect(rules.filter((rule) => rule.port === 22)).toEqual([]);
    expect(rules.find((rule) => rule.port === 2222)?.sourceCidrs).toEqual(model.config.adminCidrs);
    expect(evaluateModel(model).violations).toEqual([]);
  });

  it("a host firewall that opens 22 while sshd listens on 2222 would lock SSH out", () => {
    const model = modelOf("prod", sshOnPort(2222));
    const host = model.hosts[0]!;
    const locked = { ...model, hosts: [{ ...host, firewall: host.firewall.map((rule) => (rule.port === 2222 ? { ...rule, port: 22 } : rule)) }] };
    const found = violationsOf(evaluateModel(locked), "H10");
    expect(found.map((violation) => violation.message).join("\n")).toMatch(/no rule admits the admin CIDRs to SSH on port 2222/);
    expect(found[0]!.fix).toBe(ruleNamed("H10")!.fix);
  });
});

describe("retention and client-side encryption", () => {
  it("S3 measures against the stack's own daily retention when it sets one", () => {
    const longer: ModelChanges = { config: (config) => ({ ...config, backup: { ...config.backup, retention: { ...config.backup.retention, daily: 45 } } }) };
    expectViolation(longer, "S3", "bucket vpai-backups", /after 30 days, inside the 45-day retention window/);
  });

  it("S3 measures against the longest retention a host's job keeps: seed 003's 30 days over the stack's 7 dailies", () => {
    const storage = (days: number) => JSON.stringify({ ...modelOf("prod").config.storage, noncurrentVersionExpiryDays: days });
    const report = evaluateModel(modelWith({ "infra:blueprint": "nextmavens", "infra:storage": storage(14) }));
    expect(violationsOf(report, "S3").map((violation) => [violation.resource, violation.message])).toEqual([
      ["bucket nextmavens-backups", "noncurrent versions expire after 14 days, inside the 30-day retention window"],
    ]);
    expect(violationsOf(evaluateModel(modelWith({ "infra:blueprint": "nextmavens", "infra:storage": storage(30) })), "S3")).toEqual([]);
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
    const report = evaluateModel(
      modelOf(
        "preprod",
        onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false, waivers: [{ rule: "C6", reason }] })),
      ),
    );
    expect(violationsOf(report, "C6")).toEqual([]);
    expect(report.waivers).toContainEqual({ rule: "C6", resource: "container vpai-redis", reason, silences: ["root filesystem is writable"] });
  });

  it("a waiver without a reason is itself an error, and waives nothing", () => {
    const report = evaluateModel(
      modelOf(
        "preprod",
        onService("redis", (spec) => ({ ...spec, readOnlyRootFilesystem: false, waivers: [{ rule: "C6", reason: "  " }] })),
      ),
    );
    const messages = violationsOf(report, "C6").map((violation) => violation.message);
    expect(messages).toContain("waiver of C6 has no reason a reviewer can read: it is empty");
    expect(messages).toContain("root filesystem is writable");
  });

  it("a waiver that matches nothing, names an unknown rule, or waives a platform rule is an error", () => {
    const report = evaluateModel(
      modelOf(
        "preprod",
        onService("grafana", (spec) => ({
          ...spec,
          waivers: [
            ...spec.waivers,
            { rule: "C9", reason: "left over from when grafana ran as root" },
            { rule: "C99", reason: "typo" },
            { rule: "F1", reason: "not per service" },
          ],
        })),
      ),
    );
    expect(report.violations.map((violation) => [violation.rule, violation.resource, violation.message])).toEqual([
      ["C9", "container vpai-grafana", "waiver of C9 matches nothing: the service already follows the rule"],
      ["C99", "container vpai-grafana", 'waiver names unknown rule "C99"'],
      ["F1", "container vpai-grafana", expect.stringMatching(/^waiver of F1: F1 is never waived \(SSH only from the configured admin CIDRs/)],
    ]);
  });

  it("a new service with no hardening at all breaks every container rule it can", () => {
    const bare = service({
      name: "bare",
      description: "test",
      role: "app",
      image: { repository: "example/bare", tag: "latest" },
      networks: ["backend"],
      healthcheck: healthcheck(["NONE"]),
      memoryMb: 0,
    });
    const report = evaluateModel(modelOf("preprod", { spec: (spec) => ({ ...spec, services: [...spec.services, bare] }) }));
    const rules = report.violations.filter((violation) => violation.resource === "container vpai-bare").map((violation) => violation.rule);
    expect([...new Set(rules)].sort()).toEqual(["C10", "C6", "C7", "C8", "C9"]);
  });
});
