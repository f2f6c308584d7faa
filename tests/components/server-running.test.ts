import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureRunning, serverRunningDiff, serverRunningProvider, type ServerRunningInputs } from "../../components/compute/server-running";

/**
 * ServerRunning against a stand-in for the Hetzner Cloud API on 127.0.0.1:
 * the same paths, bodies and action life cycle, with the server's status
 * scripted per test. After a resize the hcloud provider leaves the server
 * off (tests/scaling/hcloud-server-resize.test.ts shows its requests end
 * without a poweron); this resource is what brings it back.
 */
const TOKEN = "token-that-must-never-show-0123456789abcdef0123456789abcdef012345";

interface FakeServer {
  /** Statuses GET /servers/42 answers, one per call; the last repeats. */
  statuses: string[];
  /** How many GET /actions/7 calls answer "running" before the final status. */
  actionPolls: number;
  actionResult: "success" | "error";
  /** Answer every request with this status and error body, when set. */
  failWith?: { status: number; code: string; message: string };
}

let fake: FakeServer;
let requests: string[] = [];
let api: HttpServer;
let endpoint = "";

beforeAll(async () => {
  api = createServer((request, response) => {
    const line = `${request.method} ${request.url}`;
    requests.push(line);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: { code: "unauthorized", message: "unable to authenticate" } });
    if (fake.failWith) return send(fake.failWith.status, { error: { code: fake.failWith.code, message: fake.failWith.message } });
    if (line === "GET /v1/servers/42") {
      const status = fake.statuses.length > 1 ? fake.statuses.shift()! : fake.statuses[0]!;
      return send(200, { server: { id: 42, status } });
    }
    if (line === "POST /v1/servers/42/actions/poweron") return send(201, { action: { id: 7, command: "start_server", status: "running" } });
    if (line === "GET /v1/actions/7") {
      if (fake.actionPolls > 0) {
        fake.actionPolls -= 1;
        return send(200, { action: { id: 7, status: "running" } });
      }
      return send(200, {
        action: { id: 7, status: fake.actionResult, ...(fake.actionResult === "error" ? { error: { code: "locked", message: "server is locked" } } : {}) },
      });
    }
    send(404, { error: { code: "not_found", message: `no route ${line}` } });
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;
});

afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

beforeEach(() => {
  requests = [];
  fake = { statuses: ["running"], actionPolls: 0, actionResult: "success" };
});

const inputs = (): ServerRunningInputs => ({ serverId: 42, serverType: "ccx33", token: TOKEN, apiEndpoint: endpoint });
const FAST = { intervalMs: 5, timeoutMs: 2_000 };

describe("ensureRunning", () => {
  it("powers on a server the resize left off, and waits for the action to succeed", async () => {
    fake = { statuses: ["off"], actionPolls: 2, actionResult: "success" };
    expect(await ensureRunning(inputs(), FAST)).toEqual({ statusBefore: "off", poweredOn: true });
    expect(requests).toEqual(["GET /v1/servers/42", "POST /v1/servers/42/actions/poweron", "GET /v1/actions/7", "GET /v1/actions/7", "GET /v1/actions/7"]);
  });

  it("leaves a running server alone: one status read, no action", async () => {
    expect(await ensureRunning(inputs(), FAST)).toEqual({ statusBefore: "running", poweredOn: false });
    expect(requests).toEqual(["GET /v1/servers/42"]);
  });

  it("waits out a transition instead of acting on it, then powers on what ends up off", async () => {
    fake = { statuses: ["stopping", "stopping", "off"], actionPolls: 0, actionResult: "success" };
    expect(await ensureRunning(inputs(), FAST)).toEqual({ statusBefore: "stopping", poweredOn: true });
    expect(requests.filter((line) => line.startsWith("POST"))).toEqual(["POST /v1/servers/42/actions/poweron"]);
    requests = [];
    fake = { statuses: ["starting", "running"], actionPolls: 0, actionResult: "success" };
    expect(await ensureRunning(inputs(), FAST)).toEqual({ statusBefore: "starting", poweredOn: false });
    expect(requests).toEqual(["GET /v1/servers/42", "GET /v1/servers/42"]);
  });

  it("fails loudly when the power-on action fails, with the API's reason", async () => {
    fake = { statuses: ["off"], actionPolls: 0, actionResult: "error" };
    await expect(ensureRunning(inputs(), FAST)).rejects.toThrow("powering on server 42 failed: locked: server is locked");
  });

  it("gives up after the timeout on a server that never settles", async () => {
    fake = { statuses: ["migrating"], actionPolls: 0, actionResult: "success" };
    await expect(ensureRunning(inputs(), { intervalMs: 5, timeoutMs: 50 })).rejects.toThrow('server 42 stayed "migrating" for 0.05 s');
  });

  it("reports an API refusal with its status and the API's words, never the token", async () => {
    const refused = await ensureRunning({ ...inputs(), token: `${TOKEN}-wrong` }, FAST).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe("Hetzner API GET /servers/42 answered 401 (unauthorized: unable to authenticate)");
    expect((refused as Error).message).not.toContain(TOKEN);
    fake.failWith = { status: 423, code: "locked", message: "server is locked by another action" };
    await expect(ensureRunning(inputs(), FAST)).rejects.toThrow("answered 423 (locked: server is locked by another action)");
  });
});

describe("the ServerRunning provider", () => {
  it("runs again when the server's type changes, never replaces itself, and ignores a rotated token", () => {
    const old = inputs();
    expect(serverRunningDiff(old, { ...old, serverType: "ccx43" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(serverRunningDiff(old, { ...old, serverId: 43 }).changes).toBe(true);
    expect(serverRunningDiff(old, { ...old }).changes).toBe(false);
    expect(serverRunningDiff(old, { ...old, token: "another-token" }).changes).toBe(false);
  });

  it("create and update power the server on; the outputs carry no token", async () => {
    fake = { statuses: ["off"], actionPolls: 0, actionResult: "success" };
    const created = await serverRunningProvider.create(inputs());
    expect(created).toEqual({ id: "42", outs: { serverId: 42, serverType: "ccx33", apiEndpoint: endpoint, statusBefore: "off", poweredOn: true } });
    expect(JSON.stringify(created)).not.toContain(TOKEN);
    fake = { statuses: ["running"], actionPolls: 0, actionResult: "success" };
    const updated = await serverRunningProvider.update!("42", inputs(), inputs());
    expect(updated).toEqual({ outs: { serverId: 42, serverType: "ccx33", apiEndpoint: endpoint, statusBefore: "running", poweredOn: false } });
  });

  it("deleting it powers nothing off", async () => {
    await serverRunningProvider.delete!("42", inputs());
    expect(requests).toEqual([]);
  });
});
