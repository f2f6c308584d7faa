import { formatRange, parseCIDR } from "../network/ip-ranges";

/**
 * The Docker socket proxy's HAProxy configuration (C14).
 *
 * A read-only bind of docker.sock still hands out the whole Engine API:
 * connecting to a socket is not a write, so `:ro` stops nothing. One
 * container per host holds the socket instead, and the services that read
 * the API reach it over HTTP, each on a Docker network it shares with the
 * proxy alone. The proxy knows a consumer by the subnet its request comes
 * from and lets through GET and HEAD on the read endpoints that consumer
 * declared; every other call is answered 403 and never reaches the daemon.
 */

/** A Docker object id or name: no slash, dot-dot or percent-encoding can make it another path. */
const ID = "[A-Za-z0-9][A-Za-z0-9_.-]*";
/** An image reference as the Go client puts it in the path (`registry:5000/org/app:1.2@sha256:…`): segments that cannot be `.` or `..`. */
const REFERENCE_SEGMENT = "[A-Za-z0-9_][A-Za-z0-9_.:@-]*";
const REFERENCE = `${REFERENCE_SEGMENT}(/${REFERENCE_SEGMENT})*`;
/** Clients prefix every path with the API version they negotiated (`/v1.43/containers/json`), or none. */
const VERSION_PREFIX = "(/v[0-9]+[.][0-9]+)?";

/**
 * The read endpoints a consumer may be given, by what it reads with them:
 * paths after the version prefix, as extended regular expressions (the
 * subset PCRE and POSIX share, so any HAProxy build reads them alike).
 */
export const DOCKER_READ_ENDPOINTS = {
  /** Version negotiation: every Go client pings first. */
  ping: ["_ping"],
  version: ["version"],
  /** Host facts: storage driver, cgroup version, kernel, counts. */
  info: ["info"],
  /** The container list: names, images, labels, networks. */
  "container-list": ["containers/json"],
  /** One container's configuration, its environment (the secrets it was given) included. */
  "container-inspect": [`containers/${ID}/json`],
  /** One container's output. */
  "container-logs": [`containers/${ID}/logs`],
  /** One image's metadata. */
  "image-inspect": [`images/${REFERENCE}/json`],
  /** The network list. */
  "network-list": ["networks"],
} as const satisfies Record<string, readonly string[]>;

export type DockerReadEndpoint = keyof typeof DOCKER_READ_ENDPOINTS;

export const DOCKER_READ_ENDPOINT_NAMES = Object.keys(DOCKER_READ_ENDPOINTS) as DockerReadEndpoint[];

export interface DockerAPIConsumer {
  /** The service's name: labels its rules in the configuration. */
  readonly name: string;
  /** The IPv4 subnet of the network it shares with the proxy alone. */
  readonly subnet: string;
  readonly endpoints: readonly DockerReadEndpoint[];
}

export interface DockerAPIProxyConfigInput {
  readonly consumers: readonly DockerAPIConsumer[];
  /** Where the proxy listens: every address of the container when `address` is absent. */
  readonly listen: { readonly address?: string; readonly port: number };
  /** The Docker socket, inside the proxy's container. */
  readonly socket: string;
  /**
   * A group HAProxy switches to at start, keeping root's user id (the
   * socket's owner). The kernel marks a process that changed its group
   * non-dumpable, so root in another container, even one given the host's
   * /proc, cannot open /proc/<pid>/root and reach the socket through it.
   * Needs CAP_SETGID; absent, HAProxy keeps its group.
   */
  readonly group?: number;
}

/** The path pattern of a set of endpoints, anchored, with or without the version prefix. */
export function endpointPattern(endpoints: readonly DockerReadEndpoint[]): string {
  const paths = [...new Set(endpoints)].flatMap((endpoint) => DOCKER_READ_ENDPOINTS[endpoint]);
  return `^${VERSION_PREFIX}/(${paths.join("|")})$`;
}

/** An ACL name from a service name: HAProxy takes letters, digits, `-`, `_`, `.` and `:`. */
function aclName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * The configuration. Rules are evaluated in order and the first `allow`
 * wins; the last rule refuses whatever none allowed. Methods are compared as
 * written (HTTP methods are case-sensitive), so `post` or `get` is refused
 * like any other method; a path is matched as sent, before any decoding, so
 * `//containers/create`, `/./`, `/../` or `%2F` match no allowed path.
 */
export function dockerAPIProxyConfig(input: DockerAPIProxyConfigInput): string {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const consumer of input.consumers) {
    if (names.has(aclName(consumer.name))) problems.push(`consumer ${consumer.name} is listed twice`);
    names.add(aclName(consumer.name));
    const range = parseCIDR(consumer.subnet);
    // Written plainly, so HAProxy reads the same network the policy does.
    if (range?.family !== "ipv4" || formatRange(range) !== consumer.subnet)
      problems.push(`consumer ${consumer.name}: ${consumer.subnet} is not an IPv4 network written plainly (172.31.252.0/28)`);
    if (consumer.endpoints.length === 0) problems.push(`consumer ${consumer.name} declares no endpoint`);
    for (const endpoint of consumer.endpoints)
      if (!(endpoint in DOCKER_READ_ENDPOINTS)) problems.push(`consumer ${consumer.name}: unknown endpoint ${endpoint}`);
  }
  if (problems.length > 0) throw new Error(`Docker socket proxy: ${problems.join("; ")}`);

  const consumerRules = input.consumers.flatMap((consumer) => {
    const name = aclName(consumer.name);
    return [
      `  acl from_${name} src ${consumer.subnet}`,
      `  acl reads_of_${name} path_reg '${endpointPattern(consumer.endpoints)}'`,
      `  http-request allow if read_method from_${name} reads_of_${name}`,
    ];
  });
  return [
    "# Generated by components/container/docker-api-proxy-config.ts (C14): GET and HEAD",
    "# on each consumer's read endpoints reach the Docker socket; every other call is 403.",
    "global",
    // A handful of clients: a log stream per container at most, from one thread.
    "  maxconn 128",
    "  nbthread 1",
    ...(input.group === undefined ? [] : [`  gid ${input.group}`]),
    // Every call, refused ones included, in the container's log.
    "  log stdout format raw local0 info",
    "",
    "defaults",
    "  mode http",
    "  log global",
    "  option httplog",
    "  option dontlognull",
    "  timeout connect 5s",
    "  timeout http-request 10s",
    // Log and event streams stay open while a container is quiet; a client reconnects after a timeout.
    "  timeout client 1h",
    "  timeout server 1h",
    "",
    "frontend docker-api",
    `  bind ${input.listen.address ?? ""}:${input.listen.port}`,
    "  acl read_method method GET HEAD",
    // The proxy's own health check pings the daemon from inside its container.
    "  acl from_self src 127.0.0.1",
    `  acl ping path_reg '${endpointPattern(["ping"])}'`,
    "  http-request allow if read_method from_self ping",
    ...consumerRules,
    "  http-request deny deny_status 403",
    "  default_backend docker",
    "",
    "backend docker",
    `  server docker ${input.socket}`,
    "",
  ].join("\n");
}
