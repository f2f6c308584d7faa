import { describe, expect, it } from "vitest";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import {
  locate,
  peerEgress,
  placementOf,
  publishedToPeers,
  reachingNetworks,
  rolesPath,
  runsAtHome,
  SERVERS_PATH,
  withEgress,
} from "../../components/monitoring/placement";
import { monitoredServers } from "../../infra/blueprints/monitored-servers";
import { HOME, PEER, SPLIT } from "./stack-fixtures";

/** Where the stack and what it watches run, and what that asks of the stack's networks. */

const spec = (name: string, changes: Partial<ServiceSpec> = {}): ServiceSpec =>
  service({
    name,
    description: name,
    role: "app",
    image: { repository: "example/x", tag: "1" },
    networks: ["backend"],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 32,
    ...changes,
  });

describe("placementOf", () => {
  it("is one server, the hostname, when none is given", () => {
    const single = placementOf(undefined, "vps");
    expect(single.home).toEqual({ name: "vps" });
    expect(single.serversOf(spec("api"))).toEqual([{ name: "vps" }]);
  });

  it("keeps a given placement", () => {
    expect(placementOf(SPLIT, "ignored")).toBe(SPLIT);
  });
});

describe("locate", () => {
  it("reaches a service at home by its name, and on a peer at the peer's private address", () => {
    expect(locate(SPLIT, spec("grafana", { role: "monitoring" }), 3000)).toEqual([{ server: "home", address: "grafana:3000", remote: false }]);
    expect(locate(SPLIT, spec("api"), 8000)).toEqual([{ server: "peer", address: "10.0.1.3:8000", remote: true }]);
    expect(locate(SPLIT, spec("promtail", { role: "monitoring", placement: "host" }), 9080).map((instance) => instance.server)).toEqual(["home", "peer"]);
  });

  it("says when a peer has no private address", () => {
    const placement = { home: HOME, serversOf: () => [{ name: "lost" }] };
    expect(locate(placement, spec("api"), 8000)[0]!.address).toBe("(no private address):8000");
  });
});

describe("runsAtHome and peerEgress", () => {
  it("needs the egress network only when something runs away from home", () => {
    const home = spec("grafana", { role: "monitoring" });
    expect(runsAtHome(SPLIT, home)).toBe(true);
    expect(runsAtHome(SPLIT, spec("api"))).toBe(false);
    expect(peerEgress(SPLIT, [home], "egress")).toBeUndefined();
    expect(peerEgress(SPLIT, [home, spec("api")], "egress")).toBe("egress");
  });
});

describe("withEgress and reachingNetworks", () => {
  it.each<[string[], string | undefined, string[]]>([
    [["monitoring"], undefined, ["monitoring"]],
    [["monitoring"], "egress", ["monitoring", "egress"]],
    [["monitoring", "egress"], "egress", ["monitoring", "egress"]],
  ])("%j with egress %s is %j", (networks, egress, expected) => {
    expect(withEgress(networks, egress)).toEqual(expected);
  });

  it("adds one network of each target not reachable yet, in order", () => {
    const targets = [
      spec("a", { networks: ["backend", "data"] }),
      spec("b", { networks: ["data"] }),
      spec("c", { networks: ["frontend"] }),
      spec("d", { networks: ["monitoring"] }),
      spec("e", { networks: [] }),
    ];
    expect(reachingNetworks(targets, "monitoring")).toEqual(["monitoring", "backend", "data", "frontend"]);
  });
});

describe("publishedToPeers", () => {
  it("marks what also runs on another server, and leaves the rest as it was", () => {
    const stack = [spec("prometheus", { role: "monitoring" }), spec("node-exporter", { role: "monitoring", placement: "host" })];
    const marked = publishedToPeers(SPLIT, stack);
    expect(marked[0]).toBe(stack[0]);
    expect(marked[1]).toEqual({ ...stack[1], reachableFromPeers: true });
  });
});

describe("rolesPath", () => {
  it("names the entry of the server a service runs on, or the servers as a whole", () => {
    expect(rolesPath(SPLIT, spec("api"), PEER.name)).toBe("infra:servers[1].roles");
    expect(rolesPath(SPLIT, spec("api"), "elsewhere")).toBe(SERVERS_PATH);
    expect(rolesPath(placementOf(undefined, "main"), spec("api"), "main")).toBe(SERVERS_PATH);
  });
});

describe("monitoredServers", () => {
  it("names each server by its entry in infra:servers, home being the first with the monitoring role", () => {
    const servers = [
      { name: "web", roles: ["ingress", "app"] as const, privateIp: "10.0.1.2" },
      { name: "db", roles: ["data", "monitoring"] as const, privateIp: "10.0.1.3" },
      { name: "spare", roles: ["monitoring"] as const, privateIp: "10.0.1.4" },
    ];
    const placement = monitoredServers({
      domain: "example.com",
      environment: "prod",
      servers: servers.map((server) => ({ ...server, roles: [...server.roles] })),
    });
    expect(placement.home).toMatchObject({ name: "db", configPath: "infra:servers[1]" });
    expect(placement.serversOf(spec("api")).map((server) => server.configPath)).toEqual(["infra:servers[0]"]);
    expect(placement.serversOf(spec("promtail", { role: "monitoring", placement: "host" })).map((server) => server.configPath)).toEqual([
      "infra:servers[0]",
      "infra:servers[1]",
      "infra:servers[2]",
    ]);
  });

  it("is one server, main, without an entry, when the environment names none", () => {
    const placement = monitoredServers({ domain: "example.com", environment: "prod" });
    expect(placement.home).toEqual({ name: "main" });
    expect(rolesPath(placement, spec("api"), "main")).toBe(SERVERS_PATH);
  });
});
