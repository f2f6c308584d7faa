import { describe, expect, it } from "vitest";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { DEFAULT_ROLES, ROLES } from "../../infra/config/schema";
import { validateStackConfig } from "../../infra/config/validate";
import { galionPhaseValues } from "../support/galion-phases";
import { rawConfigWithSecrets, configProblemsOf, TEST_HOST_KEY } from "../support/stack-config";

/**
 * The scaling keys of seed 004's phases: `infra:privateNetwork`,
 * `infra:loadBalancer`, a server's `privateIp`, and the `replica` role. The
 * base is phase 4 (three Hetzner servers on a private network behind a
 * balancer) on the prod stack; each case breaks one value and expects the
 * problem at its key path (V1).
 */

const phaseValues = galionPhaseValues;
const rawConfig = rawConfigWithSecrets;

const problemsOf = configProblemsOf;

const PHASE_4 = phaseValues(4);
const NETWORK = JSON.parse(PHASE_4["infra:privateNetwork"]!) as Record<string, unknown>;
const BALANCER = JSON.parse(PHASE_4["infra:loadBalancer"]!) as Record<string, unknown>;
const SERVERS = JSON.parse(PHASE_4["infra:servers"]!) as Record<string, unknown>[];

const network = (changes: Record<string, unknown>) => ({ "infra:privateNetwork": JSON.stringify({ ...NETWORK, ...changes }) });
const balancer = (changes: Record<string, unknown>) => ({ "infra:loadBalancer": JSON.stringify({ ...BALANCER, ...changes }) });
/** Phase 4's servers with the entries at the given indexes changed; `undefined` removes a field. */
const servers = (changes: Record<number, Record<string, unknown>>) => ({
  "infra:servers": JSON.stringify(
    SERVERS.map((entry, at) => Object.fromEntries(Object.entries({ ...entry, ...changes[at] }).filter(([, value]) => value !== undefined))),
  ),
});
const server = (index: number, changes: Record<string, unknown>) => servers({ [index]: changes });
const existing = {
  name: "main",
  provider: "existing",
  address: "203.0.113.20",
  sshUser: "deploy",
  memoryMb: 32768,
  monthlyCostEur: 40,
  hostKey: TEST_HOST_KEY,
};

describe("scaling config: the shipped phases", () => {
  it.each([1, 2, 3, 4, 5])("accepts examples/galion/phase-%i.yaml on prod", (n) => {
    const config = validateStackConfig(rawConfig(phaseValues(n)), BLUEPRINT_CATALOG).config;
    expect(config.blueprint).toBe("galion");
    expect(config.privateNetwork !== undefined).toBe(n >= 3);
    expect(config.loadBalancer !== undefined).toBe(n >= 4);
  });

  it("reads phase 4's network, balancer and addresses as typed values", () => {
    const config = validateStackConfig(rawConfig(PHASE_4), BLUEPRINT_CATALOG).config;
    expect(config.privateNetwork).toEqual({ ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", networkZone: "eu-central" });
    expect(config.loadBalancer).toEqual({ type: "lb11", location: "fsn1", privateIp: "10.0.1.100" });
    expect(config.servers.map((entry) => [entry.name, entry.provider === "hetzner" ? entry.privateIp : undefined, entry.roles])).toEqual([
      ["main", "10.0.1.2", ["data", "monitoring"]],
      ["app-1", "10.0.1.11", ["ingress", "app"]],
      ["app-2", "10.0.1.12", ["ingress", "app"]],
    ]);
  });

  it("gives a server without roles every role but replica: a replica beside its primary protects nothing", () => {
    expect(ROLES).toContain("replica");
    expect(DEFAULT_ROLES).toEqual(["ingress", "app", "data", "monitoring"]);
    const config = validateStackConfig(rawConfig({ ...PHASE_4, ...server(0, { roles: undefined }) }), BLUEPRINT_CATALOG).config;
    expect(config.servers[0]!.roles).toEqual(DEFAULT_ROLES);
  });

  it("accepts the replica role on a server of its own (phase 5)", () => {
    const config = validateStackConfig(rawConfig(phaseValues(5)), BLUEPRINT_CATALOG).config;
    expect(config.servers.find((entry) => entry.name === "replica")!.roles).toEqual(["replica"]);
  });
});

describe("scaling config: one bad value, one problem at its key path", () => {
  it.each<[string, Record<string, string | undefined>, string, string]>([
    // infra:privateNetwork
    ["the network as a list", { "infra:privateNetwork": "[]" }, "infra:privateNetwork", "must be an object"],
    ["the network as text", { "infra:privateNetwork": "10.0.0.0/16" }, "infra:privateNetwork", "YAML list or object"],
    ["no ipRange", network({ ipRange: undefined }), "infra:privateNetwork.ipRange", "is required"],
    [
      "a public ipRange",
      network({ ipRange: "203.0.113.0/24", subnet: "203.0.113.0/25" }),
      "infra:privateNetwork.ipRange",
      "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
    ],
    ["an ipRange that is not a CIDR", network({ ipRange: "10.0.0.0/33" }), "infra:privateNetwork.ipRange", "must be an IPv4 CIDR"],
    ["an IPv6 ipRange", network({ ipRange: "fd00::/8" }), "infra:privateNetwork.ipRange", "must be an IPv4 CIDR"],
    ["a range straddling 172.16.0.0/12", network({ ipRange: "172.0.0.0/8" }), "infra:privateNetwork.ipRange", "inside 10.0.0.0/8"],
    ["a public subnet", network({ subnet: "198.51.100.0/24" }), "infra:privateNetwork.subnet", "inside 10.0.0.0/8"],
    ["a subnet outside ipRange", network({ subnet: "10.1.1.0/24" }), "infra:privateNetwork.subnet", "is not inside ipRange 10.0.0.0/16"],
    ["a subnet larger than ipRange", network({ subnet: "10.0.0.0/8" }), "infra:privateNetwork.subnet", "is not inside ipRange"],
    [
      "an unknown network zone",
      network({ networkZone: "eu-west" }),
      "infra:privateNetwork.networkZone",
      "is not one of eu-central, us-east, us-west, ap-southeast",
    ],
    ["an unknown network field", network({ gateway: "10.0.0.1" }), "infra:privateNetwork.gateway", "unknown field"],
    [
      "an ipRange with host bits set",
      network({ ipRange: "10.0.0.5/16" }),
      "infra:privateNetwork.ipRange",
      '"10.0.0.5/16" has host bits set past /16: write the network 10.0.0.0/16',
    ],
    ["a subnet with host bits set", network({ subnet: "10.0.1.7/24" }), "infra:privateNetwork.subnet", "write the network 10.0.1.0/24"],
    // infra:loadBalancer
    ["the balancer as a list", { "infra:loadBalancer": "[]" }, "infra:loadBalancer", "must be an object"],
    ["a balancer type without a price", balancer({ type: "lb21" }), "infra:loadBalancer.type", "is not one of lb11"],
    ["no balancer type", balancer({ type: undefined }), "infra:loadBalancer.type", "is required"],
    ["an unknown balancer location", balancer({ location: "mars1" }), "infra:loadBalancer.location", "is not one of fsn1"],
    ["no balancer address", balancer({ privateIp: undefined }), "infra:loadBalancer.privateIp", "is required"],
    ["a balancer address that is not IPv4", balancer({ privateIp: "10.0.1.300" }), "infra:loadBalancer.privateIp", "must be an IPv4 address"],
    [
      "a balancer address outside the subnet",
      balancer({ privateIp: "10.0.2.100" }),
      "infra:loadBalancer.privateIp",
      "is not an assignable address of subnet 10.0.1.0/24",
    ],
    ["the balancer on Hetzner's gateway", balancer({ privateIp: "10.0.1.1" }), "infra:loadBalancer.privateIp", "Hetzner's gateway"],
    ["the balancer on the subnet's network address", balancer({ privateIp: "10.0.1.0" }), "infra:loadBalancer.privateIp", "is not an assignable address"],
    ["the balancer on the broadcast address", balancer({ privateIp: "10.0.1.255" }), "infra:loadBalancer.privateIp", "is not an assignable address"],
    [
      "the balancer on a server's address",
      balancer({ privateIp: "10.0.1.11" }),
      "infra:loadBalancer.privateIp",
      "is already taken by infra:servers[1].privateIp",
    ],
    ["the balancer outside the network zone", balancer({ location: "ash" }), "infra:loadBalancer.location", "is not in network zone eu-central"],
    ["an unknown balancer field", balancer({ algorithm: "least_connections" }), "infra:loadBalancer.algorithm", "unknown field"],
    [
      "a balancer without a private network",
      { "infra:privateNetwork": undefined, ...servers({ 0: { privateIp: undefined }, 1: { privateIp: undefined }, 2: { privateIp: undefined } }) },
      "infra:loadBalancer",
      "needs infra:privateNetwork",
    ],
    // infra:servers[i].privateIp
    ["a server address that is not IPv4", server(1, { privateIp: "10.0.1" }), "infra:servers[1].privateIp", "must be an IPv4 address"],
    [
      "a server address outside the subnet",
      server(1, { privateIp: "10.0.9.11" }),
      "infra:servers[1].privateIp",
      "is not an assignable address of subnet 10.0.1.0/24",
    ],
    ["a server on Hetzner's gateway", server(0, { privateIp: "10.0.1.1" }), "infra:servers[0].privateIp", "Hetzner's gateway"],
    ["two servers on one address", server(2, { privateIp: "10.0.1.11" }), "infra:servers[2].privateIp", "is already taken by infra:servers[1].privateIp"],
    [
      "a server on the network without an address",
      server(2, { privateIp: undefined }),
      "infra:servers[2].privateIp",
      "is required when infra:privateNetwork is set",
    ],
    ["a server outside the network zone", server(1, { location: "hil" }), "infra:servers[1].location", "is not in network zone eu-central (fsn1, nbg1, hel1)"],
    [
      "an existing VPS on the Hetzner network",
      { "infra:servers": JSON.stringify([existing, ...SERVERS.slice(1)]) },
      "infra:servers[0]",
      "is an existing VPS and cannot join the Hetzner private network",
    ],
    [
      "a private address on an existing VPS",
      { "infra:servers": JSON.stringify([{ ...existing, privateIp: "10.0.1.2" }, ...SERVERS.slice(1)]) },
      "infra:servers[0].privateIp",
      "unknown field",
    ],
    // roles
    [
      "a misspelt replica role",
      server(0, { roles: ["data", "replicas"] }),
      "infra:servers[0].roles[1]",
      '"replicas" is not a role (one of ingress, app, data, monitoring, replica)',
    ],
    [
      "the replica on its primary's server",
      server(0, { roles: ["data", "monitoring", "replica"] }),
      "infra:servers[0].roles",
      '"replica" and "data" on one server',
    ],
  ])("%s", (_case, changes, path, message) => {
    const problems = problemsOf(rawConfig({ ...PHASE_4, ...changes }));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it("a private address without a private network is reported at the server, not the network", () => {
    const changes = {
      ...phaseValues(2),
      ...{ "infra:servers": JSON.stringify([{ ...(JSON.parse(phaseValues(2)["infra:servers"]!)[0] as object), privateIp: "10.0.1.2" }]) },
    };
    expect(problemsOf(rawConfig(changes))).toEqual([{ path: "infra:servers[0].privateIp", message: "needs infra:privateNetwork to be set" }]);
  });

  it("a bad network zone is reported once, not again at every server and the balancer that use the network", () => {
    expect(problemsOf(rawConfig({ ...PHASE_4, ...network({ networkZone: "eu-west" }) }))).toEqual([
      { path: "infra:privateNetwork.networkZone", message: '"eu-west" is not one of eu-central, us-east, us-west, ap-southeast; did you mean us-west?' },
    ]);
  });

  it("still checks the addresses against each other while the network itself is invalid", () => {
    const problems = problemsOf(rawConfig({ ...PHASE_4, ...network({ networkZone: "eu-west" }), ...server(2, { privateIp: "10.0.1.11" }) }));
    expect(problems.map((problem) => problem.path)).toEqual(["infra:privateNetwork.networkZone", "infra:servers[2].privateIp"]);
  });

  it("a blueprint role no server takes is reported once at infra:servers, naming the role", () => {
    const problems = problemsOf(rawConfig({ ...PHASE_4, ...server(0, { roles: ["monitoring"] }) }));
    expect(problems).toEqual([{ path: "infra:servers", message: expect.stringContaining('no server takes the role "data" that blueprint galion needs') }]);
  });

  it("reports every scaling problem in one error", () => {
    const problems = problemsOf(
      rawConfig({
        ...PHASE_4,
        ...network({ gateway: "10.0.0.1" }),
        ...balancer({ type: "lb99" }),
        ...servers({ 1: { location: "hil" }, 2: { privateIp: "10.0.1.11" } }),
      }),
    );
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      "infra:loadBalancer.type",
      "infra:privateNetwork.gateway",
      "infra:servers[1].location",
      "infra:servers[2].privateIp",
    ]);
  });
});
