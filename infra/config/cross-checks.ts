/**
 * The rules of the stack configuration that span more than one value, run
 * once the schema has read each key. Each is a named check that reports at
 * the key path it concerns. A check reads only values that passed their own
 * schema, so that a value that failed is reported once, not again through
 * the checks that depend on it (V1).
 */
import { sshSourceBreadth } from "../../components/network/firewall-rules";
import { cidrContainsCIDR, isAssignableIn, isCIDR } from "../../components/network/ip-ranges";
import { NETWORK_ZONES } from "../../components/network/network-zones";
import { hasOwnKey } from "./field-schemas";
import { headerNameCheck, TOO_WIDE_FOR_SSH } from "./value-checks";
import { ROLES, type LoadBalancerConfig, type PrivateNetworkConfig, type Role, type ServerConfig } from "./schema";

export type Report = (path: string, message: string) => void;

/** Each CIDR may be narrow while the list is not: 0.0.0.0/1 and 128.0.0.0/1 are all of IPv4 (F1). */
export function checkAdminCidrsTogether(adminCidrs: unknown, report: Report): void {
  const readable = Array.isArray(adminCidrs) ? adminCidrs.filter((cidr): cidr is string => typeof cidr === "string" && isCIDR(cidr)) : [];
  const together = readable.length > 1 ? sshSourceBreadth(readable).tooWide : [];
  if (together.length > 0) report("infra:adminCidrs", `together they cover ${together.join(" and ")}: ${TOO_WIDE_FOR_SSH}`);
}

/** Data is protected unless the stack says it may be lost with it; how the stack or its environment is named decides nothing. */
export function checkProtection(protect: boolean, disposable: boolean, report: Report): void {
  if (!protect && !disposable) {
    report(
      "infra:protect",
      "false leaves the stack's volumes, buckets and servers deletable; only a stack declared disposable may run so: set infra:disposable: true if its data may be lost with it (as preprod's, restored from prod's backups), or remove infra:protect",
    );
  }
}

/** Unique names, no replica beside its primary, and every role the blueprint needs taken by a server. */
export function checkServers(
  servers: readonly (ServerConfig | undefined)[],
  blueprint: string | undefined,
  neededRoles: readonly Role[],
  report: Report,
): void {
  const seen = new Set<string>();
  servers.forEach((server, index) => {
    if (!server) return;
    if (seen.has(server.name)) report(`infra:servers[${index}].name`, `"${server.name}" is used by two servers; names must be unique`);
    if (server.roles.includes("replica") && server.roles.includes("data")) {
      report(
        `infra:servers[${index}].roles`,
        `"replica" and "data" on one server: the read replica would share its primary's disk and fail with it, and both would listen on the same PostgreSQL port; give the replica a server of its own`,
      );
    }
    seen.add(server.name);
  });
  // A server that failed to parse has unknown roles: the roles are checked
  // once every server was read, so that one bad value is one problem.
  if (blueprint && servers.every((server) => server !== undefined)) {
    const hosted = new Set(servers.flatMap((server) => server?.roles ?? []));
    for (const role of neededRoles) {
      if (!hosted.has(role)) report("infra:servers", `no server takes the role "${role}" that blueprint ${blueprint} needs (roles: ${ROLES.join(", ")})`);
    }
  }
}

/** The subnet the servers take addresses from lies inside the network's range. */
export function checkSubnetInRange(network: { ipRange?: unknown; subnet?: unknown }, report: Report): void {
  const { ipRange, subnet } = network;
  if (typeof ipRange === "string" && typeof subnet === "string" && !cidrContainsCIDR(ipRange, subnet))
    report("infra:privateNetwork.subnet", `"${subnet}" is not inside ipRange ${ipRange}`);
}

/** Rules read the samples a scrape brings; evaluating more often reads the same ones twice. */
export function checkMonitoringIntervals(intervals: { scrapeIntervalSeconds: number; evaluationIntervalSeconds: number }, report: Report): void {
  const { scrapeIntervalSeconds, evaluationIntervalSeconds } = intervals;
  if (evaluationIntervalSeconds < scrapeIntervalSeconds) {
    report(
      "infra:monitoring.evaluationIntervalSeconds",
      `${evaluationIntervalSeconds} is shorter than scrapeIntervalSeconds (${scrapeIntervalSeconds}); rules would read the same samples twice`,
    );
  }
}

/** HTTP header names ignore case, so `X-A` and `x-a` are one header given twice. */
export function checkHeaderCase(headers: unknown, report: Report): void {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) return;
  const seen = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    if (headerNameCheck(name) !== true) continue;
    const lower = name.toLowerCase();
    const first = seen.get(lower);
    if (first !== undefined) report(`infra:ingress.headers.${name}`, `is ${first} again in other letter case; HTTP header names ignore case`);
    else seen.set(lower, name);
  }
}

/**
 * Servers on a private network need fixed addresses inside its subnet, since
 * other servers are configured with them; a load balancer needs the network
 * to reach its targets. Existing VPSs cannot join a Hetzner network. A
 * network that was given but is invalid has been reported already; what
 * depends on it is then checked only as far as it can be without it.
 */
export function checkPrivateAddresses(
  servers: readonly (ServerConfig | undefined)[],
  given: PrivateNetworkConfig | "invalid" | undefined,
  loadBalancer: LoadBalancerConfig | undefined,
  report: Report,
): void {
  const network = given === "invalid" ? undefined : given;
  const taken = new Map<string, string>();
  const claim = (address: string, path: string) => {
    if (network && !isAssignableIn(network.subnet, address)) {
      report(path, `"${address}" is not an assignable address of subnet ${network.subnet} (the first address is Hetzner's gateway)`);
    }
    const owner = taken.get(address);
    if (owner) report(path, `"${address}" is already taken by ${owner}`);
    taken.set(address, path);
  };
  servers.forEach((server, index) => {
    if (!server) return;
    const path = `infra:servers[${index}]`;
    if (server.provider === "existing") {
      if (given) report(path, `server ${server.name} is an existing VPS and cannot join the Hetzner private network in infra:privateNetwork`);
      return;
    }
    if (server.privateIp === undefined) {
      if (given) report(`${path}.privateIp`, `is required when infra:privateNetwork is set${network ? ` (an address in ${network.subnet})` : ""}`);
      return;
    }
    if (!given) report(`${path}.privateIp`, "needs infra:privateNetwork to be set");
    else if (network?.networkZone && !zoneLocations(network.networkZone).includes(server.location)) {
      report(`${path}.location`, `"${server.location}" is not in network zone ${network.networkZone} (${zoneLocations(network.networkZone).join(", ")})`);
    }
    claim(server.privateIp, `${path}.privateIp`);
  });
  if (loadBalancer) {
    if (!given) report("infra:loadBalancer", "needs infra:privateNetwork: the balancer reaches its targets over it");
    else {
      claim(loadBalancer.privateIp, "infra:loadBalancer.privateIp");
      if (network && !zoneLocations(network.networkZone).includes(loadBalancer.location)) {
        report("infra:loadBalancer.location", `"${loadBalancer.location}" is not in network zone ${network.networkZone}`);
      }
    }
  }
}

function zoneLocations(zone: string): readonly string[] {
  return hasOwnKey(NETWORK_ZONES, zone) ? NETWORK_ZONES[zone]! : [];
}
