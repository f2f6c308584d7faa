import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
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
export interface MinIOOptions {
  /** Where it listens; 127.0.0.1 by default. */
  readonly address?: string;
  /** Serve https with this certificate and key (PEM files), trusting `ca` for its own probe. */
  readonly tls?: { readonly certificateFile: string; readonly keyFile: string; readonly ca: string };
}

export async function startMinIO(options: MinIOOptions = {}): Promise<MinIO> {
  const address = options.address ?? "127.0.0.1";
  const binary = requireTool("minio");
  // Two free ports can still be taken between probing and binding; a server
  // that exits early is retried on fresh ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, address, options.tls);
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTaken)) throw error;
    }
  }
  throw lastError;
}

class PortTaken extends Error {}

async function startOnce(binary: string, address: string, tls: MinIOOptions["tls"]): Promise<MinIO> {
  const dataDir = await mkdtemp(join(tmpdir(), "minio-test-"));
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = `root${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const certsDir = join(dataDir, "certs");
  if (tls) {
    await mkdir(certsDir);
    await copyFile(tls.certificateFile, join(certsDir, "public.crt"));
    await copyFile(tls.keyFile, join(certsDir, "private.key"));
  }
  const child = spawn(
    binary,
    ["server", join(dataDir, "data"), "--address", `${address}:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--certs-dir", certsDir, "--quiet"],
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

  const endpoint = `${tls ? "https" : "http"}://${address}:${port}`;
  try {
    await waitUntilLive(endpoint, exited, () => output, tls?.ca);
  } catch (error) {
    await stop();
    if (/address already in use/i.test(output)) throw new PortTaken(output);
    throw error;
  }
  return { endpoint, region: REGION, accessKeyId, secretAccessKey, stop };
}

/** GET `url`; true on a 2xx. With `ca`, over https trusting that CA alone. */
function answers(url: string, ca: string | undefined): Promise<boolean> {
  if (!ca)
    return fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
  return new Promise((resolve) => {
    const probe = httpsRequest(url, { ca, timeout: 1000 }, (response) => {
      response.resume();
      resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300);
    });
    probe.on("error", () => resolve(false));
    probe.on("timeout", () => probe.destroy());
    probe.end();
  });
}

async function waitUntilLive(endpoint: string, exited: Promise<number | null>, output: () => string, ca?: string): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`minio exited with code ${exitCode} before it was ready:\n${output()}`);
    if (await answers(`${endpoint}/minio/health/live`, ca)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`minio at ${endpoint} was not live after ${READY_TIMEOUT_MS / 1000}s:\n${output()}`);
}
