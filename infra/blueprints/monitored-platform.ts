import type { ServiceSpec } from "../../components/container/service-spec";
import type { HTTPCounter } from "../../components/monitoring/alert-rules";
import type { MonitoringDesign } from "../../components/monitoring/design";
import { adminRoutes, type AdminRoute } from "../../components/monitoring/admin-access";
import { observability } from "../../components/monitoring/observability";
import { adminAccessThrough, withMonitoringDefaults, type MonitoringSettings } from "../../components/monitoring/settings";
import {
  blueprintPath,
  withAdminRoutes,
  withStackIngress,
  withUpstreams,
  type BlueprintEnvironment,
  type IngressKind,
  type PlatformSpec,
  type RouteSpec,
} from "./blueprint";
import { monitoredServers } from "./monitored-servers";

/** What a blueprint's own services are built from, once the stack's monitoring choice is known. */
export interface PlatformContext {
  /** The stack's monitoring settings as this blueprint's ingress applies them. */
  readonly settings: MonitoringSettings;
  /** The admin UIs' routes, empty when they stay tunnelled. */
  readonly admin: readonly AdminRoute[];
  /** The blueprint's own routes with the admin routes among them. */
  readonly routes: readonly RouteSpec[];
}

export interface MonitoredPlatformInput {
  /** The blueprint's name: a problem of its monitoring design is reported as its own. */
  readonly blueprint: string;
  readonly environment: BlueprintEnvironment;
  readonly design: MonitoringDesign;
  /** The proxy in front: it decides whether `adminAccess: caddy` routes the admin UIs here. */
  readonly ingress: IngressKind;
  /** Container names are `<namePrefix>-<service>`. */
  readonly namePrefix: string;
  readonly routes: readonly RouteSpec[];
  readonly services: (context: PlatformContext) => ServiceSpec[];
  readonly httpCounters?: readonly HTTPCounter[];
  /** A seed's own metrics retention, over the stack's. */
  readonly retentionDays?: number;
}

/**
 * The part every generated-monitoring blueprint composes the same way: the
 * stack's admin access as its ingress applies it, the admin routes among the
 * blueprint's own, its services, and the monitoring stack over all of them,
 * placed on the servers the environment lays out.
 */
export function monitoredPlatform(input: MonitoredPlatformInput): Pick<PlatformSpec, "services" | "routes" | "monitoring" | "ingress" | "problems"> {
  const { environment, design } = input;
  const applied = adminAccessThrough(environment.monitoring ?? withMonitoringDefaults(), input.ingress);
  const settings = input.retentionDays === undefined ? applied : { ...applied, retentionDays: input.retentionDays };
  const admin = adminRoutes(design, settings);
  const routes = withUpstreams(withStackIngress(withAdminRoutes(input.routes, admin), environment.ingress), environment.upstreams);
  const platform = input.services({ settings, admin, routes });
  const servers = monitoredServers(environment);
  const monitoring = observability({
    design,
    designPath: blueprintPath(input.blueprint),
    settings,
    environment: environment.environment,
    hostname: servers.home.name,
    domain: environment.domain,
    services: platform,
    routes,
    containerName: (name) => `${input.namePrefix}-${name}`,
    released: Object.keys(environment.upstreams ?? {}),
    ...(input.httpCounters ? { httpCounters: input.httpCounters } : {}),
    servers,
  });
  return {
    services: [...platform, ...monitoring.services],
    routes,
    monitoring: monitoring.plan,
    ingress: input.ingress,
    ...(monitoring.problems.length > 0 ? { problems: monitoring.problems } : {}),
  };
}
