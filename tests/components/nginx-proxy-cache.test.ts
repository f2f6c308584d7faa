import { describe, expect, it } from "vitest";
import { nginxConf, proxyCacheProblems, type NginxOptions, type ProxyCacheZone } from "../../components/ingress/nginx-conf";
import type { ProtectedRoute } from "../../components/ingress/route";

/**
 * The proxy cache's declaration, judged before nginx.conf is written: what
 * would let nginx store what it must not (a route behind a password), or
 * refuse to start (a zone name it does not take, no directory).
 */

const ROUTES: readonly ProtectedRoute[] = [
  { hostname: "api.example.com", service: "api", port: 8000 },
  { hostname: "app.example.com", service: "frontend", port: 3000 },
  { hostname: "grafana.example.com", service: "grafana", port: 3000, basicAuth: { user: "admin", passwordHashSecret: "infra:monitoringAdminPasswordHash" } },
];
const zone = (changes: Partial<ProxyCacheZone> = {}): ProxyCacheZone => ({
  name: "api",
  services: ["api"],
  maxSizeMb: 1024,
  keysMb: 8,
  inactiveMinutes: 60,
  ...changes,
});
const OPTIONS: NginxOptions = {
  certificateDir: "/etc/letsencrypt/live",
  certificateName: "example",
  rateLimitPerMinute: 150,
  burst: 50,
  realIpFrom: [],
  clientMaxBodyMb: 25,
  healthPath: "/healthz",
  statusPort: 8081,
  statusPath: "/stub_status",
  cacheDirectory: "/var/tmp",
};

describe("proxy cache declarations", () => {
  it.each<[string, readonly ProxyCacheZone[], Partial<NginxOptions>, string[]]>([
    ["two zones over distinct services", [zone(), zone({ name: "static", services: ["frontend"], maxSizeMb: 512, inactiveMinutes: 10080 })], {}, []],
    [
      "a route behind a password",
      [zone({ services: ["api", "grafana"] })],
      {},
      ["route grafana.example.com asks for a password, and a route behind a password is never cached (cache zone api)"],
    ],
    ["a service in two zones", [zone(), zone({ name: "again" })], {}, ["api is cached in zones api and again; one zone a service"]],
    ["a service no route serves", [zone({ services: ["ap1"] })], {}, ["cache zone api caches ap1, which no route serves"]],
    [
      "a zone name nginx does not take",
      [zone({ name: "API-cache" })],
      {},
      ['cache zone "API-cache" is not a name nginx takes (lower-case letters, digits, _)'],
    ],
    [
      "a zone declared twice",
      [zone({ services: ["api"] }), zone({ services: ["frontend"] })],
      {},
      ['cache zone "api" is declared twice', 'cache zone "api" is declared twice'],
    ],
    [
      "no size",
      [zone({ maxSizeMb: 0, keysMb: 1.5 })],
      {},
      ["cache zone api: maxSizeMb 0 must be a positive integer", "cache zone api: keysMb 1.5 must be a positive integer"],
    ],
    ["no directory", [zone()], { cacheDirectory: undefined }, ["a proxy cache needs an absolute cache directory"]],
    ["a relative directory", [zone()], { cacheDirectory: "cache" }, ["a proxy cache needs an absolute cache directory"]],
  ])("%s", (_case, zones, changes, problems) => {
    expect(proxyCacheProblems(ROUTES, { ...OPTIONS, ...changes, proxyCache: zones })).toEqual(problems);
  });

  it("nginxConf refuses a declaration with problems, naming them", () => {
    expect(() => nginxConf(ROUTES, { ...OPTIONS, proxyCache: [zone({ services: ["grafana"] })] })).toThrow(/route grafana\.example\.com asks for a password/);
  });

  it("writes nothing of a cache when none is declared", () => {
    expect(nginxConf(ROUTES, { ...OPTIONS, cacheDirectory: undefined })).not.toMatch(/proxy_cache/);
  });

  it("writes each zone's path in the cache directory and caches only its services' routes", () => {
    const conf = nginxConf(ROUTES, {
      ...OPTIONS,
      proxyCache: [zone(), zone({ name: "static", services: ["frontend"], maxSizeMb: 512, keysMb: 4, inactiveMinutes: 10080 })],
    });
    expect(conf).toContain("  proxy_cache_path /var/tmp/api levels=1:2 keys_zone=api:8m max_size=1024m inactive=60m use_temp_path=off;\n");
    expect(conf).toContain("  proxy_cache_path /var/tmp/static levels=1:2 keys_zone=static:4m max_size=512m inactive=7d use_temp_path=off;\n");
    expect(conf.match(/^\s*proxy_cache \w+;$/gm)).toEqual(["      proxy_cache api;", "      proxy_cache static;"]);
  });
});
