import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { caddyfile, type CaddyRoute } from "../../components/ingress/caddyfile";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { nginxConf } from "../../components/ingress/nginx-conf";
import { NGINX_CONF_PATH } from "../../components/ingress/nginx-spec";
import { blockedPathPattern, PROXY_BLOCKED_PATHS, type ProtectedRoute } from "../../components/ingress/route";
import { cleanPath, ingressAccess, type IngressProxy, type PathVerdict } from "../../components/ingress/route-access";
import { TRAEFIK_DYNAMIC_PATH, traefikDynamicConfig, traefikYAML } from "../../components/ingress/traefik-config";
import { requireTool } from "../support/tools";
import { TEST_NGINX_OPTIONS } from "../support/ingress-options";

/**
 * What each ingress does with a path, read back from its generated
 * configuration the way the E1-E3 rules read it: /metrics answered by the
 * proxy in every spelling on every route, a route's public paths open
 * beside its password, and whatever a reader does not recognise counted
 * as open. The live proxies answer the same requests in
 * tests/blueprints/ingress-exposure.test.ts.
 */

const N8N = { user: "n8n", passwordHashSecret: "infra:n8nPasswordHash" };
const ADMIN = { user: "admin", passwordHashSecret: "infra:monitoringAdminPasswordHash" };
const routes: ProtectedRoute[] = [
  { hostname: "api.example.com", service: "backend", port: 8000 },
  { hostname: "metrics.example.com", service: "prometheus", port: 9090, basicAuth: ADMIN },
  { hostname: "n8n.example.com", service: "n8n", port: 5678, basicAuth: N8N, publicPaths: ["/webhook/"] },
];
const caddyRoutes: CaddyRoute[] = routes.map((route) => ({
  ...route,
  ...(route.basicAuth ? { basicAuth: route.basicAuth === ADMIN ? { user: "admin" } : route.basicAuth } : {}),
}));

const NGINX = TEST_NGINX_OPTIONS;

const configs: Record<IngressProxy, () => { path: string; content: string }> = {
  caddy: () => ({ path: CADDYFILE_PATH, content: caddyfile(caddyRoutes) }),
  nginx: () => ({ path: NGINX_CONF_PATH, content: nginxConf(routes, NGINX) }),
  traefik: () => ({ path: TRAEFIK_DYNAMIC_PATH, content: traefikYAML(traefikDynamicConfig(routes, { rateLimitPerMinute: 100, burst: 20, trustedIPs: [] })) }),
};

const verdicts = (proxy: IngressProxy, content: string, hostname: string, paths: readonly string[]): Record<string, PathVerdict> => {
  const access = ingressAccess(proxy, [{ path: configs[proxy]().path, content }]).get(hostname);
  if (!access) throw new Error(`${proxy} serves no ${hostname}`);
  return Object.fromEntries(paths.map((path) => [path, access.verdict(path)]));
};

const METRICS_SPELLINGS = [
  "/metrics",
  "/metrics/",
  "//metrics",
  "/METRICS",
  "/Metrics/x",
  "/metrics;x",
  "/metrics.json",
  "/metrics%2F",
  "/%2Fmetrics",
  "/x/../metrics",
  "/./metrics",
];

describe.each<IngressProxy>(["caddy", "nginx", "traefik"])("what %s serves, read back from its generated configuration", (proxy) => {
  const content = configs[proxy]().content;

  it("answers /metrics itself in every spelling, on every route, with or without a password", () => {
    for (const hostname of routes.map((route) => route.hostname)) {
      const found = verdicts(proxy, content, hostname, METRICS_SPELLINGS);
      expect(found, hostname).toEqual(
        Object.fromEntries(METRICS_SPELLINGS.map((path) => [path, proxy === "caddy" && hostname !== "api.example.com" ? "password" : "blocked"])),
      );
    }
    // A neighbour of the blocked path is not blocked with it.
    expect(verdicts(proxy, content, "api.example.com", ["/metricsx", "/api/metrics"])).toEqual({ "/metricsx": "open", "/api/metrics": "open" });
  });

  it("serves an application's route openly and an admin UI's behind its password", () => {
    expect(verdicts(proxy, content, "api.example.com", ["/", "/docs"])).toEqual({ "/": "open", "/docs": "open" });
    expect(verdicts(proxy, content, "metrics.example.com", ["/", "/api/v1/query", "/webhook/x"])).toEqual({
      "/": "password",
      "/api/v1/query": "password",
      "/webhook/x": "password",
    });
  });

  it("serves n8n's webhooks without the password, and its setup, editor and API only with it", () => {
    expect(
      verdicts(proxy, content, "n8n.example.com", [
        "/webhook/abc",
        "/webhook/",
        "/",
        "/setup",
        "/rest/owner/setup",
        "/webhook-test/abc",
        "/webhook/../rest/owner/setup",
      ]),
    ).toEqual({
      "/webhook/abc": "open",
      "/webhook/": "open",
      "/": "password",
      "/setup": "password",
      "/rest/owner/setup": "password",
      "/webhook-test/abc": "password",
      "/webhook/../rest/owner/setup": "password",
    });
  });
});

describe("what the readers make of configurations written by hand", () => {
  it("nginx: a case-sensitive prefix location leaves /METRICS to `location /`", () => {
    const conf = configs.nginx().content.replace(/location ~\* "[^"]*metrics[^"]*" \{/g, "location /metrics {");
    expect(verdicts("nginx", conf, "api.example.com", ["/metrics", "/metrics/x", "/METRICS", "/metrics;x"])).toEqual({
      "/metrics": "blocked",
      "/metrics/x": "blocked",
      "/METRICS": "open",
      "/metrics;x": "blocked",
    });
  });

  it("nginx: an `auth_basic off` location, or `^~` in front of the blocking expression, opens what it covers", () => {
    const base = configs.nginx().content;
    const opened = base.replace("location /webhook/ {", "location /rest/ {");
    expect(verdicts("nginx", opened, "n8n.example.com", ["/rest/owner/setup", "/webhook/x"])).toEqual({
      "/rest/owner/setup": "open",
      "/webhook/x": "password",
    });
    const prefixFirst = base.replace("location /webhook/ {", "location ^~ /m {");
    expect(verdicts("nginx", prefixFirst, "n8n.example.com", ["/metrics"])).toEqual({ "/metrics": "open" });
  });

  it("Caddy: a `path` matcher, case-insensitive, still lets /metrics;x through; `handle` blocks make the site unreadable, so open", () => {
    const base = configs.caddy().content;
    const byPath = base.replace(/@blocked0 path_regexp \S+/g, "@blocked0 path /metrics /metrics/*");
    expect(verdicts("caddy", byPath, "api.example.com", ["/metrics", "/METRICS/x", "/metrics;x"])).toEqual({
      "/metrics": "blocked",
      "/METRICS/x": "blocked",
      "/metrics;x": "open",
    });
    const widened = base.replace("@protected not path /webhook/*", "@protected not path /r*");
    expect(verdicts("caddy", widened, "n8n.example.com", ["/rest/owner/setup", "/webhook/x"])).toEqual({
      "/rest/owner/setup": "open",
      "/webhook/x": "password",
    });
    const handled = base.replace("\trespond @blocked0 404\n\treverse_proxy backend:8000", "\thandle {\n\t\treverse_proxy backend:8000\n\t}");
    const access = ingressAccess("caddy", [{ path: CADDYFILE_PATH, content: handled }]).get("api.example.com")!;
    expect([access.verdict("/metrics"), access.openBeyondNamed]).toEqual(["open", true]);
  });

  it("Traefik: a case-sensitive PathPrefix router, or one under the default priority, does not block", () => {
    const dynamic = parse(configs.traefik().content);
    const blocked = dynamic.http.routers["api-example-com-blocked-0"];
    blocked.rule = "Host(`api.example.com`) && PathPrefix(`/metrics`)";
    expect(verdicts("traefik", traefikYAML(dynamic), "api.example.com", ["/metrics/x", "/METRICS"])).toEqual({ "/metrics/x": "blocked", "/METRICS": "open" });
    const unprioritised = parse(configs.traefik().content);
    const open = unprioritised.http.routers["n8n-example-com-public-0"];
    open.rule = "Host(`n8n.example.com`) && PathPrefix(`/`)";
    open.priority = 200_000;
    expect(verdicts("traefik", traefikYAML(unprioritised), "n8n.example.com", ["/metrics", "/rest/owner/setup"])).toEqual({
      "/metrics": "open",
      "/rest/owner/setup": "open",
    });
  });

  it("Traefik: a rule it cannot read counts as taking every path when its router is open", () => {
    const dynamic = parse(configs.traefik().content);
    dynamic.http.routers.sneaky = { rule: "Host(`n8n.example.com`) && (PathPrefix(`/rest`) || Method(`POST`))", service: "n8n-5678", priority: 200_000 };
    const access = ingressAccess("traefik", [{ path: TRAEFIK_DYNAMIC_PATH, content: traefikYAML(dynamic) }]).get("n8n.example.com")!;
    expect([access.verdict("/rest/owner/setup"), access.verdict("/metrics"), access.openBeyondNamed]).toEqual(["open", "open", true]);
  });
});

describe("the blocked path's pattern", () => {
  const pattern = new RegExp(blockedPathPattern("/metrics"), "i");
  it.each([
    ["/metrics", true],
    ["/metrics/", true],
    ["//metrics", true],
    ["/%2Fmetrics", true],
    ["/METRICS;x", true],
    ["/metrics.json", true],
    ["/metrics%2F", true],
    ["/metricsx", false],
    ["/api/metrics", false],
  ])("%s: %s", (path, blocked) => {
    expect(pattern.test(path)).toBe(blocked);
  });

  it("covers every segment of a longer path, and the proxies block /metrics on every route", () => {
    expect(new RegExp(blockedPathPattern("/minio/v2/metrics"), "i").test("/minio//V2/metrics/cluster")).toBe(true);
    expect(PROXY_BLOCKED_PATHS).toEqual(["/metrics"]);
  });

  it("is the cleaning the readers apply before matching: slashes merged, dot segments resolved", () => {
    expect(["//metrics", "/a/../metrics", "/./metrics/", "/../metrics"].map(cleanPath)).toEqual(["/metrics", "/metrics", "/metrics/", "/metrics"]);
  });
});

describe("the generated Caddyfile", () => {
  it("is accepted by caddy itself, with the blocked paths, the public paths and a route's own credential", () => {
    const dir = mkdtempSync(join(tmpdir(), "caddyfile-access-"));
    try {
      const file = join(dir, "Caddyfile");
      writeFileSync(file, configs.caddy().content);
      const adapted = execFileSync(requireTool("caddy"), ["adapt", "--config", file, "--adapter", "caddyfile"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, INFRA_BCRYPT_N8N_PASSWORD_HASH: "x", INFRA_ADMIN_PASSWORD_HASH: "x" },
      });
      expect(adapted).toContain('"path_regexp"');
      expect(adapted).toContain('"not"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
