import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./tools";
import { freePort, stopProcess } from "./processes";

export interface MinIO {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Kills the server and removes its data directory. */
  stop(): Promise<void>;
}

/** MinIO's default region; buckets created without a LocationConstraint land there. */
const REGION = "us-east-1";
const READY_TIMEOUT_MS = 30_000;

/**
 * Starts a throwaway MinIO server on 127.0.0.1 (or on `address`, such as a
 * testbed bridge's gateway, for servers on that bridge) with its own data directory and
 * root credentials. A missing binary throws (see requireTool): it fails the
 * test instead of skipping it.
 */
export async function startMinIO(options: { address?: string } = {}): Promise<MinIO> {
  const address = options.address ?? "127.0.0.1";
  const binary = requireTool("minio");
  // Two free ports can still be taken between probing and binding; a server
  // that exits early is retried on fresh ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, address);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTaken)) throw error;
    }
  }
  throw lastError;
}

class PortTaken extends Error {}

async function startOnce(binary: string, address: string): Promise<MinIO> {
  const dataDir = await mkdtemp(join(tmpdir(), "minio-test-"));
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = `root${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const child = spawn(
    binary,
    ["server", join(dataDir, "data"), "--address", `${address}:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
    {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dataDir,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_BROWSER: "off",
        MINIO_UPDATE: "off",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const stop = async () => {
    await stopProcess(child, exited);
    await rm(dataDir, { recursive: true, force: true });
  };

  const endpoint = `http://${address}:${port}`;
  try {
    await waitUntilLive(endpoint, exited, () => output);
  } catch (error) {
    await stop();
    if (/address already in use/i.test(output)) throw new PortTaken(output);
    throw error;
  }
  return { endpoint, region: REGION, accessKeyId, secretAccessKey, stop };
}

async function waitUntilLive(endpoint: string, exited: Promise<number | null>, output: () => string): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`minio exited with code ${exitCode} before it was ready:\n${output()}`);
    try {
      const response = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`minio at ${endpoint} was not live after ${READY_TIMEOUT_MS / 1000}s:\n${output()}`);
}

