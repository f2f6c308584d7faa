import { describe, expect, it } from "vitest";
import { ALERTMANAGER_CONFIG_PATH } from "../../components/monitoring/alertmanager-config";
import { alertmanagerService, grafanaService, lokiService, storeServices } from "../../components/monitoring/stack-services";
import { FASTAPI_MONITORING } from "../../infra/blueprints/fastapi";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { SPLIT, stackBuild } from "./stack-fixtures";
import { PROMETHEUS_DESIGN } from "./support";

/** The core services: the store and its rule evaluator, Alertmanager, Loki and Grafana, each from the design and the settings. */

describe("storeServices", () => {
  it("runs VictoriaMetrics with vmalert for seed 002, Prometheus for the others", () => {
    expect(storeServices(stackBuild({ design: VPAI_MONITORING })).map((service) => service.name)).toEqual(["victoriametrics", "vmalert"]);
    expect(storeServices(stackBuild()).map((service) => service.name)).toEqual(["prometheus"]);
  });

  it("takes the retention, the evaluation interval and the memory limits from the settings and the design", () => {
    const [store, vmalert] = storeServices(stackBuild({ design: VPAI_MONITORING, settings: { retentionDays: 7, evaluationIntervalSeconds: 45 } }));
    expect(store!.command).toContain("-retentionPeriod=7d");
    expect(vmalert!.command).toContain("-evaluationInterval=45s");
    expect([store!.memoryMb, vmalert!.memoryMb]).toEqual([VPAI_MONITORING.memoryMb.victoriametrics, VPAI_MONITORING.memoryMb.vmalert]);
  });

  it("links alerts to the store's UI where it is reached: its route, or the tunnel", () => {
    const routed = storeServices(
      stackBuild({ design: VPAI_MONITORING, routes: [{ subdomain: "metrics", service: "victoriametrics", port: 8428, basicAuth: true }] }),
    )[1]!;
    expect(routed.command).toContain("-external.url=https://metrics.example.com");
    expect(storeServices(stackBuild({ design: VPAI_MONITORING }))[1]!.command).toContain("-external.url=http://127.0.0.1:8428");
  });

  it("Prometheus joins a network of each service it scrapes at home, and the egress network when peers are scraped", () => {
    expect(storeServices(stackBuild())[0]!.networks).toEqual(["monitoring", "frontend", "backend"]);
    // Every synthetic service runs on the peer: only the monitoring network is needed at home, and the way out to the peer.
    expect(storeServices(stackBuild({ placement: SPLIT }))[0]!.networks).toEqual(["monitoring", "egress"]);
  });

  it("publishes the store's UI on 127.0.0.1 for the tunnel, and not at all when routed", () => {
    expect(storeServices(stackBuild())[0]!.ports).toEqual([{ container: 9090, publish: { host: 9090, address: "127.0.0.1" } }]);
    expect(storeServices(stackBuild({ settings: { adminAccess: "ingress" } }))[0]!.ports).toEqual([{ container: 9090 }]);
  });
});

describe("alertmanagerService, lokiService, grafanaService", () => {
  it("Alertmanager carries its configuration and reaches out through the egress network", () => {
    const alertmanager = alertmanagerService(stackBuild(), "route: {}\n");
    expect(alertmanager.files).toEqual([{ path: ALERTMANAGER_CONFIG_PATH, content: "route: {}\n" }]);
    expect(alertmanager.networks).toEqual(["monitoring", "egress"]);
  });

  it("Loki keeps everything on its volume and runs read-only", () => {
    const loki = lokiService(stackBuild());
    expect(loki).toMatchObject({ readOnlyRootFilesystem: true, volumes: [{ volume: "data", target: "/loki" }], memoryMb: PROMETHEUS_DESIGN.memoryMb.loki });
  });

  it("Grafana moves its port only when the design does (seed 000: 3001), and waits for the store it shows", () => {
    expect(grafanaService(stackBuild()).env.GF_SERVER_HTTP_PORT).toBeUndefined();
    const moved = grafanaService(stackBuild({ design: { ...FASTAPI_MONITORING, ports: { grafana: 3001 } } }));
    expect(moved.env.GF_SERVER_HTTP_PORT).toBe("3001");
    expect(moved.env.GF_SERVER_ROOT_URL).toBe("http://127.0.0.1:3001");
    expect(grafanaService(stackBuild({ design: VPAI_MONITORING })).dependsOn).toEqual(["victoriametrics", "loki"]);
  });
});
