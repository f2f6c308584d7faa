import { ALLOY_PORT } from "./alloy-config";
import type { MonitoringDesign } from "./design";
import { PORTS, portsOf, type Ports } from "./ports";
import { prometheusConfig, type ScrapeTarget } from "./prometheus-config";
import type { MonitoringSettings } from "./settings";
import { probesURL, type Probe, type ScrapeJob } from "./targets";

/** Where the rule evaluator of each store reads the generated rule file. */
export const RULES_PATH = { victoriametrics: "/etc/vmalert/rules.yml", prometheus: "/etc/prometheus/rules.yml" } as const;
export const PROMETHEUS_CONFIG_PATH = "/etc/prometheus/prometheus.yml";

/** Where a scrape job's metrics are served: the service's own endpoint, or the exporter that speaks for it. */
export function scrapedEndpoint(job: ScrapeJob, design: MonitoringDesign, ports: Ports): [string, number] {
  if (job.kind === "endpoint") return [job.service, Number(job.address.slice(job.address.lastIndexOf(":") + 1))];
  if (design.agent === "alloy") return ["alloy", ALLOY_PORT];
  switch (job.exporter) {
    case "node":
      return ["node-exporter", ports.node];
    case "cadvisor":
      return ["cadvisor", ports.cadvisor];
    default:
      return [`${job.service}-exporter`, ports[job.exporter as "postgres" | "redis" | "nginx"]];
  }
}

/** The service and port a probe connects to. */
export function probedEndpoint(probe: Probe): [string, number] {
  if (probesURL(probe)) {
    const url = new URL(probe.target);
    return [url.hostname, Number(url.port || (url.protocol === "https:" ? 443 : 80))];
  }
  const separator = probe.target.lastIndexOf(":");
  return [probe.target.slice(0, separator), Number(probe.target.slice(separator + 1))];
}

/** Where each instance of a service is reached from the scraper; `remote` when on another server. */
export type Locator = (service: string, port: number) => readonly { readonly server: string; readonly address: string; readonly remote?: boolean }[];

/**
 * The scrape configuration in Prometheus's format. The exporters design runs
 * it; for the Alloy design it is the same jobs as Alloy scrapes them, with
 * the built-in exporters at their Alloy endpoints, so promtool checks them.
 * A service on several servers is one target per server, told apart by a
 * `server` label (as is one on another server than Prometheus); the host's
 * own series carry the server as their instance.
 */
export function scrapeConfig(input: {
  design: MonitoringDesign;
  settings: MonitoringSettings;
  environment: string;
  jobs: readonly ScrapeJob[];
  probes: readonly Probe[];
  locate?: Locator;
}): string {
  const ports = portsOf(input.design);
  const locate: Locator = input.locate ?? ((service, port) => [{ server: "host", address: `${service}:${port}` }]);
  const targetsOf = (job: ScrapeJob): ScrapeTarget[] => {
    const [name, port] = scrapedEndpoint(job, input.design, ports);
    const instances = locate(name, port);
    return instances.map((instance) => ({
      address: instance.address,
      labels:
        job.service === "host"
          ? { instance: instance.server }
          : { instance: job.service, ...(instances.length > 1 || instance.remote ? { server: instance.server } : {}) },
    }));
  };
  const probeTargetsOf = (probe: Probe): ScrapeTarget[] => {
    const [name, port] = probedEndpoint(probe);
    const instances = locate(name, port);
    return instances.map((instance) => ({
      address: probesURL(probe) ? probe.target.replace(`//${name}:${port}`, `//${instance.address}`) : instance.address,
      labels: { instance: probe.name, ...(instances.length > 1 || instance.remote ? { server: instance.server } : {}) },
    }));
  };
  return prometheusConfig({
    jobs: input.jobs,
    probes: input.probes,
    scrapeIntervalSeconds: input.settings.scrapeIntervalSeconds,
    evaluationIntervalSeconds: input.settings.evaluationIntervalSeconds,
    environment: input.environment,
    ruleFiles: [input.design.store === "victoriametrics" ? RULES_PATH.victoriametrics : RULES_PATH.prometheus],
    alertmanager: `alertmanager:${PORTS.alertmanager}`,
    blackbox: input.design.agent === "alloy" ? `alloy:${ALLOY_PORT}` : `blackbox-exporter:${PORTS.blackbox}`,
    targetsOf,
    probeTargetsOf,
  });
}
