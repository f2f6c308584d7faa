import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAPIProxyConfig, type DockerAPIConsumer } from "../../components/container/docker-api-proxy-config";
import { DOCKER_API_PROXY, dockerAPIConsumers } from "../../components/container/docker-api-proxy-spec";
import { modelOf } from "../policy/models";
import { freePort, stopProcess } from "../support/processes";
import { requireTool } from "../support/tools";

/**
 * The socket proxy's configuration, as the program generates it for vpai's
 * DIUN and Alloy, run by the real HAProxy in front of a stand-in Docker
 * socket that records every request it is given. Attacks are written as raw
 * bytes, the way a compromised consumer could send them. Each consumer is
 * told apart by its source address, as on the VPS by its network's subnet:
 * here DIUN calls from 127.0.1.2, Alloy from 127.0.2.2, anyone else from
 * 127.0.3.2. The same calls against the real daemon on a testbed VPS are in
 * tests/testbed/deploy-vpai.test.ts.
 */

const DIUN = "127.0.1.2";
const ALLOY = "127.0.2.2";
const STRANGER = "127.0.3.2";
const SELF = "127.0.0.1";

let scratch: string;
let daemon: Server;
let haproxy: ChildProcess;
let exited: Promise<number | null>;
let port: number;
let consumers: DockerAPIConsumer[];
/** What reached the stand-in socket: `METHOD /path?query`. */
const reached: string[] = [];
let haproxyLog = "";

/** vpai's consumers with their real endpoint lists, on loopback subnets in place of their Docker networks. */
function localConsumers(): DockerAPIConsumer[] {
  const host = modelOf("prod").hosts[0]!;
  const subnets: Record<string, string> = { diun: "127.0.1.0/28", alloy: "127.0.2.0/28" };
  return dockerAPIConsumers(host.services).map((consumer) => ({ ...consumer, subnet: subnets[consumer.name]! }));
}

/** Sends `raw` from `source` and returns the status code of every response on the connection, in order. */
function send(source: string, raw: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: source });
    let answer = "";
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(raw.slice(0, 60))}`)));
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve([...answer.matchAll(/^HTTP\/1\.[01] (\d{3}) /gm)].map((match) => Number(match[1]))));
    socket.write(raw);
  });
}

const request = (method: string, target: string, extra = "") => `${method} ${target} HTTP/1.1\r\nHost: docker\r\n${extra}Connection: close\r\n\r\n`;
const post = (target: string) => request("POST", target, "Content-Type: application/json\r\nContent-Length: 2\r\n").replace(/\r\n\r\n$/, "\r\n\r\n{}");

beforeAll(async () => {
  consumers = localConsumers();
  scratch = mkdtempSync(join(tmpdir(), "docker-api-proxy-"));
  const socketPath = join(scratch, "docker.sock");
  daemon = createServer((req, res) => {
    reached.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "application/json", "Api-Version": "1.41" });
      res.end("[]");
    });
  });
  await new Promise<void>((resolve) => daemon.listen(socketPath, resolve));
  port = await freePort();
  // Without the program's group switch, which needs CAP_SETGID (the testbed runs it).
  const config = dockerAPIProxyConfig({ consumers, listen: { address: "127.0.0.1", port }, socket: socketPath });
  writeFileSync(join(scratch, "haproxy.cfg"), config);
  haproxy = spawn(requireTool("haproxy"), ["-db", "-f", join(scratch, "haproxy.cfg")], { stdio: ["ignore", "pipe", "pipe"] });
  haproxy.stdout!.on("data", (chunk: Buffer) => (haproxyLog += chunk.toString()));
  haproxy.stderr!.on("data", (chunk: Buffer) => (haproxyLog += chunk.toString()));
  exited = new Promise((resolve) => haproxy.once("exit", resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await send(SELF, request("GET", "/_ping")))[0] === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || haproxy.exitCode !== null) throw new Error(`haproxy did not start:\n${haproxyLog}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  reached.length = 0;
}, 30_000);

afterAll(async () => {
  if (haproxy) await stopProcess(haproxy, exited);
  await new Promise((resolve) => daemon?.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

describe(`the socket proxy (${DOCKER_API_PROXY}) as the real HAProxy runs the program's configuration`, () => {
  it("vpai's consumers are DIUN and Alloy, each with its own reads", () => {
    expect(consumers.map((consumer) => consumer.name)).toEqual(["alloy", "diun"]);
    expect(consumers.find((consumer) => consumer.name === "diun")!.endpoints).not.toContain("container-inspect");
  });

  it.each<[string, string, string]>([
    ["DIUN lists the containers", DIUN, request("GET", "/containers/json?all=1")],
    ["DIUN negotiates the API version", DIUN, request("HEAD", "/_ping")],
    ["DIUN reads the server version, versioned", DIUN, request("GET", "/v1.41/version")],
    ["DIUN reads an image from the testbed registry", DIUN, request("GET", "/v1.41/images/127.0.0.1:5000/crazymax/diun:4.29.0/json")],
    ["Alloy lists the networks", ALLOY, request("GET", "/v1.43/networks?filters=%7B%7D")],
    ["Alloy inspects a container", ALLOY, request("GET", "/v1.43/containers/vpai-n8n/json")],
    ["Alloy follows a container's logs", ALLOY, request("GET", "/v1.43/containers/4f1c0ffee/logs?stdout=1&stderr=1&follow=0&timestamps=1&since=0")],
    ["the proxy's own health check pings", SELF, request("GET", "/_ping")],
  ])("lets through: %s", async (_case, source, raw) => {
    const before = reached.length;
    expect(await send(source, raw)).toEqual([200]);
    expect(reached.length).toBe(before + 1);
  });

  it.each<[string, string, string]>([
    ["POST /containers/create", DIUN, post("/containers/create")],
    ["POST /v1.41/containers/create", ALLOY, post("/v1.41/containers/create")],
    ["POST /containers/<id>/stop", ALLOY, post("/containers/vpai-n8n/stop")],
    ["POST /v1.41/containers/<id>/exec", ALLOY, post("/v1.41/containers/vpai-postgres/exec")],
    ["POST /exec/<id>/start", DIUN, post("/exec/4f1c0ffee/start")],
    ["DELETE /containers/<id>", ALLOY, request("DELETE", "/containers/vpai-n8n?force=1")],
    ["PUT /containers/<id>/archive", ALLOY, request("PUT", "/containers/vpai-n8n/archive?path=/")],
    ["POST to a path DIUN may read", DIUN, post("/containers/json")],
    ["DELETE of an image DIUN may read", DIUN, request("DELETE", "/images/crazymax/diun:4.29.0/json")],
    ["post, lower case", DIUN, post("/containers/create").replace(/^POST/, "post")],
    ["get, lower case, on an allowed path", DIUN, request("get", "/containers/json")],
    ["Get, mixed case", DIUN, request("Get", "/containers/json")],
    ["a GET of the container's files (archive)", ALLOY, request("GET", "/v1.41/containers/vpai-postgres/archive?path=/var/lib/postgresql")],
    ["a GET of a container's export", ALLOY, request("GET", "/containers/vpai-postgres/export")],
    ["a GET that upgrades to attach", ALLOY, request("GET", "/containers/vpai-n8n/attach/ws?stream=1", "Upgrade: websocket\r\n")],
    ["//containers/create", DIUN, request("GET", "//containers/create")],
    ["a dot-dot path through an image name", DIUN, request("GET", "/images/../containers/vpai-postgres/export")],
    ["a percent-encoded path", DIUN, request("GET", "/containers%2Fjson")],
    ["a percent-encoded dot-dot", DIUN, request("GET", "/images/%2e%2e/containers/x/json")],
    ["an absolute-form POST", DIUN, post("http://docker/containers/create")],
    ["an absolute-form GET of another path", DIUN, request("GET", "http://docker/containers/vpai-postgres/export")],
    ["DIUN inspecting a container, which only Alloy may", DIUN, request("GET", "/v1.41/containers/vpai-postgres/json")],
    ["DIUN reading logs, which only Alloy may", DIUN, request("GET", "/containers/vpai-postgres/logs?stdout=1")],
    ["a container on no consumer's network listing containers", STRANGER, request("GET", "/containers/json")],
    ["the proxy's own address beyond the ping", SELF, request("GET", "/containers/json")],
    ["OPTIONS *", DIUN, request("OPTIONS", "*")],
  ])("refuses with 403: %s", async (_case, source, raw) => {
    const before = reached.length;
    expect(await send(source, raw)).toEqual([403]);
    expect(reached.slice(before)).toEqual([]);
  });

  it("judges every request of a kept-alive connection: a POST pipelined after an allowed GET is refused", async () => {
    const before = reached.length;
    const pipelined = request("GET", "/containers/json").replace("Connection: close\r\n", "") + post("/containers/create");
    expect(await send(DIUN, pipelined)).toEqual([200, 403]);
    expect(reached.slice(before)).toEqual(["GET /containers/json"]);
  });

  it("a POST hidden in the body of an allowed GET (Content-Length against Transfer-Encoding) never reaches the daemon", async () => {
    const before = reached.length;
    const hidden = post("/containers/create");
    const smuggled = `GET /containers/json HTTP/1.1\r\nHost: docker\r\nContent-Length: ${hidden.length + 5}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`;
    const statuses = await send(DIUN, smuggled);
    expect(
      statuses.every((status) => status === 200 || status >= 400),
      JSON.stringify(statuses),
    ).toBe(true);
    expect(reached.slice(before).filter((line) => !line.startsWith("GET /containers/json"))).toEqual([]);
  });

  it("logs every refused call with its source, method and path", () => {
    expect(haproxyLog).toMatch(new RegExp(`${DIUN.replace(/\./g, "\\.")}:\\d+ .* 403 .*"POST /containers/create HTTP/1\\.1"`));
  });

  it("the stand-in daemon saw only GET and HEAD", () => {
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.filter((line) => !/^(GET|HEAD) /.test(line))).toEqual([]);
  });
});
