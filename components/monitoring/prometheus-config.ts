import { stringify } from "yaml";
import { duration } from "./alert-rules";
import { PROBE_JOBS, type Probe, type ScrapeJob } from "./targets";

/**
 * Prometheus's configuration, rendered from the same ScrapeJob and Probe
 * lists as Alloy's. The exporters design runs it as is; `promtool check
 * config` reads it for every design.
 */
export interface PrometheusConfigInput {
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  readonly scrapeIntervalSeconds: number;
  readonly evaluationIntervalSeconds: number;
  readonly environment: string;
  readonly ruleFiles: readonly string[];
  /** `host:port` of Alertmanager. */
  readonly alertmanager: string;
  /** `host:port` of the blackbox exporter the probes go through. */
  readonly blackbox: string;
  /** What the scraper dials for a job, one target per instance; an exporter's own container in the exporters design. */
  readonly targetsOf: (job: ScrapeJob) => readonly ScrapeTarget[];
  /** What the prober connects to for a probe, one target per instance. */
  readonly probeTargetsOf: (probe: Probe) => readonly ScrapeTarget[];
}

/** `host:port` (or a URL, for a probe) with the labels its series carry. */
export interface ScrapeTarget {
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function prometheusConfig(input: PrometheusConfigInput): string {
  const scrapeConfigs: Record<string, unknown>[] = input.jobs.map((job) => ({
    job_name: job.job,
    metrics_path: job.metricsPath,
    static_configs: input.targetsOf(job).map((target) => ({ targets: [target.address], labels: { ...target.labels } })),
  }));
  for (const kind of PROBE_JOBS) {
    const probes = input.probes.filter((probe) => probe.job === kind);
    if (probes.length === 0) continue;
    scrapeConfigs.push({
      job_name: kind,
      metrics_path: "/probe",
      // One static group per probed instance: its module and instance travel
      // as labels, and the relabeling below turns the address into the target.
      static_configs: probes.flatMap((probe) =>
        input.probeTargetsOf(probe).map((target) => ({ targets: [target.address], labels: { __param_module: probe.module, ...target.labels } })),
      ),
      relabel_configs: [
        { source_labels: ["__address__"], target_label: "__param_target" },
        { target_label: "__address__", replacement: input.blackbox },
      ],
    });
  }
  const document = {
    global: {
      scrape_interval: duration(input.scrapeIntervalSeconds),
      evaluation_interval: duration(input.evaluationIntervalSeconds),
      external_labels: { environment: input.environment },
    },
    rule_files: [...input.ruleFiles],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [input.alertmanager] }] }] },
    scrape_configs: scrapeConfigs,
  };
  return stringify(document, { lineWidth: 0 });
}
