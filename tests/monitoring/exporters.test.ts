import { describe, expect, it } from "vitest";
import { healthcheck, service } from "../../components/container/service-spec";
import { exporterServices } from "../../components/monitoring/exporters";
import { SPLIT, named, stackBuild } from "./stack-fixtures";
import { PROMETHEUS_DESIGN, syntheticServices } from "./support";

/** The exporters design: one container per exporter, beside what it reads, and the prober. */

describe("exporterServices", () => {
  it("runs the host's exporters, one per service that declares one, then the prober", () => {
    expect(exporterServices(stackBuild()).map((exporter) => exporter.name)).toEqual([
      "node-exporter",
      "cadvisor",
      "postgres-exporter",
      "redis-exporter",
      "nginx-exporter",
      "blackbox-exporter",
    ]);
  });

  it("puts a service's exporter beside it: same role and placement, the monitoring network and the service's first", () => {
    const exporters = exporterServices(stackBuild());
    expect(named(exporters, "postgres-exporter")).toMatchObject({
      role: "data",
      networks: ["monitoring", "backend"],
      dependsOn: ["postgres"],
      env: { DATA_SOURCE_URI: "postgres:5432/postgres?sslmode=disable", DATA_SOURCE_USER: "postgres" },
    });
    expect(named(exporters, "nginx-exporter").command).toEqual(["--nginx.scrape-uri=http://nginx:8080/stub_status"]);
    const onMonitoring = syntheticServices().map((other) => (other.name === "redis" ? { ...other, networks: ["monitoring", "backend"] } : other));
    expect(named(exporterServices(stackBuild({ others: onMonitoring })), "redis-exporter").networks).toEqual(["monitoring"]);
  });

  it("gives redis_exporter a password file only when Redis has a password", () => {
    expect(named(exporterServices(stackBuild()), "redis-exporter").secretFiles).toEqual([]);
    const withPassword = syntheticServices().map((other) =>
      other.name === "redis" ? { ...other, exporter: { kind: "redis" as const, passwordSecret: "infra:redisPassword" } } : other,
    );
    const [file] = named(exporterServices(stackBuild({ others: withPassword })), "redis-exporter").secretFiles;
    expect(file).toMatchObject({
      name: "redis-passwords.json",
      variable: "REDIS_PASSWORD_FILE",
      content: { secretTemplate: '{"redis://redis:6379": {{infra:redisPassword}}}\n', encoding: "json" },
    });
  });

  it("moves cAdvisor's port only when the design does", () => {
    expect(named(exporterServices(stackBuild()), "cadvisor").command).not.toContainEqual(expect.stringMatching(/^--port=/));
    expect(named(exporterServices(stackBuild({ design: { ...PROMETHEUS_DESIGN, ports: { cadvisor: 8085 } } })), "cadvisor").command).toContain("--port=8085");
  });

  it("the prober joins a network of each service it probes at home, and reaches peers through the egress network", () => {
    const lone = service({
      name: "lone",
      description: "lone",
      role: "app",
      image: { repository: "x", tag: "1" },
      networks: ["island"],
      ports: [{ container: 1 }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 8,
    });
    expect(named(exporterServices(stackBuild({ others: [...syntheticServices(), lone] })), "blackbox-exporter").networks).toEqual([
      "monitoring",
      "frontend",
      "backend",
      "island",
    ]);
    expect(named(exporterServices(stackBuild({ placement: SPLIT })), "blackbox-exporter").networks).toEqual(["monitoring", "egress"]);
  });
});
