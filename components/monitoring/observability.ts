import { TEXTFILE_DIR } from "../backup/metrics";
import { DOCKER_API_URL } from "../container/docker-api-proxy-spec";
import { healthcheck, peerPort, publishAddress, service, type PortSpec, type SecretFileSpec, type ServiceSpec } from "../container/service-spec";
import { alertmanagerConfig, ALERTMANAGER_CONFIG_PATH, type SecretFile } from "./alertmanager-config";
import { alertRules, containerNamePattern, CADDY_REQUESTS, ruleFile, TRAEFIK_REQUESTS, type HTTPCounter, type RuleGroup } from "./alert-rules";
import { ALLOY_PORT, alloyConfig, BLACKBOX_CONFIG_PATH, EXPORTER_SECRET_FILES, HOST_MOUNTS } from "./alloy-config";
import { blackboxConfig } from "./blackbox-config";
import { ADMIN_UI_NAMES, MONITORING_IMAGES, type AdminUIName, type MonitoringDesign, type MonitoringPart } from "./design";
import { dashboardJSON, dashboardProvidersFile, dashboards, datasourcesFile, GRAFANA_DASHBOARDS_DIR, GRAFANA_PROVISIONING_DIR, type Datasource } from "./grafana-provisioning";
import { prometheusConfig, type ScrapeTarget } from "./prometheus-config";
import { GRAFANA_ADMIN_PASSWORD_SECRET, routesAdminUIs, type MonitoringSettings } from "./settings";
import { monitoringTargets, probesURL, type Probe, type RouteTarget, type ScrapeJob } from "./targets";

/**
 * The whole monitoring stack of a platform as data: its services with their
 * generated configuration files, the admin routes the ingress adds, and a
 * summary for the plan. The blueprint chooses the design (its seed's), the
 * stack chooses the settings; the targets come from the other services.
 */

/** An admin UI, reached through an authenticated route or an SSH tunnel (seed 001). */
export interface AdminUI {
  readonly ui: AdminUIName;
  readonly service: string;
  readonly port: number;
  /** Its name under the stack's domain when routed through the ingress. */
  readonly subdomain: string;
}

export interface AdminRoute {
  readonly subdomain: string;
  readonly service: string;
  readonly port: number;
  readonly basicAuth: true;
}

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
}

export interface ObservabilityInput {
  readonly design: MonitoringDesign;
  readonly settings: MonitoringSettings;
  /** Label of the environment, on every alert, so prod and preprod mail apart. */
  readonly environment: string;
  /** The `instance` of the host's own series (node, cAdvisor): the server's name. */
  readonly hostname: string;
  readonly domain: string;
  /** Every other service of the platform, the ingress included. */
  readonly services: readonly ServiceSpec[];
  /** Every route the ingress serves, the admin routes included; `basicAuth` is set (true, or a route's own credential) where it asks for a password. */
  readonly routes: readonly { readonly subdomain: string; readonly service: string; readonly port: number; readonly basicAuth?: boolean | object }[];
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

/** A server as the monitoring stack needs to know it: its name, and its private address for peers. */
export interface MonitoredServer {
  readonly name: string;
  readonly privateIp?: string;
}

export interface ServerPlacement {
  /** The server the stack's services run on (their role is monitoring). */
  readonly home: MonitoredServer;
  /** The servers a service runs on, by its role and placement. */
  readonly serversOf: (service: ServiceSpec) => readonly MonitoredServer[];
}

/** One instance of a service as the scraper or prober reaches it. */
interface Located {
  readonly server: string;
  /** `host:port`: the service's name on the home server, the peer's private address elsewhere. */
  readonly address: string;
  readonly remote: boolean;
}

const PORTS = { victoriametrics: 8428, vmalert: 8880, prometheus: 9090, alertmanager: 9093, loki: 3100, grafana: 3000, promtail: 9080, node: 9100, cadvisor: 8080, postgres: 9187, redis: 9121, nginx: 9113, blackbox: 9115 } as const;
type Ports = { readonly [K in keyof typeof PORTS]: number };

function portsOf(design: MonitoringDesign): Ports {
  return { ...PORTS, ...design.ports };
}

/**
 * What each ingress image counts its responses with, by status code. nginx's
 * stub_status counts no status codes, so behind nginx only an API's own
 * counter gives the 5xx ratio.
 */
const INGRESS_COUNTERS: Readonly<Record<string, Omit<HTTPCounter, "service">>> = { caddy: CADDY_REQUESTS, traefik: TRAEFIK_REQUESTS };

/** Admin UIs without a login of their own: routed only behind the ingress's basic_auth. */
const UNAUTHENTICATED_UIS: readonly AdminUI["ui"][] = ["metrics", "alerts", "logs"];
const RULES_PATH = { victoriametrics: "/etc/vmalert/rules.yml", prometheus: "/etc/prometheus/rules.yml" } as const;
const ALLOY_CONFIG_PATH = "/etc/alloy/config.alloy";

/** Docker copies files into a container before it starts, and refuses to when its root filesystem is read-only. */
const UPLOAD_WAIVER = (what: string) => ({ rule: "C6", reason: `Docker refuses uploads into a read-only root filesystem, and ${what} must be uploaded before start` });

export function storeService(design: MonitoringDesign): { name: string; port: number } {
  return design.store === "victoriametrics" ? { name: "victoriametrics", port: PORTS.victoriametrics } : { name: "prometheus", port: PORTS.prometheus };
}

/** The admin UIs of a design; when the stack routes them (`adminAccess` ingress, or caddy behind Caddy) each becomes a route. */
export function adminUIs(design: MonitoringDesign): AdminUI[] {
  const store = storeService(design);
  return [
    { ui: "grafana", service: "grafana", port: portsOf(design).grafana, subdomain: "grafana" },
    { ui: "metrics", service: store.name, port: store.port, subdomain: "metrics" },
    { ui: "alerts", service: "alertmanager", port: PORTS.alertmanager, subdomain: "alerts" },
    { ui: "logs", service: "loki", port: PORTS.loki, subdomain: "logs" },
  ];
}

/** Whether the stack gives `ui` a route: it asked for routes (adminAccess), and the design lets the ingress serve that UI. */
export function routedByStack(design: MonitoringDesign, settings: Pick<MonitoringSettings, "adminAccess">, ui: AdminUIName): boolean {
  return routesAdminUIs(settings) && (design.routableUIs ?? ADMIN_UI_NAMES).includes(ui);
}

/** The routes the ingress adds for the admin UIs: none for those reached through a tunnel. */
export function adminRoutes(design: MonitoringDesign, settings: MonitoringSettings): AdminRoute[] {
  return adminUIs(design)
    .filter((ui) => routedByStack(design, settings, ui.ui))
    .map((ui) => ({ subdomain: ui.subdomain, service: ui.service, port: ui.port, basicAuth: true }));
}

export function observability(input: ObservabilityInput): Observability {
  const { design, settings } = input;
  const admin = adminUIs(design);
  const publish = (name: string, port: number): PortSpec => {
    const tunnelled = admin.some((ui) => ui.service === name && ui.port === port && !routedByStack(design, settings, ui.ui));
    // Seed 001: admin UIs only on the loopback address, reached through `ssh -L`.
    return tunnelled ? { container: port, publish: { host: port, address: "127.0.0.1" } } : { container: port };
  };
  // A UI is routed when the ingress serves a name for it: the admin routes
  // the stack asked for, or a blueprint's own route to Grafana.
  const routeOf = (ui: AdminUI) => input.routes.find((route) => route.service === ui.service && route.port === ui.port);
  const uiNamed = (ui: AdminUI["ui"]) => admin.find((candidate) => candidate.ui === ui)!;
  const externalURL = (ui: AdminUI["ui"]) => {
    const route = routeOf(uiNamed(ui));
    return route ? `https://${route.subdomain}.${input.domain}` : `http://127.0.0.1:${uiNamed(ui).port}`;
  };
  const problems: string[] = [];
  for (const ui of admin) {
    // Grafana asks for its own login; the store, Alertmanager and Loki answer anyone.
    const route = routeOf(ui);
    if (route && !route.basicAuth && UNAUTHENTICATED_UIS.includes(ui.ui)) problems.push(`route ${route.subdomain} serves ${ui.service}, which has no login, without basic_auth`);
  }
  const ports = portsOf(design);
  const placement: ServerPlacement = input.servers ?? { home: { name: input.hostname }, serversOf: () => [{ name: input.hostname }] };
  const home = placement.home;
  const locate = (spec: ServiceSpec, port: number): Located[] =>
    placement.serversOf(spec).map((server) =>
      server.name === home.name ? { server: server.name, address: `${spec.name}:${port}`, remote: false } : { server: server.name, address: `${server.privateIp ?? "(no private address)"}:${peerPort(spec, port)}`, remote: true },
    );
  // Services away from home are scraped and probed over the private network,
  // through a network with a route off the host.
  const spread = input.services.some((other) => placement.serversOf(other).some((server) => server.name !== home.name));
  const local = (other: ServiceSpec) => placement.serversOf(other).some((server) => server.name === home.name);
  const memory = (part: MonitoringPart) => {
    const limit = design.memoryMb[part];
    if (!limit) throw new Error(`the monitoring design gives ${part} no memory limit`);
    return limit;
  };
  const image = (part: MonitoringPart) => design.images?.[part] ?? MONITORING_IMAGES[part];
  const store = storeService(design);
  const net = design.networks;

  // The stack's own services first, without files: the targets are derived
  // from every service, these included.
  const stack: ServiceSpec[] = [];
  const alertmanager = alertmanagerConfig(settings.receivers);
  if (design.store === "victoriametrics") {
    stack.push(
      service({
        name: "victoriametrics",
        description: "VictoriaMetrics time-series store",
        role: "monitoring",
        image: image("victoriametrics"),
        networks: [net.monitoring],
        ports: [publish("victoriametrics", PORTS.victoriametrics)],
        command: [
          "-storageDataPath=/storage",
          `-retentionPeriod=${settings.retentionDays}d`,
          `-httpListenAddr=:${PORTS.victoriametrics}`,
          // The store's UI shows vmalert's alerts and rules through this proxy.
          `-vmalert.proxyURL=http://vmalert:${PORTS.vmalert}`,
        ],
        volumes: [{ volume: "data", target: "/storage" }],
        healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${PORTS.victoriametrics}/health`]),
        memoryMb: memory("victoriametrics"),
        readOnlyRootFilesystem: true,
        waivers: [{ rule: "C9", reason: "the image defines no user and Docker creates its /storage volume root-owned; another uid needs that volume chowned first" }],
        metrics: { port: PORTS.victoriametrics, path: "/metrics" },
      }),
      service({
        name: "vmalert",
        description: "vmalert: evaluates the alert rules against VictoriaMetrics",
        role: "monitoring",
        image: image("vmalert"),
        networks: [net.monitoring],
        ports: [{ container: PORTS.vmalert }],
        command: [
          `-rule=${RULES_PATH.victoriametrics}`,
          `-datasource.url=http://victoriametrics:${PORTS.victoriametrics}`,
          `-notifier.url=http://alertmanager:${PORTS.alertmanager}`,
          // Alert state is written to the store and read back on start, so a
          // restart does not reset the `for` clocks (36 hours for backups).
          `-remoteWrite.url=http://victoriametrics:${PORTS.victoriametrics}`,
          `-remoteRead.url=http://victoriametrics:${PORTS.victoriametrics}`,
          `-evaluationInterval=${settings.evaluationIntervalSeconds}s`,
          `-httpListenAddr=:${PORTS.vmalert}`,
          `-external.url=${externalURL("metrics")}`,
          `-external.label=environment=${input.environment}`,
        ],
        healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${PORTS.vmalert}/health`]),
        memoryMb: memory("vmalert"),
        // It keeps nothing on disk, so it runs as nobody.
        user: "65534",
        waivers: [UPLOAD_WAIVER("its rule file")],
        dependsOn: ["victoriametrics", "alertmanager"],
        metrics: { port: PORTS.vmalert, path: "/metrics" },
      }),
    );
  } else {
    stack.push(
      service({
        name: "prometheus",
        description: "Prometheus: scrapes, stores and evaluates the alert rules",
        role: "monitoring",
        image: image("prometheus"),
        // It scrapes the services' own endpoints, so it joins their networks.
        networks: withEgress(reachingNetworks(input.services.filter((other) => other.metrics && local(other)), net.monitoring), spread ? net.egress : undefined),
        ports: [publish("prometheus", PORTS.prometheus)],
        command: [
          "--config.file=/etc/prometheus/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${settings.retentionDays}d`,
          `--web.external-url=${externalURL("metrics")}`,
        ],
        volumes: [{ volume: "data", target: "/prometheus" }],
        healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${PORTS.prometheus}/-/healthy`]),
        memoryMb: memory("prometheus"),
        user: "65534",
        waivers: [UPLOAD_WAIVER("its configuration and rule file")],
        dependsOn: ["alertmanager"],
        metrics: { port: PORTS.prometheus, path: "/metrics" },
      }),
    );
  }
  stack.push(
    service({
      name: "alertmanager",
      description: "Alertmanager: groups alerts and sends them to the stack's receivers",
      role: "monitoring",
      image: image("alertmanager"),
      // It sends email and webhooks, so it needs the network with a route out.
      networks: [net.monitoring, net.egress],
      ports: [publish("alertmanager", PORTS.alertmanager)],
      command: [
        `--config.file=${ALERTMANAGER_CONFIG_PATH}`,
        "--storage.path=/alertmanager",
        `--web.listen-address=:${PORTS.alertmanager}`,
        `--web.external-url=${externalURL("alerts")}`,
        // A single instance: no gossip port to open.
        "--cluster.listen-address=",
      ],
      files: [{ path: ALERTMANAGER_CONFIG_PATH, content: alertmanager.content }],
      volumes: [{ volume: "data", target: "/alertmanager" }],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${PORTS.alertmanager}/-/healthy`]),
      memoryMb: memory("alertmanager"),
      // The image's nobody owns /alertmanager, which a new volume inherits.
      user: "65534",
      waivers: [UPLOAD_WAIVER("its configuration and the receivers' credential files")],
      metrics: { port: PORTS.alertmanager, path: "/metrics" },
    }),
    service({
      name: "loki",
      description: "Loki log store",
      role: "monitoring",
      image: image("loki"),
      networks: [net.monitoring],
      ports: [publish("loki", PORTS.loki)],
      command: ["-config.file=/etc/loki/local-config.yaml"],
      volumes: [{ volume: "data", target: "/loki" }],
      user: "10001",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${PORTS.loki}/ready`], 30),
      memoryMb: memory("loki"),
      // Every path of the packaged config is under /loki, the volume.
      readOnlyRootFilesystem: true,
      tmpfs: ["/tmp"],
      metrics: { port: PORTS.loki, path: "/metrics" },
    }),
  );

  const others = input.services;
  if (design.agent === "exporters") stack.push(...exporterContainers(others, design, memory, image, ports, { local, egress: spread ? net.egress : undefined }));
  if (design.agent === "alloy") stack.push(alloyService(others, design, memory("alloy"), image("alloy")));
  else stack.push(promtailService(design, memory("promtail"), image("promtail")));
  // What runs on every server (the exporters, Promtail) is scraped on the
  // others at their private address.
  for (const [index, spec] of stack.entries()) {
    if (locate(spec, 0).some((instance) => instance.remote)) stack[index] = { ...spec, reachableFromPeers: true };
  }

  const grafanaIndex = stack.length;
  stack.push(
    service({
      name: "grafana",
      description: `Grafana dashboards over ${design.store === "victoriametrics" ? "VictoriaMetrics" : "Prometheus"} and Loki`,
      role: "monitoring",
      image: image("grafana"),
      networks: [...new Set([net.frontend, net.monitoring])],
      ports: [publish("grafana", ports.grafana)],
      env: {
        ...(ports.grafana === PORTS.grafana ? {} : { GF_SERVER_HTTP_PORT: String(ports.grafana) }),
        GF_SECURITY_ADMIN_USER: "admin",
        GF_SERVER_ROOT_URL: externalURL("grafana"),
        GF_USERS_ALLOW_SIGN_UP: "false",
        GF_AUTH_ANONYMOUS_ENABLED: "false",
        GF_ANALYTICS_REPORTING_ENABLED: "false",
      },
      // The image's start script reads every GF_<SECTION>_<KEY>__FILE into GF_<SECTION>_<KEY> for Grafana.
      secretFiles: [{ name: "grafana-admin-password", content: { secret: GRAFANA_ADMIN_PASSWORD_SECRET }, variable: "GF_SECURITY_ADMIN_PASSWORD__FILE", uid: 472 }],
      volumes: [{ volume: "data", target: "/var/lib/grafana" }],
      user: "472",
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.grafana}/api/health`], 30),
      memoryMb: memory("grafana"),
      waivers: [UPLOAD_WAIVER("its datasources and dashboards")],
      dependsOn: [store.name, "loki"],
      metrics: { port: ports.grafana, path: "/metrics" },
    }),
  );

  const everything = [...others, ...stack];
  const routes: RouteTarget[] = input.routes.map((route) => ({ hostname: `${route.subdomain}.${input.domain}`, service: route.service, port: route.port, basicAuth: Boolean(route.basicAuth) }));
  const targets = monitoringTargets(everything, routes);

  // Every instance of what is scraped or probed, and how it is reached. A
  // port away from home answers on the peer's private address only when the
  // service is published to peers (or on every address, as the ingress is).
  const specNamed = (name: string) => everything.find((candidate) => candidate.name === name);
  // A server without a private address is not reached at all; planning the
  // platform refuses such a layout anyway (infra:privateNetwork), since
  // Promtail there depends on Loki here.
  const addressed = (spec: ServiceSpec, instance: Located) => !instance.remote || placement.serversOf(spec).some((server) => server.name === instance.server && server.privateIp !== undefined);
  const published = (spec: ServiceSpec, port: number) => spec.reachableFromPeers === true || spec.ports.some((candidate) => candidate.container === port && publishAddress(candidate) === "0.0.0.0");
  const reachable = (spec: ServiceSpec, port: number, instance: Located) => !instance.remote || (addressed(spec, instance) && published(spec, port));
  const instancesOf = (name: string, port: number): { spec: ServiceSpec; instances: Located[] } | undefined => {
    const spec = specNamed(name);
    return spec ? { spec, instances: locate(spec, port) } : undefined;
  };
  const reachableInstances = (name: string, port: number): Located[] => {
    const found = instancesOf(name, port);
    return found ? found.instances.filter((instance) => reachable(found.spec, port, instance)) : [{ server: home.name, address: `${name}:${port}`, remote: false }];
  };
  for (const job of targets.jobs) {
    const [name, port] = scrapedEndpoint(job, design, ports);
    const found = instancesOf(name, port);
    for (const instance of found?.instances ?? []) {
      if (addressed(found!.spec, instance) && !reachable(found!.spec, port, instance)) {
        problems.push(`${name} on ${instance.server} cannot be scraped from ${home.name}: it is not published on a private address (reachableFromPeers)`);
      }
    }
  }
  // A service port away from home that peers cannot reach is not probed; its
  // server's cAdvisor still reports the container missing.
  const probes = targets.probes.filter((probe) => {
    const [name, port] = probedEndpoint(probe);
    const found = instancesOf(name, port);
    const available = reachableInstances(name, port).length > 0;
    if (!available && probe.job === "routes" && found?.instances.every((instance) => addressed(found.spec, instance))) {
      problems.push(`route ${probe.name} cannot be probed from ${home.name}: no instance of ${name} answers on a private address`);
    }
    return available;
  });

  const released = new Set(input.released ?? []);
  // The ingress proper, not certbot beside it.
  const ingress = everything.find((candidate) => candidate.role === "ingress" && candidate.ports.some((port) => port.container === 443));
  const ingressCounter = ingress ? INGRESS_COUNTERS[ingress.image.repository] : undefined;
  const ruleGroups = alertRules({
    thresholds: settings.thresholds,
    evaluationIntervalSeconds: settings.evaluationIntervalSeconds,
    jobs: targets.jobs,
    probes,
    containers: everything.map((candidate) => ({ service: candidate.name, container: input.containerName(candidate.name), ...(released.has(candidate.name) ? { released: true } : {}) })),
    httpCounters: [...(ingress && ingressCounter ? [{ service: ingress.name, ...ingressCounter }] : []), ...(input.httpCounters ?? [])],
    backups: everything.some((candidate) => candidate.backup !== undefined),
  });
  const rules = ruleFile(ruleGroups);
  const containerPattern = everything.map((candidate) => containerNamePattern(input.containerName(candidate.name), released.has(candidate.name))).join("|");

  const datasources: Datasource[] = [
    { uid: "metrics", name: design.store === "victoriametrics" ? "VictoriaMetrics" : "Prometheus", type: "prometheus", url: `http://${store.name}:${store.port}` },
    { uid: "logs", name: "Loki", type: "loki", url: `http://loki:${PORTS.loki}` },
    { uid: "alertmanager", name: "Alertmanager", type: "alertmanager", url: `http://alertmanager:${PORTS.alertmanager}` },
  ];
  const boards = dashboards({
    metrics: "metrics",
    logs: "logs",
    postgres: targets.jobs.some((job) => job.exporter === "postgres"),
    redis: targets.jobs.some((job) => job.exporter === "redis"),
    routes: probes.some((probe) => probe.job === "routes"),
    containerPattern,
  });
  const grafana = stack[grafanaIndex]!;
  stack[grafanaIndex] = {
    ...grafana,
    files: [
      { path: `${GRAFANA_PROVISIONING_DIR}/datasources/platform.yaml`, content: datasourcesFile(datasources, settings.scrapeIntervalSeconds) },
      { path: `${GRAFANA_PROVISIONING_DIR}/dashboards/platform.yaml`, content: dashboardProvidersFile() },
      ...boards.map((board) => ({ path: `${GRAFANA_DASHBOARDS_DIR}/${board.uid}.json`, content: dashboardJSON(board, datasources) })),
    ],
  };

  const withFiles = (name: string, files: ServiceSpec["files"]) => {
    const index = stack.findIndex((candidate) => candidate.name === name);
    stack[index] = { ...stack[index]!, files: [...stack[index]!.files, ...files] };
  };
  if (design.store === "victoriametrics") withFiles("vmalert", [{ path: RULES_PATH.victoriametrics, content: rules }]);
  const blackbox = blackboxConfig(targets.modules);
  if (design.agent === "alloy") {
    withFiles("alloy", [
      {
        path: ALLOY_CONFIG_PATH,
        content: alloyConfig({
          jobs: targets.jobs,
          probes,
          scrapeIntervalSeconds: settings.scrapeIntervalSeconds,
          hostname: input.hostname,
          lokiPushURL: `http://loki:${PORTS.loki}/loki/api/v1/push`,
          remoteWriteURL: design.store === "victoriametrics" ? `http://victoriametrics:${PORTS.victoriametrics}/api/v1/write` : `http://prometheus:${PORTS.prometheus}/api/v1/write`,
          textfileDirectory: TEXTFILE_DIR,
          containerPattern,
        }),
      },
      { path: BLACKBOX_CONFIG_PATH, content: blackbox },
    ]);
  } else {
    withFiles("blackbox-exporter", [{ path: "/etc/blackbox_exporter/config.yml", content: blackbox }]);
  }
  if (design.store === "prometheus") {
    withFiles("prometheus", [
      { path: RULES_PATH.prometheus, content: rules },
      { path: "/etc/prometheus/prometheus.yml", content: scrapeConfig({ design, settings, environment: input.environment, jobs: targets.jobs, probes, locate: reachableInstances }) },
    ]);
  }

  const scraper = design.agent === "alloy" ? stack.find((candidate) => candidate.name === "alloy")! : stack.find((candidate) => candidate.name === "prometheus")!;
  if (placement.serversOf(scraper)[0]?.name !== home.name) problems.push(`${scraper.name} runs on ${placement.serversOf(scraper)[0]?.name ?? "no server"}, not on ${home.name}, the monitoring server`);
  const prober = design.agent === "alloy" ? scraper : stack.find((candidate) => candidate.name === "blackbox-exporter")!;
  problems.push(...reachProblems(scraper, prober, targets.jobs, probes, everything, (name) => !local(specNamed(name) ?? scraper)));
  if (problems.length > 0) throw new Error(`monitoring: ${problems.join("; ")}`);

  return {
    services: stack,
    plan: {
      store: design.store,
      agent: design.agent,
      services: stack.map((candidate) => candidate.name),
      scrapeIntervalSeconds: settings.scrapeIntervalSeconds,
      evaluationIntervalSeconds: settings.evaluationIntervalSeconds,
      jobs: targets.jobs,
      probes,
      ruleGroups,
      admin: admin.map((ui) => {
        const route = routeOf(ui);
        return {
          ui: ui.ui,
          service: ui.service,
          access: route ? `https://${route.subdomain}.${input.domain} (${route.basicAuth ? `basic_auth as ${settings.adminUser}` : "its own login"})` : `127.0.0.1:${ui.port} (SSH tunnel)`,
        };
      }),
      notifies: alertmanager.notifies,
      secretFiles: alertmanager.secretFiles.map((file) => ({ ...file, service: "alertmanager" })),
      datasources,
    },
  };
}

/** Where a scrape job's metrics are served: the service's own endpoint, or the exporter that speaks for it. */
function scrapedEndpoint(job: ScrapeJob, design: MonitoringDesign, ports: Ports): [string, number] {
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
function probedEndpoint(probe: Probe): [string, number] {
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
export function scrapeConfig(input: { design: MonitoringDesign; settings: MonitoringSettings; environment: string; jobs: readonly ScrapeJob[]; probes: readonly Probe[]; locate?: Locator }): string {
  const ports = portsOf(input.design);
  const locate: Locator = input.locate ?? ((service, port) => [{ server: "host", address: `${service}:${port}` }]);
  const targetsOf = (job: ScrapeJob): ScrapeTarget[] => {
    const [name, port] = scrapedEndpoint(job, input.design, ports);
    const instances = locate(name, port);
    return instances.map((instance) => ({
      address: instance.address,
      labels: job.service === "host" ? { instance: instance.server } : { instance: job.service, ...(instances.length > 1 || instance.remote ? { server: instance.server } : {}) },
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

/**
 * The host's /proc, /sys and root filesystem, read-only, for node-exporter's
 * collectors (free disk on every mount, the backup job's textfile metrics).
 */
const HOST_ROOT_BINDS = [
  { hostPath: "/proc", target: HOST_MOUNTS.proc, readOnly: true },
  { hostPath: "/sys", target: HOST_MOUNTS.sys, readOnly: true },
  { hostPath: "/", target: HOST_MOUNTS.root, readOnly: true },
] as const;

/**
 * The host's /run under the root bind holds docker.sock and containerd's
 * socket, which a read-only bind does not close (C14): a tmpfs over it
 * hides them. /run holds no disk, so free-disk reports lose nothing.
 */
const HOST_RUN_MASK = `${HOST_MOUNTS.root}/run`;

/** Where Alloy keeps its write-ahead log and state: its data volume. */
const ALLOY_STORAGE_PATH = "/var/lib/alloy-storage";

function alloyService(others: readonly ServiceSpec[], design: MonitoringDesign, memoryMb: number, image: ServiceSpec["image"]): ServiceSpec {
  // The built-in exporters' credentials, as files its configuration reads
  // (alloy-config.ts); Alloy runs as root (C9 below).
  const files = new Map<string, SecretFileSpec>();
  for (const other of others) {
    const exporter = other.exporter;
    if (exporter?.kind === "postgres") {
      const name = EXPORTER_SECRET_FILES.postgres;
      files.set(name, { name, content: { secretTemplate: `postgresql://${exporter.user}:{{${exporter.passwordSecret}}}@${other.name}:${other.ports[0]?.container ?? 5432}/${exporter.database}?sslmode=disable` }, uid: 0 });
    }
    if (exporter?.kind === "redis" && exporter.passwordSecret) files.set(EXPORTER_SECRET_FILES.redis, { name: EXPORTER_SECRET_FILES.redis, content: { secret: exporter.passwordSecret }, uid: 0 });
  }
  return service({
    name: "alloy",
    description: "Grafana Alloy: container logs to Loki; host, container, database and probe metrics to the store",
    role: "monitoring",
    image,
    networks: [...design.networks.agent],
    ports: [{ container: ALLOY_PORT }],
    // Not under the image's /var/lib/alloy: that is alloy's (uid 473, 0770),
    // and root without capabilities cannot enter it, so Alloy would exit at
    // start. A mount point the image lacks is made root's by Docker.
    command: ["run", `--server.http.listen-addr=0.0.0.0:${ALLOY_PORT}`, `--storage.path=${ALLOY_STORAGE_PATH}`, ALLOY_CONFIG_PATH],
    secretFiles: [...files.values()],
    volumes: [{ volume: "data", target: ALLOY_STORAGE_PATH }],
    binds: HOST_ROOT_BINDS,
    tmpfs: [HOST_RUN_MASK],
    // Container discovery and logs (discovery.docker, loki.source.docker) and
    // cAdvisor's container details, through the socket proxy (C14).
    dockerAPI: ["ping", "version", "info", "container-list", "container-inspect", "container-logs", "network-list"],
    waivers: [
      UPLOAD_WAIVER("its configuration"),
      {
        rule: "C9",
        reason:
          "Docker creates its storage volume root-owned (the image's own /var/lib/alloy is alloy's, 0770, see the command), and its node and cAdvisor exporters read host paths only root may read; running it as alloy needs both checked on a running container first",
      },
      {
        rule: "C3",
        reason:
          "node-exporter's filesystem collector needs the host's root, read-only, to report free disk on every mount (seed 000's 20 GB alert) and to read the backup job's textfile metrics (B9); Alloy runs with every capability dropped and no-new-privileges",
      },
    ],
    healthcheck: healthcheck(["CMD-SHELL", `bash -c ':> /dev/tcp/127.0.0.1/${ALLOY_PORT}'`]),
    memoryMb,
    dependsOn: [storeService(design).name, "loki"],
    metrics: { port: ALLOY_PORT, path: "/metrics" },
  });
}

function promtailService(design: MonitoringDesign, memoryMb: number, image: ServiceSpec["image"]): ServiceSpec {
  const config = [
    "server:",
    `  http_listen_port: ${PORTS.promtail}`,
    "positions:",
    "  filename: /var/lib/promtail/positions.yaml",
    "clients:",
    `  - url: http://loki:${PORTS.loki}/loki/api/v1/push`,
    "scrape_configs:",
    "  - job_name: containers",
    "    docker_sd_configs:",
    `      - host: ${DOCKER_API_URL}`,
    "    relabel_configs:",
    "      - source_labels: [__meta_docker_container_name]",
    "        regex: /(.*)",
    "        target_label: container",
    "      - source_labels: [__meta_docker_container_label_infra_service]",
    "        target_label: service",
    "",
  ].join("\n");
  return service({
    name: "promtail",
    description: "Promtail: ships container logs to Loki",
    role: "monitoring",
    // Every server's containers log locally; on the others Loki is reached through a forwarder.
    placement: "host",
    image,
    networks: [design.networks.monitoring],
    ports: [{ container: PORTS.promtail }],
    command: ["-config.file=/etc/promtail/config.yml"],
    files: [{ path: "/etc/promtail/config.yml", content: config }],
    volumes: [{ volume: "positions", target: "/var/lib/promtail" }],
    // docker_sd_configs lists containers and networks, then follows each one's logs, through the socket proxy (C14).
    dockerAPI: ["ping", "version", "container-list", "container-inspect", "container-logs", "network-list"],
    waivers: [UPLOAD_WAIVER("its configuration"), { rule: "C9", reason: "the image runs as root and Docker creates its positions volume root-owned; another uid needs that volume chowned first" }],
    healthcheck: healthcheck(["CMD-SHELL", `bash -c ':> /dev/tcp/127.0.0.1/${PORTS.promtail}'`]),
    memoryMb,
    dependsOn: ["loki"],
    metrics: { port: PORTS.promtail, path: "/metrics" },
  });
}

/**
 * One container per exporter. node-exporter and cAdvisor run on every server;
 * the exporter of a service runs wherever that service does (same role and
 * placement), on the monitoring network and, unless the service is on it
 * too, the service's own network. Images without a shell or wget (scratch)
 * are checked by running their binary.
 */
function exporterContainers(
  others: readonly ServiceSpec[],
  design: MonitoringDesign,
  memory: (part: MonitoringPart) => number,
  image: (part: MonitoringPart) => ServiceSpec["image"],
  ports: Ports,
  reach: { readonly local: (service: ServiceSpec) => boolean; readonly egress: string | undefined },
): ServiceSpec[] {
  const monitoring = design.networks.monitoring;
  const list: ServiceSpec[] = [
    service({
      name: "node-exporter",
      description: "node-exporter: the host's CPU, memory, disks and the backup job's textfile metrics",
      role: "monitoring",
      placement: "host",
      image: image("node-exporter"),
      networks: [monitoring],
      ports: [{ container: ports.node }],
      command: [`--path.procfs=${HOST_MOUNTS.proc}`, `--path.sysfs=${HOST_MOUNTS.sys}`, `--path.rootfs=${HOST_MOUNTS.root}`, `--collector.textfile.directory=${HOST_MOUNTS.root}${TEXTFILE_DIR}`],
      binds: HOST_ROOT_BINDS,
      tmpfs: [HOST_RUN_MASK],
      waivers: [{ rule: "C3", reason: "the filesystem collector needs the host's root, read-only, to report free disk on every mount and to read the backup job's textfile metrics" }],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.node}/metrics`]),
      memoryMb: memory("node-exporter"),
      readOnlyRootFilesystem: true,
      user: "65534",
    }),
    service({
      name: "cadvisor",
      description: "cAdvisor: per-container CPU, memory and restarts",
      role: "monitoring",
      placement: "host",
      image: image("cadvisor"),
      networks: [monitoring],
      ports: [{ container: ports.cadvisor }],
      command: [
        "--docker_only=true",
        "--housekeeping_interval=15s",
        "--disable_metrics=disk,diskIO,tcp,udp,percpu,sched,process,hugetlb,referenced_memory,cpu_topology,resctrl",
        `--docker=${DOCKER_API_URL}`,
        ...(ports.cadvisor === PORTS.cadvisor ? [] : [`--port=${ports.cadvisor}`]),
      ],
      binds: [
        { hostPath: "/sys", target: "/sys", readOnly: true },
        { hostPath: "/var/lib/docker/image", target: "/var/lib/docker/image", readOnly: true },
      ],
      // It finds containers by their cgroups, then asks the daemon about each,
      // through the socket proxy (C14): the daemon's facts, and each container's.
      dockerAPI: ["ping", "version", "info", "container-inspect"],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.cadvisor}/healthz`]),
      memoryMb: memory("cadvisor"),
      readOnlyRootFilesystem: true,
      waivers: [{ rule: "C9", reason: "it reads every container's cgroup under /sys and the image layers under /var/lib/docker/image, which only root may read" }],
    }),
  ];
  for (const other of others) {
    const exporter = other.exporter;
    if (!exporter) continue;
    const networks = other.networks.includes(monitoring) ? [monitoring] : [monitoring, ...other.networks.slice(0, 1)];
    const beside = { role: other.role, ...(other.placement ? { placement: other.placement } : {}) };
    const port = other.ports[0]?.container;
    if (exporter.kind === "postgres") {
      list.push(
        service({
          name: `${other.name}-exporter`,
          description: `postgres_exporter for ${other.name}`,
          ...beside,
          image: image("postgres-exporter"),
          networks,
          ports: [{ container: ports.postgres }],
          // postgres_exporter builds its connection from DATA_SOURCE_URI and
          // _USER, with the password read from DATA_SOURCE_PASS_FILE.
          env: { DATA_SOURCE_URI: `${other.name}:${port ?? 5432}/${exporter.database}?sslmode=disable`, DATA_SOURCE_USER: exporter.user },
          secretFiles: [{ name: "postgres-password", content: { secret: exporter.passwordSecret }, variable: "DATA_SOURCE_PASS_FILE", uid: 65534 }],
          healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.postgres}/metrics`]),
          memoryMb: memory("postgres-exporter"),
          readOnlyRootFilesystem: true,
          // The image's own user, nobody.
          user: "65534",
          dependsOn: [other.name],
        }),
      );
    } else if (exporter.kind === "redis") {
      const redisAddress = `redis://${other.name}:${port ?? 6379}`;
      list.push(
        service({
          name: `${other.name}-exporter`,
          description: `redis_exporter for ${other.name}`,
          ...beside,
          image: image("redis-exporter"),
          networks,
          ports: [{ container: ports.redis }],
          env: { REDIS_ADDR: redisAddress },
          // REDIS_PASSWORD_FILE is a JSON map of passwords by the exact address scraped (redis_exporter's LoadPwdFile).
          ...(exporter.passwordSecret
            ? { secretFiles: [{ name: "redis-passwords.json", content: { secretTemplate: `{${JSON.stringify(redisAddress)}: {{${exporter.passwordSecret}}}}\n`, encoding: "json" as const }, variable: "REDIS_PASSWORD_FILE", uid: 59000 }] }
            : {}),
          // A scratch image: nothing but the exporter's binary to run.
          healthcheck: healthcheck(["CMD", "/redis_exporter", "--version"]),
          memoryMb: memory("redis-exporter"),
          readOnlyRootFilesystem: true,
          // The image's own user (USER 59000:59000 in its Dockerfile).
          user: "59000",
          dependsOn: [other.name],
        }),
      );
    } else {
      list.push(
        service({
          name: `${other.name}-exporter`,
          description: `nginx-prometheus-exporter for ${other.name}`,
          ...beside,
          image: image("nginx-exporter"),
          networks,
          ports: [{ container: ports.nginx }],
          command: [`--nginx.scrape-uri=http://${other.name}:${exporter.statusPort}${exporter.statusPath}`],
          // A scratch image: nothing but the exporter's binary to run.
          healthcheck: healthcheck(["CMD", "/usr/bin/nginx-prometheus-exporter", "--version"]),
          memoryMb: memory("nginx-exporter"),
          readOnlyRootFilesystem: true,
          // The image's own user (USER 1001:1001 in its Dockerfile).
          user: "1001",
          dependsOn: [other.name],
        }),
      );
    }
  }
  list.push(
    service({
      name: "blackbox-exporter",
      description: "blackbox_exporter: probes the routes (uptime, TLS expiry) and every service's port",
      role: "monitoring",
      image: image("blackbox-exporter"),
      networks: withEgress(reachingNetworks(others.filter((other) => other.ports.length > 0 && reach.local(other)), monitoring), reach.egress),
      ports: [{ container: ports.blackbox }],
      command: ["--config.file=/etc/blackbox_exporter/config.yml"],
      healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${ports.blackbox}/-/healthy`]),
      memoryMb: memory("blackbox-exporter"),
      // TCP and HTTP probes need no privilege (ICMP would).
      user: "65534",
      waivers: [UPLOAD_WAIVER("its module configuration")],
    }),
  );
  return list;
}

/** `networks` plus the one with a route off the host, when peers are reached over the private network. */
function withEgress(networks: string[], egress: string | undefined): string[] {
  return egress === undefined || networks.includes(egress) ? networks : [...networks, egress];
}

/** The monitoring network plus one network of each service not already reachable. */
function reachingNetworks(targets: readonly ServiceSpec[], monitoring: string): string[] {
  const networks = [monitoring];
  for (const target of targets) {
    if (!target.networks.some((network) => networks.includes(network)) && target.networks[0]) networks.push(target.networks[0]);
  }
  return networks;
}

/**
 * Every target on the scraper's own server must share a network with whoever
 * scrapes or probes it; `remote` names those reached over the private network instead.
 */
function reachProblems(scraper: ServiceSpec, prober: ServiceSpec, jobs: readonly ScrapeJob[], probes: readonly Probe[], services: readonly ServiceSpec[], remote: (service: string) => boolean): string[] {
  const problems: string[] = [];
  const shares = (from: ServiceSpec, name: string) => {
    if (remote(name)) return true;
    const target = services.find((candidate) => candidate.name === name);
    return target !== undefined && (target.name === from.name || target.networks.some((network) => from.networks.includes(network)));
  };
  for (const job of jobs) {
    if (job.kind !== "endpoint") continue;
    if (!shares(scraper, job.service)) problems.push(`${scraper.name} cannot reach ${job.address} to scrape it: they share no network`);
  }
  for (const probe of probes) {
    const [host] = probedEndpoint(probe);
    if (!shares(prober, host)) problems.push(`${prober.name} cannot reach ${probe.target} to probe it: they share no network`);
  }
  return problems;
}

/**
 * The monitoring plan with `added` rule groups after its own, and each
 * service's rule file (vmalert's or Prometheus's) rewritten to hold them: how
 * the platform adds rules its blueprint does not know of (the ops host's
 * watch). A rule file that is not the plan's own is an error, not a guess.
 */
export function withAddedRuleGroups<S extends Pick<ServiceSpec, "name" | "files">>(plan: MonitoringPlan, services: readonly S[], added: readonly RuleGroup[]): { plan: MonitoringPlan; services: S[] } {
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
