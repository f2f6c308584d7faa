import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { request } from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRETS_CONTAINER_DIR } from "../../components/container/secret-files";
import { BASIC_AUTH_DIR, htpasswdFiles, htpasswdScript } from "../../components/ingress/basic-auth";
import { nginxConf } from "../../components/ingress/nginx-conf";
import { traefikDynamicConfig, traefikStaticConfig, traefikYAML } from "../../components/ingress/traefik-config";
import { freePort, waitUntilAnswering } from "../support/processes";
import { containerNamed, planOf, uploadOf } from "../support/plans";
import { requireTool } from "../support/tools";
import { withLocalCache } from "../support/nginx-cache";
import type { PlanResult } from "../../tools/plan/plan";

/**
 * The generated proxy configurations, checked by the proxies themselves:
 * Debian's nginx (`nginx -t`) for seeds 001 and 004, and Traefik v3.6.12
 * built from the Go module proxy (tools/install/traefik.sh) for seeds 000 and
 * 003, which loads the dynamic configuration and reports each router's status.
 * Basic auth is then proven live: the real nginx and the real Traefik serve
 * the generated configuration on 127.0.0.1, with the htpasswd files written
 * by the generated start script from bcrypt hashes made by real tools
 * (Apache's htpasswd, `caddy hash-password`), and answer real requests.
 */

/** A file the container gets: uploaded, or installed on the host as a live file. */
function upload(plan: PlanResult, containerName: string, path: string): string {
  return uploadOf(plan, containerName, path);
}

/** The lines of a container's `sh -c` start script that come before the proxy itself, which the test starts on its own terms. */
function preparation(plan: PlanResult, containerName: string): string {
  const command = containerNamed(plan, containerName).inputs.command as string[];
  expect(command.slice(0, 2)).toEqual(["sh", "-c"]);
  const lines = command[2]!.split("\n");
  return lines
    .slice(
      0,
      lines.findIndex((line) => /^(\(while|exec )/.test(line)),
    )
    .join("\n");
}

/** A bcrypt hash of `password` made by a real tool: Apache's htpasswd ($2y$, cost 5 to keep the test quick) or caddy ($2a$). */
function bcrypt(tool: "htpasswd" | "caddy", password: string): string {
  const result =
    tool === "htpasswd"
      ? spawnSync(requireTool("htpasswd"), ["-nbB", "-C", "5", "someone", password], { encoding: "utf8" })
      : spawnSync(requireTool("caddy"), ["hash-password", "--plaintext", password], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${tool}: ${result.stderr}`);
  const hash = tool === "htpasswd" ? result.stdout.trim().split(":")[1]! : result.stdout.trim();
  expect(hash).toMatch(tool === "htpasswd" ? /^\$2y\$05\$.{53}$/ : /^\$2a\$\d\d\$.{53}$/);
  return hash;
}

/**
 * Runs the generated preparation with the real sh, as `uid` when the test runs
 * as root (the proxy's user reads what it wrote), with its secret files (C15)
 * by name in a directory of the test's standing for /run/secrets, owned by
 * that user as on the host.
 */
function writeHtpasswd(script: string, secretFiles: Record<string, string>, uid?: number): void {
  const secrets = mkdtempSync(join(tmpdir(), "secret-files-"));
  try {
    for (const [name, content] of Object.entries(secretFiles)) {
      writeFileSync(join(secrets, name), content, { mode: 0o400 });
      if (uid !== undefined) chownSync(join(secrets, name), uid, uid);
    }
    if (uid !== undefined) chownSync(secrets, uid, uid);
    const local = script.replaceAll(`${SECRETS_CONTAINER_DIR}/`, `${secrets}/`);
    const result = spawnSync("sh", ["-c", local], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    expect(result.status, result.stderr).toBe(0);
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
}

/** An upstream that answers 200 and reports whether credentials reached it. */
async function startBackend(): Promise<{ server: Server; port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((incoming, response) => {
    seen.push(incoming.headers);
    response.end("upstream\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, seen };
}

/** GET / over HTTPS on 127.0.0.1, with the name as SNI and Host (the proxies' certificates are self-signed or Traefik's default). */
function get(port: number, hostname: string, credentials?: string): Promise<{ status: number; challenge?: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        servername: hostname,
        rejectUnauthorized: false,
        timeout: 20_000,
        headers: { host: hostname, ...(credentials ? { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` } : {}) },
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            ...(response.headers["www-authenticate"] ? { challenge: String(response.headers["www-authenticate"]) } : {}),
          }),
        );
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer from ${hostname}`)));
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** Self-signed certificates wherever the configuration expects certbot's. */
function selfSignedCertificates(conf: string): void {
  for (const name of [...conf.matchAll(/ssl_certificate (\S+)\/fullchain\.pem;/g)].map((match) => match[1]!)) {
    mkdirSync(name, { recursive: true });
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test",
        "-keyout",
        join(name, "privkey.pem"),
        "-out",
        join(name, "fullchain.pem"),
      ],
      { encoding: "utf8" },
    );
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  }
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(path, entry.name), uid);
    else chownSync(join(path, entry.name), uid, uid);
  }
}

/** The two credentials of the live tests: the monitoring admin's hash from Apache's htpasswd, Studio's from caddy. */
const ADMIN_PASSWORD = "admin-correct-horse";
const STUDIO_PASSWORD = "studio-battery-staple";
const hashes = { admin: bcrypt("htpasswd", ADMIN_PASSWORD), studio: bcrypt("caddy", STUDIO_PASSWORD) };
/** Their htpasswd lines, as the secret files the start scripts read (basic-auth.ts). */
const HTPASSWD_FILES = {
  "htpasswd-infra-monitoringAdminPasswordHash": `admin:${hashes.admin}`,
  "htpasswd-infra-supabaseStudioPasswordHash": `supabase:${hashes.studio}`,
};

/** The stack setting that routes the admin UIs through the ingress. */
const INGRESS_ADMIN = 'monitoring={"adminAccess":"ingress"}';

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
    const localConf = withLocalCache(conf.replace(/^(\s*server )[a-z0-9-]+(:\d+;)$/gm, "$1127.0.0.1$2").replaceAll("/etc/letsencrypt/live", live), dir);
    selfSignedCertificates(localConf);
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
  it.each([
    ["prod", []],
    ["preprod", []],
    ["prod with adminAccess: ingress", [INGRESS_ADMIN]],
  ])("passes nginx -t on %s", async (stack, overrides) => {
    const plan = await planOf(stack.split(" ")[0]!, { overrides: [`blueprint=${blueprint}`, ...overrides] });
    const check = nginxCheck(upload(plan, containerName, "/etc/infra/live/nginx.conf"));
    expect(check.output).toContain("syntax is ok");
    expect(check.ok, check.output).toBe(true);
  });

  it("is rejected by nginx -t when a directive is broken, so the check can fail", async () => {
    const plan = await planOf("prod", { overrides: [`blueprint=${blueprint}`] });
    const broken = upload(plan, containerName, "/etc/infra/live/nginx.conf").replace("limit_req_status 429;", "limit_req_status;");
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

interface RunningTraefik {
  readonly dir: string;
  readonly ports: { readonly web: number; readonly websecure: number; readonly ping: number; readonly metrics: number; readonly api: number };
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs Traefik on 127.0.0.1 with the generated static configuration (only
 * the listen addresses, the ACME storage path and a local ACME directory are
 * changed, so nothing leaves this machine) and the dynamic configuration
 * `localise` makes of the generated one, once Traefik answers its ping and
 * has had a moment to apply the file provider's configuration.
 */
async function startTraefik(
  staticYAML: string,
  dynamicYAML: string,
  localise: (dynamic: string, dir: string) => string = (dynamic) => dynamic,
): Promise<RunningTraefik> {
  const dir = mkdtempSync(join(tmpdir(), "traefik-check-"));
  const ports = { web: await freePort(), websecure: await freePort(), ping: await freePort(), metrics: await freePort(), api: await freePort() };
  // Traefik's static configuration, edited by path; its schema is Traefik's, not typed here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
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
  writeFileSync(join(dir, "dynamic.yml"), localise(dynamicYAML, dir));
  const child = spawn(requireTool("traefik"), [`--configFile=${join(dir, "traefik.yml")}`], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const { stop, answered } = await waitUntilAnswering(child, `http://127.0.0.1:${ports.ping}/ping`, dir);
  if (!answered) {
    await stop();
    throw new Error(`traefik did not answer its ping:\n${output}`);
  }
  // The file provider's configuration is applied shortly after the entry points open.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { dir, ports, output: () => output, stop };
}

/** What Traefik made of the routes, from its API. */
async function traefikLoad(
  staticYAML: string,
  dynamicYAML: string,
  localise?: (dynamic: string, dir: string) => string,
): Promise<{ routers: TraefikRouter[]; middlewares: { name: string; status: string }[] }> {
  const traefik = await startTraefik(staticYAML, dynamicYAML, localise);
  try {
    const api = async (path: string) => (await fetch(`http://127.0.0.1:${traefik.ports.api}/api/http/${path}`)).json();
    const routers = ((await api("routers")) as TraefikRouter[]).filter((router) => router.name.endsWith("@file"));
    const middlewares = ((await api("middlewares")) as { name: string; status: string }[]).filter((middleware) => middleware.name.endsWith("@file"));
    return { routers, middlewares };
  } catch (error) {
    throw new Error(`traefik did not answer: ${(error as Error).message}\n${traefik.output()}`, { cause: error });
  } finally {
    await traefik.stop();
  }
}

/** The generated start script's htpasswd files, written into the test's directory, and the dynamic configuration pointed at them. */
function withHtpasswd(plan: PlanResult, containerName: string, secretFiles: Record<string, string>): (dynamic: string, dir: string) => string {
  return (dynamic, dir) => {
    const moved = (text: string) => text.replaceAll(BASIC_AUTH_DIR, join(dir, "basic-auth"));
    writeHtpasswd(moved(preparation(plan, containerName)), secretFiles);
    return moved(dynamic);
  };
}

const STUDIO_MIDDLEWARE = "basic-auth-infra-supabaseStudioPasswordHash@file";
const ADMIN_MIDDLEWARE = "basic-auth-infra-monitoringAdminPasswordHash@file";

describe.each<[string, string, string[], Record<string, string>, string[]]>([
  ["nextmavens", "nextmavens-traefik", [], { portal: "" }, []],
  // Seed 000: Studio administers the whole database and has no login of its own.
  ["ai-video", "aivideo-traefik", [], { api: "", grafana: "", studio: STUDIO_MIDDLEWARE }, [STUDIO_MIDDLEWARE]],
  [
    "ai-video",
    "aivideo-traefik",
    [INGRESS_ADMIN],
    { api: "", grafana: ADMIN_MIDDLEWARE, studio: STUDIO_MIDDLEWARE, metrics: ADMIN_MIDDLEWARE, alerts: ADMIN_MIDDLEWARE, logs: ADMIN_MIDDLEWARE },
    [ADMIN_MIDDLEWARE, STUDIO_MIDDLEWARE],
  ],
])("Traefik configuration of %s %j", (blueprint, containerName, overrides, routers, authMiddlewares) => {
  const plan = () => planOf("prod", { overrides: [`blueprint=${blueprint}`, ...overrides] });

  it("is loaded by Traefik itself: every route a router, each enabled, behind the three middlewares and, where it asks for a password, basic auth", async () => {
    const planned = await plan();
    const htpasswd = authMiddlewares.length > 0 ? withHtpasswd(planned, containerName, HTPASSWD_FILES) : undefined;
    const loaded = await traefikLoad(
      upload(planned, containerName, "/etc/traefik/traefik.yml"),
      upload(planned, containerName, "/etc/infra/live/dynamic.yml"),
      htpasswd,
    );
    // Each name has its router, and one that Traefik answers itself for /metrics (E2).
    expect(loaded.routers.map((router) => router.name).sort()).toEqual(
      Object.keys(routers)
        .flatMap((subdomain) => [`${subdomain}-vpai-example-com@file`, `${subdomain}-vpai-example-com-blocked-0@file`])
        .sort(),
    );
    for (const router of loaded.routers) {
      expect(router.status, router.name).toBe("enabled");
      const auth = routers[router.name.replace(/-vpai-example-com@file$/, "")]!;
      expect(router.middlewares, router.name).toEqual(["security-headers@file", "rate-limit@file", ...(auth ? [auth] : []), "compress@file"]);
    }
    expect(loaded.middlewares.map((middleware) => [middleware.name, middleware.status]).sort()).toEqual(
      [
        ["compress@file", "enabled"],
        ["rate-limit@file", "enabled"],
        ["security-headers@file", "enabled"],
        ...authMiddlewares.map((name) => [name, "enabled"]),
      ].sort(),
    );
  });

  it("loads no router from a dynamic configuration with an unknown field, so the check can fail", async () => {
    const planned = await plan();
    const broken = upload(planned, containerName, "/etc/infra/live/dynamic.yml").replace("passHostHeader: true", "passHostHeader: true\n        notAField: 1");
    const loaded = await traefikLoad(upload(planned, containerName, "/etc/traefik/traefik.yml"), broken);
    expect(loaded.routers).toEqual([]);
  });
});

describe("basic auth on the real Traefik (seed 000: Supabase Studio, and the admin UIs with adminAccess: ingress)", () => {
  let traefik: RunningTraefik;
  let backend: Awaited<ReturnType<typeof startBackend>>;

  beforeAll(async () => {
    const planned = await planOf("prod", { overrides: ["blueprint=ai-video", INGRESS_ADMIN] });
    backend = await startBackend();
    const toBackend = (dynamic: string) => dynamic.replace(/url: http:\/\/[a-z0-9-]+:\d+/g, `url: http://127.0.0.1:${backend.port}`);
    const htpasswd = withHtpasswd(planned, "aivideo-traefik", HTPASSWD_FILES);
    traefik = await startTraefik(
      upload(planned, "aivideo-traefik", "/etc/traefik/traefik.yml"),
      upload(planned, "aivideo-traefik", "/etc/infra/live/dynamic.yml"),
      (dynamic, dir) => toBackend(htpasswd(dynamic, dir)),
    );
  }, 60_000);

  afterAll(async () => {
    await traefik?.stop();
    await new Promise((resolve) => backend?.server.close(resolve));
  });

  const https = (subdomain: string, credentials?: string) => get(traefik.ports.websecure, `${subdomain}.vpai.example.com`, credentials);

  it("asks for a password before Studio and lets only supabase's through, without passing it on", async () => {
    const before = backend.seen.length;
    expect(await https("studio")).toEqual({ status: 401, challenge: 'Basic realm="restricted"' });
    expect((await https("studio", "supabase:wrong-password")).status).toBe(401);
    expect((await https("studio", `admin:${ADMIN_PASSWORD}`)).status).toBe(401);
    expect(backend.seen.length, "nothing reached Studio before the right password").toBe(before);
    expect((await https("studio", `supabase:${STUDIO_PASSWORD}`)).status).toBe(200);
    expect(backend.seen.at(-1)!.authorization).toBeUndefined();
  });

  it("asks the monitoring admin's password before Prometheus, and none before the API", async () => {
    expect((await https("metrics")).status).toBe(401);
    expect((await https("metrics", `supabase:${STUDIO_PASSWORD}`)).status).toBe(401);
    expect((await https("metrics", `admin:${ADMIN_PASSWORD}`)).status).toBe(200);
    expect((await https("api")).status).toBe(200);
  });
});

interface RunningNginx {
  readonly https: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Serves a generated nginx.conf with the real nginx on 127.0.0.1: the
 * listeners move to free ports (IPv6 ones are dropped), every upstream
 * points at `backendPort`, the certificates are self-signed, and every
 * /tmp path (pid, buffers, the htpasswd files) moves into the test's
 * directory. As in the container, one unprivileged user runs both the start
 * script and nginx; when the test runs as root, that is nobody.
 */
async function startNginx(conf: string, preparationScript: string, secretFiles: Record<string, string>, backendPort: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), "nginx-live-"));
  const ports = { http: await freePort(), https: await freePort(), status: await freePort() };
  const moved = (text: string) => text.replace(/(\s)\/tmp\//g, `$1${dir}/`);
  const localConf = withLocalCache(moved(conf), dir)
    .replace(/^\s*listen \[::\]:\d+[^;]*;\n/gm, "")
    .replace(/listen 80 /g, `listen 127.0.0.1:${ports.http} `)
    .replace(/listen 443 /g, `listen 127.0.0.1:${ports.https} `)
    .replace(/listen (\d+);/g, `listen 127.0.0.1:${ports.status};`)
    .replace(/^(\s*server )[a-z0-9-]+:\d+;$/gm, `$1127.0.0.1:${backendPort};`)
    .replace(/(set \$late_upstream http:\/\/)[a-z0-9-]+:\d+;/g, `$1127.0.0.1:${backendPort};`)
    .replaceAll("/etc/letsencrypt/live", join(dir, "live"));
  selfSignedCertificates(localConf);
  writeFileSync(join(dir, "nginx.conf"), localConf);
  const uid = process.getuid?.() === 0 ? 65534 : undefined;
  if (uid !== undefined) chownTree(dir, uid);
  writeHtpasswd(moved(preparationScript), secretFiles, uid);
  // nginx opens /dev/stdout by path for its access log, which reopens this file as nginx's user.
  const log = join(dir, "nginx.log");
  const fd = openSync(log, "w");
  if (uid !== undefined) chownSync(log, uid, uid);
  const child: ChildProcess = spawn(requireTool("nginx"), ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: ["ignore", fd, fd],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  closeSync(fd);
  const { stop, answered } = await waitUntilAnswering(child, `http://127.0.0.1:${ports.http}/healthz`, dir);
  const output = () => readFileSync(log, "utf8");
  if (!answered) {
    const text = output();
    await stop();
    throw new Error(`nginx did not answer:\n${text}`);
  }
  return { https: ports.https, log: output, stop };
}

describe.each([
  ["fastapi", "fastapi-nginx", "api"],
  ["galion", "galion-nginx", "app"],
])("basic auth on the real nginx: %s with adminAccess: ingress", (blueprint, containerName, openSubdomain) => {
  let nginx: RunningNginx;
  let backend: Awaited<ReturnType<typeof startBackend>>;

  beforeAll(async () => {
    const planned = await planOf("prod", { overrides: [`blueprint=${blueprint}`, INGRESS_ADMIN] });
    backend = await startBackend();
    nginx = await startNginx(upload(planned, containerName, "/etc/infra/live/nginx.conf"), preparation(planned, containerName), HTPASSWD_FILES, backend.port);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((resolve) => backend?.server.close(resolve));
  });

  const https = (subdomain: string, credentials?: string) => get(nginx.https, `${subdomain}.vpai.example.com`, credentials);

  it.each(["grafana", "metrics", "alerts", "logs"])(
    "asks for the admin password before %s, takes only the right one, and does not pass it on",
    async (subdomain) => {
      const before = backend.seen.length;
      expect(await https(subdomain)).toEqual({ status: 401, challenge: 'Basic realm="restricted"' });
      expect((await https(subdomain, "admin:wrong-password")).status).toBe(401);
      expect(backend.seen.length, "nothing reached the admin UI before the right password").toBe(before);
      expect((await https(subdomain, `admin:${ADMIN_PASSWORD}`)).status).toBe(200);
      expect(backend.seen.at(-1)!.authorization).toBeUndefined();
    },
  );

  it("asks for nothing on the application's own route", async () => {
    expect((await https(openSubdomain)).status).toBe(200);
  });

  it("read the htpasswd file the start script wrote, with no error in its log", () => {
    expect(nginx.log()).not.toMatch(/\[(crit|alert|emerg)\]|open\(\) ".*basic-auth/);
  });
});

/**
 * Seed 004's proxy cache on the real nginx serving GALION's generated
 * nginx.conf (adminAccess: ingress, so the admin routes are there too, and a
 * stack name `www` for the app's frontend). An
 * upstream answers with the caching headers its path names and counts the
 * requests that reach it by name and path: a response served from the
 * cache never reaches it.
 */
describe("the proxy cache on the real nginx: galion", () => {
  let nginx: RunningNginx;
  let backend: Server;
  let backendPort = 0;
  const reached = new Map<string, number>();

  beforeAll(async () => {
    // www is a second name for GALION.APP's frontend (infra:ingress), so two names share one upstream.
    const planned = await planOf("prod", {
      overrides: ["blueprint=galion", INGRESS_ADMIN, 'ingress={"routes":[{"subdomain":"www","service":"app-frontend"}]}'],
    });
    backend = createServer((incoming, response) => {
      const key = `${incoming.headers.host} ${incoming.url}`;
      reached.set(key, (reached.get(key) ?? 0) + 1);
      const kind = (incoming.url ?? "/").split("/")[1];
      if (kind === "public" || kind === "cookie") response.setHeader("Cache-Control", "public, max-age=600");
      if (kind === "private") response.setHeader("Cache-Control", "private, max-age=600");
      if (kind === "no-store") response.setHeader("Cache-Control", "no-store");
      if (kind === "cookie") response.setHeader("Set-Cookie", "session=someone; Path=/; HttpOnly");
      response.end(`${key} #${reached.get(key)}\n`);
    });
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    backendPort = (backend.address() as { port: number }).port;
    nginx = await startNginx(upload(planned, "galion-nginx", "/etc/infra/live/nginx.conf"), preparation(planned, "galion-nginx"), HTPASSWD_FILES, backendPort);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((resolve) => backend?.close(resolve));
  });

  /** GET `path` of `subdomain` twice in a row (or once per header set), then how many of them reached the upstream. */
  const reachedOf = async (subdomain: string, path: string, requests: Record<string, string>[] = [{}, {}]): Promise<number> => {
    const hostname = `${subdomain}.vpai.example.com`;
    for (const headers of requests) expect((await getPath(nginx.https, hostname, path, headers)).status, `${hostname}${path}`).toBe(200);
    return reached.get(`${hostname} ${path}`) ?? 0;
  };
  const admin = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` };

  it.each(["api", "studio-api", "app", "studio", "www"])(
    "%s: a response its upstream marks public is served from the cache the second time",
    async (subdomain) => {
      expect(await reachedOf(subdomain, "/public/a")).toBe(1);
    },
  );

  it.each(["voice", "realtime"])("%s is never cached, whatever its upstream says", async (subdomain) => {
    expect(await reachedOf(subdomain, "/public/a")).toBe(2);
  });

  it.each(["grafana", "metrics", "alerts", "logs"])("%s, behind the admin password, is never cached", async (subdomain) => {
    expect(await reachedOf(subdomain, "/public/a", [admin, admin])).toBe(2);
  });

  it.each([
    ["no caching header at all", "/plain/a"],
    ["Cache-Control: private", "/private/a"],
    ["Cache-Control: no-store", "/no-store/a"],
    ["a Set-Cookie, though public", "/cookie/a"],
  ])("honours the upstream: %s is not stored", async (_case, path) => {
    expect(await reachedOf("api", path)).toBe(2);
  });

  it("passes a request with credentials to the upstream even when a stored answer exists, and stores none of its answers", async () => {
    // Stored by a request without credentials...
    expect(await reachedOf("api", "/public/shared")).toBe(1);
    // ...never given to one with a token or a cookie: the upstream answers those.
    expect(await reachedOf("api", "/public/shared", [{ authorization: "Bearer someone" }, { cookie: "session=someone" }])).toBe(3);
    // An answer to a request with credentials is not stored for the next visitor.
    expect(await reachedOf("api", "/public/token-first", [{ authorization: "Bearer someone" }, {}])).toBe(2);
    expect(await reachedOf("api", "/public/cookie-first", [{ cookie: "session=someone" }, {}])).toBe(2);
  });

  it("keys the cache on the name asked for: two names of one upstream never share an entry", async () => {
    expect(await reachedOf("app", "/public/same")).toBe(1);
    expect(await reachedOf("www", "/public/same")).toBe(1);
  });

  it("made its zones' directories in the cache volume and logged no error", () => {
    expect(nginx.log()).not.toMatch(/\[(crit|alert|emerg)\]/);
  });
});

/** GET `path` over HTTPS on 127.0.0.1 with the name as SNI and Host, and `headers`; the status and body. */
function getPath(port: number, hostname: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: "127.0.0.1", port, path, servername: hostname, rejectUnauthorized: false, timeout: 20_000, headers: { host: hostname, ...headers } },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer from ${hostname}`)));
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/**
 * E1 and E2 against the real proxies: requests written the way an attacker
 * writes them, sent byte for byte (no client cleans the path), to Caddy
 * serving vpai's generated Caddyfile, and to nginx and Traefik serving
 * configurations generated for the same n8n route. An upstream records
 * every path that reaches it. /metrics must never reach it, in any
 * spelling; n8n's setup only with the password; its webhooks without.
 */
const METRICS_ATTACKS = [
  "/metrics",
  "/metrics/",
  "//metrics",
  "/METRICS",
  "/Metrics/x",
  "/%6detrics",
  "/%6Detrics",
  "/metrics%2F",
  "/%2Fmetrics",
  "/metrics;x",
  "/metrics.json",
  "/./metrics",
  "/x/../metrics",
  "/metrics?x=1",
];
const SETUP_ATTACKS = [
  "/setup",
  "/rest/owner/setup",
  "/Rest/Owner/Setup",
  "//rest/owner/setup",
  "/rest/owner/setup;x",
  "/webhook/../rest/owner/setup",
  "/webhook/%2e%2e/rest/owner/setup",
  "/webhook/..%2Frest/owner/setup",
  "/WEBHOOK/../setup",
  "/webhook-test/x",
];
const N8N_PASSWORD = "n8n-tr0ub4dor";

/** An upstream that answers 200 to everything and records each request's path as it arrived. */
async function recordingBackend(): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((incoming, response) => {
    paths.push(incoming.url ?? "");
    response.end("upstream\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, paths };
}

/** One request with `path` sent exactly as written, over TLS (the name as SNI) or plain HTTP; its status. */
function sendRaw(port: number, hostname: string, path: string, options: { tls: boolean; credentials?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const authorization = options.credentials ? `Authorization: Basic ${Buffer.from(options.credentials).toString("base64")}\r\n` : "";
    const message = `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${authorization}Connection: close\r\n\r\n`;
    let answer = "";
    const done = () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0));
    const socket = options.tls
      ? tlsConnect({ host: "127.0.0.1", port, servername: hostname, rejectUnauthorized: false }, () => socket.write(message))
      : netConnect({ host: "127.0.0.1", port }, () => socket.write(message));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer for ${path}`)));
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", reject);
  });
}

/** A path as the upstream splits it: segments as written (no decoding), `.` and `..` resolved. */
function asSplit(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("?")[0]!.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

interface ExposureTarget {
  readonly proxy: string;
  readonly port: number;
  readonly tls: boolean;
  readonly backend: { paths: string[] };
}

function exposureCases(target: () => ExposureTarget, names: { readonly n8n: string; readonly open: string }): void {
  const send = (hostname: string, path: string, credentials?: string) =>
    sendRaw(target().port, hostname, path, { tls: target().tls, ...(credentials ? { credentials } : {}) });

  it("answers /metrics itself in every spelling, on an open route and on n8n's, so the upstream never sees it (E2)", async () => {
    const { backend } = target();
    for (const hostname of [names.open, names.n8n]) {
      const before = backend.paths.length;
      const statuses = [];
      for (const path of METRICS_ATTACKS) statuses.push([path, await send(hostname, path)]);
      expect(backend.paths.slice(before), `${hostname}: ${JSON.stringify(statuses)}`).toEqual([]);
      expect(
        statuses.every(([, status]) => status !== 200),
        JSON.stringify(statuses),
      ).toBe(true);
    }
    // The upstream is there, so the assertion above could fail: its neighbours reach it.
    expect(await send(names.open, "/metricsx")).toBe(200);
    expect(backend.paths.at(-1)).toBe("/metricsx");
  });

  it("asks for the password before n8n's setup in every spelling, and passes only webhooks without it (E1)", async () => {
    const { backend } = target();
    const before = backend.paths.length;
    const statuses = [];
    for (const path of SETUP_ATTACKS) statuses.push([path, await send(names.n8n, path)]);
    // What reached n8n without a password is a webhook as n8n splits the path.
    expect(
      backend.paths.slice(before).filter((path) => !asSplit(path).startsWith("/webhook/")),
      JSON.stringify(statuses),
    ).toEqual([]);
    expect(statuses.filter(([path]) => ["/setup", "/rest/owner/setup", "/Rest/Owner/Setup"].includes(path as string)).map(([, status]) => status)).toEqual([
      401, 401, 401,
    ]);
    expect(await send(names.n8n, "/webhook/order-created")).toBe(200);
    expect(backend.paths.at(-1)).toBe("/webhook/order-created");
    expect(await send(names.n8n, "/rest/owner/setup", "n8n:wrong")).toBe(401);
    expect(await send(names.n8n, "/rest/owner/setup", `n8n:${N8N_PASSWORD}`)).toBe(200);
    expect(backend.paths.at(-1)).toBe("/rest/owner/setup");
  });
}

describe("E1 and E2 on the real Caddy, serving vpai's generated Caddyfile", () => {
  let caddy: { port: number; stop(): Promise<void> };
  let backend: Awaited<ReturnType<typeof recordingBackend>>;

  beforeAll(async () => {
    const planned = await planOf("prod");
    backend = await recordingBackend();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "caddy-exposure-"));
    // Plain HTTP on a free port, no admin API, no ACME; every upstream is the recording one.
    const caddyfileText = upload(planned, "vpai-caddy", "/etc/infra/live/Caddyfile")
      .replace("\tadmin localhost:2019", "\tadmin off\n\tauto_https off")
      .replace(/^http:\/\/:\d+ \{\n\tmetrics \/metrics\n\}\n/m, "")
      .replace(/^([a-z0-9.-]+\.example\.com) \{$/gm, `http://$1:${port} {`)
      .replace(/reverse_proxy [a-z0-9-]+:\d+/g, `reverse_proxy 127.0.0.1:${backend.port}`);
    writeFileSync(join(dir, "Caddyfile"), `${caddyfileText}\nhttp://127.0.0.1:${port} {\n\trespond "ok" 200\n}\n`);
    const child = spawn(requireTool("caddy"), ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        HOME: dir,
        XDG_DATA_HOME: dir,
        XDG_CONFIG_HOME: dir,
        INFRA_BCRYPT_N8N_PASSWORD_HASH: bcrypt("caddy", N8N_PASSWORD),
        INFRA_ADMIN_PASSWORD_HASH: hashes.admin,
      },
    });
    let output = "";
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const { stop, answered } = await waitUntilAnswering(child, `http://127.0.0.1:${port}/`, dir);
    if (!answered) {
      await stop();
      throw new Error(`caddy did not answer:\n${output}`);
    }
    caddy = { port, stop };
  }, 60_000);

  afterAll(async () => {
    await caddy?.stop();
    await new Promise((resolve) => backend?.server.close(resolve));
  });

  exposureCases(() => ({ proxy: "caddy", port: caddy.port, tls: false, backend }), { n8n: "n8n.vpai.example.com", open: "llm.vpai.example.com" });
});

const N8N_ROUTES = [
  {
    hostname: "n8n.vpai.example.com",
    service: "n8n",
    port: 5678,
    basicAuth: { user: "n8n", passwordHashSecret: "infra:n8nPasswordHash" },
    publicPaths: ["/webhook/"],
  },
  { hostname: "llm.vpai.example.com", service: "litellm", port: 4000 },
];
const N8N_HTPASSWD_FILES = () => ({ "htpasswd-infra-n8nPasswordHash": `n8n:${bcrypt("htpasswd", N8N_PASSWORD)}` });

describe("E1 and E2 on the real nginx, serving the configuration generated for n8n's route", () => {
  let nginx: RunningNginx;
  let backend: Awaited<ReturnType<typeof recordingBackend>>;

  beforeAll(async () => {
    backend = await recordingBackend();
    const options = {
      certificateDir: "/etc/letsencrypt/live",
      certificateName: "vpai",
      rateLimitPerMinute: 6000,
      burst: 1000,
      realIpFrom: [],
      clientMaxBodyMb: 10,
      healthPath: "/healthz",
      statusPort: 8081,
      statusPath: "/stub_status",
    };
    const script = htpasswdScript(htpasswdFiles(N8N_ROUTES)).join("\n");
    nginx = await startNginx(nginxConf(N8N_ROUTES, options), script, N8N_HTPASSWD_FILES(), backend.port);
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((resolve) => backend?.server.close(resolve));
  });

  exposureCases(() => ({ proxy: "nginx", port: nginx.https, tls: true, backend }), { n8n: "n8n.vpai.example.com", open: "llm.vpai.example.com" });
});

describe("E1 and E2 on the real Traefik, serving the configuration generated for n8n's route", () => {
  let traefik: RunningTraefik;
  let backend: Awaited<ReturnType<typeof recordingBackend>>;

  beforeAll(async () => {
    backend = await recordingBackend();
    const options = { rateLimitPerMinute: 6000, burst: 1000, trustedIPs: [] };
    const dynamic = traefikYAML(traefikDynamicConfig(N8N_ROUTES, options)).replace(/url: http:\/\/[a-z0-9-]+:\d+/g, `url: http://127.0.0.1:${backend.port}`);
    const script = htpasswdScript(htpasswdFiles(N8N_ROUTES)).join("\n");
    traefik = await startTraefik(traefikYAML(traefikStaticConfig(options)), dynamic, (text, dir) => {
      const moved = (content: string) => content.replaceAll(BASIC_AUTH_DIR, join(dir, "basic-auth"));
      writeHtpasswd(moved(script), N8N_HTPASSWD_FILES());
      return moved(text);
    });
  }, 60_000);

  afterAll(async () => {
    await traefik?.stop();
    await new Promise((resolve) => backend?.server.close(resolve));
  });

  exposureCases(() => ({ proxy: "traefik", port: traefik.ports.websecure, tls: true, backend }), { n8n: "n8n.vpai.example.com", open: "llm.vpai.example.com" });
});
