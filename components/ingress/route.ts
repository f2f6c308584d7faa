/** Which reverse proxy serves the routes; each has its own ingress component. */
export type IngressKind = "caddy" | "nginx" | "traefik";

/** A public name served by the ingress, proxied to one service's port. */
export interface Route {
  /** Fully qualified host name, e.g. n8n.example.com. */
  readonly hostname: string;
  /** Service name, which is also its DNS alias on the shared network. */
  readonly service: string;
  readonly port: number;
  /**
   * The host the proxy sends to: the alias of the service's current release
   * when it releases with zero downtime (components/container/release.ts),
   * so that a reload switches versions. The service name when absent.
   */
  readonly upstream?: string;
  /** Response headers of the stack's own, beside the ingress's security headers. */
  readonly headers?: ResponseHeaders;
  /**
   * Paths the proxy answers itself, beyond PROXY_BLOCKED_PATHS, so they never
   * reach the service from outside: in any case, percent-encoded, with
   * doubled slashes, a trailing slash or anything below them (E2).
   */
  readonly blockedPaths?: readonly string[];
}

/** The host a route's requests go to. */
export function upstreamHost(route: Route): string {
  return route.upstream ?? route.service;
}

/**
 * Who may pass a route's basic auth: one user, whose password is checked
 * against a bcrypt hash ($2y$, $2b$ or $2a$) held in a Pulumi secret. nginx
 * and Traefik read it from an htpasswd file the container writes when it
 * starts (components/ingress/basic-auth.ts); the hash is never in a config file.
 */
export interface RouteCredential {
  readonly user: string;
  /** Secret config key whose value is the bcrypt hash, e.g. `infra:monitoringAdminPasswordHash`. */
  readonly passwordHashSecret: string;
}

/** A route that asks for a password before anything reaches the service (admin UIs), as nginx and Traefik serve it. */
export interface ProtectedRoute extends Route {
  readonly basicAuth?: RouteCredential;
  /**
   * With basic auth: path prefixes served without the password, each ending
   * in `/` (n8n's production webhooks, which their callers reach by a path
   * of their own). Everything else still asks for it.
   */
  readonly publicPaths?: readonly string[];
}

/**
 * Prometheus' path, blocked at the proxy on every route: each service that
 * has metrics serves them there, and the monitoring stack scrapes them over
 * the Docker networks, never through the ingress. A public /metrics tells
 * anyone the versions, routes, users and load of the service (E2).
 */
export const PROXY_BLOCKED_PATHS: readonly string[] = ["/metrics"];

/** The paths a route's proxy answers itself: the ones every route blocks, then the route's own. */
export function blockedPathsOf(route: Pick<Route, "blockedPaths">): string[] {
  return [...new Set([...PROXY_BLOCKED_PATHS, ...(route.blockedPaths ?? [])])];
}

/** A path the proxies can match and block: segments of letters, digits, `.`, `_`, `~` and `-`. */
const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/**
 * The regular expression (RE2 and PCRE alike; the proxy makes it
 * case-insensitive) for a blocked path in every spelling a proxy may still
 * hand on after its own normalisation: slashes doubled or left encoded
 * (Traefik keeps `%2F` as it is), and anything after the last segment that
 * cannot continue its name (`/`, `;`, `.`, `%`), so `/metrics/`,
 * `/metrics;x` and `/metrics%2F` are blocked and `/metricsx` is not.
 */
export function blockedPathPattern(path: string): string {
  const segments = path
    .split("/")
    .filter(Boolean)
    .map((segment) => segment.replace(/[.~-]/g, (char) => (char === "." ? "\\." : char)));
  return `^(/|%2[fF])+${segments.join("(/|%2[fF])+")}([^a-zA-Z0-9_~-]|$)`;
}

/** Blocked and public paths that are not paths, and public paths on a route that asks for no password. */
export function pathProblems(route: Pick<ProtectedRoute, "hostname" | "blockedPaths" | "publicPaths"> & { readonly basicAuth?: object }): string[] {
  const problems: string[] = [];
  for (const path of route.blockedPaths ?? []) if (!PATH.test(path)) problems.push(`${route.hostname}: blocked path "${path}" is not a path such as /metrics`);
  for (const path of route.publicPaths ?? []) {
    if (!PATH.test(path.replace(/\/$/, "")) || !path.endsWith("/"))
      problems.push(`${route.hostname}: public path "${path}" is not a path prefix ending in / such as /webhook/`);
  }
  if ((route.publicPaths ?? []).length > 0 && !route.basicAuth)
    problems.push(`${route.hostname}: public paths are for a route behind basic auth; this one asks for no password anywhere`);
  return problems;
}

/**
 * A route's response headers of the stack's own (`infra:ingress.headers`),
 * sent beside the ones the ingress always sets.
 */
export type ResponseHeaders = readonly (readonly [string, string])[];
