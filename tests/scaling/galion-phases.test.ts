import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { describe, expect, it } from "vitest";
import { overlayOverrides } from "../../tools/plan/plan";
import { planOf, resourcesOf } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { join } from "node:path";

/**
 * Seed 004's scaling phases as config files of one program. Going from one
 * phase to the next never replaces the database server, its volume or the
 * data volumes: their logical names and inputs are the same in every phase
 * (phase 1 to 2 changes only serverType, which Hetzner changes in place), and
 * they are protected.
 */
const PHASES = [1, 2, 3, 4, 5] as const;
// GALION as seed 004 draws it: the shipped stack files' ops host is seed 002's (tests/ops-host covers it).
const phase = (n: number) =>
  planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)), without: ["infra:opsHost"] });

const DATA_TIER: [string, string][] = [
  ["hcloud:index/server:Server", "galion-main"],
  ["hcloud:index/volume:Volume", "galion-main-data"],
  ["hcloud:index/volumeAttachment:VolumeAttachment", "galion-main-data"],
  ["docker:index/volume:Volume", "galion-main-postgres-data"],
  ["docker:index/volume:Volume", "galion-main-postgres-wal-archive"],
  ["docker:index/volume:Volume", "galion-main-redis-data"],
];

function dataTier(plan: Awaited<ReturnType<typeof phase>>) {
  return DATA_TIER.map(([type, name]) => {
    const resource = plan.resources.find((candidate) => candidate.type === type && candidate.name === name);
    if (!resource) throw new Error(`phase plan has no ${type} ${name}`);
    // serverType is phase 2's stated change. Ids (and userData, which embeds
    // the volume's mock device path) are the mock engine's counters, not
    // stable between runs; what they point at is compared through dependsOn,
    // by logical name, instead. userData is also in the server's ignoreChanges.
    const {
      serverType: _serverType,
      serverId: _serverId,
      volumeId: _volumeId,
      firewallIds: _firewallIds,
      sshKeys: _sshKeys,
      userData: _userData,
      ...inputs
    } = resource.inputs;
    return { type, name, parent: resource.parent, protect: resource.protect, dependsOn: resource.dependsOn, inputs };
  });
}

describe("GALION scaling phases (seed 004)", () => {
  it.each(PHASES)("phase %i plans with 0 policy violations", async (n) => {
    const plan = await phase(n);
    expect(plan.blueprint).toBe("galion");
    expect(plan.hosts.every((host) => host.budget.headroomMb >= 0)).toBe(true);
  });

  it("keeps the data tier's logical names and inputs identical in every phase, and protected", async () => {
    const first = dataTier(await phase(1));
    // The attachment holds no data; the server and the volumes do, and are protected.
    for (const resource of first.filter((candidate) => candidate.type !== "hcloud:index/volumeAttachment:VolumeAttachment"))
      expect(resource.protect, resource.name).toBe(true);
    for (const n of PHASES.slice(1)) expect(dataTier(await phase(n)), `phase ${n}`).toEqual(first);
  });

  it("changes the database server only by its type, 16 GB then 32 GB, which Hetzner resizes in place", async () => {
    const types = await Promise.all(
      PHASES.map(async (n) => resourcesOf(await phase(n), "hcloud:index/server:Server").find((server) => server.name === "galion-main")!.inputs.serverType),
    );
    expect(types).toEqual(["ccx23", "ccx33", "ccx33", "ccx33", "ccx33"]);
  });

  it("grows server by server: one, one bigger, plus an app server, plus a second behind a load balancer, plus a replica", async () => {
    const servers = await Promise.all(PHASES.map(async (n) => (await phase(n)).hosts.map((host) => host.server)));
    expect(servers).toEqual([["main"], ["main"], ["main", "app-1"], ["main", "app-1", "app-2"], ["main", "app-1", "app-2", "replica"]]);
  });

  it("puts the servers on a private network from phase 3, each attached at its address", async () => {
    for (const n of [1, 2]) expect(resourcesOf(await phase(n), "hcloud:index/network:Network")).toEqual([]);
    const plan = await phase(3);
    expect(resourcesOf(plan, "hcloud:index/networkSubnet:NetworkSubnet")[0]!.inputs).toMatchObject({
      ipRange: "10.0.1.0/24",
      networkZone: "eu-central",
      type: "cloud",
    });
    expect(
      resourcesOf(plan, "hcloud:index/serverNetwork:ServerNetwork")
        .map((attachment) => attachment.inputs.ip)
        .sort(),
    ).toEqual(["10.0.1.11", "10.0.1.2"]);
  });

  it("reaches PgBouncer and Redis from the app servers through forwarders, the data tier publishing only on private and loopback addresses", async () => {
    const plan = await phase(3);
    const app = plan.hosts.find((host) => host.server === "app-1")!;
    const main = plan.hosts.find((host) => host.server === "main")!;
    expect(app.services.filter((service) => service.name === "pgbouncer" || service.name === "redis").map((service) => service.image)).toEqual([
      "nginx:1.27.3-alpine",
      "nginx:1.27.3-alpine",
    ]);
    expect(main.services.find((service) => service.name === "pgbouncer")!.ports).toEqual(["127.0.0.1:6432->6432/tcp", "10.0.1.2:6432->6432/tcp"]);
    expect(main.exposed).toEqual([]);
  });

  it("puts a Hetzner load balancer with HTTP health checks in front of both app servers from phase 4, and DNS at it", async () => {
    const plan = await phase(4);
    expect(resourcesOf(plan, "hcloud:index/loadBalancer:LoadBalancer")[0]!.inputs).toMatchObject({ loadBalancerType: "lb11", location: "fsn1" });
    expect(resourcesOf(plan, "hcloud:index/loadBalancerTarget:LoadBalancerTarget").map((target) => [target.name, target.inputs.usePrivateIp])).toEqual([
      ["galion-lb-app-1", true],
      ["galion-lb-app-2", true],
    ]);
    const services = resourcesOf(plan, "hcloud:index/loadBalancerService:LoadBalancerService");
    expect(
      services.map((service) => [service.inputs.listenPort, service.inputs.protocol, (service.inputs.healthCheck as { http: { path: string } }).http.path]),
    ).toEqual([
      [80, "tcp", "/healthz"],
      [443, "tcp", "/healthz"],
    ]);
    for (const host of plan.hosts) expect(host.exposed, host.server).toEqual([]);
  });

  it("lets the balancer and the peers through each host's own firewall, which runs again over SSH when its rules change (phase 4)", async () => {
    const plan = await phase(4);
    const app = plan.hosts.find((host) => host.server === "app-1")!;
    expect(app.peerAccess).toMatchObject({ address: "10.0.1.11", from: "10.0.0.0/16" });
    expect(app.peerAccess!.ports).toEqual(expect.arrayContaining(["80/tcp (nginx)", "443/tcp (nginx)", "8001/tcp (app-api)", "8003/tcp (studio-api)"]));
    expect(plan.hosts.find((host) => host.server === "main")!.peerAccess!.ports).toEqual(expect.arrayContaining(["6432/tcp (pgbouncer)", "6379/tcp (redis)"]));
    const sync = plan.resources.find((resource) => resource.type === SSH_COMMAND_TYPE && resource.name === "galion-app-1-host-ufw")!;
    expect(String(sync.inputs.stdin)).toContain(
      "-A DOCKER-USER -s 10.0.0.0/16 -p tcp -m conntrack --ctstate DNAT --ctorigdst 10.0.1.11 --ctorigdstport 443 -j RETURN",
    );
  });

  it("adds a streaming replica in phase 5 that clones the primary over the private network", async () => {
    const plan = await phase(5);
    const replica = plan.hosts.find((host) => host.server === "replica")!;
    expect(replica.services.map((service) => service.name)).toContain("postgres-replica");
    expect(replica.services.find((service) => service.name === "postgres")!.image).toBe("nginx:1.27.3-alpine");
  });

  it("shows each phase's monthly cost from Hetzner's prices", async () => {
    const totals = await Promise.all(PHASES.map(async (n) => (await phase(n)).cost.totalMonthlyEur));
    // ccx23 24.99, ccx33 48.99, LB11 5.39, 100 GB volume 4.40, object storage 4.99 (server-types.ts).
    expect(totals).toEqual([34.38, 58.38, 83.37, 113.75, 167.14]);
  });
});
