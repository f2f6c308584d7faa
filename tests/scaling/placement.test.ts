import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../components/network/cloudflare-ranges";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { healthcheck, publishAddress, service, type ServiceSpec } from "../../components/container/service-spec";
import { LINK_IMAGE, linkConfig } from "../../components/network/private-network-link";
import { serversTaking } from "../../infra/blueprints/blueprint";
import { ConfigError } from "../../infra/config/errors";
import { portClashes, type HostPlan, type PlatformModel } from "../../infra/platform-model";
import { galionPhaseValues, modelWith } from "../support/galion-phases";
import { TEST_HOST_KEY } from "../support/stack-config";

/**
 * Placement as pure data (infra/platform-model.ts): which server runs what,
 * how a service reaches a dependency on another server, what listens where
 * behind the load balancer, and which memory profile a platform is built
 * with. No Pulumi runtime is involved.
 */

const phaseValues = galionPhaseValues;
const model = modelWith;

function problemsOf(changes: Record<string, string | undefined>): { path: string; message: string }[] {
  try {
    model(changes);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected planning to fail");
}

const host = (plan: PlatformModel, name: string): HostPlan => plan.hosts.find((candidate) => candidate.server.name === name)!;
const names = (plan: HostPlan) => plan.services.map((service) => service.name);
const portsOf = (plan: HostPlan, service: string) =>
  plan.services
    .find((candidate) => candidate.name === service)!
    .ports.map((port) => (port.publish ? `${publishAddress(port)}:${port.publish.host}->${port.container}` : `${port.container}`));
const existing = (name: string, memoryMb: number, roles?: string[]) => ({
  name,
  provider: "existing",
  address: "203.0.113.20",
  sshUser: "deploy",
  memoryMb,
  hostKey: TEST_HOST_KEY,
  ...(roles ? { roles } : {}),
});

describe("serversTaking", () => {
  const servers = [
    { name: "main", roles: ["data", "monitoring"] as const },
    { name: "app-1", roles: ["ingress", "app"] as const },
    { name: "app-2", roles: ["ingress", "app"] as const },
  ];
  it.each<["first" | "each" | "host", string, string[]]>([
    ["first", "app", ["app-1"]],
    ["each", "app", ["app-1", "app-2"]],
    ["host", "app", ["main", "app-1", "app-2"]],
    ["first", "data", ["main"]],
    ["each", "replica", []],
    ["first", "replica", []],
    ["host", "replica", ["main", "app-1", "app-2"]],
  ])("placement %s of role %s runs on %j", (placement, role, expected) => {
    expect(serversTaking(servers, role as never, placement).map((server) => server.name)).toEqual(expected);
  });

  it("places on the first server by default", () => {
    expect(serversTaking(servers, "ingress").map((server) => server.name)).toEqual(["app-1"]);
  });
});

describe("placement across servers (seed 004, phases 1-5)", () => {
  it("puts everything on one server in phase 1, with nothing to forward", () => {
    const plan = model(phaseValues(1));
    expect(plan.hosts.map((entry) => entry.server.name)).toEqual(["main"]);
    expect(host(plan, "main").links).toEqual([]);
    expect(host(plan, "main").services.some((service) => service.image.repository === LINK_IMAGE.repository && service.name !== "nginx")).toBe(false);
  });

  it("splits data and monitoring from ingress and apps in phase 3, the per-host agents on both", () => {
    const plan = model(phaseValues(3));
    expect(names(host(plan, "main")).sort()).toEqual(
      [
        "alertmanager",
        "blackbox-exporter",
        "cadvisor",
        "docker-socket-proxy",
        "grafana",
        "loki",
        "node-exporter",
        "pgbouncer",
        "pgbouncer-exporter",
        "postgres",
        "postgres-base-backup",
        "postgres-exporter",
        "prometheus",
        "promtail",
        "redis",
        "redis-exporter",
      ].sort(),
    );
    // Promtail ships app-1's logs to Loki on main through a forwarder of Loki's name;
    // it and cAdvisor read app-1's Docker API through a socket proxy of app-1's own.
    expect(names(host(plan, "app-1")).sort()).toEqual(
      [
        "app-api",
        "app-frontend",
        "cadvisor",
        "certbot",
        "docker-socket-proxy",
        "loki",
        "nginx",
        "nginx-exporter",
        "node-exporter",
        "pgbouncer",
        "promtail",
        "realtime",
        "redis",
        "studio-api",
        "studio-frontend",
        "voice",
      ].sort(),
    );
  });

  it("reaches PgBouncer and Redis on the data server through forwarders of the same name, over the private network", () => {
    const plan = model(phaseValues(3));
    const app = host(plan, "app-1");
    expect(app.links.map((link) => [link.service, link.server, link.address])).toEqual([
      ["pgbouncer", "main", "10.0.1.2"],
      ["redis", "main", "10.0.1.2"],
      ["loki", "main", "10.0.1.2"],
    ]);
    for (const [name, port, networks] of [
      ["pgbouncer", 6432, ["data", "egress"]],
      ["redis", 6379, ["data", "monitoring", "egress"]],
    ] as const) {
      const forwarder = app.services.find((service) => service.name === name)!;
      expect(forwarder.image).toEqual(LINK_IMAGE);
      expect(forwarder.env.LINK_CONFIG).toBe(linkConfig([{ listen: port, remote: port }], "10.0.1.2"));
      // The remote service's networks, where its clients are, plus one with a route off the host.
      expect(forwarder.networks).toEqual(networks);
      expect(forwarder.ports).toEqual([{ container: port }]);
    }
    // Forwarders start before the services that depend on them.
    expect(names(app).indexOf("pgbouncer")).toBeLessThan(names(app).indexOf("app-api"));
    expect(host(plan, "main").links).toEqual([]);
  });

  it("publishes what peers reach on the server's private address, never on a public one", () => {
    const plan = model(phaseValues(3));
    expect(portsOf(host(plan, "main"), "pgbouncer")).toEqual(["127.0.0.1:6432->6432", "10.0.1.2:6432->6432"]);
    expect(portsOf(host(plan, "main"), "redis")).toEqual(["127.0.0.1:6379->6379", "10.0.1.2:6379->6379"]);
    expect(portsOf(host(plan, "main"), "postgres")).toEqual(["127.0.0.1:5432->5432", "10.0.1.2:5432->5432"]);
    // Prometheus on main scrapes app-1's agents there.
    expect(portsOf(host(plan, "app-1"), "node-exporter")).toEqual(["9100", "10.0.1.11:9100->9100"]);
    expect(host(plan, "main").exposed).toEqual([]);
    expect(host(plan, "app-1").exposed.map((exposure) => exposure.port)).toEqual([80, 443]);
  });

  it("publishes both GALION APIs for peers on their own host ports, where Prometheus scrapes them (phase 3)", () => {
    const plan = model(phaseValues(3));
    // Both listen on 8000 inside their containers; one private address can take 8000 once.
    expect(portsOf(host(plan, "app-1"), "app-api")).toEqual(["127.0.0.1:8001->8000", "10.0.1.11:8001->8000"]);
    expect(portsOf(host(plan, "app-1"), "studio-api")).toEqual(["127.0.0.1:8003->8000", "10.0.1.11:8003->8000"]);
    const prometheus = host(plan, "main").services.find((service) => service.name === "prometheus")!;
    const scrape = parse(prometheus.files.find((file) => file.path === "/etc/prometheus/prometheus.yml")!.content) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targetsOf = (job: string) =>
      scrape.scrape_configs.filter((config) => config.job_name === job).flatMap((config) => config.static_configs.flatMap((group) => group.targets));
    expect(targetsOf("app-api")).toEqual(["10.0.1.11:8001"]);
    expect(targetsOf("studio-api")).toEqual(["10.0.1.11:8003"]);
  });

  it("leaves no two containers on one server publishing the same port and address, in any phase", () => {
    for (const phase of [1, 2, 3, 4, 5]) {
      for (const entry of model(phaseValues(phase)).hosts) expect(portClashes(entry.services), `phase ${phase}, ${entry.server.name}`).toEqual([]);
    }
  });

  it("refuses a placement that would publish two containers on one host port and address", () => {
    const api = (name: string, address: string): ServiceSpec =>
      service({
        name,
        description: name,
        role: "app",
        image: { repository: `example/${name}`, tag: "1.0.0" },
        networks: ["web"],
        ports: [{ container: 8000, publish: { host: 8000, address } }],
        healthcheck: healthcheck(["CMD", "true"]),
        memoryMb: 64,
      });
    expect(portClashes([api("app-api", "10.0.1.11"), api("studio-api", "10.0.1.11")])).toEqual(["app-api and studio-api both publish tcp/8000 on 10.0.1.11"]);
    // 0.0.0.0 takes the port on every address; distinct specific addresses do not clash.
    expect(portClashes([api("app-api", "0.0.0.0"), api("studio-api", "127.0.0.1")])).toEqual(["app-api and studio-api both publish tcp/8000 on 127.0.0.1"]);
    expect(portClashes([api("app-api", "127.0.0.1"), api("studio-api", "10.0.1.11")])).toEqual([]);
  });

  it("refuses a dependency on another server when the servers have no private network", () => {
    const [main, app] = JSON.parse(phaseValues(3)["infra:servers"]!) as Record<string, unknown>[];
    const servers = [main, app].map(({ privateIp: _ip, ...server }) => server);
    const problems = problemsOf({ ...phaseValues(3), "infra:privateNetwork": undefined, "infra:servers": JSON.stringify(servers) });
    expect(problems).toContainEqual({
      path: "infra:privateNetwork",
      message: expect.stringContaining("app-api (on app-1) depends on pgbouncer (on main); Docker networks do not span servers"),
    });
  });

  it("binds the ingress to each app server's private address behind the load balancer, so only the balancer reaches it (phase 4)", () => {
    const plan = model(phaseValues(4));
    expect(portsOf(host(plan, "app-1"), "nginx")).toEqual(["10.0.1.11:80->80", "10.0.1.11:443->443"]);
    expect(portsOf(host(plan, "app-2"), "nginx")).toEqual(["10.0.1.12:80->80", "10.0.1.12:443->443"]);
    for (const entry of plan.hosts) expect(entry.exposed, entry.server.name).toEqual([]);
    expect(plan.loadBalancer).toEqual({
      config: { type: "lb11", location: "fsn1", privateIp: "10.0.1.100" },
      targets: ["app-1", "app-2"],
      ports: [80, 443],
      // The balancer filters nothing: the targets learn each client from the PROXY header and admit only Cloudflare's edge (F3).
      proxyProtocol: true,
      admits: [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6],
      healthCheck: { port: 80, path: "/healthz" },
    });
  });

  it("runs the applications and nginx on every app server, the data tier once", () => {
    const plan = model(phaseValues(4));
    for (const name of ["app-1", "app-2"])
      expect(names(host(plan, name))).toEqual(
        expect.arrayContaining(["nginx", "app-api", "studio-api", "voice", "realtime", "app-frontend", "studio-frontend"]),
      );
    expect(
      plan.hosts
        .filter((entry) => names(entry).includes("postgres") && entry.services.find((service) => service.name === "postgres")!.image.repository === "postgres")
        .map((entry) => entry.server.name),
    ).toEqual(["main"]);
  });

  it("places the streaming replica only where a server takes the replica role, reaching the primary through a forwarder (phase 5)", () => {
    const plan = model(phaseValues(5));
    const replica = host(plan, "replica");
    expect(names(replica).filter((name) => name.startsWith("postgres"))).toEqual(["postgres", "postgres-replica"]);
    // The base backup is taken of the primary, on its own server, whatever the phase.
    expect(plan.hosts.filter((entry) => names(entry).includes("postgres-base-backup")).map((entry) => entry.server.name)).toEqual(["main"]);
    expect(replica.links.map((link) => [link.service, link.address])).toEqual([
      ["postgres", "10.0.1.2"],
      ["loki", "10.0.1.2"],
    ]);
    expect(names(host(plan, "main"))).not.toContain("postgres-replica");
    expect(model(phaseValues(4)).hosts.flatMap(names)).not.toContain("postgres-replica");
  });
});

describe("memory profile", () => {
  it("keeps the seed's limits where they fit (phase 1, 16 GB)", () => {
    const plan = model(phaseValues(1));
    expect(plan.memoryProfile).toBe("seed");
    expect(host(plan, "main").budget).toMatchObject({ serverMb: 16384, reserveMb: 3072, containersMb: 12000 });
  });

  it("falls back to the blueprint's compact limits and reserve when the seed's do not fit (4 GB)", () => {
    const plan = model({ "infra:blueprint": "galion", "infra:servers": JSON.stringify([existing("main", 4096)]) });
    expect(plan.memoryProfile).toBe("compact");
    const budget = host(plan, "main").budget;
    expect(budget.reserveMb).toBe(512);
    expect(budget.headroomMb).toBeGreaterThanOrEqual(0);
    // The settings derived from the limits follow them: Redis' maxmemory is 7/8 of its compact 256 MB.
    expect(
      host(plan, "main")
        .services.find((service) => service.name === "redis")!
        .command!.join(" "),
    ).toContain("--maxmemory 224mb");
  });

  it("reports the server when even the compact limits do not fit, with the numbers", () => {
    const problems = problemsOf({ "infra:blueprint": "galion", "infra:servers": JSON.stringify([existing("main", 2048)]) });
    expect(problems).toEqual([
      {
        path: "infra:servers[0]",
        message: expect.stringMatching(
          /^containers on main are limited to \d+ MB, but 2048 MB minus the 512 MB system reserve leaves 1536 MB; pick a larger server or move a role elsewhere$/,
        ),
      },
    ]);
  });

  it("reports the server with the seed's numbers for a blueprint without a compact profile", () => {
    const problems = problemsOf({ "infra:blueprint": "fastapi", "infra:servers": JSON.stringify([existing("main", 2048)]) });
    expect(problems).toEqual([
      {
        path: "infra:servers[0]",
        message:
          "containers on main are limited to 2048 MB, but 2048 MB minus the 1024 MB system reserve leaves 1024 MB; pick a larger server or move a role elsewhere",
      },
    ]);
  });
});
