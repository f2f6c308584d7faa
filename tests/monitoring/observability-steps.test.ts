import { describe, expect, it } from "vitest";
import { imageName, type ServiceSpec } from "../../components/container/service-spec";
import { imageOf, memoryLimits, PROMETHEUS_STACK_MEMORY_MB, type MonitoringDesign } from "../../components/monitoring/design";
import { observability, partsRun, stackServices } from "../../components/monitoring/observability";
import { withMonitoringDefaults } from "../../components/monitoring/settings";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { SPLIT, stackBuild } from "./stack-fixtures";
import { PROMETHEUS_DESIGN, prometheusObservability, syntheticServices } from "./support";

/** The composition: the stack's services in order, the parts a design runs, and every problem found, returned rather than thrown. */

describe("stackServices", () => {
  it.each([
    [
      "exporters",
      PROMETHEUS_DESIGN,
      [
        "prometheus",
        "alertmanager",
        "loki",
        "node-exporter",
        "cadvisor",
        "postgres-exporter",
        "redis-exporter",
        "nginx-exporter",
        "blackbox-exporter",
        "promtail",
        "grafana",
      ],
    ],
    ["Alloy", VPAI_MONITORING, ["victoriametrics", "vmalert", "alertmanager", "loki", "alloy", "grafana"]],
  ])("the %s design starts the store first and Grafana last", (_case, design, names) => {
    expect(stackServices(stackBuild({ design }), "").map((spec) => spec.name)).toEqual(names);
  });

  it("publishes to peers exactly what also runs on another server", () => {
    const stack = stackServices(stackBuild({ placement: SPLIT }), "");
    expect(stack.filter((spec) => spec.reachableFromPeers).map((spec) => spec.name)).toEqual([
      "node-exporter",
      "cadvisor",
      "postgres-exporter",
      "redis-exporter",
      "nginx-exporter",
      "promtail",
    ]);
  });
});

describe("partsRun", () => {
  // One statement of which parts run is the builders'; this one must agree with it, image for image.
  it.each([
    ["exporters", PROMETHEUS_DESIGN],
    ["Alloy", VPAI_MONITORING],
  ])("names the part of every service the %s design builds, and no other", (_case, design) => {
    const images = (names: readonly string[]) => [...new Set(names)].sort();
    const stack = stackServices(stackBuild({ design }), "");
    expect(images(partsRun(design, syntheticServices()).map((part) => imageName(imageOf(design, part))))).toEqual(
      images(stack.map((spec) => imageName(spec.image))),
    );
  });
});

describe("observability's problems", () => {
  const build = (
    design: MonitoringDesign,
    services: ServiceSpec[] = syntheticServices(),
    routes: { subdomain: string; service: string; port: number; basicAuth?: boolean }[] = [],
  ) =>
    observability({
      design,
      designPath: "blueprint test",
      settings: withMonitoringDefaults(),
      environment: "test",
      hostname: "main",
      domain: "example.com",
      services,
      routes,
      containerName: (name) => `app-${name}`,
    });

  it("a stack that can be built has none", () => {
    expect(prometheusObservability().problems).toEqual([]);
  });

  it("reports every problem of the design at once, as the blueprint's, instead of throwing at the first", () => {
    const design: MonitoringDesign = { ...PROMETHEUS_DESIGN, memoryMb: memoryLimits({ ...PROMETHEUS_STACK_MEMORY_MB, loki: 0, "redis-exporter": 0 }) };
    const services = syntheticServices().map((spec) => (spec.name === "postgres" ? { ...spec, ports: [] } : spec));
    const result = build(design, services, [{ subdomain: "logs", service: "loki", port: 3100 }]);
    expect(result.problems).toEqual([
      { path: "blueprint test", message: "the monitoring design gives loki no memory limit" },
      { path: "blueprint test", message: "the monitoring design gives redis-exporter no memory limit" },
      { path: "blueprint test", message: "route logs serves loki, which has no login, without basic_auth" },
      { path: "blueprint test", message: "postgres declares an exporter but listens on no port" },
    ]);
    // Still a whole stack, so every other problem of the platform can be found beside these.
    expect(result.services.map((spec) => spec.name)).toContain("loki");
  });

  it("a part the design does not run needs no limit", () => {
    const design: MonitoringDesign = { ...PROMETHEUS_DESIGN, memoryMb: memoryLimits({ ...PROMETHEUS_STACK_MEMORY_MB, "redis-exporter": 0 }) };
    expect(
      build(
        design,
        syntheticServices().filter((spec) => spec.name !== "redis"),
      ).problems,
    ).toEqual([]);
  });

  it("an nginx exporter under Alloy is the design's problem, and Alloy's configuration is still rendered", () => {
    const result = build(VPAI_MONITORING);
    expect(result.problems).toContainEqual({ path: "blueprint test", message: "Alloy has no nginx exporter; nginx needs the exporters design" });
    expect(result.services.find((spec) => spec.name === "alloy")!.files.map((file) => file.path)).toContain("/etc/alloy/config.alloy");
  });
});
