import type { PortSpec } from "../container/service-spec";
import { ADMIN_UI_NAMES, type AdminUIName, type MonitoringDesign } from "./design";
import { PORTS, portsOf, storeService } from "./ports";
import { routesAdminUIs, type MonitoringSettings } from "./settings";

/**
 * How the monitoring stack's admin UIs (Grafana, the metrics store,
 * Alertmanager, Loki) are reached: through a route of the ingress behind a
 * password, or on 127.0.0.1 for an SSH tunnel (seed 001).
 */

/** An admin UI, reached through an authenticated route or an SSH tunnel (seed 001). */
export interface AdminUI {
  readonly ui: AdminUIName;
  readonly service: string;
  readonly port: number;
  /** Its name under the stack's domain when routed through the ingress. */
  readonly subdomain: string;
}

export interface AdminRoute {
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
  readonly basicAuth: true;
}

/** A route the ingress serves, as the monitoring stack reads it; `basicAuth` is set (true, or a route's own credential) where it asks for a password. */
export interface IngressRoute {
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
  readonly basicAuth?: boolean | object;
}

/** An admin UI as one stack reaches it. */
export interface ReachedAdminUI extends AdminUI {
  /** The ingress's route to it: an admin route the stack asked for, or a blueprint's own (VPAI's Grafana). */
  readonly route?: IngressRoute;
  /** Its port is published on 127.0.0.1 only, for `ssh -L`: the stack gives it no admin route. */
  readonly tunnelled: boolean;
  /** Where a browser reaches it; the links it sends (alerts, Grafana's root URL) point there. */
  readonly url: string;
}

/** Admin UIs without a login of their own: routed only behind the ingress's basic_auth. */
const UNAUTHENTICATED_UIS: readonly AdminUIName[] = ["metrics", "alerts", "logs"];

/** The admin UIs of a design; when the stack routes them (`adminAccess` ingress, or caddy behind Caddy) each becomes a route. */
export function adminUIs(design: MonitoringDesign): AdminUI[] {
  const store = storeService(design);
  return [
    { ui: "grafana", service: "grafana", port: portsOf(design).grafana, subdomain: "grafana" },
    { ui: "metrics", service: store.name, port: store.port, subdomain: "metrics" },
    { ui: "alerts", service: "alertmanager", port: PORTS.alertmanager, subdomain: "alerts" },
    { ui: "logs", service: "loki", port: PORTS.loki, subdomain: "logs" },
  ];
}

/** Whether the stack gives `ui` a route: it asked for routes (adminAccess), and the design lets the ingress serve that UI. */
export function routedByStack(design: MonitoringDesign, settings: Pick<MonitoringSettings, "adminAccess">, ui: AdminUIName): boolean {
  return routesAdminUIs(settings) && (design.routableUIs ?? ADMIN_UI_NAMES).includes(ui);
}

/** The routes the ingress adds for the admin UIs: none for those reached through a tunnel. */
export function adminRoutes(design: MonitoringDesign, settings: MonitoringSettings): AdminRoute[] {
  return adminUIs(design)
    .filter((ui) => routedByStack(design, settings, ui.ui))
    .map((ui) => ({ subdomain: ui.subdomain, service: ui.service, port: ui.port, basicAuth: true }));
}

/**
 * Each admin UI with the route that serves it, if any, and its URL. A UI is
 * routed when the ingress serves a name for it: the admin routes the stack
 * asked for, or a blueprint's own route (to Grafana).
 */
export function reachedAdminUIs(input: {
  readonly design: MonitoringDesign;
  readonly settings: MonitoringSettings;
  readonly routes: readonly IngressRoute[];
  readonly domain: string;
}): ReachedAdminUI[] {
  return adminUIs(input.design).map((ui) => {
    const route = input.routes.find((candidate) => candidate.service === ui.service && candidate.port === ui.port);
    return {
      ...ui,
      ...(route ? { route } : {}),
      tunnelled: !routedByStack(input.design, input.settings, ui.ui),
      url: route ? `https://${route.subdomain}.${input.domain}` : `http://127.0.0.1:${ui.port}`,
    };
  });
}

/** A port of a stack service: on the loopback address when an admin UI listens there for `ssh -L` (seed 001), else unpublished. */
export function publishedPort(uis: readonly ReachedAdminUI[], service: string, port: number): PortSpec {
  const tunnelled = uis.some((ui) => ui.service === service && ui.port === port && ui.tunnelled);
  return tunnelled ? { container: port, publish: { host: port, address: "127.0.0.1" } } : { container: port };
}

/** The URL of an admin UI, as the links it sends show it. */
export function externalURL(uis: readonly ReachedAdminUI[], ui: AdminUIName): string {
  return uis.find((candidate) => candidate.ui === ui)!.url;
}

/** Routes that serve a UI without a login of its own (the store, Alertmanager, Loki) and ask for no password; Grafana asks for its own. */
export function unprotectedAdminRoutes(uis: readonly ReachedAdminUI[]): string[] {
  return uis
    .filter((ui) => ui.route !== undefined && !ui.route.basicAuth && UNAUTHENTICATED_UIS.includes(ui.ui))
    .map((ui) => `route ${ui.route!.subdomain} serves ${ui.service}, which has no login, without basic_auth`);
}

/** How each admin UI is reached, for the plan: a URL behind basic_auth or its own login, or a 127.0.0.1 port for an SSH tunnel. */
export function adminAccessSummary(
  uis: readonly ReachedAdminUI[],
  adminUser: string,
): { readonly ui: string; readonly service: string; readonly access: string }[] {
  return uis.map((ui) => ({
    ui: ui.ui,
    service: ui.service,
    access: ui.route ? `${ui.url} (${ui.route.basicAuth ? `basic_auth as ${adminUser}` : "its own login"})` : `127.0.0.1:${ui.port} (SSH tunnel)`,
  }));
}
