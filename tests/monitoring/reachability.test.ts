import { describe, expect, it } from "vitest";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { portsOf } from "../../components/monitoring/ports";
import {
  probedFromHome,
  reachableInstances,
  scraperAwayFromHome,
  unscrapableInstances,
  unsharedNetworks,
  type Watched,
} from "../../components/monitoring/reachability";
import type { Probe, ScrapeJob } from "../../components/monitoring/targets";
import { HOME, PEER, SPLIT } from "./stack-fixtures";
import { PROMETHEUS_DESIGN } from "./support";

/** Whether the stack, on its home server, reaches every instance of what it scrapes and probes. */

const spec = (name: string, changes: Partial<ServiceSpec> = {}): ServiceSpec =>
  service({
    name,
    description: name,
    role: "app",
    image: { repository: "example/x", tag: "1" },
    networks: ["backend"],
    ports: [{ container: 8000 }],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 32,
    ...changes,
  });
const prometheus = spec("prometheus", { role: "monitoring", networks: ["monitoring"], ports: [{ container: 9090 }] });
const blackbox = spec("blackbox-exporter", { role: "monitoring", networks: ["monitoring"], ports: [{ container: 9115 }] });
const watched = (...services: ServiceSpec[]): Watched => ({ placement: SPLIT, services: [prometheus, blackbox, ...services] });
const job = (service: string, port = 8000): ScrapeJob => ({ job: service, kind: "endpoint", service, address: `${service}:${port}`, metricsPath: "/metrics" });
const routeProbe = (ingress: string): Probe => ({
  job: "routes",
  name: "www.example.com",
  service: "api",
  target: `https://${ingress}:443/`,
  module: "route_www",
});
const portProbe = (service: string): Probe => ({ job: "services", name: service, service, target: `${service}:8000`, module: "tcp_connect" });

describe("reachableInstances", () => {
  it.each<[string, ServiceSpec, string[]]>([
    ["a peer's service not published to peers", spec("api"), []],
    ["a peer's service published to peers", spec("api", { reachableFromPeers: true }), ["10.0.1.3:8000"]],
    [
      "a peer's service published on every address",
      spec("api", { ports: [{ container: 8000, publish: { host: 8000, address: "0.0.0.0" } }] }),
      ["10.0.1.3:8000"],
    ],
    ["a peer's service published on loopback only", spec("api", { ports: [{ container: 8000, publish: { host: 8000, address: "127.0.0.1" } }] }), []],
    ["a service at home", spec("api", { role: "monitoring" }), ["api:8000"]],
  ])("%s", (_case, target, addresses) => {
    expect(reachableInstances(watched(target), "api", 8000).map((instance) => instance.address)).toEqual(addresses);
  });

  it("takes a name no service has to be at home", () => {
    expect(reachableInstances(watched(), "nobody", 1)).toEqual([{ server: "home", address: "nobody:1", remote: false }]);
  });
});

describe("unscrapableInstances", () => {
  it("names the peer's roles for each instance there that is not published to peers", () => {
    const problems = unscrapableInstances(
      watched(spec("api"), spec("worker"), spec("open", { reachableFromPeers: true })),
      [job("api"), job("worker"), job("open")],
      PROMETHEUS_DESIGN,
      portsOf(PROMETHEUS_DESIGN),
    );
    expect(problems).toEqual([
      { path: "infra:servers[1].roles", message: "api on peer cannot be scraped from home: it is not published on a private address (reachableFromPeers)" },
      { path: "infra:servers[1].roles", message: "worker on peer cannot be scraped from home: it is not published on a private address (reachableFromPeers)" },
    ]);
  });

  it("leaves a server without a private address to the platform model's own check (infra:privateNetwork)", () => {
    const lost = { name: "lost", configPath: "infra:servers[2]" };
    const noAddress: Watched = {
      placement: { home: HOME, serversOf: (service) => (service.role === "monitoring" ? [HOME] : [lost]) },
      services: [prometheus, spec("api")],
    };
    expect(unscrapableInstances(noAddress, [job("api")], PROMETHEUS_DESIGN, portsOf(PROMETHEUS_DESIGN))).toEqual([]);
  });
});

describe("probedFromHome", () => {
  it("keeps what home reaches, drops a peer's port it cannot, and reports a route it cannot probe", () => {
    const ingress = spec("nginx", { ports: [{ container: 443 }] });
    const { probes, problems } = probedFromHome(watched(ingress, spec("api")), [routeProbe("nginx"), portProbe("api"), portProbe("prometheus")]);
    expect(probes.map((probe) => probe.name)).toEqual(["prometheus"]);
    expect(problems).toEqual([
      { path: "infra:servers[1].roles", message: "route www.example.com cannot be probed from home: no instance of nginx answers on a private address" },
    ]);
  });

  it("probes a route whose ingress is published on every address", () => {
    const ingress = spec("nginx", { ports: [{ container: 443, publish: { host: 443, address: "0.0.0.0" } }] });
    expect(probedFromHome(watched(ingress), [routeProbe("nginx")])).toEqual({ probes: [routeProbe("nginx")], problems: [] });
  });
});

describe("scraperAwayFromHome", () => {
  it.each<[string, readonly { name: string }[], string[]]>([
    ["at home", [HOME], []],
    ["on the peer", [PEER], ["prometheus runs on peer, not on home, the monitoring server"]],
    ["nowhere", [], ["prometheus runs on no server, not on home, the monitoring server"]],
  ])("%s", (_case, servers, messages) => {
    const problems = scraperAwayFromHome({ home: HOME, serversOf: () => servers }, prometheus);
    expect(problems).toEqual(messages.map((message) => ({ path: "infra:servers", message })));
  });
});

describe("unsharedNetworks", () => {
  it("reports a target at home that shares no network with its scraper or prober, as the design's problem", () => {
    const isolated = spec("isolated", { role: "monitoring", networks: ["island"] });
    const beside = spec("beside", { role: "monitoring", networks: ["monitoring"] });
    const problems = unsharedNetworks({
      watched: watched(isolated, beside, spec("api")),
      scraper: prometheus,
      prober: blackbox,
      jobs: [job("isolated"), job("beside"), job("api")],
      probes: [portProbe("isolated"), portProbe("api")],
      designPath: "blueprint test",
    });
    expect(problems).toEqual([
      { path: "blueprint test", message: "prometheus cannot reach isolated:8000 to scrape it: they share no network" },
      { path: "blueprint test", message: "blackbox-exporter cannot reach isolated:8000 to probe it: they share no network" },
    ]);
  });
});
