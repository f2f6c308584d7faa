import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { rmSync } from "node:fs";

/** Stops a server the test started: SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A server process a test started, with a way to stop it and remove its scratch directory. */
export interface StartedServer {
  readonly stop: () => Promise<void>;
  /** True once `url` answered 2xx within the deadline; false when the time ran out or the process exited first. */
  readonly answered: boolean;
}

/** Waits up to `timeoutMs` for `url` to answer 2xx while `child` runs; `stop` ends it and removes `scratchDir`. */
export async function waitUntilAnswering(child: ChildProcess, url: string, scratchDir: string, timeoutMs = 20_000): Promise<StartedServer> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const stop = async () => {
    await stopProcess(child, exited);
    rmSync(scratchDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  let answered = false;
  while (!answered && Date.now() < deadline && child.exitCode === null) {
    try {
      answered = (await fetch(url, { signal: AbortSignal.timeout(500) })).ok;
    } catch {
      // not listening yet
    }
    if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { stop, answered };
}
