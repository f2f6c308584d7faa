import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../components/monitoring/admin-access";
import {
  ADMIN_PASSWORD_HASH_SECRET,
  ADMIN_PASSWORD_SECRET,
  adminAccessThrough,
  monitoringSecrets,
  routesAdminUIs,
  withMonitoringDefaults,
  type AdminAccess,
} from "../../components/monitoring/settings";
import { protectedRoute, withAdminRoutes } from "../../infra/blueprints/blueprint";
import type { IngressKind } from "../../components/ingress/route";
import { FASTAPI_MONITORING } from "../../infra/blueprints/fastapi";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";

/**
 * `infra:monitoring.adminAccess` across the three ingresses: `ingress`
 * routes the admin UIs through any of them, `caddy` (the older name) only
 * through Caddy, `tunnel` through none; and the secret each choice needs.
 */

describe("which ingress routes the admin UIs", () => {
  it.each<[AdminAccess, IngressKind, boolean]>([
    ["tunnel", "caddy", false],
    ["tunnel", "nginx", false],
    ["tunnel", "traefik", false],
    ["caddy", "caddy", true],
    ["caddy", "nginx", false],
    ["caddy", "traefik", false],
    ["ingress", "caddy", true],
    ["ingress", "nginx", true],
    ["ingress", "traefik", true],
  ])("adminAccess %s behind %s routes them: %s", (adminAccess, ingress, routed) => {
    const settings = adminAccessThrough(withMonitoringDefaults({ adminAccess }), ingress);
    expect(routesAdminUIs(settings)).toBe(routed);
    expect(adminRoutes(FASTAPI_MONITORING, settings).map((route) => route.subdomain)).toEqual(routed ? ["grafana", "metrics", "alerts", "logs"] : []);
  });

  // Seed 002's matrix keeps Caddy off the monitoring network: Grafana is the only UI VPAI's ingress may serve.
  it.each<[AdminAccess, string[]]>([
    ["tunnel", []],
    ["caddy", ["grafana"]],
    ["ingress", ["grafana"]],
  ])("VPAI with adminAccess %s routes %j, whatever the stack asks", (adminAccess, subdomains) => {
    expect(adminRoutes(VPAI_MONITORING, adminAccessThrough(withMonitoringDefaults({ adminAccess }), "caddy")).map((route) => route.subdomain)).toEqual(
      subdomains,
    );
  });

  it.each<[unknown, string[]]>([
    [{ adminAccess: "tunnel" }, []],
    [{ adminAccess: "caddy" }, [ADMIN_PASSWORD_SECRET]],
    // nginx and Traefik check a bcrypt hash and cannot compute one: the stack holds the hash.
    [{ adminAccess: "ingress" }, [ADMIN_PASSWORD_HASH_SECRET]],
    [undefined, []],
  ])("%j asks for %j", (settings, keys) => {
    expect(monitoringSecrets(settings).map((secret) => secret.key)).toEqual(keys);
  });
});

describe("admin routes among a blueprint's own", () => {
  it("replace a route of the same name and carry the monitoring admin's credential", () => {
    const admin = adminRoutes(FASTAPI_MONITORING, withMonitoringDefaults({ adminAccess: "ingress" }));
    const routes = withAdminRoutes(
      [
        { subdomain: "api", service: "backend", port: 8000 },
        { subdomain: "grafana", service: "grafana", port: 3000 },
      ],
      admin,
    );
    expect(routes.map((route) => [route.subdomain, Boolean(route.basicAuth)])).toEqual([
      ["api", false],
      ["grafana", true],
      ["metrics", true],
      ["alerts", true],
      ["logs", true],
    ]);
    expect(protectedRoute(routes[1]!, "example.com", "ops")).toEqual({
      hostname: "grafana.example.com",
      service: "grafana",
      port: 3000,
      basicAuth: { user: "ops", passwordHashSecret: ADMIN_PASSWORD_HASH_SECRET },
    });
    expect(protectedRoute(routes[0]!, "example.com", "ops")).toEqual({ hostname: "api.example.com", service: "backend", port: 8000 });
  });

  it("keep a route's own credential", () => {
    const own = { user: "supabase", passwordHashSecret: "infra:supabaseStudioPasswordHash" };
    expect(protectedRoute({ subdomain: "studio", service: "studio", port: 3000, basicAuth: own }, "example.com", "admin").basicAuth).toEqual(own);
  });
});
