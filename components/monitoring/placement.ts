import { peerPort, type ServiceSpec } from "../container/service-spec";

/**
 * Where the monitoring stack and what it watches run. The stack lives on one
 * server, its home; a service elsewhere is scraped and probed at that
 * server's private address.
 */

/** A server as the monitoring stack needs to know it: its name, its private address for peers, and its entry in the stack config. */
export interface MonitoredServer {
  readonly name: string;
  readonly privateIp?: string;
  /** The key of its entry in the stack config (`infra:servers[1]`), named by a problem its layout causes. */
  readonly configPath?: string;
}

export interface ServerPlacement {
  /** The server the stack's services run on (their role is monitoring). */
  readonly home: MonitoredServer;
  /** The servers a service runs on, by its role and placement. */
  readonly serversOf: (service: ServiceSpec) => readonly MonitoredServer[];
}

/** One instance of a service as the scraper or prober reaches it. */
export interface Located {
  readonly server: string;
  /** `host:port`: the service's name on the home server, the peer's private address elsewhere. */
  readonly address: string;
  readonly remote: boolean;
}

/** Where a problem of the servers' layout is reported when no server entry is named. */
export const SERVERS_PATH = "infra:servers";

/** The placement given, or one server, `hostname`, running everything. */
export function placementOf(servers: ServerPlacement | undefined, hostname: string): ServerPlacement {
  return servers ?? { home: { name: hostname }, serversOf: () => [{ name: hostname }] };
}

/** Every instance of `spec`, and how the home server reaches it on `port`. */
export function locate(placement: ServerPlacement, spec: ServiceSpec, port: number): Located[] {
  return placement
    .serversOf(spec)
    .map((server) =>
      server.name === placement.home.name
        ? { server: server.name, address: `${spec.name}:${port}`, remote: false }
        : { server: server.name, address: `${server.privateIp ?? "(no private address)"}:${peerPort(spec, port)}`, remote: true },
    );
}

/** Whether an instance of `spec` runs beside the monitoring stack, on the home server. */
export function runsAtHome(placement: ServerPlacement, spec: ServiceSpec): boolean {
  return placement.serversOf(spec).some((server) => server.name === placement.home.name);
}

/**
 * The network with a route off the host, when some service runs away from
 * home: what scrapes and probes it reaches it over the private network.
 */
export function peerEgress(placement: ServerPlacement, services: readonly ServiceSpec[], egress: string): string | undefined {
  const spread = services.some((other) => placement.serversOf(other).some((server) => server.name !== placement.home.name));
  return spread ? egress : undefined;
}

/** `networks` plus the one with a route off the host, when peers are reached over the private network. */
export function withEgress(networks: string[], egress: string | undefined): string[] {
  return egress === undefined || networks.includes(egress) ? networks : [...networks, egress];
}

/** The monitoring network plus one network of each service not already reachable. */
export function reachingNetworks(targets: readonly ServiceSpec[], monitoring: string): string[] {
  const networks = [monitoring];
  for (const target of targets) {
    if (!target.networks.some((network) => networks.includes(network)) && target.networks[0]) networks.push(target.networks[0]);
  }
  return networks;
}

/** The stack services that run on other servers too (exporters, Promtail), marked to be scraped there at their private address. */
export function publishedToPeers(placement: ServerPlacement, stack: readonly ServiceSpec[]): ServiceSpec[] {
  return stack.map((spec) => (locate(placement, spec, 0).some((instance) => instance.remote) ? { ...spec, reachableFromPeers: true } : spec));
}

/** The config key of the roles that put `server` where it is: its entry's roles, or the servers as a whole. */
export function rolesPath(placement: ServerPlacement, spec: ServiceSpec, server: string): string {
  const entry = placement.serversOf(spec).find((candidate) => candidate.name === server)?.configPath;
  return entry ? `${entry}.roles` : SERVERS_PATH;
}
