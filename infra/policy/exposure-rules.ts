import type { ConfigFile, ServiceSpec } from "../../components/container/service-spec";
import { ingressAccess, type HostAccess, type IngressProxy } from "../../components/ingress/route-access";
import type { Finding } from "./report";
import type { RoutedName } from "./route-rules";

/**
 * E1 and E2: what a public route lets anyone reach without a password, asked
 * of the proxy's own configuration (route-access.ts) for every spelling of
 * the path a proxy or a service may take for the same one.
 */

export interface RoutedPort extends RoutedName {
  readonly port: number;
}

/** Does the image's repository name this one, with or without a registry in front (docker.n8n.io/n8nio/n8n)? */
export function isImage(repository: string, name: string): boolean {
  return repository === name || repository.endsWith(`/${name}`);
}

/**
 * Images whose owner account goes to the first visitor, and where the claim
 * is made ("/": anywhere in the UI). Known by name, so a service that loses
 * its `firstVisitorSetup` declaration is still judged. n8n 1.x creates its
 * owner from the first POST to /rest/owner/setup (its /setup page sends it);
 * only n8n releases after 1.x can take the owner from the environment
 * (N8N_INSTANCE_OWNER_MANAGED_BY_ENV), and the pinned image predates them.
 */
export const FIRST_VISITOR_IMAGES: Readonly<Record<string, readonly string[]>> = {
  "n8nio/n8n": ["/rest/owner/setup", "/setup"],
  "open-webui/open-webui": ["/"],
  "louislam/uptime-kuma": ["/"],
  "portainer/portainer-ce": ["/"],
  "metabase/metabase": ["/"],
};

/** Where a service's first visitor claims it, or undefined for a service without such a setup. */
export function setupPathsOf(service: Pick<ServiceSpec, "image" | "firstVisitorSetup">): readonly string[] | undefined {
  const known = Object.entries(FIRST_VISITOR_IMAGES).find(([name]) => isImage(service.image.repository, name))?.[1];
  const declared = service.firstVisitorSetup ? (service.firstVisitorSetup.paths ?? ["/"]) : undefined;
  if (!known && !declared) return undefined;
  return [...new Set([...(declared ?? []), ...(known ?? [])])];
}

const truthy = (value: unknown) => typeof value === "string" && /^(true|1|yes|on)$/i.test(value.trim());
const falsy = (value: unknown) => typeof value === "string" && /^(false|0|no|off)$/i.test(value.trim());

/**
 * Images that serve Prometheus metrics on the port their UI or API listens
 * on, unless their environment turns them off: Grafana (on unless
 * GF_METRICS_ENABLED is false), n8n (with N8N_METRICS), and the monitoring
 * stack's own servers.
 */
const METRICS_ON_MAIN_PORT: readonly { readonly image: string; readonly serves: (env: ServiceSpec["env"]) => boolean }[] = [
  { image: "grafana/grafana", serves: (env) => !falsy(env.GF_METRICS_ENABLED) },
  { image: "n8nio/n8n", serves: (env) => truthy(env.N8N_METRICS) },
  { image: "prom/prometheus", serves: () => true },
  { image: "prom/alertmanager", serves: () => true },
  { image: "grafana/loki", serves: () => true },
  { image: "victoriametrics/victoria-metrics", serves: () => true },
  { image: "victoriametrics/vmalert", serves: () => true },
];

/** The metrics paths a service serves on a port: the one it declares there, and the one its image is known to serve. */
export function metricsPathsOn(service: Pick<ServiceSpec, "image" | "env" | "metrics">, port: number): string[] {
  const declared = service.metrics && service.metrics.port === port ? [service.metrics.path] : [];
  const known = METRICS_ON_MAIN_PORT.some((entry) => isImage(service.image.repository, entry.image) && entry.serves(service.env)) ? ["/metrics"] : [];
  return [...new Set([...declared, ...known])];
}

/**
 * The spellings of a path that a proxy may route apart while a service
 * serves them all the same: a trailing slash, a path below, a `;` parameter
 * or an extension (frameworks that map /metrics.json or /metrics;x to
 * /metrics), an encoded slash (Traefik leaves `%2F` as it is), other cases
 * (Express and Caddy ignore case), and a doubled slash.
 */
export function spellingsOf(path: string): string[] {
  if (path === "/") return ["/", "/x"];
  const base = path.replace(/\/$/, "");
  const capitalised = base.replace(/\/([a-z])/g, (_match, letter: string) => `/${letter.toUpperCase()}`);
  return [
    ...new Set([
      path,
      `${base}/`,
      `${base}/x`,
      `${base};x`,
      `${base}.json`,
      `${base}%2F`,
      base.toUpperCase(),
      `${base.toUpperCase()}/`,
      capitalised,
      `/${base}`,
    ]),
  ];
}

const lower = (path: string) => path.toLowerCase();

/**
 * The requests that reach `scope` (a path and everything below it) without
 * a password: its own spellings, and every path the configuration names
 * below it (a public prefix inside the scope), or anything at all when the
 * configuration serves paths openly that no named path stands for.
 */
export function openWithin(access: HostAccess, scope: string): string[] {
  const inside = access.namedPaths.filter((named) => lower(named).startsWith(lower(scope.replace(/\/?$/, "/"))) || lower(named) === lower(scope));
  const candidates = [...spellingsOf(scope), ...inside.flatMap((named) => [named, `${named.replace(/\/$/, "")}/x`])];
  const open = candidates.filter((path) => access.verdict(path) === "open");
  return open.length === 0 && access.openBeyondNamed ? [`${scope} (the configuration serves paths openly that it does not name)`] : open;
}

/** The requests for `path` itself, in any spelling, that reach the service without a password. */
export function openSpellings(access: HostAccess, path: string): string[] {
  return spellingsOf(path).filter((spelling) => access.verdict(spelling) === "open");
}

function serviceOf(services: readonly ServiceSpec[], name: string): ServiceSpec | undefined {
  return services.find((service) => service.name === name);
}

/**
 * E1: a public route to a service whose owner account goes to its first
 * visitor leaves the setup paths behind the ingress's password. E2: no
 * metrics path of the routed port is served without a password, in any
 * spelling. Both are the route's findings, and never waived.
 */
export function exposureFindings(
  routes: readonly RoutedPort[],
  services: readonly ServiceSpec[],
  proxy: IngressProxy,
  ingressFiles: readonly Pick<ConfigFile, "path" | "content">[],
): Finding[] {
  const accesses = ingressAccess(proxy, ingressFiles);
  return routes.flatMap((route) => {
    const target = serviceOf(services, route.service);
    if (!target) return [];
    // A name the ingress configuration does not serve is no exposure of the ingress (C11 asks about names it should serve).
    const access = accesses.get(route.hostname);
    if (!access) return [];
    const resource = `route ${route.hostname}`;
    const findings: Finding[] = [];
    for (const scope of setupPathsOf(target) ?? []) {
      const open = openWithin(access, scope);
      if (open.length > 0) {
        findings.push({
          rule: "E1",
          resource,
          unwaivable: true,
          message: `${route.hostname} serves ${target.name} (${target.image.repository}), whose owner account goes to its first visitor, and ${proxy} serves ${scope === "/" ? "it" : scope} there without a password (${open.slice(0, 3).join(", ")})`,
        });
      }
    }
    for (const path of metricsPathsOn(target, route.port)) {
      const open = openSpellings(access, path);
      if (open.length > 0) {
        findings.push({
          rule: "E2",
          resource,
          unwaivable: true,
          message: `${route.hostname} serves ${target.name}'s metrics at ${path} to anyone: ${proxy} passes ${open.slice(0, 4).join(", ")} to port ${route.port} without a password`,
        });
      }
    }
    return findings;
  });
}
