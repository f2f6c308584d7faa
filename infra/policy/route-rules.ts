import type { ConfigFile, ServiceSpec } from "../../components/container/service-spec";
import { hostnamesBehindBasicAuth, type IngressProxy } from "../../components/ingress/protected-hostnames";
import type { Finding } from "./report";

/**
 * Images whose UI or API administers the platform and asks for no login of
 * its own: whoever reaches them reads every metric, log and alert, silences
 * alerts, or administers the database (Supabase Studio, postgres-meta).
 * Behind a public route without a password they are as good as published on
 * a public address, which C11 forbids for monitoring and databases.
 */
export const UNAUTHENTICATED_ADMIN_IMAGES: readonly string[] = [
  "prom/prometheus",
  "prom/alertmanager",
  "grafana/loki",
  "victoriametrics/victoria-metrics",
  "victoriametrics/vmalert",
  "supabase/studio",
  "supabase/postgres-meta",
];

/** Grafana asks for its login unless anonymous access is turned on. */
const ANONYMOUS_GRAFANA = { image: "grafana/grafana", variable: "GF_AUTH_ANONYMOUS_ENABLED" };

export function isUnauthenticatedAdminUI(service: Pick<ServiceSpec, "image" | "env">): boolean {
  if (UNAUTHENTICATED_ADMIN_IMAGES.includes(service.image.repository)) return true;
  const anonymous = service.env[ANONYMOUS_GRAFANA.variable];
  return service.image.repository === ANONYMOUS_GRAFANA.image && typeof anonymous === "string" && anonymous.toLowerCase() === "true";
}

export interface RoutedName {
  readonly hostname: string;
  readonly service: string;
}

/**
 * C11 on the ingress: every public name that reaches an admin UI without a
 * login must be behind basic auth, as the ingress's own configuration says
 * (read back by hostnamesBehindBasicAuth, the same way for Caddy, nginx and
 * Traefik). No waiver silences it (NEVER_WAIVED), and it names the route, not
 * a service that a waiver could sit next to.
 */
export function routeFindings(
  routes: readonly RoutedName[],
  services: readonly ServiceSpec[],
  proxy: IngressProxy,
  ingressFiles: readonly Pick<ConfigFile, "path" | "content">[],
): Finding[] {
  const guarded = hostnamesBehindBasicAuth(proxy, ingressFiles);
  return routes.flatMap((route) => {
    const target = services.find((service) => service.name === route.service);
    if (!target || !isUnauthenticatedAdminUI(target) || guarded.has(route.hostname)) return [];
    return [
      {
        rule: "C11",
        resource: `route ${route.hostname}`,
        unwaivable: true as const,
        message: `${route.hostname} serves ${target.name} (${target.image.repository}), an admin UI without a login of its own, and ${proxy} asks for no password there`,
      },
    ];
  });
}
