import type { DependencyCheck, ServiceSpec } from "../container/service-spec";
import type { ExporterKind } from "./exporter-spec";

/**
 * What the monitoring stack watches, derived from the services and routes
 * alone: a service is scraped because it declares `metrics`, gets an exporter
 * because it declares `exporter`, and is probed because it listens on a port
 * or is routed. Nothing here is listed by hand.
 */

export type HostExporter = "node" | "cadvisor";

export interface ScrapeJob {
  /** The `job` label its series carry. */
  readonly job: string;
  /** `endpoint`: the service's own /metrics; `exporter`: an exporter that speaks for it. */
  readonly kind: "endpoint" | "exporter";
  /** The service it reports on; `host` for the machine itself. */
  readonly service: string;
  readonly exporter?: ExporterKind | HostExporter;
  /** `host:port` the scraper dials; for an exporter, the service the exporter reads. */
  readonly address: string;
  readonly metricsPath: string;
}

export interface HTTPProbeModule {
  readonly name: string;
  readonly prober: "http";
  /** Name the ingress serves: sent as Host and as the TLS server name, so the origin certificate is the one checked. */
  readonly hostname: string;
  /** Admin routes answer 401 to a probe without credentials, and that is them working. */
  readonly validStatusCodes: readonly number[];
}

export interface TCPProbeModule {
  readonly name: string;
  readonly prober: "tcp";
}

/** A plain-HTTP GET inside the Docker networks, healthy on any 2xx: a service's own report on a dependency. */
export interface DependencyProbeModule {
  readonly name: string;
  readonly prober: "dependency";
}

export type ProbeModule = HTTPProbeModule | TCPProbeModule | DependencyProbeModule;

/**
 * The probe jobs, each its own scrape job and `job` label: `routes`, every
 * public name through the ingress (uptime, TLS expiry); `services`, every
 * port a container listens on; then one job per kind of dependency a
 * service's checks report on (`database`).
 */
export const PROBE_JOBS = ["routes", "services", "database"] as const;
export type ProbeJob = (typeof PROBE_JOBS)[number];

export interface Probe {
  readonly job: ProbeJob;
  /** The route's host name or the service's name; the `instance` label of its series. */
  readonly name: string;
  readonly service: string;
  /** URL or `host:port` the prober connects to. */
  readonly target: string;
  readonly module: string;
}

export interface RouteTarget {
  readonly hostname: string;
  readonly service: string;
  readonly port: number;
  readonly basicAuth: boolean;
}

export interface Targets {
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  readonly modules: readonly ProbeModule[];
}

/** The TCP module every service-port probe uses. */
export const TCP_MODULE: TCPProbeModule = { name: "tcp_connect", prober: "tcp" };
/** The module every dependency check uses. */
export const DEPENDENCY_MODULE: DependencyProbeModule = { name: "http_2xx", prober: "dependency" };

/** Whether a probe dials a URL (routes, dependency checks) rather than a bare `host:port`. */
export function probesURL(probe: Pick<Probe, "target">): boolean {
  return /^[a-z]+:\/\//.test(probe.target);
}

/** What would make a dependency check probe nothing, or the wrong thing. */
export function dependencyCheckProblems(service: Pick<ServiceSpec, "name" | "ports" | "dependencyChecks">): string[] {
  const problems: string[] = [];
  for (const check of service.dependencyChecks ?? []) {
    if (!service.ports.some((port) => port.container === check.port && (port.protocol ?? "tcp") === "tcp"))
      problems.push(`${service.name}'s ${check.dependency} check is on port ${check.port}, which it does not listen on`);
    if (!/^\/[A-Za-z0-9._~/-]*$/.test(check.path))
      problems.push(`${service.name}'s ${check.dependency} check path "${check.path}" must start with / and hold only letters, digits and . _ ~ / -`);
    if ((service.dependencyChecks ?? []).filter((other) => other.dependency === check.dependency).length > 1)
      problems.push(`${service.name} declares two ${check.dependency} checks`);
  }
  return problems;
}

/** A PostgreSQL or Redis exporter reads the first port of its service, so that service must listen on one. */
export function exporterProblems(service: Pick<ServiceSpec, "name" | "ports" | "exporter">): string[] {
  return service.exporter && service.exporter.kind !== "nginx" && service.ports.length === 0
    ? [`${service.name} declares an exporter but listens on no port`]
    : [];
}

function dependencyProbe(service: ServiceSpec, check: DependencyCheck): Probe {
  return {
    job: check.dependency,
    name: service.name,
    service: service.name,
    target: `http://${service.name}:${check.port}${check.path}`,
    module: DEPENDENCY_MODULE.name,
  };
}

export function monitoringTargets(services: readonly ServiceSpec[], routes: readonly RouteTarget[]): Targets {
  const jobs: ScrapeJob[] = [
    { job: "node", kind: "exporter", service: "host", exporter: "node", address: "host", metricsPath: "/metrics" },
    { job: "cadvisor", kind: "exporter", service: "host", exporter: "cadvisor", address: "host", metricsPath: "/metrics" },
  ];
  for (const service of services) {
    if (service.metrics) {
      jobs.push({
        job: service.name,
        kind: "endpoint",
        service: service.name,
        address: `${service.name}:${service.metrics.port}`,
        metricsPath: service.metrics.path,
      });
    }
    // A service whose exporter has no port to read gets no job; exporterProblems reports it.
    const port = service.exporter?.kind === "nginx" ? service.exporter.statusPort : service.ports[0]?.container;
    if (service.exporter && port !== undefined) {
      jobs.push({
        job: `${service.exporter.kind}-exporter`,
        kind: "exporter",
        service: service.name,
        exporter: service.exporter.kind,
        address: `${service.name}:${port}`,
        metricsPath: "/metrics",
      });
    }
  }

  const probes: Probe[] = [];
  const modules: ProbeModule[] = [];
  // The ingress proper is the one serving HTTPS; certbot shares its role.
  const ingress = services.find((service) => service.role === "ingress" && service.ports.some((port) => port.container === 443));
  const httpsPort = ingress?.ports.find((port) => port.container === 443);
  if (ingress && httpsPort) {
    for (const route of [...routes].sort((a, b) => a.hostname.localeCompare(b.hostname))) {
      const module: HTTPProbeModule = {
        name: `route_${route.hostname.split(".")[0]!.replace(/[^a-z0-9]/g, "_")}`,
        prober: "http",
        hostname: route.hostname,
        validStatusCodes: route.basicAuth ? [401] : [],
      };
      modules.push(module);
      // The ingress is probed from inside, by its service name, with the
      // route's name as Host and SNI: the monitoring networks have no route
      // out, and the origin certificate is the one this stack renews.
      probes.push({
        job: "routes",
        name: route.hostname,
        service: route.service,
        target: `https://${ingress.name}:${httpsPort.container}/`,
        module: module.name,
      });
    }
  }
  for (const service of services) {
    const port = service.ports[0];
    if (!port || (port.protocol ?? "tcp") !== "tcp") continue;
    probes.push({ job: "services", name: service.name, service: service.name, target: `${service.name}:${port.container}`, module: TCP_MODULE.name });
  }
  if (probes.some((probe) => probe.job === "services")) modules.push(TCP_MODULE);
  const checks = services.flatMap((service) => (service.dependencyChecks ?? []).map((check) => dependencyProbe(service, check)));
  probes.push(...checks);
  if (checks.length > 0) modules.push(DEPENDENCY_MODULE);
  return { jobs, probes, modules };
}
