import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { liveFilesInstalled } from "../../components/container/live-config";
import { releaseId, releasePlan, RELEASE_ID_PATTERN } from "../../components/container/release";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { NGINX_CONF_PATH } from "../../components/ingress/nginx-spec";
import type { PlanResult } from "../../tools/plan/plan";
import { textReport } from "../../tools/plan/text-report";
import { modelOf } from "../policy/models";
import { planOf, type PlannedResource } from "../support/plans";

const app: ServiceSpec = service({
  name: "api",
  description: "an API",
  role: "app",
  image: { repository: "example/api", tag: "1.0.0" },
  networks: ["edge"],
  ports: [{ container: 8000 }],
  env: { B: "2", A: { secret: "infra:a" } },
  healthcheck: healthcheck(["CMD", "true"]),
  memoryMb: 64,
});
const routed = new Set(["api"]);

describe("how a change to each service reaches what it serves", () => {
  it("a stateless app behind a route releases with zero downtime, under an id of its spec", () => {
    const plan = releasePlan(app, routed);
    expect(plan.mode).toBe("zero-downtime");
    expect(plan.releaseId).toMatch(new RegExp(`^${RELEASE_ID_PATTERN}$`));
  });

  it("restarts what cannot run twice or has no upstream to switch, never double-starts data, and reloads the ingress", () => {
    expect(releasePlan({ ...app, ports: [{ container: 8000, publish: { host: 8001, address: "10.0.1.2" } }] }, routed).mode).toBe("restart");
    expect(releasePlan({ ...app, ports: [{ container: 8000, publish: { host: 8001 } }] }, routed).mode).toBe("restart");
    expect(releasePlan(app, new Set()).mode).toBe("restart");
    expect(releasePlan({ ...app, role: "monitoring" }, routed).mode).toBe("restart");
    // Any backup declaration makes it stateful, whatever its role: an app with files the backup takes (n8n).
    expect(releasePlan({ ...app, backup: { volumes: ["data"] } } as ServiceSpec, routed).mode).toBe("stateful");
    expect(releasePlan({ ...app, role: "data", backup: { dump: { kind: "postgres", user: "postgres", databases: ["x"] } } } as ServiceSpec, routed).mode).toBe(
      "stateful",
    );
    expect(releasePlan({ ...app, role: "ingress", liveReload: {} }, routed).mode).toBe("reload");
    expect(releasePlan({ ...app, role: "ingress" }, routed).mode).toBe("restart");
  });

  it("the release id is the same for the same spec written in another key order, and changes with any field", () => {
    const reordered = Object.fromEntries(Object.entries(app).reverse()) as unknown as ServiceSpec;
    expect(releaseId({ ...reordered, env: { A: { secret: "infra:a" }, B: "2" } })).toBe(releaseId(app));
    const variants: ServiceSpec[] = [
      { ...app, image: { ...app.image, tag: "1.0.1" } },
      { ...app, image: { ...app.image, digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000" } },
      { ...app, env: { ...app.env, B: "3" } },
      { ...app, env: { ...app.env, A: { secret: "infra:b" } } },
      { ...app, memoryMb: 65 },
      { ...app, command: ["serve"] },
      { ...app, healthcheck: { ...app.healthcheck, retries: 4 } },
    ];
    const ids = new Set([releaseId(app), ...variants.map(releaseId)]);
    expect(ids.size).toBe(variants.length + 1);
  });
});

/** A stack overlay file, as `-c @file` takes it. */
function overlay(values: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-release-"));
  const file = join(dir, "overlay.yaml");
  writeFileSync(file, JSON.stringify({ config: values }));
  return `@${file}`;
}

const byName = (plan: PlanResult) => new Map(plan.resources.map((resource) => [`${resource.type}::${resource.name}`, resource]));

/** What differs between two plans: resources only in one, and resources whose inputs differ. */
function difference(before: PlanResult, after: PlanResult) {
  const old = byName(before);
  const next = byName(after);
  const strip = (resource: PlannedResource) => JSON.stringify(resource.inputs);
  return {
    removed: [...old.keys()].filter((key) => !next.has(key)).sort(),
    added: [...next.keys()].filter((key) => !old.has(key)).sort(),
    changed: [...next.keys()].filter((key) => old.has(key) && strip(old.get(key)!) !== strip(next.get(key)!)).sort(),
  };
}

describe("a release of fastapi's backend, planned offline", () => {
  const fastapi = ["blueprint=fastapi"];
  const release = (tag: string) => planOf("prod", { overrides: [...fastapi, overlay({ "infra:releases": { backend: tag } })] });

  it("adds the new release's container, image and gate, removes the old ones, and changes only the ingress's live file", async () => {
    // One plan at a time: the mock runtime is one per process.
    const before = await planOf("prod", { overrides: fastapi });
    const after = await release("1.0.1");
    const { removed, added, changed } = difference(before, after);
    const releaseResources = (keys: string[]) => keys.map((key) => key.replace(new RegExp(`-${RELEASE_ID_PATTERN}`), "-<id>"));
    const expected = [
      "docker:index/container:Container::fastapi-main-backend-<id>",
      "docker:index/remoteImage:RemoteImage::fastapi-main-backend-<id>-image",
      "pulumi-nodejs:dynamic/remote:SSHCommand::fastapi-main-backend-<id>-healthy",
    ];
    expect(releaseResources(removed)).toEqual(expected);
    expect(releaseResources(added)).toEqual(expected);
    // Not the nginx container, not Prometheus or any other: the switch is a reload.
    expect(changed).toEqual(["pulumi-nodejs:dynamic/remote:SSHCommand::fastapi-main-nginx-service-live-config"]);
    const config = after.resources.find((resource) => resource.name === "fastapi-main-nginx-service-live-config")!;
    const nginxConf = liveFilesInstalled(config.inputs.triggers, "fastapi-nginx").find((file) => file.path === NGINX_CONF_PATH)!.content;
    const newId = added[0]!.match(new RegExp(RELEASE_ID_PATTERN))![0];
    expect(nginxConf).toContain(`server backend-${newId}:8000;`);
    expect(nginxConf).not.toMatch(/server backend:8000;/);
  });

  it("the new container answers to its release alias and to the service name, and is named by the release", async () => {
    const after = await release("1.0.1");
    const model = modelOf("prod", { values: { "infra:blueprint": "fastapi" }, config: (config) => ({ ...config, releases: { backend: "1.0.1" } }) });
    const id = model.releases.find((plan) => plan.service === "backend")!.releaseId!;
    expect(model.containerNames.backend).toBe(`fastapi-backend-${id}`);
    const container = after.resources.find(
      (resource) => resource.type === "docker:index/container:Container" && resource.inputs.name === `fastapi-backend-${id}`,
    )!;
    expect(container.inputs.networksAdvanced).toEqual([
      { name: "fastapi-edge", aliases: ["backend", `backend-${id}`] },
      { name: "fastapi-internal", aliases: ["backend", `backend-${id}`] },
    ]);
  });

  it("rolling back to the blueprint's tag gives back the first release's names, so an unchanged stack plans nothing new", async () => {
    const original = await planOf("prod", { overrides: fastapi });
    const rolledBack = await release("1.0.0");
    expect(difference(original, rolledBack)).toEqual({ removed: [], added: [], changed: [] });
  });

  it("the text plan says per service what a change does to what it serves", async () => {
    const text = textReport(await planOf("prod", { overrides: fastapi }));
    expect(text).toMatch(/^ {4}backend +300 MB {2}zero-downtime {2}ghcr\.io\/fastapi-app\/backend:1\.0\.0/m);
    expect(text).toMatch(/^ {4}nginx +32 MB {2}reload +/m);
    expect(text).toMatch(/^ {4}postgres +512 MB {2}stateful +/m);
    expect(text).toMatch(/^ {4}prometheus +400 MB {2}restart +/m);
    expect(text).toContain("zero-downtime: a new version starts beside the running one");
  });

  it("the JSON plan gives each service its release mode, reason and container", async () => {
    const plan = await planOf("prod", { overrides: fastapi });
    const services = plan.hosts[0]!.services;
    expect(services.find((entry) => entry.name === "backend")).toMatchObject({
      release: "zero-downtime",
      container: expect.stringMatching(new RegExp(`^fastapi-backend-${RELEASE_ID_PATTERN}$`)),
    });
    expect(services.find((entry) => entry.name === "postgres")).toMatchObject({
      release: "stateful",
      container: "fastapi-postgres",
      releaseReason: expect.stringContaining("backup"),
    });
  });

  it("a stateful container runs the backup job before it is replaced, triggered by everything it is created with", async () => {
    // Secrets in clear, to compare the triggers (a hash of the container's inputs, kept secret).
    const before = await planOf("prod", { overrides: fastapi, revealSecrets: true });
    const pitr = await planOf("prod", { overrides: [...fastapi, overlay({ "infra:backup": { pitr: { enabled: true } } })], revealSecrets: true });
    const first = (plan: PlanResult) => plan.resources.find((resource) => resource.name === "fastapi-main-postgres-backup-first")!;
    expect(first(before).inputs.stdin).toContain("systemctl start infra-backup.service");
    expect(first(before).inputs.create).toBe("sudo bash -s -- fastapi-postgres");
    // The job as this update installs it: never while a changed job is being reinstalled.
    expect(first(before).dependsOn).toContain("fastapi-main-backup-install");
    expect(first(before).inputs.triggers).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
    expect(first(before).inputs.triggers).not.toEqual(first(pitr).inputs.triggers);
    const postgres = before.resources.find((resource) => resource.name === "fastapi-main-postgres" && resource.custom)!;
    expect(postgres.dependsOn).toContain("fastapi-main-postgres-backup-first");
    // Only services whose data the backup takes.
    expect(before.resources.filter((resource) => resource.name.endsWith("-backup-first")).map((resource) => resource.name)).toEqual([
      "fastapi-main-postgres-backup-first",
    ]);
  });
});
