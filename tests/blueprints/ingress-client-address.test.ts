import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overlayOverrides } from "../../tools/plan/plan";
import { inNamespace, ip, run, stop } from "../host/netns";
import { planOf, uploadOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { requireTool } from "../support/tools";
import { withLocalCache } from "../support/nginx-cache";

/**
 * F3 behind the load balancer, live: the nginx.conf GALION phase 4 renders
 * for its app servers runs with the real nginx inside a network namespace
 * that holds the app server's, the balancer's and a stranger's private
 * addresses, exactly as rendered but for the scratch paths, the
 * certificates and the upstream. A client script speaks the PROXY protocol
 * the way the Hetzner balancer does (proxyprotocol: true), then TLS and
 * HTTP. Nothing leaves the namespace.
 */
const id = `${process.pid}`.slice(-6);
const NS = `infra-lb-${id}`;

// Phase 4's addresses: app-1, the balancer, and another host on the private network.
const TARGET = "10.0.1.11";
const BALANCER = "10.0.1.100";
const STRANGER = "10.0.1.50";
// A Cloudflare edge (173.245.48.0/20), two visitors behind it, and a visitor who found the balancer's own address.
const CLOUDFLARE_EDGE = "173.245.48.10";
const VISITOR_A = "198.51.100.1";
const VISITOR_B = "198.51.100.2";
const BYPASSER = "192.0.2.99";
const BACKEND_PORT = 18080;
const HOSTNAME = "app.galion.example.com";
const NOBODY = 65534;

/** One request: the connection's own source address, the PROXY header's claimed client if any, and extra headers. */
interface Visit {
  readonly from: string;
  readonly claim?: string;
  readonly port?: number;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly count?: number;
}

const CLIENT = `
const net = require("node:net");
const tls = require("node:tls");
const { target, hostname, visits } = JSON.parse(process.argv[1]);
const once = (visit) => new Promise((resolve) => {
  const port = visit.port ?? 443;
  const socket = net.connect({ host: target, port, localAddress: visit.from });
  let answer = "";
  const done = () => { socket.destroy(); const status = /^HTTP\\/1\\.1 (\\d{3})/.exec(answer); resolve(status ? Number(status[1]) : 0); };
  socket.setTimeout(5000, done);
  socket.once("error", done);
  socket.once("connect", () => {
    if (visit.claim) socket.write("PROXY TCP4 " + visit.claim + " " + target + " " + socket.localPort + " " + port + "\\r\\n");
    const headers = Object.entries({ Host: hostname, Connection: "close", ...(visit.headers ?? {}) }).map(([k, v]) => k + ": " + v + "\\r\\n").join("");
    const request = "GET " + (visit.path ?? "/") + " HTTP/1.1\\r\\n" + headers + "\\r\\n";
    if (port !== 443) { socket.on("data", (chunk) => (answer += chunk)); socket.on("end", done); socket.write(request); return; }
    const secure = tls.connect({ socket, servername: hostname, rejectUnauthorized: false }, () => secure.write(request));
    secure.on("data", (chunk) => (answer += chunk));
    secure.on("end", done);
    secure.on("error", done);
  });
});
(async () => {
  const statuses = [];
  for (const visit of visits) {
    const group = [];
    for (let i = 0; i < (visit.count ?? 1); i++) group.push(await once(visit));
    statuses.push(group);
  }
  process.stdout.write(JSON.stringify(statuses));
})();
`;

/** The HTTP status of each request, in order, one list per visit. */
function visit(...visits: Visit[]): number[][] {
  return JSON.parse(inNamespace(NS, process.execPath, ["-e", CLIENT, JSON.stringify({ target: TARGET, hostname: HOSTNAME, visits })])) as number[][];
}

const BACKEND = `
require("node:http").createServer((request, response) => {
  process.stdout.write(JSON.stringify({ realIp: request.headers["x-real-ip"] ?? null }) + "\\n");
  response.end("upstream\\n");
}).listen(${BACKEND_PORT}, "127.0.0.1", () => process.stdout.write("listening\\n"));
`;

const children: ChildProcess[] = [];
let dir = "";
let log = "";
const seenByBackend: string[] = [];

function chownTree(path: string): void {
  chownSync(path, NOBODY, NOBODY);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(path, entry.name));
    else chownSync(join(path, entry.name), NOBODY, NOBODY);
  }
}

/** Self-signed certificates wherever the configuration expects certbot's. */
function selfSignedCertificates(conf: string): void {
  for (const name of [...conf.matchAll(/ssl_certificate (\S+)\/fullchain\.pem;/g)].map((match) => match[1]!)) {
    mkdirSync(name, { recursive: true });
    run("openssl", [
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
    ]);
  }
}

/** Polls until `check` holds, up to 15 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${log ? readFileSync(log, "utf8") : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  ip("netns", "add", NS);
  ip("-n", NS, "link", "set", "lo", "up");
  for (const address of [TARGET, BALANCER, STRANGER]) ip("-n", NS, "addr", "add", `${address}/32`, "dev", "lo");
  // As Docker does inside a container's namespace, so nginx binds 80/443 as nobody.
  inNamespace(NS, requireTool("sysctl"), ["--quiet", "-w", "net.ipv4.ip_unprivileged_port_start=0"]);

  const plan = await planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", "phase-4.yaml")) });
  const conf = uploadOf(plan, "galion-nginx", "/etc/infra/live/nginx.conf");
  dir = mkdtempSync(join(tmpdir(), "nginx-lb-"));
  const localConf = withLocalCache(
    conf
      .replace(/(\s)\/tmp\//g, `$1${dir}/`)
      .replace(/^\s*listen \[::\]:\d+[^;]*;\n/gm, "")
      .replace(/^(\s*server )[a-z0-9-]+:\d+;$/gm, `$1127.0.0.1:${BACKEND_PORT};`)
      .replace(/(set \$late_upstream http:\/\/)[a-z0-9-]+:\d+;/g, `$1127.0.0.1:${BACKEND_PORT};`)
      .replaceAll("/etc/letsencrypt/live", join(dir, "live")),
    dir,
  );
  selfSignedCertificates(localConf);
  writeFileSync(join(dir, "nginx.conf"), localConf);
  chownTree(dir);

  const backend = spawn(requireTool("ip"), ["netns", "exec", NS, process.execPath, "-e", BACKEND], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(backend);
  let backendOutput = "";
  backend.stdout!.on("data", (chunk: Buffer) => {
    backendOutput += chunk.toString();
    for (const line of chunk
      .toString()
      .split("\n")
      .filter((text) => text.startsWith("{")))
      seenByBackend.push((JSON.parse(line) as { realIp: string }).realIp);
  });
  await until(() => backendOutput.includes("listening"), "the backend listening");

  // nginx opens /dev/stdout by path for its access log, which reopens this file as nobody; in
  // append mode, so the access log and the error log on stderr do not write over each other.
  log = join(dir, "nginx.log");
  const fd = openSync(log, "a");
  chownSync(log, NOBODY, NOBODY);
  const nginx = spawn(
    requireTool("ip"),
    [
      "netns",
      "exec",
      NS,
      requireTool("setpriv"),
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      requireTool("nginx"),
      "-p",
      dir,
      "-c",
      join(dir, "nginx.conf"),
      "-g",
      "daemon off;",
    ],
    { stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  children.push(nginx);
  await until(() => {
    const probe = spawnSync(requireTool("ip"), ["netns", "exec", NS, "bash", "-c", `exec 3<>/dev/tcp/${TARGET}/443`]);
    return probe.status === 0 || nginx.exitCode !== null;
  }, "nginx listening");
  expect(nginx.exitCode, readFileSync(log, "utf8")).toBeNull();
}, 90_000);

afterAll(async () => {
  for (const child of children.reverse()) await stop(child);
  try {
    ip("netns", "del", NS);
  } catch {
    // already gone
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(ip("netns", "list")).not.toContain(NS);
});

/** The access log's lines for requests to `/`, as [client key, status]. */
function logged(): [string, number][] {
  return readFileSync(log, "utf8")
    .split("\n")
    .map((line) => /^(\S+) via \S+ \[[^\]]+\] "GET \/ HTTP\/1\.1" (\d{3}) /.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1]!, Number(match[2])]);
}

describe("nginx behind the load balancer, live (F3, GALION phase 4)", () => {
  it("keys two visitors behind Cloudflare apart: one is rate-limited, the other is not", async () => {
    const throughCloudflare = (visitor: string, count: number): Visit => ({
      from: BALANCER,
      claim: CLOUDFLARE_EDGE,
      headers: { "CF-Connecting-IP": visitor },
      count,
    });
    // Phase 4 allows 150 requests a minute (one every 0.4 s) with a burst of 50 per client: 60 in
    // a row get 51 answers, and one more for each 0.4 s they took, then 429s.
    const [a, b] = visit(throughCloudflare(VISITOR_A, 60), throughCloudflare(VISITOR_B, 5));
    const refused = a!.filter((status) => status === 429).length;
    expect(a!.slice(0, 51)).toEqual(Array(51).fill(200));
    expect(a).toEqual([...Array(60 - refused).fill(200), ...Array(refused).fill(429)]);
    expect(refused, JSON.stringify(a)).toBeGreaterThanOrEqual(5);
    expect(b).toEqual(Array(5).fill(200));
    const keys = logged();
    expect(new Set(keys.map(([key]) => key)), readFileSync(log, "utf8").slice(-3000)).toEqual(new Set([VISITOR_A, VISITOR_B]));
    expect(keys.filter(([key, status]) => key === VISITOR_A && status === 429)).toHaveLength(refused);
    expect(keys.filter(([key]) => key === VISITOR_B).map(([, status]) => status)).toEqual(Array(5).fill(200));
    // The application sees the visitor, not the balancer or the edge (the backend reports as the event loop turns).
    await until(() => seenByBackend.length >= 60 - refused + 5, "the backend reporting every request it answered");
    expect(new Set(seenByBackend)).toEqual(new Set([VISITOR_A, VISITOR_B]));
  });

  it("refuses a visitor who reached the balancer without Cloudflare, whatever header it sends", () => {
    expect(visit({ from: BALANCER, claim: BYPASSER, headers: { "CF-Connecting-IP": VISITOR_B, "X-Forwarded-For": CLOUDFLARE_EDGE } })).toEqual([[403]]);
    expect(logged().at(-1)).toEqual([BYPASSER, 403]);
  });

  it("does not let a connection from another address than the balancer claim one", async () => {
    const before = seenByBackend.length;
    // A PROXY header from a stranger is not trusted: nginx keeps the stranger's own address, outside Cloudflare.
    expect(visit({ from: STRANGER, claim: CLOUDFLARE_EDGE, headers: { "CF-Connecting-IP": VISITOR_B } })).toEqual([[403]]);
    expect(logged().at(-1)).toEqual([STRANGER, 403]);
    // Without a PROXY header there is no HTTP at all on a PROXY-protocol listener.
    expect(visit({ from: STRANGER, headers: { "CF-Connecting-IP": VISITOR_B } })).toEqual([[0]]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seenByBackend.length).toBe(before);
  });

  it("answers the balancer's health check on port 80, which carries a PROXY header too", () => {
    expect(visit({ from: BALANCER, claim: BALANCER, port: 80, path: "/healthz" })).toEqual([[200]]);
  });
});
