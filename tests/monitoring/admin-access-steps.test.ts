import { describe, expect, it } from "vitest";
import {
  adminAccessSummary,
  externalURL,
  publishedPort,
  reachedAdminUIs,
  unprotectedAdminRoutes,
  type IngressRoute,
} from "../../components/monitoring/admin-access";
import { withMonitoringDefaults, type AdminAccess } from "../../components/monitoring/settings";
import { FASTAPI_MONITORING } from "../../infra/blueprints/fastapi";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { PROMETHEUS_DESIGN } from "./support";

/** How the admin UIs are reached, step by step: the route to each, its port, its URL, and what the plan says of it. */

const uisOf = (adminAccess: AdminAccess, routes: readonly IngressRoute[], design = PROMETHEUS_DESIGN) =>
  reachedAdminUIs({ design, settings: withMonitoringDefaults({ adminAccess }), routes, domain: "example.com" });

describe("reachedAdminUIs", () => {
  it("finds each UI's route by service and port, and gives the rest a loopback URL", () => {
    const uis = uisOf("tunnel", [
      { subdomain: "dash", service: "grafana", port: 3000 },
      { subdomain: "other", service: "prometheus", port: 9091 },
    ]);
    expect(uis.map((ui) => [ui.ui, ui.url, ui.tunnelled])).toEqual([
      ["grafana", "https://dash.example.com", true],
      // A route to another port of the store is not the store's UI.
      ["metrics", "http://127.0.0.1:9090", true],
      ["alerts", "http://127.0.0.1:9093", true],
      ["logs", "http://127.0.0.1:3100", true],
    ]);
  });

  it("a UI the design keeps off the ingress stays tunnelled whatever the stack asks (VPAI routes Grafana only)", () => {
    const uis = uisOf("ingress", [], VPAI_MONITORING);
    expect(uis.filter((ui) => !ui.tunnelled).map((ui) => ui.ui)).toEqual(["grafana"]);
  });

  it("takes a moved port from the design (seed 000's Grafana on 3001)", () => {
    const uis = uisOf("tunnel", [], { ...FASTAPI_MONITORING, ports: { grafana: 3001 } });
    expect(externalURL(uis, "grafana")).toBe("http://127.0.0.1:3001");
  });
});

describe("publishedPort", () => {
  it.each<[AdminAccess, string, number, object]>([
    ["tunnel", "alertmanager", 9093, { container: 9093, publish: { host: 9093, address: "127.0.0.1" } }],
    // Another port of a UI's service is not the UI.
    ["tunnel", "alertmanager", 9094, { container: 9094 }],
    ["tunnel", "vmalert", 8880, { container: 8880 }],
    ["ingress", "alertmanager", 9093, { container: 9093 }],
  ])("adminAccess %s publishes %s:%i as %j", (adminAccess, service, port, expected) => {
    expect(publishedPort(uisOf(adminAccess, []), service, port)).toEqual(expected);
  });
});

describe("unprotectedAdminRoutes", () => {
  it.each<[string, IngressRoute, string[]]>([
    ["Loki without a password", { subdomain: "logs", service: "loki", port: 3100 }, ["route logs serves loki, which has no login, without basic_auth"]],
    [
      "the store with basicAuth false",
      { subdomain: "m", service: "prometheus", port: 9090, basicAuth: false },
      ["route m serves prometheus, which has no login, without basic_auth"],
    ],
    ["Alertmanager behind the admin password", { subdomain: "alerts", service: "alertmanager", port: 9093, basicAuth: true }, []],
    [
      "Alertmanager behind a route's own credential",
      { subdomain: "alerts", service: "alertmanager", port: 9093, basicAuth: { user: "ops", passwordHashSecret: "infra:x" } },
      [],
    ],
    ["Grafana, which asks for its own login", { subdomain: "grafana", service: "grafana", port: 3000 }, []],
  ])("%s", (_case, route, expected) => {
    expect(unprotectedAdminRoutes(uisOf("tunnel", [route]))).toEqual(expected);
  });
});

describe("adminAccessSummary", () => {
  it("says how each UI is reached: behind basic_auth as the admin user, its own login, or a tunnel", () => {
    const uis = uisOf("ingress", [
      { subdomain: "grafana", service: "grafana", port: 3000 },
      { subdomain: "metrics", service: "prometheus", port: 9090, basicAuth: true },
    ]);
    expect(adminAccessSummary(uis, "ops").map((entry) => entry.access)).toEqual([
      "https://grafana.example.com (its own login)",
      "https://metrics.example.com (basic_auth as ops)",
      "127.0.0.1:9093 (SSH tunnel)",
      "127.0.0.1:3100 (SSH tunnel)",
    ]);
  });
});
