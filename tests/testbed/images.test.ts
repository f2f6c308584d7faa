import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawConfig } from "../../infra/config/validate";
import { rawConfigWithSecrets } from "../support/stack-config";
import { containerLogs, containerState, createNetwork, startProgramContainer, vpsEngine, type ContainerState, type Engine } from "./engine";
import { pushImages, testbedImages, type TestbedImage } from "./images";
import { programContainers, type ContainerInputs, type ProgramContainers } from "./program-containers";
import { mirroredReference, startRegistry, type Registry } from "./registry";
import { startVPS, type VPS } from "./vps";

// The testbed's images, pushed to its TLS registry and pulled by a VPS's own
// engine, run there with the settings the program gives each container:
// every container of fastapi's prod stack, and those of vpai's prod stack
// whose images the testbed builds. Each must report healthy through the
// program's own health check; then the contracts the program relies on are
// checked on the running containers.

const SETUP_TIMEOUT_MS = 20 * 60_000; // a cold image build and VPS image build included
// Docker 20.10 runs a container's first health check one interval after
// start; the program's interval is 30 s. The test command, timeout, retries
// and start period stay the program's.
const HEALTH_INTERVAL_S = 2;
const HEALTHY_WITHIN_MS = 90_000;

const FASTAPI_CONTAINERS = [
  "fastapi-alertmanager", "fastapi-backend", "fastapi-blackbox-exporter", "fastapi-cadvisor", "fastapi-certbot", "fastapi-grafana", "fastapi-loki",
  "fastapi-nginx", "fastapi-node-exporter", "fastapi-postgres", "fastapi-postgres-exporter", "fastapi-prometheus", "fastapi-promtail",
];
const VPAI_CONTAINERS = ["vpai-alertmanager", "vpai-grafana", "vpai-loki", "vpai-postgres", "vpai-qdrant", "vpai-redis"];
/** vpai's images the testbed does not build yet: their containers are not started. */
const VPAI_NOT_BUILT = [
  "caddy:2.8.4-alpine", "crazymax/diun:4.29.0", "ghcr.io/berriai/litellm:main-v1.55.8", "ghcr.io/openclaw/openclaw:2026.1.30", "grafana/alloy:v1.5.1",
  "n8nio/n8n:1.72.1", "victoriametrics/victoria-metrics:v1.108.1", "victoriametrics/vmalert:v1.108.1",
];

interface Outcome {
  readonly healthy: boolean;
  readonly afterMs: number;
  readonly state?: ContainerState;
  readonly problem?: string;
  readonly logs?: string;
}

interface Stack {
  readonly raw: RawConfig;
  readonly program: ProgramContainers;
  readonly outcomes: Map<string, Outcome>;
}

let images: TestbedImage[];
let vps: VPS;
let engine: Engine;
let registry: Registry;
let refusedPull: { code: number; stderr: string };
const stacks: Record<string, Stack> = {};
const timings: Record<string, number> = {};

async function timed<T>(name: string, step: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    timings[name] = Math.round(performance.now() - started);
  }
}

const mirrored = (reference: string) => mirroredReference(registry.host, reference);
const built = (reference: string) => images.some((image) => image.reference === reference);

async function pullImages(): Promise<void> {
  const [first, ...rest] = images.map((image) => mirrored(image.reference));
  await vps.exec(`docker pull --quiet ${first}`);
  await Promise.all(rest.map((reference) => vps.exec(`docker pull --quiet ${reference}`)));
}

async function waitHealthy(name: string, started: number): Promise<Outcome> {
  let state = await containerState(engine, name);
  while (state.health !== "healthy" && performance.now() - started < HEALTHY_WITHIN_MS) {
    await new Promise((wait) => setTimeout(wait, 500));
    state = await containerState(engine, name);
  }
  const afterMs = Math.round(performance.now() - started);
  if (state.health === "healthy") return { healthy: true, afterMs, state };
  return { healthy: false, afterMs, state, logs: await containerLogs(engine, name) };
}

/**
 * Starts a stack's containers as the program's deploy does: each once those
 * it depends on are healthy, independent ones at the same time.
 */
async function deployStack(program: ProgramContainers): Promise<Map<string, Outcome>> {
  for (const network of program.networks) await createNetwork(engine, network);
  const runnable = new Map(program.containers.filter((container) => built(container.inputs.image)).map((container) => [container.inputs.name, container]));
  const launches = new Map<string, Promise<Outcome>>();
  const launch = (name: string): Promise<Outcome> => {
    if (!launches.has(name)) {
      launches.set(
        name,
        (async () => {
          const container = runnable.get(name)!;
          const before = await Promise.all(container.after.filter((other) => runnable.has(other)).map(launch));
          const blocked = container.after.filter((other, index) => runnable.has(other) && !before[index]!.healthy);
          if (blocked.length > 0) return { healthy: false, afterMs: 0, problem: `not started: ${blocked.join(", ")} did not become healthy` };
          const inputs = container.inputs;
          const started = performance.now();
          try {
            await startProgramContainer(engine, inputs, mirrored(inputs.image), HEALTH_INTERVAL_S);
          } catch (error) {
            return { healthy: false, afterMs: 0, problem: String(error) };
          }
          return waitHealthy(name, started);
        })(),
      );
    }
    return launches.get(name)!;
  };
  const names = [...runnable.keys()];
  const outcomes = await Promise.all(names.map(launch));
  return new Map(names.map((name, index) => [name, outcomes[index]!]));
}

beforeAll(async () => {
  images = await timed("images", testbedImages);
  vps = await timed("boot", startVPS);
  engine = vpsEngine(vps);
  registry = await timed("registry", () => startRegistry(vps.gateway, 5000));
  await timed("push", () => pushImages(registry, images));
  refusedPull = await vps.exec(`docker pull ${mirrored("postgres:16.6-alpine")}`, { allowFailure: true });
  await vps.exec(`install -d /etc/docker/certs.d/${registry.host} && cat > /etc/docker/certs.d/${registry.host}/ca.crt`, { input: registry.caCertificate });
  await timed("pull", pullImages);
  for (const [stack, changes] of [["fastapi", { "infra:blueprint": "fastapi" }], ["vpai", { "infra:blueprint": "vpai" }]] as const) {
    const raw = rawConfigWithSecrets(changes, "prod");
    stacks[stack] = { raw, program: await programContainers(raw), outcomes: new Map() };
  }
  const [fastapi, vpai] = await timed("deploy", () => Promise.all([deployStack(stacks.fastapi!.program), deployStack(stacks.vpai!.program)]));
  stacks.fastapi = { ...stacks.fastapi!, outcomes: fastapi };
  stacks.vpai = { ...stacks.vpai!, outcomes: vpai };
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await vps?.stop();
  await registry?.stop();
  const healthy = Object.values(stacks).flatMap((stack) => [...stack.outcomes].map(([name, outcome]) => `${name} ${outcome.healthy ? `${outcome.afterMs}` : "-"}`));
  console.log(`testbed images timings (ms): ${JSON.stringify(timings)}\nhealthy after (ms): ${healthy.join(", ")}`);
});

describe("the testbed images", () => {
  it("stand for every image of fastapi's prod stack, and for those of vpai's the testbed lists as built", () => {
    const fastapi = stacks.fastapi!.program.containers.map((container) => container.inputs);
    expect(fastapi.map((inputs) => inputs.name).sort()).toEqual(FASTAPI_CONTAINERS);
    expect(fastapi.filter((inputs) => !built(inputs.image)).map((inputs) => inputs.image)).toEqual([]);
    const vpai = stacks.vpai!.program.containers.map((container) => container.inputs);
    expect(vpai.filter((inputs) => built(inputs.image)).map((inputs) => inputs.name).sort()).toEqual(VPAI_CONTAINERS);
    expect(vpai.filter((inputs) => !built(inputs.image)).map((inputs) => inputs.image).sort()).toEqual(VPAI_NOT_BUILT);
  });

  it("come from a registry whose TLS is real: the VPS's engine refused it until it trusted the registry's CA", () => {
    expect(refusedPull.code).not.toBe(0);
    expect(refusedPull.stderr).toMatch(/x509: certificate signed by unknown authority/);
  });

  it("share one layer, which the VPS pulled once", async () => {
    const layers = await vps.exec(`docker image inspect --format '{{json .RootFS.Layers}}' ${images.map((image) => mirrored(image.reference)).join(" ")}`);
    const distinct = new Set(layers.stdout.trim().split("\n"));
    expect(distinct.size).toBe(1);
    expect(JSON.parse([...distinct][0]!)).toHaveLength(1);
  });
});

describe.each([
  ["fastapi", FASTAPI_CONTAINERS],
  ["vpai", VPAI_CONTAINERS],
])("%s's prod containers on the VPS, with the program's settings", (stack, names) => {
  it.each(names)("%s becomes healthy through the program's health check", (name) => {
    const outcome = stacks[stack]!.outcomes.get(name);
    const diagnosis = outcome && !outcome.healthy ? `${outcome.problem ?? ""} ${JSON.stringify(outcome.state)}\n${outcome.logs ?? ""}` : "";
    expect(outcome?.healthy, diagnosis).toBe(true);
    expect(outcome!.afterMs).toBeLessThan(HEALTHY_WITHIN_MS);
  });
});

describe("the contracts the program relies on", () => {
  const secret = (stack: string, key: string) => stacks[stack]!.raw.values[key]!;
  const inContainer = (container: string, command: string) => vps.exec(`docker exec ${container} ${command}`);

  it("postgres: POSTGRES_PASSWORD_FILE, POSTGRES_USER and POSTGRES_DB make the first start's role and database, init scripts run, and TCP logins need the password", async () => {
    const planned = stacks.fastapi!.program.containers.find((container) => container.inputs.name === "fastapi-postgres")!.inputs;
    const password = "contract-pw-123";
    const contract: ContainerInputs = {
      ...planned,
      name: "contract-postgres",
      hostname: "contract-postgres",
      // Docker refuses uploads into a read-only root filesystem.
      readOnly: false,
      envs: ["POSTGRES_USER=shop_owner", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password", "POSTGRES_DB=shop", "PGDATA=/var/lib/postgresql/data/pgdata"],
      volumes: [{ volumeName: "contract-postgres-data", containerPath: "/var/lib/postgresql/data", readOnly: false }],
      networksAdvanced: [{ name: "fastapi-internal", aliases: ["contract-postgres"] }],
      healthcheck: { ...planned.healthcheck, tests: ["CMD-SHELL", "pg_isready -U shop_owner -d shop"] },
      uploads: [
        { file: "/run/secrets/postgres-password", content: `${password}\n`, executable: false },
        { file: "/docker-entrypoint-initdb.d/01-schema.sql", content: "create table items (name text);\n", executable: false },
        { file: "/docker-entrypoint-initdb.d/02-seed.sh", content: 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "insert into items values (\'from-sh\')"\n', executable: true },
      ],
    };
    const started = performance.now();
    await startProgramContainer(engine, contract, mirrored(planned.image), HEALTH_INTERVAL_S);
    const outcome = await waitHealthy(contract.name, started);
    expect(outcome.healthy, outcome.logs).toBe(true);
    // From another container, over TCP: the password from the file is the role's.
    const url = (pw: string) => `postgresql://shop_owner:${pw}@contract-postgres:5432/shop`;
    const login = await inContainer("fastapi-postgres", `psql '${url(password)}' -tAc "select current_user, current_database(), (select name from items)"`);
    expect(login.stdout.trim()).toBe("shop_owner|shop|from-sh");
    const refused = await vps.exec(`docker exec fastapi-postgres psql '${url("wrong")}' -c 'select 1'`, { allowFailure: true });
    expect(refused.stderr).toMatch(/password authentication failed for user "shop_owner"/);
  });

  it("postgres: vpai's init script made its databases, as the postgres user the program runs it as", async () => {
    const databases = await inContainer("vpai-postgres", `psql -U postgres -tAc "select string_agg(datname, ',' order by datname) from pg_database where datname in ('n8n', 'litellm', 'openclaw')"`);
    expect(databases.stdout.trim()).toBe("litellm,n8n,openclaw");
    expect((await inContainer("vpai-postgres", "id -u")).stdout.trim()).toBe("70");
  });

  it("the application answers / with its release and a database result through the program's DATABASE_URL", async () => {
    const answer = JSON.parse((await inContainer("fastapi-nginx", "wget -qO- http://backend:8000/")).stdout) as { release: string; database: Record<string, unknown> };
    expect(answer.release).toBe("1.0.0");
    expect(answer.database).toMatchObject({ ok: true, select_1: 1, user: "postgres", database: "app" });
    const metrics = (await inContainer("fastapi-nginx", "wget -qO- http://backend:8000/metrics")).stdout;
    expect(metrics).toMatch(/^http_requests_total\{handler="\/",method="GET",status="2xx"\} [1-9]/m);
  });

  it("nginx serves the application over HTTPS with the certificate certbot issued, to the VPS's published port", async () => {
    const issuer = "/var/lib/fastapi/letsencrypt/testbed-issuer/issuer.pem";
    const page = await vps.exec(`curl -sS --cacert ${issuer} --resolve api.vpai.example.com:443:127.0.0.1 https://api.vpai.example.com/`);
    expect(JSON.parse(page.stdout)).toMatchObject({ service: "backend", release: "1.0.0", database: { ok: true } });
  });

  it("prometheus loaded the program's configuration and rules; postgres-exporter reaches the database; loki received promtail's push; grafana provisioned the datasources", async () => {
    const rules = JSON.parse((await inContainer("fastapi-prometheus", "wget -qO- http://127.0.0.1:9090/api/v1/rules")).stdout) as { data: { groups: unknown[] } };
    expect(rules.data.groups.length).toBeGreaterThan(0);
    expect((await inContainer("fastapi-postgres-exporter", "wget -qO- http://127.0.0.1:9187/metrics")).stdout).toMatch(/^pg_up 1$/m);
    await expect.poll(async () => (await inContainer("fastapi-loki", "wget -qO- http://127.0.0.1:3100/loki/api/v1/labels")).stdout, { timeout: 20_000 }).toContain('"job"');
    const login = `--auth-no-challenge --user=admin --password='${secret("fastapi", "infra:grafanaAdminPassword")}'`;
    const datasources = await inContainer("fastapi-grafana", `wget -qO- ${login} http://127.0.0.1:3000/api/datasources`);
    expect((JSON.parse(datasources.stdout) as { name: string }[]).map((source) => source.name).sort()).toEqual(["Alertmanager", "Loki", "Prometheus"]);
  });

  it("redis and qdrant refuse clients without the program's password or API key", async () => {
    const unauthenticated = await inContainer("vpai-redis", "env -u REDISCLI_AUTH redis-cli ping");
    expect(unauthenticated.stdout).toMatch(/NOAUTH/);
    expect((await inContainer("vpai-redis", "redis-cli ping")).stdout.trim()).toBe("PONG");
    const key = secret("vpai", "infra:qdrantApiKey");
    const anonymous = await vps.exec("docker exec vpai-qdrant python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:6333/collections')\"", { allowFailure: true });
    expect(anonymous.stderr).toMatch(/401/);
    const keyed = await inContainer("vpai-qdrant", `python3 -c "import urllib.request; print(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:6333/collections', headers={'api-key': '${key}'})).status)"`);
    expect(keyed.stdout.trim()).toBe("200");
  });
});
