import { TEXTFILE_DIR } from "../backup/metrics";
import type { ConfigFile, ServiceSpec } from "../container/service-spec";
import { alertRules, CADDY_REQUESTS, containerNamePattern, ruleFile, TRAEFIK_REQUESTS, type HTTPCounter, type RuleGroup } from "./alert-rules";
import { alloyConfig, BLACKBOX_CONFIG_PATH, runsInAlloy } from "./alloy-config";
import { blackboxConfig } from "./blackbox-config";
import type { MonitoringDesign } from "./design";
import { BLACKBOX_EXPORTER_CONFIG_PATH } from "./exporters";
import {
  dashboardJSON,
  dashboardProvidersFile,
  dashboards,
  datasourcesFile,
  GRAFANA_DASHBOARDS_DIR,
  GRAFANA_PROVISIONING_DIR,
  type Datasource,
} from "./grafana-provisioning";
import { ALLOY_CONFIG_PATH } from "./log-shipping";
import { PORTS, storeService } from "./ports";
import { PROMETHEUS_CONFIG_PATH, RULES_PATH, scrapeConfig, type Locator } from "./scrape-config";
import type { MonitoringSettings } from "./settings";
import type { MonitoringPlan } from "./observability";
import type { Probe, Targets } from "./targets";

/**
 * The files generated from what the stack watches: the alert rules, the
 * scrape and agent configuration, the probe modules and Grafana's
 * provisioning. They are added to the stack's services by name.
 */

/** The generated files of each service, by its name. */
export type FilesByService = ReadonlyMap<string, readonly ConfigFile[]>;

/** The alert rules over a platform, and the pattern its containers' names match (for the rules, the logs and the dashboards). */
export interface Alerting {
  readonly ruleGroups: RuleGroup[];
  readonly rules: string;
  readonly containerPattern: string;
}

/**
 * What each ingress image counts its responses with, by status code. nginx's
 * stub_status counts no status codes, so behind nginx only an API's own
 * counter gives the 5xx ratio.
 */
const INGRESS_COUNTERS: Readonly<Record<string, Omit<HTTPCounter, "service">>> = { caddy: CADDY_REQUESTS, traefik: TRAEFIK_REQUESTS };

export interface AlertingInput {
  readonly settings: MonitoringSettings;
  /** Every service of the platform, the stack's own included. */
  readonly services: readonly ServiceSpec[];
  readonly targets: Pick<Targets, "jobs">;
  readonly probes: readonly Probe[];
  readonly containerName: (service: string) => string;
  /** Services whose containers are named by release (zero downtime). */
  readonly released: readonly string[];
  readonly httpCounters: readonly HTTPCounter[];
}

export function alertingOf(input: AlertingInput): Alerting {
  const released = new Set(input.released);
  // The ingress proper, not certbot beside it.
  const ingress = input.services.find((candidate) => candidate.role === "ingress" && candidate.ports.some((port) => port.container === 443));
  const ingressCounter = ingress ? INGRESS_COUNTERS[ingress.image.repository] : undefined;
  const ruleGroups = alertRules({
    thresholds: input.settings.thresholds,
    evaluationIntervalSeconds: input.settings.evaluationIntervalSeconds,
    jobs: input.targets.jobs,
    probes: input.probes,
    containers: input.services.map((candidate) => ({
      service: candidate.name,
      container: input.containerName(candidate.name),
      ...(released.has(candidate.name) ? { released: true } : {}),
    })),
    httpCounters: [...(ingress && ingressCounter ? [{ service: ingress.name, ...ingressCounter }] : []), ...input.httpCounters],
    backups: input.services.some((candidate) => candidate.backup !== undefined),
  });
  const containerPattern = input.services.map((candidate) => containerNamePattern(input.containerName(candidate.name), released.has(candidate.name))).join("|");
  return { ruleGroups, rules: ruleFile(ruleGroups), containerPattern };
}

/** The datasources Grafana is provisioned with: the store, Loki and Alertmanager. */
export function datasourcesOf(design: MonitoringDesign): Datasource[] {
  const store = storeService(design);
  return [
    {
      uid: "metrics",
      name: design.store === "victoriametrics" ? "VictoriaMetrics" : "Prometheus",
      type: "prometheus",
      url: `http://${store.name}:${store.port}`,
    },
    { uid: "logs", name: "Loki", type: "loki", url: `http://loki:${PORTS.loki}` },
    { uid: "alertmanager", name: "Alertmanager", type: "alertmanager", url: `http://alertmanager:${PORTS.alertmanager}` },
  ];
}

/** Grafana's datasources and dashboards: a board for PostgreSQL, Redis and the routes only where they are watched. */
export function grafanaFiles(input: {
  readonly datasources: readonly Datasource[];
  readonly scrapeIntervalSeconds: number;
  readonly targets: Pick<Targets, "jobs">;
  readonly probes: readonly Probe[];
  readonly containerPattern: string;
}): ConfigFile[] {
  const boards = dashboards({
    metrics: "metrics",
    logs: "logs",
    postgres: input.targets.jobs.some((job) => job.exporter === "postgres"),
    redis: input.targets.jobs.some((job) => job.exporter === "redis"),
    routes: input.probes.some((probe) => probe.job === "routes"),
    containerPattern: input.containerPattern,
  });
  return [
    { path: `${GRAFANA_PROVISIONING_DIR}/datasources/platform.yaml`, content: datasourcesFile(input.datasources, input.scrapeIntervalSeconds) },
    { path: `${GRAFANA_PROVISIONING_DIR}/dashboards/platform.yaml`, content: dashboardProvidersFile() },
    ...boards.map((board) => ({ path: `${GRAFANA_DASHBOARDS_DIR}/${board.uid}.json`, content: dashboardJSON(board, input.datasources) })),
  ];
}

export interface GeneratedFilesInput {
  readonly design: MonitoringDesign;
  readonly settings: MonitoringSettings;
  readonly environment: string;
  /** The `instance` of the host's own series in Alloy's configuration. */
  readonly hostname: string;
  readonly targets: Targets;
  /** The probes the home server runs. */
  readonly probes: readonly Probe[];
  readonly alerting: Alerting;
  readonly grafana: readonly ConfigFile[];
  /** Where Prometheus reaches each instance of what it scrapes. */
  readonly locate: Locator;
}

/** The generated files of each service: the rule evaluator's rules, the scraper's and the prober's configuration, Grafana's provisioning. */
export function generatedFiles(input: GeneratedFilesInput): FilesByService {
  const { design, settings, targets, probes, alerting } = input;
  const files = new Map<string, readonly ConfigFile[]>([["grafana", input.grafana]]);
  if (design.store === "victoriametrics") files.set("vmalert", [{ path: RULES_PATH.victoriametrics, content: alerting.rules }]);
  const blackbox = blackboxConfig(targets.modules);
  if (design.agent === "alloy") {
    const agent = alloyConfig({
      // A job Alloy has no exporter for is reported (alloyExporterProblems), not rendered.
      jobs: targets.jobs.filter(runsInAlloy),
      probes,
      scrapeIntervalSeconds: settings.scrapeIntervalSeconds,
      hostname: input.hostname,
      lokiPushURL: `http://loki:${PORTS.loki}/loki/api/v1/push`,
      remoteWriteURL: `http://${storeService(design).name}:${storeService(design).port}/api/v1/write`,
      textfileDirectory: TEXTFILE_DIR,
      containerPattern: alerting.containerPattern,
    });
    files.set("alloy", [
      { path: ALLOY_CONFIG_PATH, content: agent },
      { path: BLACKBOX_CONFIG_PATH, content: blackbox },
    ]);
  } else {
    files.set("blackbox-exporter", [{ path: BLACKBOX_EXPORTER_CONFIG_PATH, content: blackbox }]);
  }
  if (design.store === "prometheus") {
    const scrape = scrapeConfig({ design, settings, environment: input.environment, jobs: targets.jobs, probes, locate: input.locate });
    files.set("prometheus", [
      { path: RULES_PATH.prometheus, content: alerting.rules },
      { path: PROMETHEUS_CONFIG_PATH, content: scrape },
    ]);
  }
  return files;
}

/** The stack's services with their generated files, each added by the service's name. */
export function withFiles(stack: readonly ServiceSpec[], files: FilesByService): ServiceSpec[] {
  return stack.map((spec) => (files.has(spec.name) ? { ...spec, files: [...spec.files, ...files.get(spec.name)!] } : spec));
}

/**
 * The monitoring plan with `added` rule groups after its own, and each
 * service's rule file (vmalert's or Prometheus's) rewritten to hold them: how
 * the platform adds rules its blueprint does not know of (the ops host's
 * watch). A rule file that is not the plan's own is an error, not a guess.
 */
export function withAddedRuleGroups<S extends Pick<ServiceSpec, "name" | "files">>(
  plan: MonitoringPlan,
  services: readonly S[],
  added: readonly RuleGroup[],
): { plan: MonitoringPlan; services: S[] } {
  const before = ruleFile(plan.ruleGroups);
  const ruleGroups = [...plan.ruleGroups, ...added];
  const after = ruleFile(ruleGroups);
  const rulePaths: readonly string[] = Object.values(RULES_PATH);
  const rewritten = services.map((spec) => {
    if (!spec.files.some((file) => rulePaths.includes(file.path))) return spec;
    return {
      ...spec,
      files: spec.files.map((file) => {
        if (!rulePaths.includes(file.path)) return file;
        if (file.content !== before) throw new Error(`${spec.name}'s ${file.path} is not the monitoring plan's rule file`);
        return { ...file, content: after };
      }),
    };
  });
  return { plan: { ...plan, ruleGroups }, services: rewritten };
}
