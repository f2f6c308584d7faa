import { publishAddress, type ServiceSpec } from "../container/service-spec";
import type { MonitoringDesign } from "./design";
import { locate, rolesPath, runsAtHome, SERVERS_PATH, type Located, type ServerPlacement } from "./placement";
import type { Ports } from "./ports";
import type { MonitoringProblem } from "./problem";
import { probedEndpoint, scrapedEndpoint } from "./scrape-config";
import type { Probe, ScrapeJob } from "./targets";

/**
 * Whether the monitoring stack, on its home server, reaches every instance
 * of what it scrapes and probes. A port away from home answers on the peer's
 * private address only when the service is published to peers (or on every
 * address, as the ingress is); at home the two must share a network.
 */

/** Every service of the platform, the stack's own included, and where each runs. */
export interface Watched {
  readonly placement: ServerPlacement;
  readonly services: readonly ServiceSpec[];
}

/** The service and its instances behind `name:port`; undefined for a name no service has. */
function instancesOf(watched: Watched, name: string, port: number): { spec: ServiceSpec; instances: Located[] } | undefined {
  const spec = watched.services.find((candidate) => candidate.name === name);
  return spec ? { spec, instances: locate(watched.placement, spec, port) } : undefined;
}

/**
 * A server without a private address is not reached at all; planning the
 * platform refuses such a layout anyway (infra:privateNetwork), since
 * Promtail there depends on Loki here.
 */
function addressed(placement: ServerPlacement, spec: ServiceSpec, instance: Located): boolean {
  return !instance.remote || placement.serversOf(spec).some((server) => server.name === instance.server && server.privateIp !== undefined);
}

function publishedToPeers(spec: ServiceSpec, port: number): boolean {
  return spec.reachableFromPeers === true || spec.ports.some((candidate) => candidate.container === port && publishAddress(candidate) === "0.0.0.0");
}

function reachable(placement: ServerPlacement, spec: ServiceSpec, port: number, instance: Located): boolean {
  return !instance.remote || (addressed(placement, spec, instance) && publishedToPeers(spec, port));
}

/** The instances of `name:port` the home server reaches; a name no service has is taken to be at home. */
export function reachableInstances(watched: Watched, name: string, port: number): Located[] {
  const found = instancesOf(watched, name, port);
  return found
    ? found.instances.filter((instance) => reachable(watched.placement, found.spec, port, instance))
    : [{ server: watched.placement.home.name, address: `${name}:${port}`, remote: false }];
}

/** Instances on a server with a private address that still cannot be scraped from home: their port is not published to peers. */
export function unscrapableInstances(watched: Watched, jobs: readonly ScrapeJob[], design: MonitoringDesign, ports: Ports): MonitoringProblem[] {
  const home = watched.placement.home.name;
  return jobs.flatMap((job) => {
    const [name, port] = scrapedEndpoint(job, design, ports);
    const found = instancesOf(watched, name, port);
    return (found?.instances ?? [])
      .filter((instance) => addressed(watched.placement, found!.spec, instance) && !reachable(watched.placement, found!.spec, port, instance))
      .map((instance) => ({
        path: rolesPath(watched.placement, found!.spec, instance.server),
        message: `${name} on ${instance.server} cannot be scraped from ${home}: it is not published on a private address (reachableFromPeers)`,
      }));
  });
}

/**
 * The probes the home server can run. A service port away from home that
 * peers cannot reach is not probed (its server's cAdvisor still reports the
 * container missing); a route no instance of its service answers for is a
 * problem, unless a server lacks a private address (refused elsewhere).
 */
export function probedFromHome(watched: Watched, probes: readonly Probe[]): { probes: Probe[]; problems: MonitoringProblem[] } {
  const problems: MonitoringProblem[] = [];
  const kept = probes.filter((probe) => {
    const [name, port] = probedEndpoint(probe);
    const found = instancesOf(watched, name, port);
    const available = reachableInstances(watched, name, port).length > 0;
    if (!available && probe.job === "routes" && found?.instances.every((instance) => addressed(watched.placement, found.spec, instance))) {
      const path = found.instances[0] ? rolesPath(watched.placement, found.spec, found.instances[0].server) : SERVERS_PATH;
      problems.push({
        path,
        message: `route ${probe.name} cannot be probed from ${watched.placement.home.name}: no instance of ${name} answers on a private address`,
      });
    }
    return available;
  });
  return { probes: kept, problems };
}

/** Whoever scrapes everything runs on the home server, where the targets are located from. */
export function scraperAwayFromHome(placement: ServerPlacement, scraper: ServiceSpec): MonitoringProblem[] {
  const server = placement.serversOf(scraper)[0]?.name;
  return server === placement.home.name
    ? []
    : [{ path: SERVERS_PATH, message: `${scraper.name} runs on ${server ?? "no server"}, not on ${placement.home.name}, the monitoring server` }];
}

/**
 * Every target at home must share a network with whoever scrapes or probes
 * it; those on other servers are reached over the private network instead.
 * The networks are the blueprint's, so a problem here is its design's.
 */
export function unsharedNetworks(input: {
  readonly watched: Watched;
  readonly scraper: ServiceSpec;
  readonly prober: ServiceSpec;
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  readonly designPath: string;
}): MonitoringProblem[] {
  const { watched, scraper, prober, designPath } = input;
  const shares = (from: ServiceSpec, name: string) => {
    const target = watched.services.find((candidate) => candidate.name === name);
    if (!runsAtHome(watched.placement, target ?? scraper)) return true;
    return target !== undefined && (target.name === from.name || target.networks.some((network) => from.networks.includes(network)));
  };
  const scrapes = input.jobs
    .filter((job) => job.kind === "endpoint" && !shares(scraper, job.service))
    .map((job) => `${scraper.name} cannot reach ${job.address} to scrape it: they share no network`);
  const probes = input.probes
    .filter((probe) => !shares(prober, probedEndpoint(probe)[0]))
    .map((probe) => `${prober.name} cannot reach ${probe.target} to probe it: they share no network`);
  return [...scrapes, ...probes].map((message) => ({ path: designPath, message }));
}
