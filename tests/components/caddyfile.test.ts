import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BASIC_AUTH_HASH_VARIABLE, caddyfile, hashVariableOf } from "../../components/ingress/caddyfile";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { requireTool } from "../support/tools";

const routes = [
  { hostname: "n8n.example.com", service: "n8n", port: 5678 },
  { hostname: "grafana.example.com", service: "grafana", port: 3000 },
];

/** caddy's own parser, via `caddy adapt`, returning the JSON config it produced. */
function adapt(content: string): { apps: { http: { servers: Record<string, { routes: unknown[] }> } } } {
  const dir = mkdtempSync(join(tmpdir(), "caddyfile-"));
  try {
    const file = join(dir, "Caddyfile");
    writeFileSync(file, content);
    const output = execFileSync(requireTool("caddy"), ["adapt", "--config", file, "--adapter", "caddyfile"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("caddyfile", () => {
  it("is accepted by caddy and routes each host to its upstream", () => {
    const config = adapt(caddyfile(routes));
    const text = JSON.stringify(config);
    for (const route of routes) {
      expect(text).toContain(`"host":["${route.hostname}"]`);
      expect(text).toContain(`"dial":"${route.service}:${route.port}"`);
    }
    expect(text).toContain("Strict-Transport-Security");
    expect(text).toContain("X-Content-Type-Options");
  });

  it("keeps the admin API on localhost", () => {
    const config = adapt(caddyfile(routes)) as unknown as { admin?: { listen?: string } };
    expect(config.admin?.listen).toBe("localhost:2019");
  });

  it("refuses duplicate hosts and bad ports with every problem listed", () => {
    expect(() => caddyfile([...routes, { hostname: "n8n.example.com", service: "x", port: 70000 }])).toThrow(
      /n8n.example.com is routed twice; .*port 70000 is out of range/,
    );
  });

  it("takes the admin password, hashed at start, or its bcrypt hash as is, and exactly one of them", () => {
    const protectedRoutes = [routes[0]!, { ...routes[1]!, basicAuth: { user: "admin" } }];
    const base = { networks: ["frontend"], memoryMb: 64, dependsOn: [] };
    // Both come as secret files (C15), read by the start script into Caddy's own environment, whose {$VAR} the Caddyfile reads.
    const hashing = caddyServiceSpec(protectedRoutes, { ...base, basicAuthPasswordSecret: "infra:monitoringAdminPassword" });
    expect(hashing.env).toEqual({});
    expect(hashing.secretFiles).toEqual([{ name: "admin-password", content: { secret: "infra:monitoringAdminPassword" }, uid: 0 }]);
    // caddy hash-password reads the password as a line on stdin: it is in no argument.
    expect(hashing.command![2]).toBe(
      `${BASIC_AUTH_HASH_VARIABLE}="$({ cat /run/secrets/admin-password; echo; } | caddy hash-password)" && export ${BASIC_AUTH_HASH_VARIABLE} && exec caddy run --config /etc/infra/live/Caddyfile --adapter caddyfile`,
    );
    const hashed = caddyServiceSpec(protectedRoutes, { ...base, basicAuthPasswordHashSecret: "infra:monitoringAdminPasswordHash" });
    expect(hashed.env).toEqual({});
    expect(hashed.secretFiles).toEqual([{ name: "admin-password-hash", content: { secret: "infra:monitoringAdminPasswordHash" }, uid: 0 }]);
    // Caddy itself reads the live Caddyfile, whose {$VAR} is the hash itself.
    expect(hashed.command![2]).toBe(
      `${BASIC_AUTH_HASH_VARIABLE}="$(cat /run/secrets/admin-password-hash)" && export ${BASIC_AUTH_HASH_VARIABLE} && exec caddy run --config /etc/infra/live/Caddyfile --adapter caddyfile`,
    );
    // Without a login, nothing to read: Caddy runs on the live Caddyfile directly.
    expect(caddyServiceSpec(routes, base).secretFiles).toEqual([]);
    expect(caddyServiceSpec(routes, base).command).toEqual(["caddy", "run", "--config", "/etc/infra/live/Caddyfile", "--adapter", "caddyfile"]);
    expect(() => caddyServiceSpec(protectedRoutes, base)).toThrow(/need one of/);
    expect(() => caddyServiceSpec(protectedRoutes, { ...base, basicAuthPasswordSecret: "a:b", basicAuthPasswordHashSecret: "a:c" })).toThrow(/need one of/);
  });

  it("reads a route's own credential (n8n's) from a secret file into its own variable, beside the admin password's, and checks a reload with a stand-in for each", () => {
    const n8n = { ...routes[0]!, basicAuth: { user: "n8n", passwordHashSecret: "infra:n8nPasswordHash" }, publicPaths: ["/webhook/"] };
    const base = { networks: ["frontend"], memoryMb: 64, dependsOn: [] };
    const spec = caddyServiceSpec([n8n, { ...routes[1]!, basicAuth: { user: "admin" } }], {
      ...base,
      basicAuthPasswordHashSecret: "infra:monitoringAdminPasswordHash",
    });
    expect(spec.env).toEqual({});
    expect(spec.secretFiles).toEqual([
      { name: "admin-password-hash", content: { secret: "infra:monitoringAdminPasswordHash" }, uid: 0 },
      { name: "infra-bcrypt-n8n-password-hash", content: { secret: "infra:n8nPasswordHash" }, uid: 0 },
    ]);
    expect(spec.command![2]).toBe(
      `${BASIC_AUTH_HASH_VARIABLE}="$(cat /run/secrets/admin-password-hash)" && export ${BASIC_AUTH_HASH_VARIABLE} && ${hashVariableOf("infra:n8nPasswordHash")}="$(cat /run/secrets/infra-bcrypt-n8n-password-hash)" && export ${hashVariableOf("infra:n8nPasswordHash")} && exec caddy run --config /etc/infra/live/Caddyfile --adapter caddyfile`,
    );
    // The reload's check runs in a docker exec, without the start script's variables: each gets a stand-in.
    expect(spec.liveReload!.check!.slice(0, 3)).toEqual([
      "env",
      `${BASIC_AUTH_HASH_VARIABLE}=syntax-check-only`,
      `${hashVariableOf("infra:n8nPasswordHash")}=syntax-check-only`,
    ]);
    // Only n8n's own credential: no admin password is needed, and the file is the only one.
    const own = caddyServiceSpec([n8n], base);
    expect(own.secretFiles.map((file) => file.name)).toEqual(["infra-bcrypt-n8n-password-hash"]);
  });

  it("caddy rejects a broken file, so the check above can fail", () => {
    expect(() => adapt("example.com {\n\treverse_proxy\n")).toThrow();
  });
});
