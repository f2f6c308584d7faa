import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { beforeAll, describe, expect, it } from "vitest";
import { buildPlan, overlayOverrides, type PlanResult } from "../../tools/plan/plan";
import {
  applyHcloudServerChange,
  type ChangeRequest,
  hcloudSchemas,
  planHcloudChange,
  type ResourceSchema,
  terraformConfig,
  terraformName,
  terraformType,
} from "../support/hcloud-change";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * What the Hetzner provider itself does to the GALION data tier between
 * scaling phases (seed 004). tests/scaling/galion-phases.test.ts shows that
 * the inputs stay the same except the database server's type; here the
 * provider's own code (tools/hcloud-change, the upstream provider that
 * @pulumi/hcloud bridges) plans each phase change, and applies the phase 1 to
 * 2 resize against a fake API on 127.0.0.1: an update that powers the server
 * off and changes its type, never a replacement that would lose its disk.
 */

const REPO = resolve(__dirname, "../..");
const PHASES = [1, 2, 3, 4, 5] as const;
// The database server and its data volume, with everything they reference.
const DATA_TIER_ROOTS = ["galion-main", "galion-main-data"];
const SERVER = "hcloud:index/server:Server";
// A cold build of the provider takes minutes (tools/install/hcloud-change.sh).
const SETUP_TIMEOUT_MS = 30 * 60_000;

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly ignoreChanges: string[];
}

interface Phase {
  readonly n: number;
  readonly plan: PlanResult;
  /** What the offline plan does not record: each resource's mock id and ignoreChanges. */
  readonly registrations: Registration[];
}

type Resource = PlanResult["resources"][number];

/** The phase's offline plan, with the id and ignoreChanges the program registered for each resource. */
async function planPhase(n: number): Promise<Phase> {
  const registrations: Registration[] = [];
  const original = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: MockMonitor, request, callback) {
    return original.call(this, request, (error: unknown, response: { getId(): string } | undefined) => {
      if (!error && response)
        registrations.push({ type: request.getType(), name: request.getName(), id: response.getId(), ignoreChanges: request.getIgnorechangesList() });
      callback(error, response);
    });
  };
  try {
    // The provider plans with the user-data itself, which is a secret (it carries the host key).
    const plan = await buildPlan({
      projectDir: PROJECT_DIR,
      stack: "prod",
      overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)),
      revealSecrets: true,
    });
    return { n, plan, registrations };
  } finally {
    MockMonitor.prototype.registerResource = original;
  }
}

function resourceOf(phase: Phase, type: string, name: string): Resource {
  const found = phase.plan.resources.find((resource) => resource.type === type && resource.name === name);
  if (!found) throw new Error(`phase ${phase.n} has no ${type} ${name}`);
  return found;
}

function registrationOf(phase: Phase, type: string, name: string): Registration {
  const found = phase.registrations.find((registration) => registration.type === type && registration.name === name);
  if (!found) throw new Error(`phase ${phase.n} registered no ${type} ${name}`);
  return found;
}

/** The hcloud resources of the data tier and, through dependsOn, every hcloud resource they reference. */
function dataTier(phase: Phase): Resource[] {
  const hcloud = phase.plan.resources.filter((resource) => resource.type.startsWith("hcloud:"));
  const names = new Set(DATA_TIER_ROOTS);
  const pending = [...DATA_TIER_ROOTS];
  while (pending.length) {
    const name = pending.pop()!;
    for (const resource of hcloud.filter((candidate) => candidate.name === name))
      for (const dependency of resource.dependsOn)
        if (!names.has(dependency) && hcloud.some((candidate) => candidate.name === dependency)) {
          names.add(dependency);
          pending.push(dependency);
        }
  }
  return hcloud.filter((resource) => names.has(resource.name)).sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
}

// Inputs that hold other resources' ids (serverId, volumeId, firewallIds, sshKeys).
const REFERENCE = /(Ids?|^sshKeys)$/;

/**
 * A phase's inputs with every id a resource of `from` also has (same type and
 * name) written as `from`'s id, as the engine sees them when that resource is
 * kept; the id of a resource new in this phase becomes one `from` never gave.
 */
function withIdsOf(inputs: Record<string, unknown>, phase: Phase, from: Phase): Record<string, unknown> {
  const idIn = (value: unknown) => {
    const registered = phase.registrations.find((registration) => registration.id === String(value));
    if (!registered) throw new Error(`phase ${phase.n}: ${String(value)} is no registered id`);
    const kept = from.registrations.find((registration) => registration.type === registered.type && registration.name === registered.name);
    const id = kept?.id ?? "999999";
    return typeof value === "number" ? Number(id) : id;
  };
  return Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => [key, REFERENCE.test(key) ? (Array.isArray(value) ? value.map(idIn) : idIn(value)) : value]),
  );
}

/**
 * The change from phase `from` to phase `to` of one resource, as the engine
 * hands it to the provider: ignoreChanges properties keep their old value,
 * and the bridge passes them on as Terraform attributes.
 */
function changeOf(resource: Resource, from: Phase, to: Phase, schema: ResourceSchema): ChangeRequest & { ignored: string[] } {
  const before = resourceOf(from, resource.type, resource.name).inputs;
  const after = { ...withIdsOf(resourceOf(to, resource.type, resource.name).inputs, to, from) };
  const ignored = registrationOf(to, resource.type, resource.name).ignoreChanges;
  for (const key of ignored) {
    if (key in before) after[key] = before[key];
    else delete after[key];
  }
  return {
    type: terraformType(resource.type),
    prior: terraformConfig(before, schema),
    config: terraformConfig(after, schema),
    ignoreChanges: ignored.map((key) => terraformName(key, schema)),
    ignored,
  };
}

let phases: Phase[];
let schemas: Record<string, ResourceSchema>;
let serverSchema: ResourceSchema;

beforeAll(async () => {
  const install = spawnSync("bash", [join(REPO, "tools/install/hcloud-change.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (install.stderr.trim()) console.log(install.stderr.trim());
  if (install.status !== 0) throw new Error(`tools/install/hcloud-change.sh exited with ${install.status}:\n${install.stderr}`);

  phases = [];
  for (const n of PHASES) phases.push(await planPhase(n)); // one at a time: the recorder patches a shared prototype
  schemas = hcloudSchemas(["hcloud_server", "hcloud_volume", "hcloud_volume_attachment", "hcloud_firewall"]);
  serverSchema = schemas.hcloud_server!;
}, SETUP_TIMEOUT_MS);

const serverChange = (from: number, to: number) =>
  changeOf(resourceOf(phases[from - 1]!, SERVER, "galion-main"), phases[from - 1]!, phases[to - 1]!, serverSchema);
const forceNew = (schema: ResourceSchema) =>
  Object.entries(schema.attributes)
    .filter(([, attribute]) => attribute.forceNew)
    .map(([name]) => name)
    .sort();

describe("the GALION database server under the Hetzner provider's own code (seed 004)", () => {
  it("updates server_type in place: it is not ForceNew, and the server resource has an update", () => {
    expect(serverSchema.attributes.server_type).toMatchObject({ required: true, forceNew: false });
    expect(serverSchema.hasUpdate).toBe(true);
    // What does replace a server, and so what must not change between phases.
    expect(forceNew(serverSchema)).toEqual(["image", "location", "ssh_keys", "user_data"]);
    expect(serverSchema.attributes.keep_disk).toMatchObject({ optional: true, forceNew: false });
  });

  it("plans every phase change of the data tier as an update or no change, never a replacement", () => {
    const changes: Record<string, string[]> = {};
    for (const [from, to] of PHASES.slice(1).map((n) => [phases[n - 2]!, phases[n - 1]!] as const)) {
      const before = dataTier(from);
      expect(
        dataTier(to).map((resource) => `${resource.type} ${resource.name}`),
        `phase ${to.n}`,
      ).toEqual(before.map((resource) => `${resource.type} ${resource.name}`));
      for (const resource of before) {
        const label = `${from.n}->${to.n} ${terraformType(resource.type)} ${resource.name}`;
        const unchanged = isDeepStrictEqual(
          resourceOf(from, resource.type, resource.name).inputs,
          withIdsOf(resourceOf(to, resource.type, resource.name).inputs, to, from),
        );
        if (unchanged && registrationOf(to, resource.type, resource.name).ignoreChanges.length === 0) continue;
        // hcloud_ssh_key is a plugin-framework resource, which the program does not plan: it must keep its inputs.
        const schema = schemas[terraformType(resource.type)];
        if (!schema) throw new Error(`${label}: its inputs change, and the test cannot plan ${terraformType(resource.type)}`);
        const plan = planHcloudChange(changeOf(resource, from, to, schema));
        expect(plan.replace, `${label}: ${JSON.stringify(plan.attributes)}`).toBe(false);
        expect(plan.requests, `${label}: planning calls the API`).toEqual([]);
        if (plan.changed) changes[label] = [...new Set(Object.keys(plan.attributes).map((key) => key.split(".")[0]!))].sort();
      }
    }
    console.log(
      [
        "data tier changes between GALION phases (all updates):",
        ...Object.entries(changes).map(([label, attributes]) => `  ${label}: ${attributes.join(", ")}`),
      ].join("\n"),
    );
    const changesOf = (type: string) => Object.entries(changes).filter(([label]) => label.includes(` ${type} `));
    expect(changesOf("hcloud_server")).toEqual([["1->2 hcloud_server galion-main", ["server_type"]]]);
    for (const type of ["hcloud_volume", "hcloud_volume_attachment"]) expect(changesOf(type), type).toEqual([]);
  });

  it("resizes from phase 1 to 2 by powering the server off and changing its type, without deleting or creating it", () => {
    const change = serverChange(1, 2);
    const applied = applyHcloudServerChange(change);
    expect(applied.error).toBeUndefined();
    expect(applied.plan.requests).toEqual([]);
    expect(applied.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /servers/42",
      "POST /servers/42/actions/poweroff",
      "GET /actions",
      "POST /servers/42/actions/change_type",
      "GET /actions",
      "GET /servers/42",
    ]);
    const changeType = applied.requests.find((request) => request.path.endsWith("/change_type"))!;
    // keepDisk: the root disk keeps its size, so a later move back to ccx23 stays possible.
    expect(changeType.body).toEqual({ server_type: "ccx33", upgrade_disk: false });
    // The provider stops here: nothing powers the server on again (that is ServerRunning's job).
    expect(applied.requests.some((request) => request.path.endsWith("/poweron"))).toBe(false);
    expect(applied.state).toMatchObject({ id: "42", server_type: "ccx33", location: "fsn1", image: "ubuntu-24.04" });
  });

  it("would replace the server if its location or image changed (the provider's ForceNew, the control case)", () => {
    const base = serverChange(1, 2);
    for (const [attribute, value] of [
      ["location", "nbg1"],
      ["image", "debian-12"],
    ] as const) {
      const plan = planHcloudChange({ ...base, config: { ...base.config, [attribute]: value } });
      expect(plan.replace, attribute).toBe(true);
      expect(plan.attributes[attribute], attribute).toMatchObject({ old: base.prior[attribute], new: value, requiresNew: true });
      expect(plan.attributes.server_type).toMatchObject({ old: "ccx23", new: "ccx33", requiresNew: false });
    }
  });

  it("keeps the server from phase 2 to 3 only through ignoreChanges on userData, which changes and is ForceNew", () => {
    const change = serverChange(2, 3);
    expect(change.ignored).toEqual(["userData", "sshKeys"]);
    const userData = (n: number) => resourceOf(phases[n - 1]!, SERVER, "galion-main").inputs.userData;
    expect(userData(3)).not.toEqual(userData(2));
    expect(planHcloudChange(change)).toMatchObject({ replace: false, changed: false });

    const withoutIgnore = planHcloudChange({ ...change, config: { ...change.config, user_data: userData(3) }, ignoreChanges: [] });
    expect(withoutIgnore.replace).toBe(true);
    expect(withoutIgnore.attributes.user_data?.requiresNew).toBe(true);
  });

  it("would replace the server for a rotated admin SSH key (ssh_keys is ForceNew), which ignoreChanges keeps from happening", () => {
    const change = serverChange(2, 3);
    const rotated = { ...change.config, ssh_keys: ["999999"] };
    expect(planHcloudChange({ ...change, config: rotated, ignoreChanges: ["user_data"] }).replace).toBe(true);
    expect(planHcloudChange({ ...change, config: { ...rotated, ssh_keys: change.prior.ssh_keys } }).replace).toBe(false);
  });

  it("does not upgrade the disk (keepDisk), so the type can go back down; setting it on a running server calls no action", () => {
    const change = serverChange(1, 2);
    expect(change.config.keep_disk).toBe(true);
    const kept = applyHcloudServerChange(change);
    expect(kept.requests.find((request) => request.path.endsWith("/change_type"))?.body).toEqual({ server_type: "ccx33", upgrade_disk: false });

    // A server created before keepDisk was set: adding it is an update without any API action.
    const phase2 = serverChange(2, 2);
    const { keep_disk: _keepDisk, ...priorWithout } = phase2.prior;
    const setOnly = applyHcloudServerChange({ ...phase2, prior: priorWithout, config: { ...phase2.config, keep_disk: true } });
    expect(setOnly.plan).toMatchObject({ replace: false, changed: true });
    expect(setOnly.requests.map((request) => `${request.method} ${request.path}`)).toEqual(["GET /servers/42", "GET /servers/42"]);
  });
});
