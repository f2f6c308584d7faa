import { describe, expect, it } from "vitest";
import type { ServiceSpec } from "../../components/container/service-spec";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import type { PlatformSpec } from "../../infra/blueprints/blueprint";
import { ConfigError } from "../../infra/config/errors";
import { specProblems } from "../../infra/platform-model";
import { modelOf } from "../policy/models";

/**
 * A blueprint's own data must hang together before anything is placed:
 * every reference resolves, the proxy can reach what it routes to, startup
 * has an order. Each broken case below is one mistake a blueprint could make,
 * and planning must name it.
 */
const ADMIN_ACCESS = ["tunnel", "caddy", "ingress"] as const;

describe("the shipped blueprints are consistent", () => {
  it.each(BLUEPRINT_CATALOG.names.flatMap((name) => ADMIN_ACCESS.map((adminAccess) => [name, adminAccess] as const)))(
    "%s with adminAccess %s",
    (name, adminAccess) => {
      const blueprint = blueprintNamed(name);
      const monitoring = { ...modelOf("prod").config.monitoring, adminAccess };
      const spec = blueprint.build({ domain: "example.com", environment: "prod", monitoring });
      expect(specProblems(spec, blueprint, [{ key: "infra:monitoringAdminPassword" }, { key: "infra:monitoringAdminPasswordHash" }])).toEqual([]);
    },
  );
});

/** The problems planning prod's VPAI reports after `change` to its spec. */
function problemsAfter(change: (spec: PlatformSpec) => PlatformSpec): string[] {
  try {
    modelOf("prod", { spec: change });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  throw new Error("expected planning to fail");
}

const changed = (spec: PlatformSpec, name: string, change: (service: ServiceSpec) => ServiceSpec): PlatformSpec => ({
  ...spec,
  services: spec.services.map((service) => (service.name === name ? change(service) : service)),
});

describe("a broken blueprint is named before anything is registered", () => {
  it.each<[string, (spec: PlatformSpec) => PlatformSpec, string]>([
    [
      "a service defined twice",
      (spec) => ({ ...spec, services: [...spec.services, spec.services.find((service) => service.name === "redis")!] }),
      "service redis is defined twice",
    ],
    [
      "a network nobody defined",
      (spec) => changed(spec, "redis", (redis) => ({ ...redis, networks: [...redis.networks, "cache"] })),
      "redis joins undefined network cache",
    ],
    [
      "a dependency on nothing",
      (spec) => changed(spec, "n8n", (n8n) => ({ ...n8n, dependsOn: [...n8n.dependsOn, "postgress"] })),
      "n8n depends on unknown service postgress",
    ],
    [
      "a secret the blueprint does not declare",
      (spec) => changed(spec, "n8n", (n8n) => ({ ...n8n, env: { ...n8n.env, SMTP_PASS: { secret: "infra:n8nSmtpPassword" } } })),
      "n8n.SMTP_PASS uses secret infra:n8nSmtpPassword, which the blueprint does not declare",
    ],
    [
      "a route to no service",
      (spec) => ({ ...spec, routes: [...spec.routes, { subdomain: "wiki", service: "wiki", port: 3000 }] }),
      "route wiki targets unknown service wiki",
    ],
    [
      "a route to a port the service does not listen on",
      (spec) => ({ ...spec, routes: spec.routes.map((route) => (route.service === "n8n" ? { ...route, port: 5679 } : route)) }),
      "route n8n targets n8n:5679, a port it does not listen on",
    ],
    [
      "a route the proxy cannot reach: no network in common",
      // Caddy reaches Grafana, its one admin route, on frontend alone (seed 002's matrix).
      (spec) => changed(spec, "caddy", (caddy) => ({ ...caddy, networks: caddy.networks.filter((network) => network !== "frontend") })),
      "route grafana targets grafana, which shares no network with caddy (backend against frontend, monitoring)",
    ],
    [
      "a startup cycle",
      (spec) => changed(spec, "postgres", (postgres) => ({ ...postgres, dependsOn: ["n8n"] })),
      "startup order has a cycle: n8n -> postgres -> n8n",
    ],
    [
      "a database check on a port the service does not listen on",
      (spec) => changed(spec, "n8n", (n8n) => ({ ...n8n, dependencyChecks: [{ dependency: "database", port: 5679, path: "/healthz/readiness" }] })),
      "n8n's database check is on port 5679, which it does not listen on",
    ],
    [
      "a database check path that is no path",
      (spec) => changed(spec, "n8n", (n8n) => ({ ...n8n, dependencyChecks: [{ dependency: "database", port: 5678, path: "healthz?db=1" }] })),
      'n8n\'s database check path "healthz?db=1" must start with / and hold only letters, digits and . _ ~ / -',
    ],
    [
      "backups with nowhere to go",
      (spec) => ({ ...spec, buckets: spec.buckets.filter((bucket) => bucket.key !== "backups") }),
      'services declare backups, but there is no "backups" bucket for the repository',
    ],
  ])("%s", (_case, change, message) => {
    expect(problemsAfter(change)).toContain(`blueprint vpai: ${message}`);
  });
});
