import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { SECRETS_CONTAINER_DIR } from "../../components/container/secret-files";
import { BASIC_AUTH_DIR, basicAuthProblems, basicAuthSecretFiles, htpasswdFiles, htpasswdScript } from "../../components/ingress/basic-auth";
import { caddyfile } from "../../components/ingress/caddyfile";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { nginxConf } from "../../components/ingress/nginx-conf";
import { NGINX_CONF_PATH, nginxServiceSpec } from "../../components/ingress/nginx-spec";
import { hostnamesBehindBasicAuth } from "../../components/ingress/protected-hostnames";
import type { ProtectedRoute } from "../../components/ingress/route";
import { TRAEFIK_DYNAMIC_PATH, traefikDynamicConfig, traefikYAML, type TraefikOptions } from "../../components/ingress/traefik-config";
import { traefikServiceSpec } from "../../components/ingress/traefik-spec";
import { validateFile } from "../support/validators";
import { TEST_NGINX_OPTIONS } from "../support/ingress-options";

/**
 * Basic auth for nginx and Traefik as data: which htpasswd files a set of
 * routes needs, the start script that writes them from their secret files
 * (run here with a real shell), where the generated configurations point at
 * them, and the reader the policy uses to tell which names ask for a password.
 */

const ADMIN = { user: "admin", passwordHashSecret: "infra:monitoringAdminPasswordHash" };
const STUDIO = { user: "supabase", passwordHashSecret: "infra:supabaseStudioPasswordHash" };
/** `caddy hash-password --plaintext correct-horse` (Caddy 2.6.2). */
const HASH = "$2a$14$tF9ZWjlmvtGKahOyvMuqHeUDPfXZIuHVeeAWsCdOEBmyJkhypC.Pu";

const routes: ProtectedRoute[] = [
  { hostname: "api.example.com", service: "backend", port: 8000 },
  { hostname: "metrics.example.com", service: "prometheus", port: 9090, basicAuth: ADMIN },
  { hostname: "alerts.example.com", service: "alertmanager", port: 9093, basicAuth: ADMIN },
  { hostname: "studio.example.com", service: "studio", port: 3000, basicAuth: STUDIO },
];

const NGINX = TEST_NGINX_OPTIONS;
const TRAEFIK: TraefikOptions = { rateLimitPerMinute: 100, burst: 20, trustedIPs: [] };

/** The lines of one nginx `server` block, by its server_name. */
function serverBlock(conf: string, hostname: string): string {
  const start = conf.indexOf(`server_name ${hostname};`);
  expect(start, hostname).toBeGreaterThan(-1);
  return conf.slice(conf.lastIndexOf("server {", start), conf.indexOf("\n  }\n", start));
}

describe("htpasswd files", () => {
  it("needs one file per credential, in the tmpfs, carried by a secret file of its one line", () => {
    const files = htpasswdFiles(routes);
    expect(files).toEqual([
      {
        path: `${BASIC_AUTH_DIR}/infra-monitoringAdminPasswordHash`,
        secretFile: "htpasswd-infra-monitoringAdminPasswordHash",
        user: "admin",
        secret: "infra:monitoringAdminPasswordHash",
      },
      {
        path: `${BASIC_AUTH_DIR}/infra-supabaseStudioPasswordHash`,
        secretFile: "htpasswd-infra-supabaseStudioPasswordHash",
        user: "supabase",
        secret: "infra:supabaseStudioPasswordHash",
      },
    ]);
    expect(basicAuthSecretFiles(files, 101)).toEqual([
      { name: "htpasswd-infra-monitoringAdminPasswordHash", content: { secretTemplate: "admin:{{infra:monitoringAdminPasswordHash}}" }, uid: 101 },
      { name: "htpasswd-infra-supabaseStudioPasswordHash", content: { secretTemplate: "supabase:{{infra:supabaseStudioPasswordHash}}" }, uid: 101 },
    ]);
    expect(htpasswdFiles(routes.filter((route) => !route.basicAuth))).toEqual([]);
    expect(htpasswdScript([])).toEqual([]);
  });

  it.each<[string, ProtectedRoute[], RegExp]>([
    ["a user name with a colon", [{ ...routes[1]!, basicAuth: { ...ADMIN, user: "ad:min" } }], /"ad:min" is not a user name/],
    [
      "a secret that is not a config key",
      [{ ...routes[1]!, basicAuth: { ...ADMIN, passwordHashSecret: "adminHash" } }],
      /"adminHash" is not a secret config key/,
    ],
    [
      "one hash for two users",
      [routes[1]!, { ...routes[2]!, basicAuth: { ...ADMIN, user: "ops" } }],
      /infra:monitoringAdminPasswordHash is used by users admin and ops/,
    ],
  ])("refuses %s", (_case, broken, message) => {
    expect(basicAuthProblems(broken).join("; ")).toMatch(message);
    expect(() => htpasswdFiles(broken)).toThrow(message);
    expect(() => nginxConf(broken, NGINX)).toThrow(message);
    expect(() => traefikDynamicConfig(broken, TRAEFIK)).toThrow(message);
  });
});

describe("the start script that writes them", () => {
  const files = htpasswdFiles(routes);

  /**
   * The generated lines, run by the system's sh with the secret files (by
   * name) in a temporary directory standing for /run/secrets, and the
   * htpasswd directory moved into it too.
   */
  function runScript(secrets: Record<string, string>): { status: number | null; stdout: string; stderr: string; dir: string } {
    const dir = mkdtempSync(join(tmpdir(), "htpasswd-"));
    mkdirSync(join(dir, "secrets"));
    for (const [name, content] of Object.entries(secrets)) writeFileSync(join(dir, "secrets", name), content, { mode: 0o400 });
    // `set` stands in for the proxy: it prints the variables the proxy's shell would start it with.
    const script = [...htpasswdScript(files), "set"]
      .join("\n")
      .replaceAll(BASIC_AUTH_DIR, join(dir, "basic-auth"))
      .replaceAll(`${SECRETS_CONTAINER_DIR}/`, `${join(dir, "secrets")}/`);
    const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, dir };
  }

  it("writes each file from its secret file, readable by its owner only, and keeps no copy in a variable when the proxy starts", () => {
    const run = runScript({
      "htpasswd-infra-monitoringAdminPasswordHash": `admin:${HASH}`,
      "htpasswd-infra-supabaseStudioPasswordHash": `supabase:${HASH.replace("$2a$", "$2y$")}`,
    });
    try {
      expect(run.status, run.stderr).toBe(0);
      const admin = join(run.dir, "basic-auth", "infra-monitoringAdminPasswordHash");
      expect(readFileSync(admin, "utf8")).toBe(`admin:${HASH}\n`);
      expect(statSync(admin).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(run.dir, "basic-auth", "infra-supabaseStudioPasswordHash"), "utf8")).toBe(`supabase:${HASH.replace("$2a$", "$2y$")}\n`);
      expect(run.stdout).not.toContain(HASH.slice(7));
    } finally {
      rmSync(run.dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["a plain password", "admin:correct-horse"],
    ["a hash for another user", `ops:${HASH}`],
    ["an MD5 (apr1) hash", "admin:$apr1$abc$0123456789abcdefghijkl"],
    ["nothing", ""],
  ])("stops the container on %s, naming the secret and never the value", (_case, value) => {
    const run = runScript({ "htpasswd-infra-monitoringAdminPasswordHash": value, "htpasswd-infra-supabaseStudioPasswordHash": `supabase:${HASH}` });
    rmSync(run.dir, { recursive: true, force: true });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain("infra:monitoringAdminPasswordHash is not a bcrypt hash");
    if (value) expect(run.stderr).not.toContain(value.split(":")[1]!);
  });

  it("is clean for shellcheck as the POSIX sh script each proxy runs (busybox in the images)", () => {
    for (const spec of [
      nginxServiceSpec(routes, { ...NGINX, networks: [], memoryMb: 32, dependsOn: [], certificateHostPath: "/var/lib/x" }),
      traefikServiceSpec(routes, { ...TRAEFIK, networks: [], memoryMb: 64, dependsOn: [] }),
    ]) {
      const result = validateFile("shellcheck", (file) => ["--shell=sh", "--severity=style", file], `${spec.command![2]!}\n`, "start.sh");
      expect(result.ok, `${spec.name}: ${result.output}`).toBe(true);
    }
  });
});

describe("nginx with basic auth", () => {
  const conf = nginxConf(routes, { ...NGINX, resolvePerRequest: ["prometheus", "alertmanager"] });

  it("asks for a password on the whole server of each protected name, from its credential's file, and on no other", () => {
    expect(serverBlock(conf, "metrics.example.com")).toContain(
      `auth_basic "restricted";\n    auth_basic_user_file ${BASIC_AUTH_DIR}/infra-monitoringAdminPasswordHash;`,
    );
    expect(serverBlock(conf, "studio.example.com")).toContain(`auth_basic_user_file ${BASIC_AUTH_DIR}/infra-supabaseStudioPasswordHash;`);
    expect(serverBlock(conf, "api.example.com")).not.toContain("auth_basic");
    // The credentials stop at nginx: an admin UI with its own login would take them for its own.
    expect(serverBlock(conf, "metrics.example.com")).toContain('proxy_set_header Authorization "";');
    expect(serverBlock(conf, "api.example.com")).not.toContain("Authorization");
    expect(conf).not.toContain("$2");
  });

  it("resolves the monitoring stack's names per request, through Docker's DNS, and keeps upstream blocks for the rest", () => {
    expect(conf).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
    expect(serverBlock(conf, "metrics.example.com")).toContain("set $late_upstream http://prometheus:9090;\n      proxy_pass $late_upstream;");
    expect(conf).not.toContain("upstream prometheus_9090");
    expect(conf).toContain("upstream backend_8000 {");
    expect(nginxConf(routes, NGINX)).not.toContain("resolver ");
  });

  it("gives the container the credentials as secret files of nginx's user and writes them before nginx starts; without auth, the command is unchanged", () => {
    const spec = nginxServiceSpec(routes, { ...NGINX, networks: [], memoryMb: 32, dependsOn: [], certificateHostPath: "/var/lib/x" });
    expect(spec.env).toEqual({});
    expect(spec.secretFiles).toEqual(basicAuthSecretFiles(htpasswdFiles(routes), 101));
    expect(spec.command![2]).toMatch(
      /^umask 077\n[\s\S]*unset line\n\(while :; do sleep 21600; nginx -c \/etc\/infra\/live\/nginx.conf -s reload; done\) & exec nginx -c \/etc\/infra\/live\/nginx.conf -g 'daemon off;'$/,
    );
    const open = nginxServiceSpec(routes.slice(0, 1), { ...NGINX, networks: [], memoryMb: 32, dependsOn: [], certificateHostPath: "/var/lib/x" });
    expect(open.env).toEqual({});
    expect(open.secretFiles).toEqual([]);
    expect(open.command).toEqual([
      "sh",
      "-c",
      "(while :; do sleep 21600; nginx -c /etc/infra/live/nginx.conf -s reload; done) & exec nginx -c /etc/infra/live/nginx.conf -g 'daemon off;'",
    ]);
  });
});

describe("Traefik with basic auth", () => {
  const dynamic = traefikDynamicConfig(routes, TRAEFIK) as {
    http: { routers: Record<string, { middlewares: string[] }>; middlewares: Record<string, unknown> };
  };

  it("puts a basicAuth middleware reading its credential's file between the rate limit and compression, on the protected routers only", () => {
    expect(dynamic.http.routers["metrics-example-com"]!.middlewares).toEqual([
      "security-headers",
      "rate-limit",
      "basic-auth-infra-monitoringAdminPasswordHash",
      "compress",
    ]);
    expect(dynamic.http.routers["studio-example-com"]!.middlewares).toEqual([
      "security-headers",
      "rate-limit",
      "basic-auth-infra-supabaseStudioPasswordHash",
      "compress",
    ]);
    expect(dynamic.http.routers["api-example-com"]!.middlewares).toEqual(["security-headers", "rate-limit", "compress"]);
    expect(dynamic.http.middlewares["basic-auth-infra-monitoringAdminPasswordHash"]).toEqual({
      basicAuth: { usersFile: `${BASIC_AUTH_DIR}/infra-monitoringAdminPasswordHash`, realm: "restricted", removeHeader: true },
    });
    expect(traefikYAML(dynamic)).not.toMatch(/users:|\$2/);
  });

  it("writes the files before Traefik starts; without auth, the command is the image's as before", () => {
    const spec = traefikServiceSpec(routes, { ...TRAEFIK, networks: [], memoryMb: 64, dependsOn: [] });
    expect(spec.env).toEqual({});
    expect(spec.secretFiles).toEqual(basicAuthSecretFiles(htpasswdFiles(routes), 0));
    expect(spec.command![0]).toBe("sh");
    expect(spec.command![2]).toMatch(/^umask 077\n[\s\S]*\nexec traefik --configFile=\/etc\/traefik\/traefik.yml$/);
    expect(traefikServiceSpec(routes.slice(0, 1), { ...TRAEFIK, networks: [], memoryMb: 64, dependsOn: [] }).command).toEqual([
      "--configFile=/etc/traefik/traefik.yml",
    ]);
  });
});

describe("hostnamesBehindBasicAuth: which names each ingress's configuration protects", () => {
  const hostnames = (set: Set<string>) => [...set].sort();

  it("reads Caddy's basicauth blocks", () => {
    const content = caddyfile(routes.map(({ basicAuth, ...route }) => ({ ...route, ...(basicAuth ? { basicAuth: { user: basicAuth.user } } : {}) })));
    expect(hostnames(hostnamesBehindBasicAuth("caddy", [{ path: CADDYFILE_PATH, content }]))).toEqual([
      "alerts.example.com",
      "metrics.example.com",
      "studio.example.com",
    ]);
    const stripped = content.replace(/\tbasicauth \{\n[^}]*\}\n/g, "");
    expect(hostnames(hostnamesBehindBasicAuth("caddy", [{ path: CADDYFILE_PATH, content: stripped }]))).toEqual([]);
  });

  it("reads nginx's auth_basic, server-wide or in every location, and an `auth_basic off` anywhere opens the name", () => {
    const content = nginxConf(routes, NGINX);
    expect(hostnames(hostnamesBehindBasicAuth("nginx", [{ path: NGINX_CONF_PATH, content }]))).toEqual([
      "alerts.example.com",
      "metrics.example.com",
      "studio.example.com",
    ]);
    const withHole = content.replace(
      "server_name metrics.example.com;",
      'server_name metrics.example.com;\n    location /api/ { auth_basic "off"; proxy_pass http://prometheus_9090; }',
    );
    expect(hostnames(hostnamesBehindBasicAuth("nginx", [{ path: NGINX_CONF_PATH, content: withHole }]))).toEqual(["alerts.example.com", "studio.example.com"]);
    const withoutFile = content.replace(/\n\s*auth_basic_user_file [^;]*infra-supabaseStudioPasswordHash;/, "");
    expect(hostnames(hostnamesBehindBasicAuth("nginx", [{ path: NGINX_CONF_PATH, content: withoutFile }]))).toEqual([
      "alerts.example.com",
      "metrics.example.com",
    ]);
    const inLocation =
      "http {\n server {\n  server_name a.example.com;\n  location / { auth_basic x; auth_basic_user_file /f; }\n }\n server {\n  server_name b.example.com;\n  location / { auth_basic x; auth_basic_user_file /f; }\n  location /open { }\n }\n}\n";
    expect(hostnames(hostnamesBehindBasicAuth("nginx", [{ path: NGINX_CONF_PATH, content: inLocation }]))).toEqual(["a.example.com"]);
  });

  it("reads Traefik's routers and basicAuth middlewares, and a second, open router for a name opens it", () => {
    const dynamic = traefikDynamicConfig(routes, TRAEFIK) as {
      http: { routers: Record<string, Record<string, unknown>>; middlewares: Record<string, unknown> };
    };
    const read = (document: unknown) =>
      hostnames(hostnamesBehindBasicAuth("traefik", [{ path: TRAEFIK_DYNAMIC_PATH, content: traefikYAML(document as Record<string, unknown>) }]));
    expect(read(dynamic)).toEqual(["alerts.example.com", "metrics.example.com", "studio.example.com"]);
    const open = parse(traefikYAML(dynamic));
    open.http.routers["metrics-open"] = { rule: "Host(`metrics.example.com`) && PathPrefix(`/api`)", service: "prometheus-9090", middlewares: ["rate-limit"] };
    expect(read(open)).toEqual(["alerts.example.com", "studio.example.com"]);
    const emptied = parse(traefikYAML(dynamic));
    emptied.http.middlewares["basic-auth-infra-supabaseStudioPasswordHash"] = { basicAuth: { users: [] } };
    expect(read(emptied)).toEqual(["alerts.example.com", "metrics.example.com"]);
  });

  it("finds nothing without the configuration file", () => {
    expect(hostnamesBehindBasicAuth("nginx", []).size).toBe(0);
    expect(hostnamesBehindBasicAuth("traefik", []).size).toBe(0);
    expect(hostnamesBehindBasicAuth("caddy", []).size).toBe(0);
  });
});
