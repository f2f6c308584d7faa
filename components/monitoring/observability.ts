import type { ServiceSpec } from "../container/service-spec";
import { adminAccessSummary, reachedAdminUIs, unprotectedAdminRoutes, type IngressRoute, type ReachedAdminUI } from "./admin-access";
import type { HTTPCounter, RuleGroup } from "./alert-rules";
import { alertmanagerConfig, type SecretFile } from "./alertmanager-config";
import { alloyExporterProblems } from "./alloy-config";
import type { MonitoringDesign, MonitoringPart } from "./design";
import { exporterServices } from "./exporters";
import { alertingOf, datasourcesOf, generatedFiles, grafanaFiles, withFiles, type Alerting } from "./generated-files";
import type { Datasource } from "./grafana-provisioning";
import { logShipper } from "./log-shipping";
import { placementOf, publishedToPeers, type ServerPlacement } from "./placement";
import { portsOf } from "./ports";
import type { MonitoringProblem } from "./problem";
import { probedFromHome, reachableInstances, scraperAwayFromHome, unscrapableInstances, unsharedNetworks, type Watched } from "./reachability";
import type { MonitoringSettings } from "./settings";
import { alertmanagerService, grafanaService, lokiService, storeServices, type StackBuild } from "./stack-services";
import { exporterProblems, monitoringTargets, type Probe, type RouteTarget, type ScrapeJob, type Targets } from "./targets";

/**
 * The whole monitoring stack of a platform as data: its services with their
 * generated configuration files, the admin routes the ingress adds, and a
 * summary for the plan. The blueprint chooses the design (its seed's), the
 * stack chooses the settings; the targets come from the other services.
 */

export interface MonitoringPlan {
  readonly store: MonitoringDesign["store"];
  readonly agent: MonitoringDesign["agent"];
  readonly services: readonly string[];
  readonly scrapeIntervalSeconds: number;
  readonly evaluationIntervalSeconds: number;
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  readonly ruleGroups: readonly RuleGroup[];
  /** How each admin UI is reached: a URL behind basic_auth, or a 127.0.0.1 port for an SSH tunnel. */
  readonly admin: readonly { readonly ui: string; readonly service: string; readonly access: string }[];
  /** Where alerts go; empty means they are only visible in Alertmanager and Grafana. */
  readonly notifies: readonly string[];
  /** Files whose content is a secret, uploaded into a monitoring container at deploy time. */
  readonly secretFiles: readonly (SecretFile & { readonly service: string })[];
  /** The datasources Grafana is provisioned with. */
  readonly datasources: readonly Datasource[];
}

export interface Observability {
  readonly services: ServiceSpec[];
  readonly plan: MonitoringPlan;
  /** What keeps the stack from being built as asked, each with the setting that causes it; none for a stack that can be deployed. */
  readonly problems: readonly MonitoringProblem[];
}

export interface ObservabilityInput {
  readonly design: MonitoringDesign;
  /** Where a problem of the design itself is reported: the blueprint that chose it (`blueprint vpai`). */
  readonly designPath: string;
  readonly settings: MonitoringSettings;
  /** Label of the environment, on every alert, so prod and preprod mail apart. */
  readonly environment: string;
  /** The `instance` of the host's own series (node, cAdvisor): the server's name. */
  readonly hostname: string;
  readonly domain: string;
  /** Every other service of the platform, the ingress included. */
  readonly services: readonly ServiceSpec[];
  /** Every route the ingress serves, the admin routes included. */
  readonly routes: readonly IngressRoute[];
  /** Docker container name of a service, e.g. `vpai-postgres`. */
  readonly containerName: (service: string) => string;
  /**
   * Services that release with zero downtime: each release is a container of
   * its own, `<containerName>-<release id>`, so alerts and dashboards match
   * them by pattern, and a release changes nothing in the monitoring stack.
   */
  readonly released?: readonly string[];
  /** Response counters of the platform's own services (an API's /metrics); the ingress's is known from its image. */
  readonly httpCounters?: readonly HTTPCounter[];
  /** Where each service runs, for a platform spread over several servers; one server, `hostname`, when absent. */
  readonly servers?: ServerPlacement;
}

/**
 * The stack in the order it is explained: how its admin UIs are reached,
 * its services, what they watch (targets, and which of them the home server
 * reaches), the alert rules, the generated files added to the services by
 * name, and every problem found on the way.
 */
export function observability(input: ObservabilityInput): Observability {
  const uis = reachedAdminUIs(input);
  const placement = placementOf(input.servers, input.hostname);
  const build: StackBuild = {
    design: input.design,
    settings: input.settings,
    environment: input.environment,
    ports: portsOf(input.design),
    uis,
    others: input.services,
    placement,
  };
  const alertmanager = alertmanagerConfig(input.settings.receivers);
  const stack = stackServices(build, alertmanager.content);
  const watched: Watched = { placement, services: [...input.services, ...stack] };
  const targets = monitoringTargets(watched.services, routeTargets(input.routes, input.domain));
  const probed = probedFromHome(watched, targets.probes);
  const alerting = alertingOf({
    settings: input.settings,
    services: watched.services,
    targets,
    probes: probed.probes,
    containerName: input.containerName,
    released: input.released ?? [],
    httpCounters: input.httpCounters ?? [],
  });
  const datasources = datasourcesOf(input.design);
  const grafana = grafanaFiles({
    datasources,
    scrapeIntervalSeconds: input.settings.scrapeIntervalSeconds,
    targets,
    probes: probed.probes,
    containerPattern: alerting.containerPattern,
  });
  const files = generatedFiles({
    ...input,
    targets,
    probes: probed.probes,
    alerting,
    grafana,
    locate: (name, port) => reachableInstances(watched, name, port),
  });
  const services = withFiles(stack, files);
  const problems = [
    ...designProblems(input, uis),
    ...unscrapableInstances(watched, targets.jobs, input.design, build.ports),
    ...probed.problems,
    ...stackPlacementProblems(input, watched, targets, probed.probes),
  ];
  const plan = monitoringPlan({ input, services, targets, probes: probed.probes, alerting, uis, alertmanager, datasources });
  return { services, plan, problems };
}

/**
 * The stack's services, without the files generated from the targets: the
 * store, Alertmanager, Loki, the agent or exporters and Promtail, Grafana.
 * What also runs on the other servers (the exporters, Promtail) is scraped
 * there at its private address.
 */
export function stackServices(build: StackBuild, alertmanagerConfig: string): ServiceSpec[] {
  const agents = build.design.agent === "exporters" ? [...exporterServices(build), logShipper(build)] : [logShipper(build)];
  const stack = [...storeServices(build), alertmanagerService(build, alertmanagerConfig), lokiService(build), ...agents, grafanaService(build)];
  return publishedToPeers(build.placement, stack);
}

/** The routes as the targets see them: by their full host name, and whether they ask for a password. */
function routeTargets(routes: readonly IngressRoute[], domain: string): RouteTarget[] {
  return routes.map((route) => ({ hostname: `${route.subdomain}.${domain}`, service: route.service, port: route.port, basicAuth: Boolean(route.basicAuth) }));
}

/** The parts of the stack a design runs over these services: the store's, Alertmanager, Loki, the agent's or each exporter, Grafana. */
export function partsRun(design: MonitoringDesign, services: readonly ServiceSpec[]): MonitoringPart[] {
  const store: MonitoringPart[] = design.store === "victoriametrics" ? ["victoriametrics", "vmalert"] : ["prometheus"];
  const exporters = [...new Set(services.flatMap((service) => (service.exporter ? [`${service.exporter.kind}-exporter` as const] : [])))];
  const agent: MonitoringPart[] = design.agent === "alloy" ? ["alloy"] : ["node-exporter", "cadvisor", ...exporters, "blackbox-exporter", "promtail"];
  return [...store, "alertmanager", "loki", ...agent, "grafana"];
}

/** Problems of the blueprint's own choices: memory limits, routes to UIs without a login, exporters the design cannot run. */
function designProblems(input: ObservabilityInput, uis: readonly ReachedAdminUI[]): MonitoringProblem[] {
  const memory = partsRun(input.design, input.services)
    .filter((part) => !input.design.memoryMb[part])
    .map((part) => `the monitoring design gives ${part} no memory limit`);
  const exporters = input.services.flatMap((service) => exporterProblems(service));
  const agent = input.design.agent === "alloy" ? alloyExporterProblems(input.services) : [];
  return [...memory, ...unprotectedAdminRoutes(uis), ...exporters, ...agent].map((message) => ({ path: input.designPath, message }));
}

/** The scraper runs at home, and reaches every target at home over a network they share. */
function stackPlacementProblems(input: ObservabilityInput, watched: Watched, targets: Targets, probes: readonly Probe[]): MonitoringProblem[] {
  const named = (name: string) => watched.services.find((candidate) => candidate.name === name)!;
  const scraper = named(input.design.agent === "alloy" ? "alloy" : "prometheus");
  const prober = input.design.agent === "alloy" ? scraper : named("blackbox-exporter");
  return [
    ...scraperAwayFromHome(watched.placement, scraper),
    ...unsharedNetworks({ watched, scraper, prober, jobs: targets.jobs, probes, designPath: input.designPath }),
  ];
}

/** The stack as the plan shows it. */
function monitoringPlan(parts: {
  readonly input: ObservabilityInput;
  readonly services: readonly ServiceSpec[];
  readonly targets: Targets;
  readonly probes: readonly Probe[];
  readonly alerting: Alerting;
  readonly uis: readonly ReachedAdminUI[];
  readonly alertmanager: ReturnType<typeof alertmanagerConfig>;
  readonly datasources: readonly Datasource[];
}): MonitoringPlan {
  const { input, alertmanager } = parts;
  return {
    store: input.design.store,
    agent: input.design.agent,
    services: parts.services.map((candidate) => candidate.name),
    scrapeIntervalSeconds: input.settings.scrapeIntervalSeconds,
    evaluationIntervalSeconds: input.settings.evaluationIntervalSeconds,
    jobs: parts.targets.jobs,
    probes: parts.probes,
    ruleGroups: parts.alerting.ruleGroups,
    admin: adminAccessSummary(parts.uis, input.settings.adminUser),
    notifies: alertmanager.notifies,
    secretFiles: alertmanager.secretFiles.map((file) => ({ ...file, service: "alertmanager" })),
    datasources: [...parts.datasources],
  };
}
