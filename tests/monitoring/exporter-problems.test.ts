import { describe, expect, it } from "vitest";
import { alloyExporterProblems, runsInAlloy } from "../../components/monitoring/alloy-config";
import { exporterProblems, monitoringTargets } from "../../components/monitoring/targets";
import { syntheticServices } from "./support";

/** Exporters that cannot be run as declared: reported as problems, and left out of what is scraped, instead of thrown. */

describe("exporterProblems", () => {
  it.each([
    [
      "PostgreSQL with no port",
      { name: "db", ports: [], exporter: { kind: "postgres" as const, user: "u", database: "d", passwordSecret: "s" } },
      ["db declares an exporter but listens on no port"],
    ],
    ["Redis with no port", { name: "cache", ports: [], exporter: { kind: "redis" as const } }, ["cache declares an exporter but listens on no port"]],
    // nginx's exporter reads the status port it is given, not the service's first.
    ["nginx with no port", { name: "web", ports: [], exporter: { kind: "nginx" as const, statusPort: 8080, statusPath: "/stub_status" } }, []],
    [
      "PostgreSQL on 5432",
      { name: "db", ports: [{ container: 5432 }], exporter: { kind: "postgres" as const, user: "u", database: "d", passwordSecret: "s" } },
      [],
    ],
    ["no exporter", { name: "api", ports: [] }, []],
  ])("%s", (_case, service, expected) => {
    expect(exporterProblems(service)).toEqual(expected);
  });

  it("monitoringTargets scrapes no exporter for a service without a port, rather than throwing", () => {
    const services = syntheticServices().map((spec) => (spec.name === "postgres" ? { ...spec, ports: [] } : spec));
    expect(monitoringTargets(services, []).jobs.map((job) => job.job)).not.toContain("postgres-exporter");
  });
});

describe("what Alloy can scrape", () => {
  it.each([
    [{ kind: "endpoint" as const }, true],
    [{ kind: "exporter" as const, exporter: "node" as const }, true],
    [{ kind: "exporter" as const, exporter: "cadvisor" as const }, true],
    [{ kind: "exporter" as const, exporter: "postgres" as const }, true],
    [{ kind: "exporter" as const, exporter: "redis" as const }, true],
    [{ kind: "exporter" as const, exporter: "nginx" as const }, false],
  ])("%j: %s", (job, expected) => {
    expect(runsInAlloy(job)).toBe(expected);
  });

  it("names every service whose exporter Alloy does not have", () => {
    expect(alloyExporterProblems(syntheticServices())).toEqual(["Alloy has no nginx exporter; nginx needs the exporters design"]);
  });
});
