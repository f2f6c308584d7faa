import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "../support/tools";
import { DOCKER } from "./vps";
export { mirroredReference } from "../../components/container/image-registry";

/**
 * A local registry over TLS: Debian's docker-registry (distribution 2.8)
 * with a certificate from a CA made for it alone, storage in a temporary
 * directory. This machine's Docker engine trusts the CA while it runs, so
 * `push` works; an engine that is not given `caCertificate` refuses it.
 */
export interface Registry {
  /** `address:port`, the first element of every reference in it. */
  readonly host: string;
  /** The CA that signed the registry's certificate, PEM. */
  readonly caCertificate: string;
  /** Tags a local image as `host/path` and pushes it; returns that reference. */
  push(localImage: string, path: string): Promise<string>;
  stop(): Promise<void>;
}

const REGISTRY_BINARY = "docker-registry";
const CERTS_D = "/etc/docker/certs.d";
const READY_TIMEOUT_MS = 20_000;

function run(command: string, args: string[], options: { input?: string; cwd?: string } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(command, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.slice(0, 3).join(" ")} … failed: ${stderr.slice(-2000) || error.message}`));
      else resolvePromise(stdout);
    });
    // A child that exits without reading its input closes the pipe first: its exit status tells what happened.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

/** A port nothing listens on at `address` now. */
function freePort(address: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}

/**
 * A CA, and a server certificate it signs for `address` (an IP address, as
 * subjectAltName), in `dir`: ca.crt, ca.key, server.crt, server.key.
 */
export async function makeCertificates(dir: string, address: string): Promise<void> {
  const openssl = requireTool("openssl");
  const at = (file: string) => join(dir, file);
  await run(openssl, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=infra testbed registry CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run(openssl, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    at("server.key"),
    "-out",
    at("server.csr"),
    "-subj",
    `/CN=${address}`,
  ]);
  await writeFile(
    at("server.ext"),
    `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n`,
  );
  await run(openssl, [
    "x509",
    "-req",
    "-in",
    at("server.csr"),
    "-CA",
    at("ca.crt"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    at("server.ext"),
    "-out",
    at("server.crt"),
  ]);
}

function registryConfig(dir: string, host: string): string {
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "storage")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${host}`,
    "  tls:",
    `    certificate: ${join(dir, "server.crt")}`,
    `    key: ${join(dir, "server.key")}`,
    "",
  ].join("\n");
}

/** GET /v2/ with the CA: the registry's API answers 200 once it serves. */
function apiAnswers(host: string, ca: string): Promise<boolean> {
  const [address, port] = host.split(":") as [string, string];
  return new Promise((resolvePromise) => {
    const probe = request({ host: address, port: Number(port), path: "/v2/", method: "GET", ca, timeout: 2000 }, (response) => {
      response.resume();
      resolvePromise(response.statusCode === 200);
    });
    probe.on("error", () => resolvePromise(false));
    probe.on("timeout", () => probe.destroy());
    probe.end();
  });
}

/**
 * Starts the registry on `address` (this machine's address on a testbed
 * bridge, or 127.0.0.1) and `port` (a free one when omitted), and makes this
 * machine's engine trust it until `stop`.
 */
export async function startRegistry(address: string, port?: number): Promise<Registry> {
  const binary = requireTool(REGISTRY_BINARY);
  const host = `${address}:${port ?? (await freePort(address))}`;
  const dir = await mkdtemp(join(tmpdir(), "infra-testbed-registry-"));
  const trustDir = join(CERTS_D, host);
  let child: ChildProcess | undefined;
  let log = "";
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child!.once("exit", resolveExit));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(trustDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await makeCertificates(dir, address);
    const caCertificate = await readFile(join(dir, "ca.crt"), "utf8");
    await writeFile(join(dir, "config.yml"), registryConfig(dir, host));
    child = spawn(binary, ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await apiAnswers(host, caCertificate))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline)
        throw new Error(`testbed registry on ${host} did not answer (exit ${child.exitCode}): ${log}`);
      await new Promise((wait) => setTimeout(wait, 100));
    }
    // The engine reads certs.d at each pull and push: no restart.
    await mkdir(trustDir, { recursive: true });
    await writeFile(join(trustDir, "ca.crt"), caCertificate);

    return {
      host,
      caCertificate,
      async push(localImage, path) {
        const reference = `${host}/${path}`;
        await run(DOCKER, ["tag", localImage, reference]);
        try {
          await run(DOCKER, ["push", "--quiet", reference]);
        } finally {
          // Only the tag goes: the image stays under its local name.
          await run(DOCKER, ["image", "rm", reference]).catch(() => undefined);
        }
        return reference;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
