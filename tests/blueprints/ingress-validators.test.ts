import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { freePort, stopProcess } from "../support/processes";
import { planOf, resourcesOf } from "../support/plans";
import { requireTool } from "../support/tools";
import type { PlanResult } from "../../tools/plan/plan";

/**
 * The generated proxy configurations, checked by the proxies themselves:
 * Debian's nginx (`nginx -t`) for seeds 001 and 004, and Traefik v3.6.12
 * built from the Go module proxy (tools/install/traefik.sh) for seeds 000 and
 * 003, which loads the dynamic configuration and reports each router's status.
 */

function upload(plan: PlanResult, containerName: string, path: string): string {
  const container = resourcesOf(plan, "docker:index/container:Container").find((resource) => resource.inputs.name === containerName);
  if (!container) throw new Error(`no container ${containerName}`);
  const file = (container.inputs.uploads as { file: string; content: string }[]).find((candidate) => candidate.file === path);
  if (!file) throw new Error(`${containerName} uploads no ${path}`);
  return file.content;
}

/**
 * `nginx -t` resolves every upstream host name and reads every certificate,
 * so the test gives it what the host would: the upstreams' Docker DNS names
 * become 127.0.0.1 (only the `server name:port;` lines of upstream blocks are
 * touched), and the Let's Encrypt directory is a temporary one holding a
 * self-signed certificate. Everything else is checked as generated.
 */
function nginxCheck(conf: string): { ok: boolean; output: string; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), "nginx-check-"));
  try {
    const live = join(dir, "live");
    const localConf = conf.replace(/^(\s*server )[a-z0-9-]+(:\d+;)$/gm, "$1127.0.0.1$2").replaceAll("/etc/letsencrypt/live", live);
    for (const name of [...localConf.matchAll(/ssl_certificate (\S+)\/fullchain\.pem;/g)].map((match) => match[1]!)) {
      mkdirSync(name, { recursive: true });
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test", "-keyout", join(name, "privkey.pem"), "-out", join(name, "fullchain.pem")], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    }
    writeFileSync(join(dir, "nginx.conf"), localConf);
    // nginx opens /dev/stdout for the access log; Node's stdio pipes are
    // socket pairs, which cannot be opened by path, so it gets a plain file.
    const log = join(dir, "nginx-t.log");
    const fd = openSync(log, "w");
    const started = performance.now();
    const result = spawnSync(requireTool("nginx"), ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", fd, fd] });
    const ms = performance.now() - started;
    closeSync(fd);
    return { ok: result.status === 0, output: readFileSync(log, "utf8"), ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each([
  ["galion", "galion-nginx"],
  ["fastapi", "fastapi-nginx"],
])("nginx.conf of %s", (blueprint, containerName) => {
  it.each(["prod", "preprod"])("passes nginx -t on %s", async (stack) => {
    const plan = await planOf(stack, { overrides: [`blueprint=${blueprint}`] });
    const check = nginxCheck(upload(plan, containerName, "/etc/nginx/nginx.conf"));
    expect(check.output).toContain("syntax is ok");
    expect(check.ok, check.output).toBe(true);
  });

  it("is rejected by nginx -t when a directive is broken, so the check can fail", async () => {
    const plan = await planOf("prod", { overrides: [`blueprint=${blueprint}`] });
    const broken = upload(plan, containerName, "/etc/nginx/nginx.conf").replace("limit_req_status 429;", "limit_req_status;");
    expect(nginxCheck(broken).ok).toBe(false);
  });
});

interface TraefikRouter {
  name: string;
  status: string;
  service: string;
  rule: string;
  middlewares?: string[];
}

/**
 * Runs Traefik on 127.0.0.1 with the generated static configuration (only
 * the listen addresses, the ACME storage path and a local ACME directory are
 * changed, so nothing leaves this machine) and the generated dynamic
 * configuration as is, then reads its API for what it made of the routes.
 */
async function traefikLoad(staticYAML: string, dynamicYAML: string): Promise<{ routers: TraefikRouter[]; middlewares: { name: string; status: string }[]; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), "traefik-check-"));
  const ports = { web: await freePort(), websecure: await freePort(), ping: await freePort(), metrics: await freePort(), api: await freePort() };
  const config = parse(staticYAML) as Record<string, any>;
  config.entryPoints.web.address = `127.0.0.1:${ports.web}`;
  config.entryPoints.websecure.address = `127.0.0.1:${ports.websecure}`;
  config.entryPoints.ping.address = `127.0.0.1:${ports.ping}`;
  config.entryPoints.metrics.address = `127.0.0.1:${ports.metrics}`;
  config.entryPoints.traefik = { address: `127.0.0.1:${ports.api}` };
  config.api = { insecure: true, dashboard: false };
  config.providers.file.filename = join(dir, "dynamic.yml");
  config.certificatesResolvers.letsencrypt.acme.storage = join(dir, "acme.json");
  config.certificatesResolvers.letsencrypt.acme.caServer = "http://127.0.0.1:9/directory";
  writeFileSync(join(dir, "traefik.yml"), JSON.stringify(config));
  writeFileSync(join(dir, "dynamic.yml"), dynamicYAML);
  const started = performance.now();
  const child = spawn(requireTool("traefik"), [`--configFile=${join(dir, "traefik.yml")}`], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        const ping = await fetch(`http://127.0.0.1:${ports.ping}/ping`, { signal: AbortSignal.timeout(500) });
        if (ping.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The file provider's configuration is applied shortly after the entry points open.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const api = async (path: string) => (await fetch(`http://127.0.0.1:${ports.api}/api/http/${path}`)).json();
    const routers = ((await api("routers")) as TraefikRouter[]).filter((router) => router.name.endsWith("@file"));
    const middlewares = ((await api("middlewares")) as { name: string; status: string }[]).filter((middleware) => middleware.name.endsWith("@file"));
    return { routers, middlewares, ms: performance.now() - started };
  } catch (error) {
    throw new Error(`traefik did not answer: ${(error as Error).message}\n${output}`);
  } finally {
    await stopProcess(child, exited);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each([
  ["nextmavens", "nextmavens-traefik", ["portal"]],
  ["ai-video", "aivideo-traefik", ["api", "grafana", "studio"]],
])("Traefik configuration of %s", (blueprint, containerName, subdomains) => {
  it("is loaded by Traefik itself: every route a router, each enabled, behind the three middlewares", async () => {
    const plan = await planOf("prod", { overrides: [`blueprint=${blueprint}`] });
    const loaded = await traefikLoad(upload(plan, containerName, "/etc/traefik/traefik.yml"), upload(plan, containerName, "/etc/traefik/dynamic.yml"));
    expect(loaded.routers.map((router) => router.name).sort()).toEqual(subdomains.map((subdomain) => `${subdomain}-vpai-example-com@file`).sort());
    for (const router of loaded.routers) {
      expect(router.status, router.name).toBe("enabled");
      expect(router.middlewares).toEqual(["security-headers@file", "rate-limit@file", "compress@file"]);
    }
    expect(loaded.middlewares.map((middleware) => [middleware.name, middleware.status]).sort()).toEqual([
      ["compress@file", "enabled"],
      ["rate-limit@file", "enabled"],
      ["security-headers@file", "enabled"],
    ]);
  });

  it("loads no router from a dynamic configuration with an unknown field, so the check can fail", async () => {
    const plan = await planOf("prod", { overrides: [`blueprint=${blueprint}`] });
    const broken = upload(plan, containerName, "/etc/traefik/dynamic.yml").replace("passHostHeader: true", "passHostHeader: true\n        notAField: 1");
    const loaded = await traefikLoad(upload(plan, containerName, "/etc/traefik/traefik.yml"), broken);
    expect(loaded.routers).toEqual([]);
  });
});
