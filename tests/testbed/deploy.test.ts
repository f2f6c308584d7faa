import { mkdtemp, readFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { Agent, request } from "node:https";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMinIO, type MinIO } from "../support/minio";
import { plannedChanges } from "../support/pulumi-preview";
import { createPlatformStack, type PlatformStack } from "./platform-stack";
import { pushImages, pushRelease, testbedImages, type TestbedImage } from "./images";
import { makeCertificates, startRegistry, type Registry } from "./registry";
import { DOCKER, startVPS, vpsImage, type VPS } from "./vps";

// The real program, `infra/`, deployed by the real Pulumi CLI with the Docker
// plugin built here, over SSH with pinned host keys, to the local VPS: the
// fastapi blueprint (nginx, the app, PostgreSQL, Prometheus, Alertmanager,
// Loki, Promtail, Grafana and the exporters) with images from a local TLS
// registry. Every step asserts the state of the VPS itself, not the
// program's view of it. The steps share one stack, so they run in order.

const SETUP_TIMEOUT_MS = 20 * 60_000; // cold image builds included
const STEP_TIMEOUT_MS = 15 * 60_000;
const DOMAIN = "testbed.example.com";
/** The admin UIs go through nginx behind basic auth; the stack's bcrypt secrets hash this password (tests/support/test-secrets.ts). */
const MONITORING = { adminAccess: "ingress" };
const ADMIN_CREDENTIALS = "admin:correct-horse-battery";
const execFileAsync = promisify(execFile);

let vps: VPS;
let minio: MinIO;
let registry: Registry;
let stack: PlatformStack;
let s3CA: string;
let images: TestbedImage[];
const steps: { step: string; seconds: number; sshConnections: number }[] = [];

async function step<T>(name: string, run: () => Promise<T>): Promise<{ result: T; sshConnections: number }> {
  const before = await vps.sshConnections();
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const sshConnections = (await vps.sshConnections()) - before;
  steps.push({ step: name, seconds, sshConnections });
  return { result, sshConnections };
}

interface StateResource {
  type: string;
  urn: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
}

async function stateResources(): Promise<StateResource[]> {
  const exported = await stack.runState(["stack", "export", "--show-secrets"]);
  return (JSON.parse(exported.stdout) as { deployment: { resources: StateResource[] } }).deployment.resources;
}

interface Inspected {
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
}

async function inspectContainers(): Promise<Map<string, Inspected>> {
  const ids = (await vps.exec("docker ps -aq")).stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return new Map();
  const inspected = JSON.parse((await vps.exec(`docker inspect ${ids.join(" ")}`)).stdout) as Inspected[];
  return new Map(inspected.map((container) => [container.Name.replace(/^\//, ""), container]));
}

/** GET through the VPS's ingress on 443 with the route's Host and SNI; the testbed's certificate is self-signed. */
function httpsGet(hostname: string, path: string, credentials?: string): Promise<{ status: number; body: string }> {
  const authorization = credentials === undefined ? {} : { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: vps.address, port: 443, path, servername: hostname, headers: { host: hostname, ...authorization }, rejectUnauthorized: false, timeout: 10_000 },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET https://${hostname}${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  vps = await startVPS();
  // S3 over TLS from a CA of the testbed's own: the program refuses plain
  // http to a remote endpoint. The VPS trusts the CA in its system store, as
  // a host trusts a private CA; the deploying CLI through NODE_EXTRA_CA_CERTS.
  const certificates = await mkdtemp(join(tmpdir(), "infra-testbed-s3-"));
  await makeCertificates(certificates, vps.gateway);
  s3CA = await readFile(join(certificates, "ca.crt"), "utf8");
  minio = await startMinIO({ address: vps.gateway, tls: { certificateFile: join(certificates, "server.crt"), keyFile: join(certificates, "server.key"), ca: s3CA } });
  await vps.exec("cat > /usr/local/share/ca-certificates/testbed-s3.crt && update-ca-certificates >/dev/null", { input: s3CA });
  registry = await startRegistry(vps.gateway);
  images = testbedImages();
  await pushImages(registry, images);
  stack = await createPlatformStack({
    blueprint: "fastapi",
    vps,
    minio,
    registry,
    env: { NODE_EXTRA_CA_CERTS: join(certificates, "ca.crt") },
    extraConfig: { "infra:monitoring": MONITORING },
  });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await stack?.remove();
  await registry?.stop();
  await minio?.stop();
  await vps?.stop();
  if (steps.length)
    console.log(
      ["testbed deploy steps (seconds, SSH connections, step):", ...steps.map((s) => `  ${s.seconds.toFixed(1).padStart(6)}  ${String(s.sshConnections).padStart(3)}  ${s.step}`)].join(
        "\n",
      ),
    );
}, STEP_TIMEOUT_MS);

describe("the fastapi blueprint deployed to the testbed VPS", () => {
  let containerInputs: StateResource[];

  it("previews without touching the VPS, then `up` runs every container healthy", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { result: preview } = await step("preview", () => stack.run(["preview", "--json"]));
    const creates = plannedChanges(preview.stdout).filter((change) => change.startsWith("create "));
    expect(creates).toEqual(expect.arrayContaining(["create fastapi-main-backend", "create fastapi-main-postgres", "create fastapi-main-prepare"]));
    expect((await inspectContainers()).size).toBe(0);

    await step("up", () => stack.run(["up", "--yes", "--skip-preview"]));
    containerInputs = (await stateResources()).filter((resource) => resource.type === "docker:index/container:Container");
    const running = await inspectContainers();
    const expected = containerInputs.map((resource) => String(resource.inputs!.name)).sort();
    expect(expected.length).toBe(13);
    expect([...running.keys()].sort()).toEqual(expected);
    const unhealthy = [...running.values()].filter((container) => container.State.Status !== "running" || container.State.Health?.Status !== "healthy");
    expect(unhealthy.map((container) => `${container.Name}: ${container.State.Status}/${container.State.Health?.Status}`)).toEqual([]);
  });

  it("runs each container with exactly the settings the program registered", async () => {
    const running = await inspectContainers();
    for (const resource of containerInputs) {
      const inputs = resource.inputs!;
      const container = running.get(String(inputs.name))!;
      const label = String(inputs.name);
      const capabilities = inputs.capabilities as { drops?: string[]; adds?: string[] } | undefined;
      expect(container.HostConfig.CapDrop ?? [], label).toEqual(capabilities?.drops ?? []);
      expect(container.HostConfig.CapAdd ?? [], label).toEqual(capabilities?.adds ?? []);
      expect(container.HostConfig.ReadonlyRootfs, label).toBe(inputs.readOnly ?? false);
      expect(container.HostConfig.Memory, label).toBe(Number(inputs.memory) * 1024 * 1024);
      expect(container.HostConfig.Privileged, label).toBe(false);
      expect(container.HostConfig.LogConfig, label).toEqual({ Type: inputs.logDriver, Config: inputs.logOpts });
      expect(container.HostConfig.SecurityOpt ?? [], label).toEqual(expect.arrayContaining((inputs.securityOpts as string[]) ?? []));
      const ports = ((inputs.ports as { internal: number; external?: number; ip?: string; protocol?: string }[]) ?? []).filter((port) => port.external !== undefined);
      const bindings = Object.entries(container.HostConfig.PortBindings ?? {}).flatMap(([port, hosts]) => hosts.map((host) => `${host.HostIp}:${host.HostPort}->${port}`));
      expect(bindings.sort(), label).toEqual(ports.map((port) => `${port.ip ?? "0.0.0.0"}:${port.external}->${port.internal}/${port.protocol ?? "tcp"}`).sort());
      const networks = ((inputs.networksAdvanced as { name: string }[]) ?? []).map((network) => network.name).sort();
      expect(Object.keys(container.NetworkSettings.Networks).sort(), label).toEqual(networks);
      if (inputs.user !== undefined) expect(container.Config.User, label).toBe(inputs.user);
    }
  });

  it("started every container after the ones it depends on", async () => {
    const running = await inspectContainers();
    const byUrn = new Map(containerInputs.map((resource) => [resource.urn, resource]));
    const late: string[] = [];
    for (const resource of containerInputs) {
      const started = Date.parse(running.get(String(resource.inputs!.name))!.State.StartedAt);
      for (const dependency of resource.dependencies ?? []) {
        const before = byUrn.get(dependency);
        if (!before) continue;
        if (Date.parse(running.get(String(before.inputs!.name))!.State.StartedAt) > started) late.push(`${resource.inputs!.name} started before ${before.inputs!.name}`);
      }
    }
    expect(late).toEqual([]);
    expect(containerInputs.some((resource) => (resource.dependencies ?? []).some((urn) => byUrn.has(urn)))).toBe(true);
  });

  it("answers the app's route through nginx over HTTPS", { timeout: 60_000 }, async () => {
    const response = await httpsGet(`api.${DOMAIN}`, "/");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ database: { ok: true } });
    // A name nginx does not serve gets no certificate at all: the handshake is refused.
    await expect(httpsGet(`nothing.${DOMAIN}`, "/")).rejects.toThrow(/unrecognized name/);
  });

  it("asks for the admin password before Grafana, and lets the admin in", { timeout: 60_000 }, async () => {
    expect((await httpsGet(`grafana.${DOMAIN}`, "/api/health")).status).toBe(401);
    expect((await httpsGet(`grafana.${DOMAIN}`, "/api/health", "admin:wrong-password")).status).toBe(401);
    const admitted = await httpsGet(`grafana.${DOMAIN}`, "/api/health", ADMIN_CREDENTIALS);
    expect(admitted.status).toBe(200);
    expect(JSON.parse(admitted.body)).toMatchObject({ database: "ok" });
  });

  it("from a client on the VPS's network that is not an admin address, only 80 and 443 answer", { timeout: 120_000 }, async () => {
    // A throwaway container on the testbed bridge stands for a stranger on the internet: the admin CIDR is the bridge's gateway alone.
    const probe = (port: number) =>
      execFileAsync(DOCKER, ["run", "--rm", "--network", vps.network, vpsImage(), "bash", "-c", `timeout 3 bash -c '</dev/tcp/${vps.address}/${port}' 2>/dev/null; echo $?`]).then(
        ({ stdout }) => ({ "0": "open", "1": "refused", "124": "filtered" })[stdout.trim()] ?? `exit ${stdout.trim()}`,
      );
    const answers = Object.fromEntries(await Promise.all([22, 80, 443, 3000, 5432, 9090].map(async (port) => [port, await probe(port)] as const)));
    expect(answers).toEqual({ 22: "filtered", 80: "open", 443: "open", 3000: "filtered", 5432: "filtered", 9090: "filtered" });
  });

  it("an unchanged `up` changes nothing and opens no SSH connection; refresh finds no drift", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshConnections } = await step("up, unchanged", () => stack.run(["up", "--yes", "--expect-no-changes"]));
    expect(sshConnections).toBe(0);
    await step("refresh", () => stack.run(["refresh", "--yes", "--expect-no-changes"]));
  });

  it("a one-value change (Prometheus' retention) updates exactly that container", { timeout: STEP_TIMEOUT_MS }, async () => {
    const before = await inspectContainers();
    await stack.setConfig("infra:monitoring", { ...MONITORING, retentionDays: 30 });
    const { result: preview } = await step("preview, one value", () => stack.run(["preview", "--json"]));
    const changes = plannedChanges(preview.stdout);
    // A new container passes a health gate of its own; nothing else changes.
    expect(changes.sort()).toEqual(["replace fastapi-main-monitoring-prometheus", "replace fastapi-main-monitoring-prometheus-healthy"]);
    await step("up, one value", () => stack.run(["up", "--yes", "--skip-preview"]));
    const after = await inspectContainers();
    const replaced = [...after.values()].filter((container) => before.get(container.Name.replace(/^\//, ""))?.Id !== container.Id).map((container) => container.Name);
    expect(replaced).toEqual(["/fastapi-prometheus"]);
  });

  it("the nightly backup job runs by its systemd unit, and a restore loses no row", { timeout: STEP_TIMEOUT_MS }, async () => {
    const psql = (sql: string) => vps.exec(`docker exec -i fastapi-postgres psql -v ON_ERROR_STOP=1 -qAt -U postgres -d app`, { input: sql });
    await psql("create table drill(id int primary key, note text); insert into drill select g, md5(g::text) from generate_series(1, 5000) g;");
    const { result: run } = await step("backup job", () => vps.exec("systemctl start infra-backup.service; systemctl show -p Result --value infra-backup.service", { allowFailure: true }));
    expect(run.stdout.trim(), (await vps.exec("journalctl -u infra-backup --no-pager | tail -n 40")).stdout).toBe("success");
    const metrics = (await vps.exec("cat /var/lib/prometheus/node-exporter/infra_backup.prom")).stdout;
    expect(metrics).toMatch(/^infra_backup_last_exit_code(\{[^}]*\})? 0$/m);
    const snapshots = JSON.parse((await vps.exec("infra-restore --list --json")).stdout) as { id: string }[];
    expect(snapshots).toHaveLength(1);
    await psql("delete from drill where id > 100;");
    const { result: restore } = await step("restore postgres", () =>
      vps.exec(`infra-restore --snapshot ${snapshots[0]!.id} --service postgres --report /var/tmp/restore.json`, { allowFailure: true }),
    );
    expect(restore.code, restore.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse((await vps.exec("cat /var/tmp/restore.json")).stdout) as { lost: number; mismatched: unknown[] };
    expect(report.lost).toBe(0);
    expect(report.mismatched).toEqual([]);
    expect((await psql("select count(*) from drill;")).stdout.trim()).toBe("5000");
  });

  it("a release that never gets healthy fails `up` with its health checks' output; releasing a good one after it converges", { timeout: STEP_TIMEOUT_MS }, async () => {
    const app = images.find((image) => image.reference === "ghcr.io/fastapi-app/backend:1.0.0")!;
    await pushRelease(registry, app, "1.0.1", { RELEASE: "1.0.1" });
    // Listens on 8001 while its health check asks 8000: it runs, and never gets healthy.
    await pushRelease(registry, app, "1.0.2", { RELEASE: "1.0.2", PORT: "8001" });

    await stack.setConfig("infra:releases", { backend: "1.0.1" });
    const { result: preview } = await step("preview, release", () => stack.run(["preview", "--json"]));
    expect(plannedChanges(preview.stdout).sort()).toEqual(["replace fastapi-main-backend", "replace fastapi-main-backend-healthy", "replace fastapi-main-backend-image"]);
    await step("up, release 1.0.1", () => stack.run(["up", "--yes", "--skip-preview"]));
    expect(JSON.parse((await httpsGet(`api.${DOMAIN}`, "/")).body)).toMatchObject({ release: "1.0.1", database: { ok: true } });

    await stack.setConfig("infra:releases", { backend: "1.0.2" });
    const { result: failed } = await step("up, release never healthy", () => stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true }));
    const output = failed.stdout + failed.stderr;
    expect(failed.code, output.slice(-3000)).not.toBe(0);
    expect(output).toMatch(/remote command fastapi-main-backend-healthy on deploy@[\d.]+:22 failed with exit code 1/);
    expect(output).toContain("container fastapi-backend did not become healthy (state running/unhealthy");
    // The health check's own words: Python's urllib could not connect to 8000.
    expect(output).toMatch(/exit 1: .*Connection refused/);
    expect((await vps.exec("docker inspect --format '{{.Config.Image}} {{.State.Health.Status}}' fastapi-backend")).stdout).toMatch(/backend:1\.0\.2 unhealthy/);

    await stack.setConfig("infra:releases", { backend: "1.0.1" });
    await step("up, after the fix", () => stack.run(["up", "--yes", "--skip-preview"]));
    expect(JSON.parse((await httpsGet(`api.${DOMAIN}`, "/")).body)).toMatchObject({ release: "1.0.1", database: { ok: true } });
    await stack.run(["up", "--yes", "--expect-no-changes"]);
  });

  it("a host script that fails stops `up` with the resource, exit code and output; after the fix the next `up` converges", { timeout: STEP_TIMEOUT_MS }, async () => {
    // The deploy user loses sudo, as on a host someone changed by hand; a new admin CIDR makes the UFW command run again.
    await vps.exec("mv /etc/sudoers.d/deploy /root/deploy.sudoers");
    await stack.setConfig("infra:adminCidrs", [`${vps.gateway}/32`, "192.0.2.0/24"]);
    const { result: failed } = await step("up, broken host", () => stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true }));
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/remote command fastapi-main-firewall-ufw on deploy@[\d.]+:22 failed with exit code 1; the last \d+ lines of its output:[\s\S]*sudo/);
    await vps.exec("mv /root/deploy.sudoers /etc/sudoers.d/deploy");
    await step("up, after the fix", () => stack.run(["up", "--yes", "--skip-preview"]));
    expect((await vps.exec("ufw status")).stdout).toContain("192.0.2.0/24");
    await stack.run(["up", "--yes", "--expect-no-changes"]);
  });

  it("destroy leaves the protected volumes and bucket, and nothing else of the stack on the VPS", { timeout: STEP_TIMEOUT_MS }, async () => {
    const volumesBefore = (await vps.exec("docker volume ls -q --filter name=fastapi-")).stdout.split("\n").filter(Boolean).sort();
    expect(volumesBefore.length).toBeGreaterThan(3);
    await stack.runState(["state", "unprotect", "--all", "--yes"]);
    await step("destroy", () => stack.run(["destroy", "--yes", "--skip-preview"]));
    expect((await inspectContainers()).size).toBe(0);
    expect((await vps.exec("docker network ls -q --filter name=fastapi-")).stdout.trim()).toBe("");
    // The backups bucket is kept too, with the snapshots in it.
    const s3 = new S3Client({
      endpoint: minio.endpoint,
      region: minio.region,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: s3CA }) }),
    });
    const bucket = (stack.config["infra:storage"] as { bucketPrefix: string }).bucketPrefix + "-backups";
    const kept = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(kept.KeyCount ?? 0).toBeGreaterThan(0);
    s3.destroy();
    const volumesAfter = (await vps.exec("docker volume ls -q --filter name=fastapi-")).stdout.split("\n").filter(Boolean).sort();
    expect(volumesAfter).toEqual(volumesBefore);
  });
});
