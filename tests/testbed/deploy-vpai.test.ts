import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveConfigScript } from "../../components/container/live-config";
import { CADDYFILE_PATH, caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { plannedChanges } from "../support/pulumi-preview";
import { pushRelease } from "./images";
import { backupObjects, deploy, inspectContainers, notHealthy, settingsMismatches, startedTooEarly, stateResources, type Deployment, type StateResource } from "./deployment";

// Seed 002's VPAI, the real program's biggest single-server blueprint,
// deployed by the real CLI to a testbed VPS: its data tier (PostgreSQL with
// the three applications' databases, Redis, Qdrant), the applications, Caddy
// and the VictoriaMetrics monitoring stack, each from the testbed images.
// The steps assert the VPS's own state, and share one stack, so they run in
// order.

/** The reload the program gives Caddy, from its own spec function. */
const caddyLiveReload = () => caddyServiceSpec([], { networks: [], memoryMb: 64, dependsOn: [] }).liveReload!;

const SETUP_TIMEOUT_MS = 20 * 60_000;
const STEP_TIMEOUT_MS = 15 * 60_000;

let deployment: Deployment;

beforeAll(async () => {
  deployment = await deploy("vpai");
}, SETUP_TIMEOUT_MS);

afterAll(() => deployment?.stop(), STEP_TIMEOUT_MS);

describe("the vpai blueprint deployed to the testbed VPS", () => {
  let containers: StateResource[];
  const psql = (database: string, sql: string) =>
    deployment.vps.exec(`docker exec -i vpai-postgres psql -v ON_ERROR_STOP=1 -qAt -U postgres -d ${database}`, { input: sql });

  it("`up` prepares the host and runs every container healthy, with the settings the program registered, in order", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { result: preview } = await deployment.step("preview", () => deployment.stack.run(["preview", "--json"]));
    expect(plannedChanges(preview.stdout)).toEqual(expect.arrayContaining(["create vpai-main-postgres", "create vpai-main-redis", "create vpai-main-qdrant", "create vpai-main-prepare"]));

    await deployment.step("up", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    containers = (await stateResources(deployment.stack)).filter((resource) => resource.type === "docker:index/container:Container");
    const running = await inspectContainers(deployment.vps);
    expect(containers.length).toBe(14);
    expect([...running.keys()].sort()).toEqual(containers.map((resource) => String(resource.inputs!.name)).sort());
    expect(notHealthy(running)).toEqual([]);
    expect(settingsMismatches(containers, running)).toEqual([]);
    const { late, dependencies } = startedTooEarly(containers, running);
    expect(late).toEqual([]);
    expect(dependencies).toBeGreaterThan(0);
  });

  it("the data tier holds what the applications need: their databases, Redis and Qdrant behind their secrets", async () => {
    expect((await psql("postgres", "select datname from pg_database where datname in ('n8n', 'litellm', 'openclaw') order by 1;")).stdout.trim().split("\n")).toEqual([
      "litellm",
      "n8n",
      "openclaw",
    ]);
    const redis = await deployment.vps.exec("docker exec vpai-redis env -u REDISCLI_AUTH redis-cli --no-auth-warning ping", { allowFailure: true });
    expect(redis.stdout + redis.stderr).toMatch(/NOAUTH/);
    expect((await deployment.vps.exec("docker exec vpai-redis sh -c 'REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli ping'")).stdout.trim()).toBe("PONG");
    const qdrant = await deployment.vps.exec("docker exec vpai-qdrant wget -q -O - http://127.0.0.1:6333/collections", { allowFailure: true });
    expect(qdrant.code).not.toBe(0);
  });

  it("an unchanged `up` changes nothing and opens no SSH connection; refresh finds no drift", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshConnections } = await deployment.step("up, unchanged", () => deployment.stack.run(["up", "--yes", "--expect-no-changes"]));
    expect(sshConnections).toBe(0);
    await deployment.step("refresh", () => deployment.stack.run(["refresh", "--yes", "--expect-no-changes"]));
  });

  it("the nightly backup job dumps PostgreSQL, Redis, Qdrant and n8n's workflows by its systemd unit, and a restore loses no row", { timeout: STEP_TIMEOUT_MS }, async () => {
    await psql("litellm", "create table drill(id int primary key, note text); insert into drill select g, md5(g::text) from generate_series(1, 5000) g;");
    const { result: run } = await deployment.step("backup job", () =>
      deployment.vps.exec("systemctl start infra-backup.service; systemctl show -p Result --value infra-backup.service", { allowFailure: true }),
    );
    expect(run.stdout.trim(), (await deployment.vps.exec("journalctl -u infra-backup --no-pager | tail -n 60")).stdout).toBe("success");
    const snapshots = JSON.parse((await deployment.vps.exec("infra-restore --list --json")).stdout) as { id: string; paths?: string[] }[];
    expect(snapshots).toHaveLength(1);
    await psql("litellm", "delete from drill where id > 100;");
    const { result: restore } = await deployment.step("restore postgres", () =>
      deployment.vps.exec(`infra-restore --snapshot ${snapshots[0]!.id} --service postgres --report /var/tmp/restore.json`, { allowFailure: true }),
    );
    expect(restore.code, restore.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse((await deployment.vps.exec("cat /var/tmp/restore.json")).stdout) as { lost: number; mismatched: unknown[] };
    expect(report.lost).toBe(0);
    expect(report.mismatched).toEqual([]);
    expect((await psql("litellm", "select count(*) from drill;")).stdout.trim()).toBe("5000");
  });

  it("Caddy takes a new header and a LiteLLM release by reloading through its admin API, in the same container", { timeout: STEP_TIMEOUT_MS }, async () => {
    const caddyId = async () => (await deployment.vps.exec("docker inspect --format '{{.Id}}' vpai-caddy")).stdout.trim();
    const running = async () => JSON.parse((await deployment.vps.exec("docker exec vpai-caddy wget -qO- http://127.0.0.1:2019/config/")).stdout) as unknown;
    const litellm = async () => (await deployment.vps.exec("docker ps --filter label=infra.service=litellm --format '{{.Names}}'")).stdout.trim().split("\n").filter(Boolean);
    const before = await caddyId();
    const [oldRelease] = await litellm();
    await deployment.stack.setConfig("infra:ingress", { headers: { "X-Robots-Tag": "noindex" } });
    const litellmImage = deployment.images.find((image) => image.reference === "ghcr.io/berriai/litellm:main-v1.55.8")!;
    await pushRelease(deployment.registry, litellmImage, "main-v1.55.9", { INFRA_TESTBED_RELEASE: "main-v1.55.9" });
    await deployment.stack.setConfig("infra:releases", { litellm: "main-v1.55.9" });
    const { result: preview } = await deployment.step("preview, header and release", () => deployment.stack.run(["preview", "--json"]));
    const changes = plannedChanges(preview.stdout);
    expect(changes).toContain("replace vpai-main-caddy-service-live-config");
    expect(changes.filter((change) => /caddy-service(-healthy)?$/.test(change))).toEqual([]);
    await deployment.step("up, header and release", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    expect(await caddyId()).toBe(before);
    const config = JSON.stringify(await running());
    expect(config).toContain("X-Robots-Tag");
    const [newRelease, ...others] = await litellm();
    expect(others).toEqual([]);
    expect(newRelease).not.toBe(oldRelease);
    expect(config).toContain(`${newRelease!.replace(/^vpai-/, "")}:4000`);
    await deployment.stack.run(["up", "--yes", "--expect-no-changes"]);
  });

  it("a Caddyfile Caddy refuses leaves the running configuration and files in place", { timeout: STEP_TIMEOUT_MS }, async () => {
    const before = (await deployment.vps.exec("docker exec vpai-caddy wget -qO- http://127.0.0.1:2019/config/")).stdout;
    const script = liveConfigScript("vpai-caddy", [{ path: CADDYFILE_PATH, content: "example.com {\n\treverse_proxy {\n", live: true }], caddyLiveReload());
    const refused = await deployment.vps.exec("bash -s", { input: script, allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain("vpai-caddy refused the new configuration; it keeps serving the running one");
    expect((await deployment.vps.exec("docker exec vpai-caddy wget -qO- http://127.0.0.1:2019/config/")).stdout).toBe(before);
    expect((await deployment.vps.exec("cat /srv/infra/vpai-caddy/live/Caddyfile")).stdout).toContain("X-Robots-Tag");
  });

  it("destroy leaves the protected volumes and bucket, and nothing else of the stack on the VPS", { timeout: STEP_TIMEOUT_MS }, async () => {
    const volumes = async () => (await deployment.vps.exec("docker volume ls -q --filter name=vpai-")).stdout.split("\n").filter(Boolean).sort();
    const before = await volumes();
    expect(before.length).toBeGreaterThan(5);
    await deployment.stack.runState(["state", "unprotect", "--all", "--yes"]);
    await deployment.step("destroy", () => deployment.stack.run(["destroy", "--yes", "--skip-preview"]));
    expect((await inspectContainers(deployment.vps)).size).toBe(0);
    expect((await deployment.vps.exec("docker network ls -q --filter name=vpai-")).stdout.trim()).toBe("");
    expect(await backupObjects(deployment)).toBeGreaterThan(0);
    expect(await volumes()).toEqual(before);
  });
});
