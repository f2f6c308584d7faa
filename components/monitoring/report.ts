import { duration } from "./alert-rules";
import type { MonitoringPlan } from "./observability";

/** The monitoring stack as the plan shows it: what is scraped, what is probed, and every alert with its threshold. */
export interface MonitoringReport {
  readonly store: string;
  readonly agent: string;
  readonly scrapeInterval: string;
  readonly evaluationInterval: string;
  readonly scraped: { job: string; target: string }[];
  readonly probed: { job: string; name: string; target: string; module: string }[];
  readonly alerts: { group: string; alert: string; severity: string; threshold: string; for: string }[];
  readonly admin: { ui: string; service: string; access: string }[];
  readonly notifies: string[];
}

export function monitoringReport(plan: MonitoringPlan): MonitoringReport {
  return {
    store: plan.store,
    agent: plan.agent,
    scrapeInterval: duration(plan.scrapeIntervalSeconds),
    evaluationInterval: duration(plan.evaluationIntervalSeconds),
    scraped: plan.jobs.map((job) => ({
      job: job.job,
      target:
        job.kind === "endpoint"
          ? `http://${job.address}${job.metricsPath}`
          : `${job.exporter} exporter${job.service === "host" ? "" : ` reading ${job.address}`}${plan.agent === "alloy" ? " (built into Alloy)" : ""}`,
    })),
    probed: plan.probes.map((probe) => ({ job: probe.job, name: probe.name, target: probe.target, module: probe.module })),
    alerts: plan.ruleGroups.flatMap((group) =>
      group.rules.map((rule) => ({ group: group.name, alert: rule.alert, severity: rule.severity, threshold: rule.threshold, for: duration(rule.forSeconds) })),
    ),
    admin: plan.admin.map((entry) => ({ ...entry })),
    notifies: [...plan.notifies],
  };
}

export function monitoringText(report: MonitoringReport): string[] {
  const out = [`Monitoring (${report.store}, agent ${report.agent}; scrape every ${report.scrapeInterval}, rules every ${report.evaluationInterval})`];
  out.push("  scraped:");
  for (const entry of report.scraped) out.push(`    ${entry.job.padEnd(18)} ${entry.target}`);
  out.push("  probed:");
  for (const entry of report.probed) out.push(`    ${entry.job.padEnd(9)} ${entry.name.padEnd(34)} ${entry.target} (${entry.module})`);
  out.push("  alerts:");
  for (const entry of report.alerts) out.push(`    ${`${entry.group}/${entry.alert}`.padEnd(34)} ${entry.severity.padEnd(8)} ${entry.threshold}`);
  out.push("  admin UIs:");
  for (const entry of report.admin) out.push(`    ${entry.ui.padEnd(8)} ${entry.service.padEnd(16)} ${entry.access}`);
  out.push(`  alerts go to: ${report.notifies.length > 0 ? report.notifies.join("; ") : "no receiver (visible in Alertmanager and Grafana only)"}`);
  return out;
}
