import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../components/backup/shell";
import { SECRETS_HOST_DIR } from "../../components/container/secret-files";
import { GRAFANA_ADMIN_PASSWORD_SECRET } from "../../components/monitoring/settings";
import { plannedChanges } from "../support/pulumi-preview";
import {
  backupObjects,
  deploy,
  httpsGet as get,
  inspectContainers as inspect,
  notHealthy,
  settingsMismatches,
  startedTooEarly,
  stateResources,
  type Deployment,
  type StateResource,
} from "./deployment";
import { liveConfigScript } from "../../components/container/live-config";
import { NGINX_CONF_PATH, NGINX_LIVE_RELOAD } from "../../components/ingress/nginx-spec";
import { pushRelease } from "./images";
import { clientAddresses, startLoad, summary } from "./load";
import { secretExposure } from "./secret-exposure";
import { DOCKER, vpsImage } from "./vps";

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

let deployment: Deployment;
const step = <T>(name: string, run: () => Promise<T>) => deployment.step(name, run);
const inspectContainers = () => inspect(deployment.vps);
const httpsGet = (hostname: string, path: string, credentials?: string) => get(deployment.vps, hostname, path, credentials);

beforeAll(async () => {
  deployment = await deploy("fastapi", { "infra:monitoring": MONITORING });
}, SETUP_TIMEOUT_MS);

afterAll(() => deployment?.stop(), STEP_TIMEOUT_MS);

describe("the fastapi blueprint deployed to the testbed VPS", () => {
  let containerInputs: StateResource[];

  it("previews without touching the VPS, then `up` runs every container healthy", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { result: preview } = await step("preview", () => deployment.stack.run(["preview", "--json"]));
    const creates = plannedChanges(preview.stdout).filter((change) => change.startsWith("create "));
    expect(creates).toEqual(expect.arrayContaining(["create fastapi-main-backend", "create fastapi-main-postgres", "create fastapi-main-prepare"]));
    expect((await inspectContainers()).size).toBe(0);

    await step("up", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    containerInputs = (await stateResources(deployment.stack)).filter((resource) => resource.type === "docker:index/container:Container");
    const running = await inspectContainers();
    const expected = containerInputs.map((resource) => String(resource.inputs!.name)).sort();
    expect(expected.length).toBe(14);
    expect([...running.keys()].sort()).toEqual(expected);
    expect(notHealthy(running)).toEqual([]);
  });

  it("runs each container with exactly the settings the program registered", async () => {
    expect(settingsMismatches(containerInputs, await inspectContainers())).toEqual([]);
  });

  it(
    "C15, live: docker inspect and ps show no secret of the stack outside the application's environment; each secret file is 0400, its service's, and mounted read-only",
    { timeout: 120_000 },
    async () => {
      // The application's image reads DATABASE_URL and JWT_SECRET from its environment only (its C15 waiver in infra/blueprints/fastapi.ts);
      // its container is the current release's, named by the release id.
      const waived = new Set(containerInputs.map((resource) => String(resource.inputs!.name)).filter((name) => /^fastapi-backend-[0-9a-f]{8}$/.test(name)));
      expect(waived.size).toBe(1);
      const exposure = await secretExposure(deployment.vps, deployment.stack.secrets, waived);
      expect(exposure.inspected).toEqual([]);
      expect(exposure.inEnvironment).toEqual([...waived]);
      expect(exposure.commandLines).toEqual([]);
      expect(exposure.files).toEqual([]);
      expect(exposure.mounted).toEqual([
        "fastapi-certbot /run/secrets/cloudflare.ini",
        "fastapi-grafana /run/secrets/grafana-admin-password",
        "fastapi-nginx /run/secrets/htpasswd-infra-monitoringAdminPasswordHash",
        "fastapi-postgres /run/secrets/postgres-password",
        "fastapi-postgres-exporter /run/secrets/postgres-password",
      ]);
    },
  );

  it("started every container after the ones it depends on", async () => {
    const { late, dependencies } = startedTooEarly(containerInputs, await inspectContainers());
    expect(late).toEqual([]);
    expect(dependencies).toBeGreaterThan(0);
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
      execFileAsync(DOCKER, [
        "run",
        "--rm",
        "--network",
        deployment.vps.network,
        vpsImage(),
        "bash",
        "-c",
        `timeout 3 bash -c '</dev/tcp/${deployment.vps.address}/${port}' 2>/dev/null; echo $?`,
      ]).then(({ stdout }) => ({ "0": "open", "1": "refused", "124": "filtered" })[stdout.trim()] ?? `exit ${stdout.trim()}`);
    const answers = Object.fromEntries(await Promise.all([22, 80, 443, 3000, 5432, 9090].map(async (port) => [port, await probe(port)] as const)));
    expect(answers).toEqual({ 22: "filtered", 80: "open", 443: "open", 3000: "filtered", 5432: "filtered", 9090: "filtered" });
  });

  it("a container on an internal network reaches its neighbours and nothing outside its networks", { timeout: 60_000 }, async () => {
    const running = await inspectContainers();
    expect(Object.keys(running.get("fastapi-postgres")!.NetworkSettings.Networks)).toEqual(["fastapi-internal"]);
    const probe = async (container: string, host: string, port: number) =>
      (
        await deployment.vps.exec(`docker exec ${container} timeout 5 bash -c '</dev/tcp/${host}/${port}' 2>/dev/null && echo open || echo closed`, {
          allowFailure: true,
        })
      ).stdout.trim();
    // S3 on the testbed's gateway answers the app, which is also on the edge network; the same probe from PostgreSQL goes nowhere.
    const s3 = new URL(deployment.minio.endpoint);
    const backend = [...running.keys()].find((name) => /^fastapi-backend-[0-9a-f]{8}$/.test(name))!;
    expect(await probe(backend, s3.hostname, Number(s3.port))).toBe("open");
    expect(await probe("fastapi-postgres", s3.hostname, Number(s3.port))).toBe("closed");
    expect(await probe("fastapi-postgres", "backend", 8000)).toBe("open");
  });

  it("an unchanged `up` changes nothing and opens no SSH connection; refresh finds no drift", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshConnections } = await step("up, unchanged", () => deployment.stack.run(["up", "--yes", "--expect-no-changes"]));
    expect(sshConnections).toBe(0);
    await step("refresh", () => deployment.stack.run(["refresh", "--yes", "--expect-no-changes"]));
  });

  it("a one-value change (Prometheus' retention) updates exactly that container", { timeout: STEP_TIMEOUT_MS }, async () => {
    const before = await inspectContainers();
    await deployment.stack.setConfig("infra:monitoring", { ...MONITORING, retentionDays: 30 });
    const { result: preview } = await step("preview, one value", () => deployment.stack.run(["preview", "--json"]));
    const changes = plannedChanges(preview.stdout);
    // A new container passes a health gate of its own; nothing else changes.
    expect(changes.sort()).toEqual(["replace fastapi-main-monitoring-prometheus", "replace fastapi-main-monitoring-prometheus-healthy"]);
    await step("up, one value", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    const after = await inspectContainers();
    const replaced = [...after.values()]
      .filter((container) => before.get(container.Name.replace(/^\//, ""))?.Id !== container.Id)
      .map((container) => container.Name);
    expect(replaced).toEqual(["/fastapi-prometheus"]);
  });

  it(
    "rotating a secret rewrites its file and restarts the one container that reads it, replacing none; it reads the new value",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      // The password reaches wget on stdin, never in a command line of the test.
      const login = (password: string) =>
        deployment.vps.exec(
          `docker exec -i fastapi-grafana sh -c ${shellQuote('IFS= read -r password; wget -q -O /dev/null --auth-no-challenge --user=admin --password="$password" http://127.0.0.1:3000/api/datasources')}`,
          { input: `${password}\n`, allowFailure: true },
        );
      const old = deployment.stack.secrets[GRAFANA_ADMIN_PASSWORD_SECRET]!;
      expect((await login(old)).code).toBe(0);
      const before = await inspectContainers();
      const rotated = `Tb-rotated-${randomBytes(9).toString("base64url")}/+=@:?#%`;
      await deployment.stack.setSecret(GRAFANA_ADMIN_PASSWORD_SECRET, rotated);
      const { result: preview } = await step("preview, rotated secret", () => deployment.stack.run(["preview", "--json"]));
      // Only the command that writes Grafana's files runs again: the container's inputs name the file, not the value.
      expect(plannedChanges(preview.stdout)).toEqual(["replace fastapi-main-monitoring-grafana-secrets"]);
      await step("up, rotated secret", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
      const after = await inspectContainers();
      const name = (container: { Name: string }) => container.Name.replace(/^\//, "");
      expect([...after.values()].filter((container) => before.get(name(container))?.Id !== container.Id).map(name)).toEqual([]);
      // A bind mount holds the file the container started with: Grafana is restarted to read the new one, and nothing else is.
      expect([...after.values()].filter((container) => before.get(name(container))!.State.StartedAt !== container.State.StartedAt).map(name)).toEqual([
        "fastapi-grafana",
      ]);
      await expect.poll(async () => (await login(rotated)).code, { timeout: 60_000, interval: 1000 }).toBe(0);
      expect((await login(old)).code).not.toBe(0);
      expect((await deployment.vps.exec(`stat -c '%a %u' ${SECRETS_HOST_DIR}/fastapi-grafana/grafana-admin-password`)).stdout.trim()).toBe("400 472");
      await deployment.stack.run(["up", "--yes", "--expect-no-changes"]);
    },
  );

  it("the nightly backup job runs by its systemd unit, and a restore loses no row", { timeout: STEP_TIMEOUT_MS }, async () => {
    const psql = (sql: string) => deployment.vps.exec(`docker exec -i fastapi-postgres psql -v ON_ERROR_STOP=1 -qAt -U postgres -d app`, { input: sql });
    await psql("create table drill(id int primary key, note text); insert into drill select g, md5(g::text) from generate_series(1, 5000) g;");
    const { result: run } = await step("backup job", () =>
      deployment.vps.exec("systemctl start infra-backup.service; systemctl show -p Result --value infra-backup.service", { allowFailure: true }),
    );
    expect(run.stdout.trim(), (await deployment.vps.exec("journalctl -u infra-backup --no-pager | tail -n 40")).stdout).toBe("success");
    const metrics = (await deployment.vps.exec("cat /var/lib/prometheus/node-exporter/infra_backup.prom")).stdout;
    expect(metrics).toMatch(/^infra_backup_last_exit_code(\{[^}]*\})? 0$/m);
    const snapshots = JSON.parse((await deployment.vps.exec("infra-restore --list --json")).stdout) as { id: string }[];
    expect(snapshots).toHaveLength(1);
    await psql("delete from drill where id > 100;");
    const { result: restore } = await step("restore postgres", () =>
      deployment.vps.exec(`infra-restore --snapshot ${snapshots[0]!.id} --service postgres --report /var/tmp/restore.json`, { allowFailure: true }),
    );
    expect(restore.code, restore.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse((await deployment.vps.exec("cat /var/tmp/restore.json")).stdout) as { lost: number; mismatched: unknown[] };
    expect(report.lost).toBe(0);
    expect(report.mismatched).toEqual([]);
    expect((await psql("select count(*) from drill;")).stdout.trim()).toBe("5000");
  });

  describe("releases under load: 20 clients, one request a second each, through nginx", () => {
    const api = `api.${DOMAIN}`;
    let clients: ReturnType<typeof clientAddresses>;
    const underLoad = async <T>(name: string, run: () => Promise<T>) => {
      const load = startLoad(deployment.vps, api, "/", { perSecond: 20, clients: clients.addresses });
      // A few seconds of traffic before the change, so the old release is seen answering.
      await new Promise((wait) => setTimeout(wait, 3_000));
      const outcome = await run().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await new Promise((wait) => setTimeout(wait, 3_000));
      const report = await load.stop();
      console.log(summary(name, report));
      if ("error" in outcome) throw outcome.error;
      return { report, value: outcome.value };
    };
    const nginxId = async () => (await deployment.vps.exec("docker inspect --format '{{.Id}}' fastapi-nginx")).stdout.trim();
    const backends = async () =>
      (await deployment.vps.exec("docker ps -a --filter label=infra.service=backend --format '{{.Names}} {{.State}}'")).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .sort();

    beforeAll(async () => {
      clients = clientAddresses(deployment.vps, 20);
      const app = deployment.images.find((image) => image.reference === "ghcr.io/fastapi-app/backend:1.0.0")!;
      await pushRelease(deployment.registry, app, "1.0.1", { RELEASE: "1.0.1" });
      // Listens on 8001 while its health check asks 8000: it runs, and never gets healthy.
      await pushRelease(deployment.registry, app, "1.0.2", { RELEASE: "1.0.2", PORT: "8001" });
    }, STEP_TIMEOUT_MS);
    afterAll(() => clients?.release());

    it("a new image starts beside the old one and takes over: 0 failed requests, nginx not restarted", { timeout: STEP_TIMEOUT_MS }, async () => {
      const [before] = await backends();
      expect(before).toMatch(/^fastapi-backend-[0-9a-f]{8} running$/);
      const nginx = await nginxId();
      await deployment.stack.setConfig("infra:releases", { backend: "1.0.1" });
      const { result: preview } = await step("preview, release", () => deployment.stack.run(["preview", "--json"]));
      const changes = plannedChanges(preview.stdout);
      // The new release's three resources, the switch, and the old release's three, removed last.
      expect(changes.filter((change) => change.startsWith("create "))).toEqual([
        expect.stringMatching(/^create fastapi-main-backend-[0-9a-f]{8}$/),
        expect.stringMatching(/-healthy$/),
        expect.stringMatching(/-image$/),
      ]);
      expect(changes.filter((change) => !/^(create|delete) fastapi-main-backend-[0-9a-f]{8}(-healthy|-image)?$/.test(change))).toEqual([
        "replace fastapi-main-nginx-service-live-config",
      ]);
      expect(changes.filter((change) => change.startsWith("delete "))).toHaveLength(3);

      const { report } = await underLoad("release 1.0.0 -> 1.0.1", () =>
        step("up, release 1.0.1", () => deployment.stack.run(["up", "--yes", "--skip-preview"])),
      );
      expect(report.failures).toEqual([]);
      expect(report.requests).toBeGreaterThan(200);
      expect(report.releases.map((entry) => entry.release)).toEqual(["1.0.0", "1.0.1"]);
      // Once the new release answered, the old one never did again.
      expect(report.releases[0]!.lastMs).toBeLessThan(report.releases[1]!.firstMs + 5_000);
      expect(report.samples.at(-1)!.release).toBe("1.0.1");
      expect(await nginxId()).toBe(nginx);
      const after = await backends();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);
    });

    it("a new route and a new header come by a reload: 0 failed requests, nginx not restarted", { timeout: STEP_TIMEOUT_MS }, async () => {
      const nginx = await nginxId();
      await deployment.stack.setConfig("infra:ingress", { routes: [{ subdomain: "www", service: "backend" }], headers: { "X-Release-Channel": "stable" } });
      const { result: preview } = await step("preview, route and header", () => deployment.stack.run(["preview", "--json"]));
      const changes = plannedChanges(preview.stdout);
      expect(changes).toContain("replace fastapi-main-nginx-service-live-config");
      expect(changes.filter((change) => /nginx-service(-healthy)?$/.test(change))).toEqual([]);

      const { report } = await underLoad("route www and header X-Release-Channel", () =>
        step("up, route and header", () => deployment.stack.run(["up", "--yes", "--skip-preview"])),
      );
      expect(report.failures).toEqual([]);
      expect(await nginxId()).toBe(nginx);
      const www = await httpsGet(`www.${DOMAIN}`, "/");
      expect(www.status).toBe(200);
      expect(JSON.parse(www.body)).toMatchObject({ release: "1.0.1" });
      expect(www.headers["x-release-channel"]).toBe("stable");
      expect((await httpsGet(api, "/")).headers["x-release-channel"]).toBe("stable");
    });

    it("a configuration nginx refuses fails `up` and leaves the running one serving", { timeout: STEP_TIMEOUT_MS }, async () => {
      // What the program never writes, planted where its check must catch it: a live file nginx -t refuses.
      const nginx = await nginxId();
      const script = liveConfigScript(
        "fastapi-nginx",
        [{ path: NGINX_CONF_PATH, content: "events {}\nhttp { server { listen 443 ssl; unknown_directive on; } }\n", live: true }],
        NGINX_LIVE_RELOAD,
      );
      const refused = await deployment.vps.exec("bash -s", { input: script, allowFailure: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toMatch(/unknown directive "unknown_directive"/);
      expect(refused.stdout).toContain("fastapi-nginx refused the new configuration; it keeps serving the running one");
      expect((await httpsGet(api, "/")).status).toBe(200);
      expect((await deployment.vps.exec("cat /srv/infra/fastapi-nginx/live/nginx.conf")).stdout).not.toContain("unknown_directive");
      expect(await nginxId()).toBe(nginx);
    });

    it(
      "a release that never gets healthy fails `up` with its health checks' output, and the old one keeps serving: 0 failed requests",
      { timeout: STEP_TIMEOUT_MS },
      async () => {
        const [serving] = await backends();
        await deployment.stack.setConfig("infra:releases", { backend: "1.0.2" });
        const { report, value: failed } = await underLoad("release 1.0.2, never healthy", () =>
          step("up, release never healthy", () => deployment.stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true })),
        );
        const output = failed.result.stdout + failed.result.stderr;
        expect(failed.result.code, output.slice(-3000)).not.toBe(0);
        expect(output).toMatch(/remote command fastapi-main-backend-[0-9a-f]{8}-healthy on deploy@[\d.]+:22 failed with exit code 1/);
        expect(output).toMatch(/container fastapi-backend-[0-9a-f]{8} did not become healthy: state running\/unhealthy after \d+s of at most \d+s/);
        // The health check's own words (Python's urllib could not connect to 8000), and the app's log saying where it listens.
        expect(output).toContain("urllib.error.URLError: <urlopen error [Errno 111] Connection refused>");
        expect(output).toContain("backend 1.0.2 listening on :8001");
        expect(report.failures).toEqual([]);
        expect(report.releases.map((entry) => entry.release)).toEqual(["1.0.1"]);
        // The failed release stays beside the serving one, unhealthy, for its logs to be read; the next `up` removes it.
        const running = await backends();
        expect(running).toHaveLength(2);
        expect(running).toContain(serving);

        await deployment.stack.setConfig("infra:releases", { backend: "1.0.1" });
        await step("up, after the fix", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
        expect(await backends()).toEqual([serving]);
        await deployment.stack.run(["up", "--yes", "--expect-no-changes"]);
      },
    );

    it("rolls back by releasing the previous tag again: 0 failed requests", { timeout: STEP_TIMEOUT_MS }, async () => {
      await deployment.stack.setConfig("infra:releases", { backend: "1.0.0" });
      const { report } = await underLoad("rollback 1.0.1 -> 1.0.0", () => step("up, rollback", () => deployment.stack.run(["up", "--yes", "--skip-preview"])));
      expect(report.failures).toEqual([]);
      expect(report.releases.map((entry) => entry.release)).toEqual(["1.0.1", "1.0.0"]);
      expect(report.samples.at(-1)!.release).toBe("1.0.0");
      expect(await backends()).toHaveLength(1);
    });
  });

  it("PostgreSQL, which holds data, is replaced only after a fresh backup, and keeps every row", { timeout: STEP_TIMEOUT_MS }, async () => {
    const snapshots = async () => JSON.parse((await deployment.vps.exec("infra-restore --list --json")).stdout) as { id: string; time: string }[];
    const before = await snapshots();
    // WAL archiving changes PostgreSQL's command and volumes: a new container over the same data volume.
    await deployment.stack.setConfig("infra:backup", { pitr: { enabled: true } });
    const { result: preview } = await step("preview, PITR on", () => deployment.stack.run(["preview", "--json"]));
    const changes = plannedChanges(preview.stdout);
    expect(changes).toContain("replace fastapi-main-postgres");
    expect(changes).toContain("replace fastapi-main-postgres-backup-first");
    const started = Date.now();
    const { result: up } = await step("up, PITR on", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    expect(up.stdout + up.stderr).not.toContain("is replaced without a fresh backup");
    const after = await snapshots();
    const fresh = after.filter((snapshot) => !before.some((old) => old.id === snapshot.id));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    const postgres = (await inspectContainers()).get("fastapi-postgres")!;
    const newest = Math.max(...fresh.map((snapshot) => Date.parse(snapshot.time)));
    // The snapshot was taken during this `up`, before the new container started.
    expect(newest).toBeGreaterThan(started - 1_000);
    expect(newest).toBeLessThan(Date.parse(postgres.State.StartedAt));
    const count = await deployment.vps.exec("docker exec -i fastapi-postgres psql -qAt -U postgres -d app -c 'select count(*) from drill;'");
    expect(count.stdout.trim()).toBe("5000");
    await deployment.stack.run(["up", "--yes", "--expect-no-changes"]);
  });

  it(
    "a host script that fails stops `up` with the resource, exit code and output; after the fix the next `up` converges",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      // The deploy user loses sudo, as on a host someone changed by hand; a new admin CIDR makes the UFW command run again.
      await deployment.vps.exec("mv /etc/sudoers.d/deploy /root/deploy.sudoers");
      await deployment.stack.setConfig("infra:adminCidrs", [`${deployment.vps.gateway}/32`, "192.0.2.0/24"]);
      const { result: failed } = await step("up, broken host", () => deployment.stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true }));
      expect(failed.code).not.toBe(0);
      expect(failed.stdout + failed.stderr).toMatch(
        /remote command fastapi-main-firewall-ufw on deploy@[\d.]+:22 failed with exit code 1; the last \d+ lines of its output:[\s\S]*sudo/,
      );
      await deployment.vps.exec("mv /root/deploy.sudoers /etc/sudoers.d/deploy");
      await step("up, after the fix", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
      expect((await deployment.vps.exec("ufw status")).stdout).toContain("192.0.2.0/24");
      await deployment.stack.run(["up", "--yes", "--expect-no-changes"]);
    },
  );

  it("destroy leaves the protected volumes and bucket, and nothing else of the stack on the VPS", { timeout: STEP_TIMEOUT_MS }, async () => {
    const volumesBefore = (await deployment.vps.exec("docker volume ls -q --filter name=fastapi-")).stdout.split("\n").filter(Boolean).sort();
    expect(volumesBefore.length).toBeGreaterThan(3);
    await deployment.stack.runState(["state", "unprotect", "--all", "--yes"]);
    await step("destroy", () => deployment.stack.run(["destroy", "--yes", "--skip-preview"]));
    expect((await inspectContainers()).size).toBe(0);
    expect((await deployment.vps.exec("docker network ls -q --filter name=fastapi-")).stdout.trim()).toBe("");
    // Each service's secret files went with its container.
    expect((await deployment.vps.exec(`find ${SECRETS_HOST_DIR} -mindepth 1`)).stdout).toBe("");
    // The backups bucket is kept too, with the snapshots in it.
    expect(await backupObjects(deployment)).toBeGreaterThan(0);
    const volumesAfter = (await deployment.vps.exec("docker volume ls -q --filter name=fastapi-")).stdout.split("\n").filter(Boolean).sort();
    expect(volumesAfter).toEqual(volumesBefore);
  });
});
