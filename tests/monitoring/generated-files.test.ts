import { describe, expect, it } from "vitest";
import { healthcheck, service } from "../../components/container/service-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { BLACKBOX_CONFIG_PATH } from "../../components/monitoring/alloy-config";
import { BLACKBOX_EXPORTER_CONFIG_PATH } from "../../components/monitoring/exporters";
import { alertingOf, datasourcesOf, generatedFiles, grafanaFiles, withFiles, type Alerting } from "../../components/monitoring/generated-files";
import { ALLOY_CONFIG_PATH } from "../../components/monitoring/log-shipping";
import { stackServices } from "../../components/monitoring/observability";
import { PROMETHEUS_CONFIG_PATH, RULES_PATH } from "../../components/monitoring/scrape-config";
import { withMonitoringDefaults } from "../../components/monitoring/settings";
import { monitoringTargets } from "../../components/monitoring/targets";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { stackBuild } from "./stack-fixtures";
import { PROMETHEUS_DESIGN, syntheticServices } from "./support";

/** The files generated from what the stack watches, and how they reach their services: by name. */

const settings = withMonitoringDefaults();
const targets = monitoringTargets(syntheticServices(), [{ hostname: "api.example.com", service: "api", port: 8000, basicAuth: false }]);
const alerting: Alerting = { ruleGroups: [], rules: "groups: []\n", containerPattern: "app-.*" };
const grafana = [{ path: "/etc/grafana/x.yaml", content: "x" }];
const filesOf = (design = PROMETHEUS_DESIGN) =>
  generatedFiles({
    design,
    settings,
    environment: "test",
    hostname: "main",
    targets,
    probes: targets.probes,
    alerting,
    grafana,
    locate: (name, port) => [{ server: "main", address: `${name}:${port}` }],
  });

describe("generatedFiles", () => {
  it.each([
    [
      "Prometheus and exporters",
      PROMETHEUS_DESIGN,
      { grafana: ["/etc/grafana/x.yaml"], "blackbox-exporter": [BLACKBOX_EXPORTER_CONFIG_PATH], prometheus: [RULES_PATH.prometheus, PROMETHEUS_CONFIG_PATH] },
    ],
    [
      "VictoriaMetrics and Alloy",
      VPAI_MONITORING,
      { grafana: ["/etc/grafana/x.yaml"], vmalert: [RULES_PATH.victoriametrics], alloy: [ALLOY_CONFIG_PATH, BLACKBOX_CONFIG_PATH] },
    ],
  ])("%s: each file goes to a service the design runs", (_case, design, expected) => {
    const files = filesOf(design);
    expect(Object.fromEntries([...files].map(([name, list]) => [name, list.map((file) => file.path)]))).toEqual(expected);
    const names = stackServices(stackBuild({ design }), "").map((spec) => spec.name);
    for (const name of files.keys()) expect(names).toContain(name);
  });

  it("gives the rule evaluator the alert rules as rendered", () => {
    expect(filesOf(VPAI_MONITORING).get("vmalert")).toEqual([{ path: RULES_PATH.victoriametrics, content: alerting.rules }]);
    expect(filesOf().get("prometheus")![0]!.content).toBe(alerting.rules);
  });
});

describe("withFiles", () => {
  it("adds each service's files by its name, after the files it has, and leaves the others as they were", () => {
    const stack = stackServices(stackBuild(), "route: {}\n");
    const added = withFiles(stack, new Map([["alertmanager", [{ path: "/etc/extra", content: "e" }]]]));
    expect(added.map((spec) => spec.name)).toEqual(stack.map((spec) => spec.name));
    expect(added.find((spec) => spec.name === "alertmanager")!.files.map((file) => file.path)).toEqual(["/etc/alertmanager/alertmanager.yml", "/etc/extra"]);
    expect(added.filter((spec) => spec.name !== "alertmanager")).toEqual(stack.filter((spec) => spec.name !== "alertmanager"));
  });
});

describe("alertingOf", () => {
  const input = { settings, targets, probes: targets.probes, containerName: (name: string) => `app-${name}`, released: [] as string[], httpCounters: [] };

  it("counts 5xx at the ingress its image is known for, and matches released containers by pattern", () => {
    const services = syntheticServices();
    const rules = alertingOf({ ...input, services, released: ["api"] });
    expect(rules.rules).toContain("caddy_http_request_duration_seconds_count");
    expect(rules.containerPattern.split("|")).toContain("app-api-[0-9a-f]{8}");
    expect(rules.containerPattern.split("|")).toContain("app-postgres");
  });

  it("has no backup alerts without a backup, and no ingress counter for an unknown image", () => {
    const services = syntheticServices().map((spec) => (spec.name === "caddy" ? { ...spec, image: { repository: "example/proxy", tag: "1" } } : spec));
    const rules = alertingOf({ ...input, services });
    expect(rules.ruleGroups.map((group) => group.name)).not.toContain("backups");
    expect(rules.rules).not.toContain("caddy_http_request_duration_seconds_count");
    const ingressOnly = [caddyServiceSpec([], { networks: ["frontend"], memoryMb: 64, dependsOn: [], metricsPort: 2020 })];
    const backedUp = service({
      name: "db",
      description: "db",
      role: "data",
      image: { repository: "postgres", tag: "16" },
      networks: ["backend"],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 8,
      backup: { volumes: [] },
    });
    expect(alertingOf({ ...input, services: [...ingressOnly, backedUp] }).ruleGroups.map((group) => group.name)).toContain("backups");
  });
});

describe("datasourcesOf and grafanaFiles", () => {
  it("points the metrics datasource at the design's store", () => {
    expect(datasourcesOf(VPAI_MONITORING)[0]).toMatchObject({ name: "VictoriaMetrics", url: "http://victoriametrics:8428" });
    expect(datasourcesOf(PROMETHEUS_DESIGN)[0]).toMatchObject({ name: "Prometheus", url: "http://prometheus:9090" });
  });

  it("has a board for PostgreSQL and Redis only when they are scraped, and for the routes only when they are probed", () => {
    const paths = (jobs: typeof targets.jobs, probes: typeof targets.probes) =>
      grafanaFiles({ datasources: datasourcesOf(PROMETHEUS_DESIGN), scrapeIntervalSeconds: 15, targets: { jobs }, probes, containerPattern: "app-.*" }).map(
        (file) => file.path,
      );
    const all = paths(targets.jobs, targets.probes);
    const bare = paths(
      targets.jobs.filter((job) => job.exporter !== "postgres" && job.exporter !== "redis"),
      targets.probes.filter((probe) => probe.job !== "routes"),
    );
    expect(all.length - bare.length).toBe(3);
    expect(all.slice(0, 2)).toEqual(["/etc/grafana/provisioning/datasources/platform.yaml", "/etc/grafana/provisioning/dashboards/platform.yaml"]);
  });
});
