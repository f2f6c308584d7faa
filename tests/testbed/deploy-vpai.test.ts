import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../components/backup/shell";
import { liveConfigScript } from "../../components/container/live-config";
import { REDIS_PASSWORD_PATH } from "../../components/container/redis-auth";
import { SECRETS_HOST_DIR } from "../../components/container/secret-files";
import { CADDYFILE_PATH, caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { plannedChanges } from "../support/pulumi-preview";
import { pushRelease } from "./images";
import {
  backupObjects,
  deploy,
  inspectContainers,
  notHealthy,
  settingsMismatches,
  startedTooEarly,
  stateResources,
  type Deployment,
  type StateResource,
} from "./deployment";
import { secretExposure } from "./secret-exposure";

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

/**
 * HTTP calls to the Docker API through the socket proxy, made from inside
 * `container` as that container could make them; each call's status, 0 when
 * the proxy cannot be reached at all.
 */
async function callsThroughProxy(container: string, calls: readonly (readonly [string, string])[]): Promise<number[]> {
  const script = [
    "import http.client, json, sys",
    "statuses = []",
    "for method, path in json.loads(sys.argv[1]):",
    "    try:",
    "        connection = http.client.HTTPConnection('docker-socket-proxy', 2375, timeout=10)",
    "        connection.request(method, path, body=b'{}' if method.upper() == 'POST' else None, headers={'Content-Type': 'application/json'})",
    "        statuses.append(connection.getresponse().status)",
    "        connection.close()",
    "    except OSError:",
    "        statuses.append(0)",
    "print(json.dumps(statuses))",
  ].join("\n");
  // The calls' paths hold no single quote, so they pass through the shell as one word.
  const result = await deployment.vps.exec(`docker exec -i ${container} python3 - '${JSON.stringify(calls)}'`, { input: script });
  return JSON.parse(result.stdout) as number[];
}

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
    expect(plannedChanges(preview.stdout)).toEqual(
      expect.arrayContaining(["create vpai-main-postgres", "create vpai-main-redis", "create vpai-main-qdrant", "create vpai-main-prepare"]),
    );

    await deployment.step("up", () => deployment.stack.run(["up", "--yes", "--skip-preview"]));
    containers = (await stateResources(deployment.stack)).filter((resource) => resource.type === "docker:index/container:Container");
    const running = await inspectContainers(deployment.vps);
    expect(containers.length).toBe(15);
    expect([...running.keys()].sort()).toEqual(containers.map((resource) => String(resource.inputs!.name)).sort());
    expect(notHealthy(running)).toEqual([]);
    expect(settingsMismatches(containers, running)).toEqual([]);
    const { late, dependencies } = startedTooEarly(containers, running);
    expect(late).toEqual([]);
    expect(dependencies).toBeGreaterThan(0);
  });

  it("the data tier holds what the applications need: their databases, Redis and Qdrant behind their secrets", async () => {
    expect(
      (await psql("postgres", "select datname from pg_database where datname in ('n8n', 'litellm', 'openclaw') order by 1;")).stdout.trim().split("\n"),
    ).toEqual(["litellm", "n8n", "openclaw"]);
    // Each server holds the stack's own secret, read from its file: a client
    // without it is refused, one given the planted value (on stdin, never in
    // a command line) is let in.
    const { secrets } = deployment.stack;
    const redis = await deployment.vps.exec("docker exec vpai-redis redis-cli --no-auth-warning ping", { allowFailure: true });
    expect(redis.stdout + redis.stderr).toMatch(/NOAUTH/);
    expect((await deployment.vps.exec(`docker exec vpai-redis sh -c 'REDISCLI_AUTH="$(cat ${REDIS_PASSWORD_PATH})" redis-cli ping'`)).stdout.trim()).toBe(
      "PONG",
    );
    const withInput = (container: string, script: string, input: string) =>
      deployment.vps.exec(`docker exec -i ${container} sh -c ${shellQuote(script)}`, { input: `${input}\n`, allowFailure: true });
    expect(
      (await withInput("vpai-redis", "IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; redis-cli ping", secrets["infra:redisPassword"]!)).stdout.trim(),
    ).toBe("PONG");
    const collections = "wget -q -O - http://127.0.0.1:6333/collections";
    expect((await deployment.vps.exec(`docker exec vpai-qdrant ${collections}`, { allowFailure: true })).code).not.toBe(0);
    const keyed = await withInput("vpai-qdrant", `IFS= read -r key; ${collections} --header "api-key: $key"`, secrets["infra:qdrantApiKey"]!);
    expect(keyed.stdout).toContain('"collections"');
    const login = await withInput(
      "vpai-postgres",
      'IFS= read -r PGPASSWORD; export PGPASSWORD; psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1"',
      secrets["infra:postgresPassword"]!,
    );
    expect(login.stdout.trim(), login.stderr).toBe("1");
    // n8n kept the key its entrypoint read from the file: had it read none, n8n would have made one up.
    const settings = JSON.parse((await deployment.vps.exec("docker exec vpai-n8n cat /home/node/.n8n/config")).stdout) as { encryptionKey: string };
    expect(settings.encryptionKey === secrets["infra:n8nEncryptionKey"]).toBe(true);
  });

  it(
    "C15, live: docker inspect and ps show no secret of the stack outside LiteLLM's and OpenClaw's environment; each secret file is 0400, its service's, and mounted read-only",
    { timeout: 120_000 },
    async () => {
      // Their images read these settings from their environment only (their C15 waivers in infra/blueprints/vpai.ts);
      // LiteLLM's container is its current release's, named by the release id.
      const litellm = containers.map((resource) => String(resource.inputs!.name)).find((name) => /^vpai-litellm-[0-9a-f]{8}$/.test(name))!;
      const waived = new Set([litellm, "vpai-openclaw"]);
      const exposure = await secretExposure(deployment.vps, deployment.stack.secrets, waived);
      expect(exposure.inspected).toEqual([]);
      expect(exposure.inEnvironment).toEqual([...waived].sort());
      expect(exposure.commandLines).toEqual([]);
      expect(exposure.files).toEqual([]);
      expect(exposure.mounted).toEqual([
        "vpai-alloy /run/secrets/alloy-postgres-dsn",
        "vpai-alloy /run/secrets/alloy-redis-password",
        "vpai-caddy /run/secrets/infra-bcrypt-n8n-password-hash",
        "vpai-grafana /run/secrets/grafana-admin-password",
        "vpai-n8n /run/secrets/n8n-encryption-key",
        "vpai-n8n /run/secrets/postgres-password",
        "vpai-postgres /run/secrets/postgres-password",
        "vpai-qdrant /qdrant/config/local.yaml",
        "vpai-redis /run/secrets/redis-auth.conf",
        "vpai-redis /run/secrets/redis-password",
      ]);
    },
  );

  it(
    "the socket proxy alone holds docker.sock: DIUN and Alloy read through it, a write through it is refused with 403, and nothing changed (C14)",
    { timeout: 120_000 },
    async () => {
      const running = await inspectContainers(deployment.vps);
      const holders = [...running.values()].filter((container) => (container.Mounts ?? []).some((mount) => /^\/(var\/)?run\/docker\.sock$/.test(mount.Source)));
      expect(holders.map((container) => container.Name)).toEqual(["/vpai-docker-socket-proxy"]);
      expect(holders[0]!.Mounts!.find((mount) => mount.Source.endsWith("docker.sock"))!.RW).toBe(false);
      expect(running.get("vpai-docker-socket-proxy")!.HostConfig.PortBindings ?? {}).toEqual({});
      const listed = async () => (await deployment.vps.exec("docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort")).stdout;
      const before = await listed();
      const postgres = running.get("vpai-postgres")!.Id;

      const diun = await callsThroughProxy("vpai-diun", [
        ["GET", "/containers/json"],
        ["GET", "/v1.41/containers/json"],
        ["POST", "/containers/create"],
        ["POST", "/v1.41/containers/create"],
        ["POST", `/containers/${postgres}/stop`],
        ["POST", "/v1.41/containers/vpai-postgres/kill"],
        ["POST", `/v1.41/containers/${postgres}/exec`],
        ["POST", "/exec/0123456789abcdef/start"],
        ["DELETE", `/containers/${postgres}?force=1`],
        ["post", "/containers/create"],
        ["GET", "//containers/create"],
        ["GET", `/containers/${postgres}/json`],
        ["GET", `/containers/${postgres}/archive?path=/var/lib/postgresql`],
      ]);
      expect(diun).toEqual([200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]);
      // Alloy reads container details and logs, which DIUN may not; it may not write either.
      expect(
        await callsThroughProxy("vpai-alloy", [
          ["GET", `/v1.41/containers/${postgres}/json`],
          ["GET", `/containers/${postgres}/logs?stdout=1&tail=1`],
          ["POST", `/containers/${postgres}/stop`],
        ]),
      ).toEqual([200, 200, 403]);
      // A container on no consumer's network does not even find the proxy.
      expect(await callsThroughProxy("vpai-n8n", [["GET", "/containers/json"]])).toEqual([0]);

      expect(await listed()).toBe(before);
      expect((await inspectContainers(deployment.vps)).get("vpai-postgres")!.State.StartedAt).toBe(running.get("vpai-postgres")!.State.StartedAt);
      const log = (await deployment.vps.exec("docker logs vpai-docker-socket-proxy 2>&1")).stdout;
      expect(log).toMatch(/ 403 .*"POST \/containers\/create HTTP\/1\.1"/);

      // DIUN watched through the proxy as it started: the container list, and each image it found there.
      const watched = (await deployment.vps.exec("docker exec vpai-diun cat /data/diun.db")).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { container: string; local: unknown });
      expect(watched.length, (await deployment.vps.exec("docker logs vpai-diun 2>&1 | tail -n 40")).stdout).toBeGreaterThan(0);
      expect(watched.filter((entry) => typeof entry.local !== "boolean")).toEqual([]);
      // Under Alloy's read-only bind of the host's root, a tmpfs hides the host's /run and its sockets;
      // and the proxy, having left root's group, is not dumpable: Alloy's root cannot reach its socket through /proc.
      expect((await deployment.vps.exec("docker exec vpai-alloy sh -c 'ls -A /host/root/run | wc -l'")).stdout.trim()).toBe("0");
      const proxyPid = (await deployment.vps.exec("docker inspect -f '{{.State.Pid}}' vpai-docker-socket-proxy")).stdout.trim();
      const throughProc = await deployment.vps.exec(`docker exec vpai-alloy ls /host/proc/${proxyPid}/root/var/run/docker.sock`, { allowFailure: true });
      expect(throughProc.code).not.toBe(0);
      expect(throughProc.stderr).toMatch(/Permission denied/);
    },
  );

  it("an unchanged `up` changes nothing and opens no SSH connection; refresh finds no drift", { timeout: STEP_TIMEOUT_MS }, async () => {
    const { sshConnections } = await deployment.step("up, unchanged", () => deployment.stack.run(["up", "--yes", "--expect-no-changes"]));
    expect(sshConnections).toBe(0);
    await deployment.step("refresh", () => deployment.stack.run(["refresh", "--yes", "--expect-no-changes"]));
  });

  it(
    "the nightly backup job dumps PostgreSQL, Redis, Qdrant and n8n's workflows by its systemd unit, and a restore loses no row",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
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
    },
  );

  it("Caddy takes a new header and a LiteLLM release by reloading through its admin API, in the same container", { timeout: STEP_TIMEOUT_MS }, async () => {
    const caddyId = async () => (await deployment.vps.exec("docker inspect --format '{{.Id}}' vpai-caddy")).stdout.trim();
    const running = async () => JSON.parse((await deployment.vps.exec("docker exec vpai-caddy wget -qO- http://127.0.0.1:2019/config/")).stdout) as unknown;
    const litellm = async () =>
      (await deployment.vps.exec("docker ps --filter label=infra.service=litellm --format '{{.Names}}'")).stdout.trim().split("\n").filter(Boolean);
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
    // Each service's secret files went with its container.
    expect((await deployment.vps.exec(`find ${SECRETS_HOST_DIR} -mindepth 1`)).stdout).toBe("");
    expect(await backupObjects(deployment)).toBeGreaterThan(0);
    expect(await volumes()).toEqual(before);
  });
});
