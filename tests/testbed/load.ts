import { execFileSync } from "node:child_process";
import { request } from "node:https";
import { DOCKER, type VPS } from "./vps";

/** One request of a load run: when it started, how long it took, and what came back. */
export interface Sample {
  readonly startedMs: number;
  readonly latencyMs: number;
  /** The HTTP status, or 0 when no response came (refused, reset, timed out). */
  readonly status: number;
  /** The release that answered (the testbed app's `release` field), when it answered with one. */
  readonly release?: string;
  readonly error?: string;
}

export interface LoadReport {
  readonly requests: number;
  readonly failures: readonly Sample[];
  /** Releases in the order they first answered, with how many answers each gave. */
  readonly releases: readonly { readonly release: string; readonly answers: number; readonly firstMs: number; readonly lastMs: number }[];
  readonly p99Ms: number;
  /** p99 of the requests that started within 5 s of the first answer of the last release to appear: the switch. */
  readonly switchP99Ms: number;
  readonly durationMs: number;
  readonly samples: readonly Sample[];
}

export interface LoadRun {
  /** Stops sending, waits for the requests in flight, and reports. */
  stop(): Promise<LoadReport>;
}

/**
 * A bounded request loop through the VPS's ingress: `perSecond` GETs a
 * second, each on a new TLS connection (as distinct clients make them), with
 * the route's name as Host and SNI. It stops by itself after `maxSeconds`, so
 * a test that dies never leaves it running. A failure is any answer but 200,
 * or none within 10 s.
 */
export function startLoad(
  vps: VPS,
  hostname: string,
  path: string,
  options: { perSecond?: number; maxSeconds?: number; clients?: readonly string[] } = {},
): LoadRun {
  const perSecond = options.perSecond ?? 20;
  const clients = options.clients ?? [];
  let sent = 0;
  const maxSeconds = options.maxSeconds ?? 900;
  const origin = Date.now();
  const samples: Sample[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    const startedMs = Date.now() - origin;
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      const finish = (status: number, body: string, error?: string) => {
        let release: string | undefined;
        try {
          release = (JSON.parse(body) as { release?: string }).release;
        } catch {
          release = undefined;
        }
        samples.push({ startedMs, latencyMs: performance.now() - started, status, ...(release ? { release } : {}), ...(error ? { error } : {}) });
        resolve();
      };
      const localAddress = clients.length > 0 ? clients[sent++ % clients.length] : undefined;
      const req = request(
        {
          host: vps.address,
          port: 443,
          path,
          servername: hostname,
          headers: { host: hostname },
          rejectUnauthorized: false,
          agent: false,
          timeout: 10_000,
          ...(localAddress ? { localAddress } : {}),
        },
        (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => finish(response.statusCode ?? 0, body));
          response.on("error", (error) => finish(0, "", error.message));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
      req.on("error", (error) => finish(0, "", error.message));
      req.end();
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const timer = setInterval(send, 1000 / perSecond);
  const limit = setTimeout(() => clearInterval(timer), maxSeconds * 1000);
  return {
    async stop() {
      clearInterval(timer);
      clearTimeout(limit);
      await Promise.all([...inFlight]);
      return report(samples, Date.now() - origin);
    },
  };
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!);
}

export function report(samples: readonly Sample[], durationMs: number): LoadReport {
  const ordered = [...samples].sort((a, b) => a.startedMs - b.startedMs);
  const releases = new Map<string, { release: string; answers: number; firstMs: number; lastMs: number }>();
  for (const sample of ordered) {
    if (sample.status !== 200 || !sample.release) continue;
    const entry = releases.get(sample.release) ?? { release: sample.release, answers: 0, firstMs: sample.startedMs, lastMs: sample.startedMs };
    entry.answers += 1;
    entry.lastMs = sample.startedMs;
    releases.set(sample.release, entry);
  }
  const list = [...releases.values()].sort((a, b) => a.firstMs - b.firstMs);
  const switchAt = list.length > 1 ? list[list.length - 1]!.firstMs : undefined;
  const nearSwitch = switchAt === undefined ? [] : ordered.filter((sample) => Math.abs(sample.startedMs - switchAt) <= 5_000);
  return {
    requests: ordered.length,
    failures: ordered.filter((sample) => sample.status !== 200),
    releases: list,
    p99Ms: percentile(
      ordered.map((sample) => sample.latencyMs),
      0.99,
    ),
    switchP99Ms: percentile(
      nearSwitch.map((sample) => sample.latencyMs),
      0.99,
    ),
    durationMs,
    samples: ordered,
  };
}

/** One line for the test log and the notes: requests, failures, releases, latency. */
export function summary(name: string, load: LoadReport): string {
  const releases = load.releases.map((entry) => `${entry.release} x${entry.answers}`).join(" -> ");
  return `${name}: ${load.requests} requests in ${(load.durationMs / 1000).toFixed(0)} s, ${load.failures.length} failed, releases ${releases || "none"}, p99 ${load.p99Ms} ms, p99 at the switch ${load.switchP99Ms} ms`;
}

/**
 * `count` client addresses on the testbed bridge, on this machine's side: the
 * ingress rate-limits each client (100 requests a minute in fastapi), so a
 * load of 20 a second comes from 20 clients of 1 a second each, as real
 * traffic would. Removed again by `release`.
 */
export function clientAddresses(vps: VPS, count: number): { addresses: string[]; release: () => void } {
  const id = execFileSync(DOCKER, ["network", "inspect", "--format", "{{.Id}}", vps.network], { encoding: "utf8" }).trim();
  const bridge = `br-${id.slice(0, 12)}`;
  const prefix = vps.gateway.replace(/\.\d+$/, "");
  const addresses = Array.from({ length: count }, (_, index) => `${prefix}.${200 + index}`);
  for (const address of addresses) execFileSync("ip", ["address", "add", `${address}/32`, "dev", bridge]);
  return {
    addresses,
    release: () => {
      for (const address of addresses) execFileSync("ip", ["address", "del", `${address}/32`, "dev", bridge], { stdio: "ignore" });
    },
  };
}
