import type { Role } from "../../components/compute/server-spec";
import type { NetworkSpec } from "../../components/container/network-spec";
import type { ServiceSpec } from "../../components/container/service-spec";
import type { IngressKind, ProtectedRoute, ResponseHeaders, RouteCredential } from "../../components/ingress/route";
import type { BalancerInFront } from "../../components/ingress/nginx-conf";
import type { AdminRoute } from "../../components/monitoring/admin-access";
import type { MonitoringPlan } from "../../components/monitoring/observability";
import type { MonitoringProblem } from "../../components/monitoring/problem";
import { ADMIN_PASSWORD_HASH_SECRET, type MonitoringSettings } from "../../components/monitoring/settings";
import type { SecretDeclaration, StackIngress } from "../config/schema";

/** A public name under the stack's domain, served by the ingress. */
export interface RouteSpec {
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
  /** The host the ingress proxies to when it is not the service's name: its current release's alias (withUpstreams). */
  readonly upstream?: string;
  /** Response headers of the stack's own (withStackIngress). */
  readonly headers?: ResponseHeaders;
  /**
   * The ingress asks for a password first (admin UIs). `true`: the stack's
   * monitoring admin, `infra:monitoring.adminUser`, whose password Caddy
   * hashes from infra:monitoringAdminPassword and nginx and Traefik check
   * against infra:monitoringAdminPasswordHash. A credential: a user and
   * bcrypt-hash secret of the route's own (Supabase Studio's).
   */
  readonly basicAuth?: boolean | RouteCredential;
  /** With basicAuth: path prefixes, each ending in `/`, served without the password (n8n's webhooks). */
  readonly publicPaths?: readonly string[];
}

/**
 * The blueprint's routes with the admin routes the stack asked for. An admin
 * route takes the place of a blueprint's own route of the same name: Grafana
 * keeps its login, behind the ingress's password as well.
 */
export function withAdminRoutes(routes: readonly RouteSpec[], admin: readonly AdminRoute[]): RouteSpec[] {
  const taken = new Set(admin.map((route) => route.subdomain));
  return [...routes.filter((route) => !taken.has(route.subdomain)), ...admin];
}

/** What every ingress takes of a route but its credential: its name under the domain, where it goes, its headers and public paths. */
export function proxiedRoute(route: RouteSpec, domain: string): Omit<ProtectedRoute, "basicAuth"> {
  return {
    hostname: `${route.subdomain}.${domain}`,
    service: route.service,
    port: route.port,
    ...(route.upstream ? { upstream: route.upstream } : {}),
    ...(route.headers ? { headers: route.headers } : {}),
    ...(route.publicPaths ? { publicPaths: route.publicPaths } : {}),
  };
}

/** A route as nginx and Traefik serve it: a credential is a bcrypt-hash secret, so `true` is the monitoring admin's hash. */
export function protectedRoute(route: RouteSpec, domain: string, adminUser: string): ProtectedRoute {
  const credential = route.basicAuth === true ? { user: adminUser, passwordHashSecret: ADMIN_PASSWORD_HASH_SECRET } : route.basicAuth || undefined;
  return { ...proxiedRoute(route, domain), ...(credential ? { basicAuth: credential } : {}) };
}

/**
 * The blueprint's routes with the stack's own (`infra:ingress`): further names
 * for services the blueprint routes, on the same port unless given, and the
 * stack's response headers on every route. A route to a service the
 * blueprint does not route, or under a name already routed, is left out
 * here; the platform model reports it (stackRouteProblems).
 */
export function withStackIngress(routes: readonly RouteSpec[], ingress: StackIngress | undefined): RouteSpec[] {
  if (!ingress) return [...routes];
  const taken = new Set(routes.map((route) => route.subdomain));
  const added = ingress.routes.flatMap((route) => {
    const port = route.port ?? routes.find((existing) => existing.service === route.service)?.port;
    if (port === undefined || !routes.some((existing) => existing.service === route.service) || taken.has(route.subdomain)) return [];
    taken.add(route.subdomain);
    return [{ subdomain: route.subdomain, service: route.service, port }];
  });
  const headers = Object.entries(ingress.headers).sort(([a], [b]) => a.localeCompare(b));
  return [...routes, ...added].map((route) => (headers.length > 0 ? { ...route, headers } : route));
}

/**
 * Routes to services that release with zero downtime go to their current
 * release's alias, the one host that a reload of the ingress switches.
 */
export function withUpstreams(routes: readonly RouteSpec[], upstreams: Readonly<Record<string, string>> = {}): RouteSpec[] {
  return routes.map((route) => (upstreams[route.service] ? { ...route, upstream: upstreams[route.service]! } : route));
}

/** Where a problem of a blueprint's own choices is reported (its monitoring design, say), as the platform model's spec checks name it. */
export function blueprintPath(name: string): string {
  return `blueprint ${name}`;
}

export interface BucketSpec {
  /** Suffix of the physical name: `<bucketPrefix>-<key>`. */
  readonly key: string;
  readonly purpose: string;
}

/** A server as a blueprint sees it: its roles, and its address on the private network if it has one. */
export interface ServerLayout {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly privateIp?: string;
}

/** What a blueprint needs to know of the environment; everything else is its own. */
export interface BlueprintEnvironment {
  readonly domain: string;
  readonly environment: string;
  /**
   * The stack's servers, for blueprints that span several: a replica exists
   * only where a server takes the replica role, and Prometheus scrapes peers
   * at their private addresses. Absent means one server.
   */
  readonly servers?: readonly ServerLayout[];
  /** "seed" when absent. */
  readonly memoryProfile?: MemoryProfile;
  /** The stack's `infra:monitoring`; the defaults when absent. */
  readonly monitoring?: MonitoringSettings;
  /**
   * The load balancer in front of the ingress servers, when the stack has
   * one: its private address, and who may reach the ingress through it
   * (the platform model decides both).
   */
  readonly loadBalancer?: BalancerInFront;
  /**
   * The upstream host of each service that releases with zero downtime: its
   * current release's alias (components/container/release.ts). The platform
   * model decides it from a first build; the ingress proxies there, and the
   * monitoring matches the service's containers by pattern.
   */
  readonly upstreams?: Readonly<Record<string, string>>;
  /** The stack's own routes and response headers (`infra:ingress`). */
  readonly ingress?: StackIngress;
}

export type { IngressKind };

/** A platform as data: the blueprint's answer for one environment. */
export interface PlatformSpec {
  readonly networks: readonly NetworkSpec[];
  readonly services: readonly ServiceSpec[];
  readonly routes: readonly RouteSpec[];
  readonly buckets: readonly BucketSpec[];
  /** What the monitoring stack scrapes, probes and alerts on; absent for a platform without one. */
  readonly monitoring?: MonitoringPlan;
  /** The proxy of the service with the ingress role; Caddy when absent. */
  readonly ingress?: IngressKind;
  /** What a load balancer probes on each server running the ingress (plain HTTP, answered by the proxy itself). */
  readonly healthCheck?: HealthCheckSpec;
  /** What keeps this platform from being built as asked (its monitoring stack's problems), with the setting that causes each; absent when nothing does. */
  readonly problems?: readonly MonitoringProblem[];
}

export interface HealthCheckSpec {
  readonly port: number;
  readonly path: string;
}

/**
 * Sizing for a smaller server than the seed's, e.g. preprod's 4 GB CX23
 * mirroring a 16 GB production box: the blueprint builds with
 * `memoryProfile: "compact"` (limits, and the settings that follow from them
 * such as Redis maxmemory). The plan uses it only when the seed's limits do
 * not fit, and says so.
 */
export interface CompactSizing {
  readonly systemReserveMb: number;
}

/** Which memory limits a build uses: the seed's, or the blueprint's compact ones. */
export type MemoryProfile = "seed" | "compact";

/** The servers a service with this role and placement runs on (see Placement in service-spec.ts). */
export function serversTaking<T extends { readonly roles: readonly Role[] }>(
  servers: readonly T[],
  role: Role,
  placement: "first" | "each" | "host" = "first",
): T[] {
  if (placement === "host") return [...servers];
  const candidates = servers.filter((server) => server.roles.includes(role));
  return placement === "each" ? candidates : candidates.slice(0, 1);
}

export interface Blueprint {
  readonly name: string;
  readonly title: string;
  /** The seed document it was built from. */
  readonly seed: string;
  /** Prefix of container, network and volume names on the host. */
  readonly namePrefix: string;
  readonly secrets: readonly SecretDeclaration[];
  /** Roles its services take; the stack's servers must cover them. */
  readonly roles: readonly Role[];
  /** RAM kept for the OS, Docker and page cache when budgeting containers. */
  readonly systemReserveMb: number;
  readonly compact?: CompactSizing;
  build(environment: BlueprintEnvironment): PlatformSpec;
}
