import type { ServerConfig } from "../components/compute/server-spec";
import { findServerType } from "../components/compute/server-types";
import type { NetworkSpec } from "../components/container/network-spec";
import { publishAddress, secretKeysOf, type ServiceSpec } from "../components/container/service-spec";
import { firewallRules, type Exposure, type FirewallRule } from "../components/network/firewall-rules";
import type { Blueprint, PlatformSpec } from "./blueprints/blueprint";
import { ConfigError, type ConfigProblem } from "./config/errors";
import type { StackConfig } from "./config/schema";

/** One server with what the blueprint places on it. */
export interface HostPlan {
  readonly server: ServerConfig;
  readonly memoryMb: number;
  readonly services: readonly ServiceSpec[];
  readonly networks: readonly NetworkSpec[];
  readonly exposed: readonly Exposure[];
  /** Inbound rules derived from the exposures (F1-F3). */
  readonly firewall: readonly FirewallRule[];
  readonly budget: MemoryBudget;
}

export interface MemoryBudget {
  readonly serverMb: number;
  readonly reserveMb: number;
  readonly containersMb: number;
  /** What is left after the reserve and every container's limit; negative means over budget. */
  readonly headroomMb: number;
}

/** The platform as pure data: what the program registers and the plan reports. */
export interface PlatformModel {
  readonly config: StackConfig;
  readonly blueprint: Blueprint;
  readonly spec: PlatformSpec;
  readonly hosts: readonly HostPlan[];
  /** Fully qualified names the ingress serves. */
  readonly hostnames: readonly string[];
}

export function serverMemoryMb(server: ServerConfig): number {
  return server.provider === "existing" ? server.memoryMb : (findServerType(server.serverType)?.memoryMb ?? 0);
}

/**
 * Places each service on the first server that takes its role, then checks
 * what a graph cannot catch by itself: references between services, startup
 * cycles, secrets the blueprint forgot to declare, and each server's memory
 * budget. Every problem is reported at once, with its config path.
 */
export function planPlatform(config: StackConfig, blueprint: Blueprint): PlatformModel {
  const spec = blueprint.build({ domain: config.domain, environment: config.environment });
  const problems: ConfigProblem[] = specProblems(spec, blueprint);

  const placement = new Map<string, ServiceSpec[]>(config.servers.map((server) => [server.name, []]));
  for (const service of spec.services) {
    const server = config.servers.find((candidate) => candidate.roles.includes(service.role));
    if (!server) problems.push({ path: "infra:servers", message: `no server takes role "${service.role}" for service ${service.name}` });
    else placement.get(server.name)!.push(service);
  }
  for (const service of spec.services) {
    const host = [...placement.entries()].find(([, services]) => services.includes(service))?.[0];
    for (const dependency of service.dependsOn) {
      const dependencyHost = [...placement.entries()].find(([, services]) => services.some((candidate) => candidate.name === dependency))?.[0];
      if (host && dependencyHost && host !== dependencyHost) {
        problems.push({ path: "infra:servers", message: `${service.name} (on ${host}) depends on ${dependency} (on ${dependencyHost}); Docker networks do not span servers` });
      }
    }
  }

  const hosts = config.servers.map((server, index): HostPlan => {
    const services = placement.get(server.name) ?? [];
    const networkKeys = new Set(services.flatMap((service) => service.networks));
    const memoryMb = serverMemoryMb(server);
    const containersMb = services.reduce((sum, service) => sum + service.memoryMb, 0);
    const budget = { serverMb: memoryMb, reserveMb: blueprint.systemReserveMb, containersMb, headroomMb: memoryMb - blueprint.systemReserveMb - containersMb };
    if (budget.headroomMb < 0) {
      problems.push({
        path: `infra:servers[${index}]`,
        message: `containers on ${server.name} are limited to ${containersMb} MB, but ${memoryMb} MB minus the ${budget.reserveMb} MB system reserve leaves ${memoryMb - budget.reserveMb} MB; pick a larger server or move a role elsewhere`,
      });
    }
    const exposed = services.flatMap((service) =>
      service.ports
        .filter((port) => port.publish && isPublicAddress(publishAddress(port)!))
        .map((port): Exposure => ({ port: port.publish!.host, protocol: port.protocol ?? "tcp", service: service.name })),
    );
    return {
      server,
      memoryMb,
      services,
      networks: spec.networks.filter((network) => networkKeys.has(network.key)),
      exposed,
      firewall: firewallRules(exposed, { adminCidrs: config.adminCidrs, behindCloudflare: config.dns.proxied }),
      budget,
    };
  });

  if (problems.length > 0) throw new ConfigError(problems);
  return { config, blueprint, spec, hosts, hostnames: spec.routes.map((route) => `${route.subdomain}.${config.domain}`) };
}

export function isPublicAddress(address: string): boolean {
  return !/^(127\.|::1$|localhost$)/.test(address) && !/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(address);
}

/** Consistency of a blueprint's own data; a failure here is a bug in the blueprint. */
export function specProblems(spec: PlatformSpec, blueprint: Blueprint): ConfigProblem[] {
  const path = `blueprint ${blueprint.name}`;
  const problems: ConfigProblem[] = [];
  const names = new Set<string>();
  const declaredSecrets = new Set(blueprint.secrets.map((secret) => secret.key));
  const networkKeys = new Set(spec.networks.map((network) => network.key));
  for (const service of spec.services) {
    if (names.has(service.name)) problems.push({ path, message: `service ${service.name} is defined twice` });
    names.add(service.name);
    for (const network of service.networks) if (!networkKeys.has(network)) problems.push({ path, message: `${service.name} joins undefined network ${network}` });
    for (const [variable, value] of Object.entries(service.env)) {
      for (const key of secretKeysOf(value)) {
        if (!declaredSecrets.has(key)) problems.push({ path, message: `${service.name}.${variable} uses secret ${key}, which the blueprint does not declare` });
      }
    }
  }
  for (const service of spec.services) {
    for (const dependency of service.dependsOn) if (!names.has(dependency)) problems.push({ path, message: `${service.name} depends on unknown service ${dependency}` });
  }
  for (const route of spec.routes) {
    const target = spec.services.find((service) => service.name === route.service);
    if (!target) problems.push({ path, message: `route ${route.subdomain} targets unknown service ${route.service}` });
    else if (!target.ports.some((port) => port.container === route.port)) problems.push({ path, message: `route ${route.subdomain} targets ${route.service}:${route.port}, a port it does not listen on` });
  }
  const cycle = findCycle(spec.services);
  if (cycle) problems.push({ path, message: `startup order has a cycle: ${cycle.join(" -> ")}` });
  return problems;
}

/** Services ordered so that each comes after everything it depends on. */
export function startupOrder(services: readonly ServiceSpec[]): ServiceSpec[] {
  const ordered: ServiceSpec[] = [];
  const placed = new Set<string>();
  const byName = new Map(services.map((service) => [service.name, service]));
  const visit = (service: ServiceSpec) => {
    if (placed.has(service.name)) return;
    placed.add(service.name);
    for (const dependency of service.dependsOn) {
      const target = byName.get(dependency);
      if (target) visit(target);
    }
    ordered.push(service);
  };
  services.forEach(visit);
  return ordered;
}

function findCycle(services: readonly ServiceSpec[]): string[] | undefined {
  const byName = new Map(services.map((service) => [service.name, service]));
  const state = new Map<string, "visiting" | "done">();
  const walk = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === "visiting") return [...trail.slice(trail.indexOf(name)), name];
    if (state.get(name) === "done") return undefined;
    state.set(name, "visiting");
    for (const dependency of byName.get(name)?.dependsOn ?? []) {
      const cycle = walk(dependency, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, "done");
    return undefined;
  };
  for (const service of services) {
    const cycle = walk(service.name, []);
    if (cycle) return cycle;
  }
  return undefined;
}
