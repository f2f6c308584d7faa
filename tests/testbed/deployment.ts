import { mkdtemp, readFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { startMinIO, type MinIO } from "../support/minio";
import { createPlatformStack, type PlatformStack } from "./platform-stack";
import { pushImages, testbedImages, type TestbedImage } from "./images";
import { makeCertificates, startRegistry, type Registry } from "./registry";
import { startVPS, type VPS } from "./vps";

/**
 * One blueprint of the real program deployed to a testbed VPS: the VPS, S3
 * over TLS on its bridge, the TLS registry with the testbed images, and the
 * stack driven by the real CLI. The deploy tests share it, and what they
 * read of the VPS: containers as `docker inspect` reports them, the stack's
 * state, HTTPS through the ingress.
 */
export interface Deployment {
  readonly vps: VPS;
  readonly minio: MinIO;
  readonly registry: Registry;
  readonly stack: PlatformStack;
  readonly images: readonly TestbedImage[];
  /** PEM of the CA of the S3 endpoint's certificate. */
  readonly s3CA: string;
  /** Runs `run` as a timed step and counts the SSH connections it opened to the VPS. */
  step<T>(name: string, run: () => Promise<T>): Promise<{ result: T; sshConnections: number }>;
  /** Stops everything and prints the steps' times and SSH connection counts. */
  stop(): Promise<void>;
}

export interface StateResource {
  type: string;
  urn: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
}

export interface Inspected {
  Id: string;
  Name: string;
  State: { Status: string; StartedAt: string; Health?: { Status: string } };
  HostConfig: {
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    ReadonlyRootfs: boolean;
    Memory: number;
    LogConfig: { Type: string; Config: Record<string, string> };
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    SecurityOpt: string[] | null;
    Privileged: boolean;
  };
  Config: { User: string; Image: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts?: { Type: string; Source: string; Destination: string; RW: boolean }[];
}

export async function deploy(blueprint: string, extraConfig: Record<string, unknown> = {}): Promise<Deployment> {
  const vps = await startVPS();
  const steps: { step: string; seconds: number; sshConnections: number }[] = [];
  // S3 over TLS from a CA of the testbed's own: the program refuses plain
  // http to a remote endpoint. The VPS trusts the CA in its system store, as
  // a host trusts a private CA; the deploying CLI through NODE_EXTRA_CA_CERTS.
  const certificates = await mkdtemp(join(tmpdir(), "infra-testbed-s3-"));
  await makeCertificates(certificates, vps.gateway);
  const s3CA = await readFile(join(certificates, "ca.crt"), "utf8");
  const minio = await startMinIO({
    address: vps.gateway,
    tls: { certificateFile: join(certificates, "server.crt"), keyFile: join(certificates, "server.key"), ca: s3CA },
  });
  await vps.exec("cat > /usr/local/share/ca-certificates/testbed-s3.crt && update-ca-certificates >/dev/null", { input: s3CA });
  const registry = await startRegistry(vps.gateway);
  const images = testbedImages();
  await pushImages(registry, images);
  const stack = await createPlatformStack({ blueprint, vps, minio, registry, env: { NODE_EXTRA_CA_CERTS: join(certificates, "ca.crt") }, extraConfig });
  return {
    vps,
    minio,
    registry,
    stack,
    images,
    s3CA,
    async step(name, run) {
      const before = await vps.sshConnections();
      const started = performance.now();
      const result = await run();
      const seconds = (performance.now() - started) / 1000;
      const sshConnections = (await vps.sshConnections()) - before;
      steps.push({ step: name, seconds, sshConnections });
      return { result, sshConnections };
    },
    async stop() {
      await stack.remove();
      await registry.stop();
      await minio.stop();
      await vps.stop();
      if (steps.length === 0) return;
      const rows = steps.map((s) => `  ${s.seconds.toFixed(1).padStart(6)}  ${String(s.sshConnections).padStart(3)}  ${s.step}`);
      console.log([`testbed deploy steps of ${blueprint} (seconds, SSH connections, step):`, ...rows].join("\n"));
    },
  };
}

export async function stateResources(stack: PlatformStack): Promise<StateResource[]> {
  const exported = await stack.runState(["stack", "export", "--show-secrets"]);
  return (JSON.parse(exported.stdout) as { deployment: { resources: StateResource[] } }).deployment.resources;
}

export async function inspectContainers(vps: VPS): Promise<Map<string, Inspected>> {
  const ids = (await vps.exec("docker ps -aq")).stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return new Map();
  const inspected = JSON.parse((await vps.exec(`docker inspect ${ids.join(" ")}`)).stdout) as Inspected[];
  return new Map(inspected.map((container) => [container.Name.replace(/^\//, ""), container]));
}

/** Containers that are not running and healthy, as "name: status/health". */
export function notHealthy(running: Map<string, Inspected>): string[] {
  return [...running.values()]
    .filter((container) => container.State.Status !== "running" || container.State.Health?.Status !== "healthy")
    .map((container) => `${container.Name}: ${container.State.Status}/${container.State.Health?.Status}`);
}

/**
 * Where a running container's settings differ from what the program
 * registered for it: capabilities, read-only root, memory, privileges, log
 * options, security options, port bindings, networks and user.
 */
export function settingsMismatches(registered: readonly StateResource[], running: Map<string, Inspected>): string[] {
  const mismatches: string[] = [];
  const compare = (label: string, field: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      mismatches.push(`${label} ${field}: running ${JSON.stringify(actual)}, registered ${JSON.stringify(expected)}`);
  };
  for (const resource of registered) {
    const inputs = resource.inputs!;
    const label = String(inputs.name);
    const container = running.get(label);
    if (!container) {
      mismatches.push(`${label}: not on the VPS`);
      continue;
    }
    const capabilities = inputs.capabilities as { drops?: string[]; adds?: string[] } | undefined;
    compare(label, "CapDrop", container.HostConfig.CapDrop ?? [], capabilities?.drops ?? []);
    compare(label, "CapAdd", container.HostConfig.CapAdd ?? [], capabilities?.adds ?? []);
    compare(label, "ReadonlyRootfs", container.HostConfig.ReadonlyRootfs, inputs.readOnly ?? false);
    compare(label, "Memory", container.HostConfig.Memory, Number(inputs.memory) * 1024 * 1024);
    compare(label, "Privileged", container.HostConfig.Privileged, false);
    compare(label, "LogConfig", container.HostConfig.LogConfig, { Type: inputs.logDriver, Config: inputs.logOpts });
    const securityOpts = (inputs.securityOpts as string[] | undefined) ?? [];
    const missing = securityOpts.filter((option) => !(container.HostConfig.SecurityOpt ?? []).includes(option));
    compare(label, "SecurityOpt missing", missing, []);
    const ports = ((inputs.ports as { internal: number; external?: number; ip?: string; protocol?: string }[]) ?? []).filter(
      (port) => port.external !== undefined,
    );
    const bindings = Object.entries(container.HostConfig.PortBindings ?? {}).flatMap(([port, hosts]) =>
      hosts.map((host) => `${host.HostIp}:${host.HostPort}->${port}`),
    );
    compare(
      label,
      "ports",
      bindings.sort(),
      ports.map((port) => `${port.ip ?? "0.0.0.0"}:${port.external}->${port.internal}/${port.protocol ?? "tcp"}`).sort(),
    );
    const networks = ((inputs.networksAdvanced as { name: string }[]) ?? []).map((network) => network.name).sort();
    compare(label, "networks", Object.keys(container.NetworkSettings.Networks).sort(), networks);
    if (inputs.user !== undefined) compare(label, "user", container.Config.User, inputs.user);
  }
  return mismatches;
}

/**
 * Containers started before one they depend on; a container's
 * dependencies in the state include every resource of the services it
 * waits for, their containers among them.
 */
export function startedTooEarly(registered: readonly StateResource[], running: Map<string, Inspected>): { late: string[]; dependencies: number } {
  const byUrn = new Map(registered.map((resource) => [resource.urn, resource]));
  const late: string[] = [];
  let dependencies = 0;
  for (const resource of registered) {
    const started = Date.parse(running.get(String(resource.inputs!.name))!.State.StartedAt);
    for (const dependency of resource.dependencies ?? []) {
      const before = byUrn.get(dependency);
      if (!before) continue;
      dependencies += 1;
      if (Date.parse(running.get(String(before.inputs!.name))!.State.StartedAt) > started)
        late.push(`${resource.inputs!.name} started before ${before.inputs!.name}`);
    }
  }
  return { late, dependencies };
}

/** GET through the VPS's ingress on 443 with the route's Host and SNI; the testbed's certificates are not publicly trusted. */
export function httpsGet(
  vps: VPS,
  hostname: string,
  path: string,
  credentials?: string,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const authorization = credentials === undefined ? {} : { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: vps.address, port: 443, path, servername: hostname, headers: { host: hostname, ...authorization }, rejectUnauthorized: false, timeout: 10_000 },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET https://${hostname}${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** How many objects the stack's backups bucket holds. */
export async function backupObjects(deployment: Deployment): Promise<number> {
  const { minio, s3CA, stack } = deployment;
  const s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: s3CA }) }),
  });
  try {
    const bucket = (stack.config["infra:storage"] as { bucketPrefix: string }).bucketPrefix + "-backups";
    return (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;
  } finally {
    s3.destroy();
  }
}
