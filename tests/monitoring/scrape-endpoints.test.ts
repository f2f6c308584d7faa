import { describe, expect, it } from "vitest";
import { portsOf } from "../../components/monitoring/ports";
import { probedEndpoint, scrapedEndpoint } from "../../components/monitoring/scrape-config";
import type { Probe, ScrapeJob } from "../../components/monitoring/targets";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { PROMETHEUS_DESIGN } from "./support";

/** Where each scrape job and probe connects: the service itself, or the exporter or agent that speaks for it. */

const exporterJob = (exporter: ScrapeJob["exporter"], service = "postgres"): ScrapeJob => ({
  job: `${exporter}`,
  kind: "exporter",
  service,
  exporter,
  address: `${service}:5432`,
  metricsPath: "/metrics",
});

describe("scrapedEndpoint", () => {
  it.each<[string, ScrapeJob, typeof PROMETHEUS_DESIGN, [string, number]]>([
    [
      "a service's own endpoint",
      { job: "api", kind: "endpoint", service: "api", address: "api:8000", metricsPath: "/metrics" },
      PROMETHEUS_DESIGN,
      ["api", 8000],
    ],
    ["node-exporter", exporterJob("node", "host"), PROMETHEUS_DESIGN, ["node-exporter", 9100]],
    ["cAdvisor on a moved port", exporterJob("cadvisor", "host"), { ...PROMETHEUS_DESIGN, ports: { cadvisor: 8085 } }, ["cadvisor", 8085]],
    ["a service's exporter", exporterJob("postgres"), PROMETHEUS_DESIGN, ["postgres-exporter", 9187]],
    ["any exporter under Alloy", exporterJob("postgres"), VPAI_MONITORING, ["alloy", 12345]],
  ])("%s", (_case, job, design, expected) => {
    expect(scrapedEndpoint(job, design, portsOf(design))).toEqual(expected);
  });
});

describe("probedEndpoint", () => {
  const probe = (target: string): Probe => ({ job: "routes", name: "x", service: "x", target, module: "m" });
  it.each<[string, [string, number]]>([
    ["https://caddy:443/", ["caddy", 443]],
    ["https://caddy/", ["caddy", 443]],
    ["http://portal:3000/api/health/db", ["portal", 3000]],
    ["http://portal/", ["portal", 80]],
    ["postgres:5432", ["postgres", 5432]],
  ])("%s connects to %j", (target, expected) => {
    expect(probedEndpoint(probe(target))).toEqual(expected);
  });
});
