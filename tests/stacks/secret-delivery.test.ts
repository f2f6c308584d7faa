import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { requiredSecrets } from "../../infra/config/validate";
import { resolve } from "node:path";
import { buildPlan, overlayOverrides, type PlanResult } from "../../tools/plan/plan";
import { applyOverrides, readStackFile } from "../../tools/plan/stack-file";
import { formsOf, secretsInInspect } from "../support/secret-search";
import { PROJECT_DIR, TEST_BCRYPT_HASH } from "../support/stack-config";

/**
 * C15 on the registered graph: every secret a stack holds is planted with a
 * value of its own, the program runs with the secrets in clear, and each
 * container's inputs are searched for them. A container's environment, which
 * `docker inspect` shows to anyone who may talk to Docker, may carry one only
 * where the service waives C15 with its reason; its labels, command,
 * entrypoint, health check and every other field never, not even as a hash.
 * The files each service reads its secrets from are written by the service's
 * `-secrets` host command, which gets them on stdin only.
 */

const SSH_COMMAND = "pulumi-nodejs:dynamic/remote:SSHCommand";
const CONTAINER = "docker:index/container:Container";

/** The stacks to search: every blueprint, each with its admin UIs behind the proxy's login, so the login secrets are in use too. */
const STACKS: readonly { readonly name: string; readonly overrides: readonly string[] }[] = [
  { name: "vpai (admin UIs through Caddy)", overrides: [] },
  { name: "vpai (admin UIs through the ingress)", overrides: ['monitoring={"adminAccess":"ingress"}'] },
  { name: "fastapi", overrides: ["blueprint=fastapi", 'monitoring={"adminAccess":"ingress"}'] },
  { name: "galion", overrides: ["blueprint=galion", 'monitoring={"adminAccess":"ingress"}'] },
  { name: "galion phase 5 (read replica)", overrides: ["@examples/galion/phase-5.yaml"] },
  { name: "ai-video", overrides: ["blueprint=ai-video", 'monitoring={"adminAccess":"ingress"}'] },
  { name: "nextmavens", overrides: ["blueprint=nextmavens", 'monitoring={"adminAccess":"ingress"}'] },
];

/**
 * The services whose images read their secrets from files (or whose command
 * the program writes itself): a C15 waiver on one of them would hide a
 * regression, so each must have no secret in its environment at all. A proxy
 * has a secret only when a route asks for a password (`?`).
 */
const FILE_DELIVERED: Readonly<Record<string, readonly string[]>> = {
  vpai: ["postgres", "redis", "qdrant", "n8n", "grafana", "alloy", "caddy?"],
  fastapi: ["postgres", "postgres-exporter", "grafana", "certbot", "nginx?"],
  galion: ["postgres", "redis", "redis-exporter", "postgres-exporter", "grafana", "certbot", "nginx?", "pgbouncer", "postgres-base-backup", "postgres-replica"],
  "ai-video": ["postgres", "rest", "grafana", "traefik"],
  nextmavens: ["grafana", "traefik?"],
};

/** A planted value per secret the stack needs: distinct, recognisable, and of the form validation asks for. */
function plantedSecrets(overrides: readonly string[]): Record<string, string> {
  const expanded = overrides.flatMap((override) => (override.startsWith("@") ? overlayOverrides(resolve(PROJECT_DIR, override.slice(1))) : [override]));
  const { values } = applyOverrides(readStackFile(PROJECT_DIR, "prod"), expanded, []);
  const servers = JSON.parse(values["infra:servers"] ?? "[]") as unknown[];
  const monitoring = JSON.parse(values["infra:monitoring"] ?? "null") as unknown;
  const secrets = requiredSecrets(values["infra:blueprint"], servers as never, BLUEPRINT_CATALOG, monitoring as never);
  return Object.fromEntries(
    secrets.map((secret, index) => [
      secret.key,
      secret.bcryptHash ? TEST_BCRYPT_HASH : `planted${index}-${createHash("sha256").update(secret.key).digest("hex").slice(0, 12)}/+:@%`,
    ]),
  );
}

export interface Leak {
  readonly container: string;
  readonly field: string;
  readonly secret: string;
}

/**
 * Where the planted values appear in the containers' inputs. `envs` is
 * reported unless the container is in `waived`; uploads are files in the
 * container, which `docker inspect` does not show; every other field is reported.
 */
export function leaksOf(resources: PlanResult["resources"], planted: Readonly<Record<string, string>>, waived: ReadonlySet<string>): Leak[] {
  const leaks: Leak[] = [];
  for (const resource of resources.filter((candidate) => candidate.type === CONTAINER)) {
    const container = String(resource.inputs.name);
    for (const [field, value] of Object.entries(resource.inputs)) {
      if (field === "uploads" || (field === "envs" && waived.has(container))) continue;
      const text = JSON.stringify(value);
      for (const [secret, plantedValue] of Object.entries(planted)) {
        if (formsOf(plantedValue).some((form) => text.includes(form))) leaks.push({ container, field, secret });
      }
    }
  }
  return leaks;
}

const plans = new Map<string, Promise<{ plan: PlanResult; planted: Record<string, string> }>>();

function plantedPlan(overrides: readonly string[]): Promise<{ plan: PlanResult; planted: Record<string, string> }> {
  const key = JSON.stringify(overrides);
  if (!plans.has(key)) {
    const planted = plantedSecrets(overrides);
    plans.set(
      key,
      buildPlan({
        projectDir: PROJECT_DIR,
        stack: "prod",
        overrides,
        secretOverrides: Object.entries(planted).map(([name, value]) => `${name}=${value}`),
        revealSecrets: true,
      }).then((plan) => ({ plan, planted })),
    );
  }
  return plans.get(key)!;
}

const waivedC15 = (plan: PlanResult): Set<string> =>
  new Set(plan.policy.waivers.filter((waiver) => waiver.rule === "C15").map((waiver) => waiver.resource.replace(/^container /, "")));

/**
 * The containers of a plan, without the private-network forwarders: one
 * stands for a service of another server and is named like it (its
 * LINK_CONFIG variable is its nginx configuration), holding no secret.
 */
const containersOf = (plan: PlanResult) =>
  plan.resources.filter(
    (resource) => resource.type === CONTAINER && !((resource.inputs.envs ?? []) as string[]).some((entry) => entry.startsWith("LINK_CONFIG=")),
  );

describe.each(STACKS)("C15 on the graph of $name", ({ overrides }) => {
  it("no secret is in a container's environment unless the service waives C15, nor in any other field", async () => {
    const { plan, planted } = await plantedPlan(overrides);
    expect(leaksOf(plan.resources, planted, waivedC15(plan))).toEqual([]);
  });

  it("the services whose images read files get every secret as a file", async () => {
    const { plan, planted } = await plantedPlan(overrides);
    const prefix = plan.resources.find((resource) => resource.type === CONTAINER)!.inputs.name as string;
    const namePrefix = prefix.slice(0, prefix.indexOf("-"));
    for (const entry of FILE_DELIVERED[plan.blueprint] ?? []) {
      const service = entry.replace(/\?$/, "");
      for (const resource of containersOf(plan).filter((candidate) => candidate.inputs.name === `${namePrefix}-${service}`)) {
        const container = String(resource.inputs.name);
        expect(waivedC15(plan).has(container), `${container} waives C15`).toBe(false);
        expect(leaksOf([resource], planted, new Set()), container).toEqual([]);
        const binds = (resource.inputs.volumes as { hostPath?: string; containerPath: string; readOnly?: boolean }[]).filter((volume) =>
          volume.hostPath?.startsWith(`/etc/infra/secrets/${container}/`),
        );
        if (!entry.endsWith("?")) expect(binds.length, `${container} mounts its secret files`).toBeGreaterThan(0);
        for (const bind of binds) expect(bind.readOnly, `${container}: ${bind.hostPath}`).toBe(true);
      }
    }
  });

  it("each secret file reaches its host through the service's -secrets command: on stdin, never in the command line", async () => {
    const { plan, planted } = await plantedPlan(overrides);
    const commands = plan.resources.filter((resource) => resource.type === SSH_COMMAND && resource.name.endsWith("-secrets"));
    for (const resource of containersOf(plan)) {
      const container = String(resource.inputs.name);
      const mounted = (resource.inputs.volumes as { hostPath?: string }[]).some((volume) => volume.hostPath?.startsWith(`/etc/infra/secrets/${container}/`));
      if (!mounted) continue;
      // The command is a child of the same Service as the container: a service on several servers has one of each per server.
      const command = commands.find((candidate) => candidate.parentUrn === resource.parentUrn && String(candidate.inputs.create).includes(` ${container} `));
      expect(command, `the -secrets command of ${container}`).toBeDefined();
      expect(resource.dependsOn, `${container} waits for its secret files`).toContain(command!.name);
      const create = String(command!.inputs.create);
      const stdin = String(command!.inputs.stdin);
      for (const [secret, value] of Object.entries(planted)) {
        expect(
          formsOf(value).filter((form) => create.includes(form)),
          `${secret} in the command line of ${command!.name}`,
        ).toEqual([]);
      }
      expect(
        Object.values(planted).some((value) => formsOf(value).some((form) => stdin.includes(form))),
        `${command!.name} carries a secret on stdin`,
      ).toBe(true);
      expect(command!.inputs.triggers, `${command!.name} has no trigger, so no hash of a secret`).toBeUndefined();
    }
  });
});

describe("the search finds a secret wherever an attacker would put it", () => {
  const planted = { "infra:postgresPassword": "planted-Pg-7f3a9c1e5b/+:@%" };
  const value = planted["infra:postgresPassword"];
  const containerWith = (inputs: Record<string, unknown>) => [
    {
      type: CONTAINER,
      name: "c",
      urn: "u",
      parent: null,
      parentUrn: null,
      aliases: [],
      dependsOn: [],
      custom: true,
      protect: false,
      inputs: { name: "vpai-app", ...inputs },
    },
  ];

  it.each<[string, Record<string, unknown>, string]>([
    ["in the environment", { envs: [`POSTGRES_PASSWORD=${value}`] }, "envs"],
    ["inside a connection URL, percent-encoded", { envs: [`DATABASE_URL=postgresql://postgres:${encodeURIComponent(value)}@postgres:5432/app`] }, "envs"],
    ["in the command's arguments", { command: ["redis-server", "--requirepass", value] }, "command"],
    ["in a label", { labels: [{ label: "infra.secret", value }] }, "labels"],
    [
      "as a hash in a label, a restart trigger",
      { labels: [{ label: "infra.secrets-hash", value: createHash("sha256").update(value).digest("hex").slice(0, 16) }] },
      "labels",
    ],
    ["in the health check", { healthcheck: { tests: ["CMD", "redis-cli", "-a", value, "ping"] } }, "healthcheck"],
  ])("%s", (_case, inputs, field) => {
    expect(leaksOf(containerWith(inputs), planted, new Set())).toEqual([{ container: "vpai-app", field, secret: "infra:postgresPassword" }]);
  });

  it("the same secret under two names, in two containers, is found in both", () => {
    const two = [...containerWith({ envs: [`REDIS_PASSWORD=${value}`] }), ...containerWith({ name: "vpai-other", envs: [`REDISCLI_AUTH=${value}`] })];
    expect(leaksOf(two, planted, new Set(["vpai-app"])).map((leak) => leak.container)).toEqual(["vpai-other"]);
  });

  it("a waiver lets the environment carry a secret, and nothing else", () => {
    expect(leaksOf(containerWith({ envs: [`DATABASE_URL=${value}`] }), planted, new Set(["vpai-app"]))).toEqual([]);
    expect(leaksOf(containerWith({ envs: [`DATABASE_URL=${value}`], labels: [{ label: "x", value }] }), planted, new Set(["vpai-app"]))).toEqual([
      { container: "vpai-app", field: "labels", secret: "infra:postgresPassword" },
    ]);
  });
});

describe("what docker inspect shows of a running container is searched whole (the testbed's live C15 check)", () => {
  const secrets = { "infra:redisPassword": "planted-Rd-93be01c7/+:@%", "infra:qdrantApiKey": "planted-Qd-5d21aa08/+:@%" };
  const password = secrets["infra:redisPassword"];
  const inspected = (fields: Record<string, unknown>) => [
    { Name: "/vpai-redis", Id: "a8f48be8e0619e84219bf478b079eee5c40b8b43fd49225185f941ef3370c877", Config: { Env: ["PATH=/usr/bin"] }, ...fields },
  ];

  it.each<[string, Record<string, unknown>, string[]]>([
    ["in the environment, by its variable", { Config: { Env: ["PATH=/usr/bin", `REDIS_PASSWORD=${password}`] } }, ["Config.Env REDIS_PASSWORD"]],
    [
      "under two names: each is reported",
      { Config: { Env: [`REDIS_PASSWORD=${password}`, `REDISCLI_AUTH=${password}`] } },
      ["Config.Env REDIS_PASSWORD", "Config.Env REDISCLI_AUTH"],
    ],
    ["percent-encoded in a URL", { Config: { Env: [`REDIS_URL=redis://:${encodeURIComponent(password)}@redis:6379`] } }, ["Config.Env REDIS_URL"]],
    [
      "in the command's arguments, as the engine keeps them twice",
      { Config: { Cmd: ["redis-server", "--requirepass", password] }, Args: ["--requirepass", password] },
      ["Config.Cmd[2]", "Args[1]"],
    ],
    ["in the entrypoint's script", { Config: { Entrypoint: ["sh", "-c", `exec redis-server --requirepass '${password}'`] } }, ["Config.Entrypoint[2]"]],
    ["in a label's value", { Config: { Labels: { "infra.auth": password } } }, ["Config.Labels.infra.auth"]],
    ["as base64 in a label", { Config: { Labels: { "infra.auth": Buffer.from(password).toString("base64") } } }, ["Config.Labels.infra.auth"]],
    [
      "as a hash in a label, a restart trigger",
      { Config: { Labels: { "infra.secrets-hash": createHash("sha256").update(password).digest("hex").slice(0, 16) } } },
      ["Config.Labels.infra.secrets-hash"],
    ],
    ["as a label's name", { Config: { Labels: { [password]: "1" } } }, ["Config.Labels.planted-Rd-93be01c7/+:@% (its name)"]],
    ["in the health check", { Config: { Healthcheck: { Test: ["CMD", "redis-cli", "-a", password, "ping"] } } }, ["Config.Healthcheck.Test[3]"]],
  ])("a secret %s is found", (_case, fields, paths) => {
    expect(secretsInInspect(inspected(fields), secrets, new Set())).toEqual(
      paths.map((path) => ({ container: "vpai-redis", path, secret: "infra:redisPassword" })),
    );
  });

  it("a secret file's path is no exposure, its content is", () => {
    expect(
      secretsInInspect(
        inspected({
          Config: { Env: ["REDIS_PASSWORD_FILE=/run/secrets/redis-password"] },
          Mounts: [{ Source: "/etc/infra/secrets/vpai-redis/redis-password", Destination: "/run/secrets/redis-password", RW: false }],
        }),
        secrets,
        new Set(),
      ),
    ).toEqual([]);
  });

  it("a container whose service waives C15 may carry secrets in its environment, and nowhere else", () => {
    const fields = { Config: { Env: [`REDIS_PASSWORD=${password}`], Labels: { "infra.key": secrets["infra:qdrantApiKey"] } } };
    expect(secretsInInspect(inspected(fields), secrets, new Set(["vpai-redis"]))).toEqual([
      { container: "vpai-redis", path: "Config.Labels.infra.key", secret: "infra:qdrantApiKey" },
    ]);
  });
});
