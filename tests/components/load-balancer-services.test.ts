import { describe, expect, it } from "vitest";
import { balancedServices } from "../../components/compute/load-balancer-services";

/** What a Hetzner load balancer forwards (seed 004, phase 4), as data. */
describe("balancedServices", () => {
  const check = { port: 80, path: "/healthz" };

  it.each([true, false])("forwards each port as TCP to the same port, sorted, with the PROXY protocol %s, checking the ingress over HTTP", (proxyProtocol) => {
    expect(balancedServices([443, 80], check, proxyProtocol)).toEqual(
      [80, 443].map((port) => ({
        protocol: "tcp",
        listenPort: port,
        destinationPort: port,
        proxyprotocol: proxyProtocol,
        healthCheck: { protocol: "http", port: 80, interval: 15, timeout: 10, retries: 3, http: { path: "/healthz", statusCodes: ["200"] } },
      })),
    );
  });

  it("checks every service on the one health port, whatever it forwards", () => {
    const services = balancedServices([443, 8443], { port: 8081, path: "/ready" }, true);
    expect(services.map((service) => [service.listenPort, service.healthCheck.port, service.healthCheck.http.path])).toEqual([
      [443, 8081, "/ready"],
      [8443, 8081, "/ready"],
    ]);
  });

  it("does not reorder the caller's list", () => {
    const ports = [443, 80];
    balancedServices(ports, check, true);
    expect(ports).toEqual([443, 80]);
  });

  it.each<[string, number[], { port: number; path: string }, string]>([
    ["no port", [], check, "no port to balance"],
    ["a repeated port", [80, 443, 80], check, "ports 80, 443, 80 repeat"],
    ["port 0", [0], check, "port 0 is out of range"],
    ["a port above 65535", [65536], check, "port 65536 is out of range"],
    ["a fractional port", [80.5], check, "port 80.5 is out of range"],
    ["a health check port of 0", [80], { port: 0, path: "/healthz" }, "port 0 is out of range"],
    ["a relative health check path", [80], { port: 80, path: "healthz" }, 'health check path "healthz" must start with /'],
  ])("refuses %s", (_case, ports, healthCheck, message) => {
    expect(() => balancedServices(ports, healthCheck, true)).toThrow(message);
  });

  it("reports every problem in one error", () => {
    expect(() => balancedServices([0, 0], { port: 70000, path: "x" }, true)).toThrow(
      'load balancer: port 0 is out of range; port 0 is out of range; port 70000 is out of range; ports 0, 0 repeat; health check path "x" must start with /',
    );
  });
});
