import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { ALERTMANAGER_CONFIG_PATH } from "../../components/monitoring/alertmanager-config";
import { BLACKBOX_CONFIG_PATH } from "../../components/monitoring/alloy-config";
import { GRAFANA_PROVISIONING_DIR } from "../../components/monitoring/grafana-provisioning";
import { scrapeConfig } from "../../components/monitoring/scrape-config";
import { PROBE_JOBS } from "../../components/monitoring/targets";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import type { PlatformModel } from "../../infra/platform-model";
import { overlayOverrides, type PlanResult } from "../../tools/plan/plan";
import { containerNamed, planOf, resourcesOf, uploadOf, type PlannedResource } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { blueprintModel, caseTests, fileOf, platformAlertCases, runTool, s, type AlertCase, type ExpectedAlert, type Series } from "./support";

/**
 * The generated monitoring of every blueprint, taken from the plan of both
 * shipped stacks (`-c blueprint=<name>`) and handed to the real validators:
 * promtool for the scrape configuration and the rules, with a `promtool test
 * rules` case for every alert each blueprint generates; amtool for
 * Alertmanager; blackbox_exporter for the probe modules. Around them, what
 * the issue asks of every blueprint: the metrics store of its seed, scrape
 * targets that are exactly the services declaring metrics (and the exporters
 * of those declaring one), a probe of every public route, admin UIs only on
 * 127.0.0.1 or behind authentication, and the memory budget on both stacks.
 */

const STACKS = ["prod", "preprod"] as const;
type Stack = (typeof STACKS)[number];

interface Counter {
  /** A response series of the counter with status `code` (`200`, `500`). */
  readonly series: (code: string) => string;
  /** The labels the alert carries besides severity and group. */
  readonly labels: Record<string, string>;
  /** Prepended to the summary when a blueprint has several counters. */
  readonly summaryPrefix?: string;
}

interface Facts {
  readonly seed: string;
  readonly store: "victoriametrics" | "prometheus";
  readonly prefix: string;
  /** Where the rule file is uploaded. */
  readonly rules: readonly [service: string, path: string];
  readonly blackbox: readonly [service: string, path: string];
  /** The rule groups its components call for. */
  readonly groups: readonly string[];
  /** The counters the 5xx alert reads, as the seed's components export them. */
  readonly counters: readonly Counter[];
  /** Memory profile on prod's existing 16 GB VPS and on preprod's 4 GB CX23. */
  readonly profile: Readonly<Record<Stack, "seed" | "compact">>;
}

const caddy: Counter = { series: (code) => `caddy_http_request_duration_seconds_count{server="srv0",code="${code}"}`, labels: { server: "srv0" } };
const traefik: Counter = {
  series: (code) => `traefik_entrypoint_requests_total{entrypoint="websecure",code="${code}",method="GET",protocol="http"}`,
  labels: { entrypoint: "websecure" },
};
/** prometheus-fastapi-instrumentator groups status codes into classes. */
const fastapi = (job: string, summaryPrefix?: string): Counter => ({
  series: (code) => `http_requests_total{job="${job}",handler="/items",method="GET",status="${code[0]}xx"}`,
  labels: { job },
  ...(summaryPrefix ? { summaryPrefix } : {}),
});
const PROMETHEUS_FILES = { rules: ["prometheus", "/etc/prometheus/rules.yml"], blackbox: ["blackbox-exporter", "/etc/blackbox_exporter/config.yml"] } as const;

/** The platform's group, not the blueprint's: both stacks run an ops host (infra:opsHost), which each server's own alerting watches. */
const OPS_WATCH = "ops-host-watch";

const BLUEPRINTS: Readonly<Record<string, Facts>> = {
  vpai: {
    seed: "002",
    store: "victoriametrics",
    prefix: "vpai",
    rules: ["vmalert", "/etc/vmalert/rules.yml"],
    blackbox: ["alloy", BLACKBOX_CONFIG_PATH],
    groups: ["host", "containers", "apps", "postgres", "redis", "backups", "routes", OPS_WATCH],
    counters: [caddy],
    profile: { prod: "seed", preprod: "seed" },
  },
  "ai-video": {
    seed: "000",
    store: "prometheus",
    prefix: "aivideo",
    ...PROMETHEUS_FILES,
    // Seed 000 names no database exporter; the audit's alerts are disk, downtime and error rate.
    groups: ["host", "containers", "apps", "backups", "routes", OPS_WATCH],
    counters: [traefik],
    profile: { prod: "seed", preprod: "compact" },
  },
  fastapi: {
    seed: "001",
    store: "prometheus",
    prefix: "fastapi",
    ...PROMETHEUS_FILES,
    groups: ["host", "containers", "apps", "postgres", "backups", "routes", OPS_WATCH],
    counters: [fastapi("backend")],
    profile: { prod: "seed", preprod: "seed" },
  },
  nextmavens: {
    seed: "003",
    store: "prometheus",
    prefix: "nextmavens",
    ...PROMETHEUS_FILES,
    // The nightly dump of the managed PostgreSQL writes the backup metrics the backups group watches;
    // the portal's /api/health/db is probed for seed 003's database connection alert.
    groups: ["host", "containers", "apps", "dependencies", "backups", "routes", OPS_WATCH],
    counters: [traefik],
    profile: { prod: "seed", preprod: "seed" },
  },
  galion: {
    seed: "004",
    store: "prometheus",
    prefix: "galion",
    ...PROMETHEUS_FILES,
    groups: ["host", "containers", "apps", "postgres", "redis", "backups", "routes", OPS_WATCH],
    // One rule over both APIs, the summary naming the one that fails.
    counters: [fastapi("app-api", "app-api: "), fastapi("studio-api", "studio-api: ")],
    profile: { prod: "seed", preprod: "compact" },
  },
};
const NAMES = Object.keys(BLUEPRINTS);

const plan = (stack: Stack, blueprint: string) => planOf(stack, { overrides: [`blueprint=${blueprint}`] });
const models = new Map<string, PlatformModel>();
function model(stack: Stack, blueprint: string): PlatformModel {
  const key = `${stack}/${blueprint}`;
  if (!models.has(key)) models.set(key, blueprintModel(stack, blueprint));
  return models.get(key)!;
}

function container(graph: PlanResult, prefix: string, service: string): PlannedResource {
  return containerNamed(graph, `${prefix}-${service}`);
}

/** A file uploaded into a container of the graph; undefined when the uploads are masked because one of them is a credential. */
function upload(graph: PlanResult, prefix: string, service: string, path: string): string | undefined {
  const uploads = container(graph, prefix, service).inputs.uploads;
  if (uploads === "[secret]") return undefined;
  return uploadOf(graph, `${prefix}-${service}`, path);
}

function uploaded(graph: PlanResult, prefix: string, service: string, path: string): string {
  const content = upload(graph, prefix, service, path);
  if (content === undefined) throw new Error(`${prefix}-${service}'s uploads are masked`);
  return content;
}

const published = (resource: PlannedResource) =>
  ((resource.inputs.ports ?? []) as { ip: string; external: number }[]).map((port) => `${port.ip}:${port.external}`);

interface ScrapeConfig {
  job_name: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

const scrapeConfigs = (config: string) => (parse(config) as { scrape_configs: ScrapeConfig[] }).scrape_configs;

const timings: Record<string, number> = {};
function timed(name: string, tool: string, args: string[], files: Record<string, string>) {
  const run = runTool(tool, args, files);
  timings[name] = (timings[name] ?? 0) + run.ms;
  return run;
}

/** Prometheus's config with its rule file where promtool, run in a scratch directory, finds it. */
function checkConfig(name: string, config: string, rules: string) {
  return timed(`${name} promtool check config`, "promtool", ["check", "config", "prometheus.yml"], {
    "prometheus.yml": config.replace("/etc/prometheus/rules.yml", "rules.yml"),
    "rules.yml": rules,
  });
}

describe.each(NAMES)("generated monitoring of %s", (name) => {
  const facts = BLUEPRINTS[name]!;

  describe.each(STACKS)("on %s", (stack) => {
    it(`stores metrics in ${facts.store} (seed ${facts.seed}), with Grafana's datasource and the rules on it`, async () => {
      const graph = await plan(stack, name);
      expect(graph.policy.violations).toEqual([]);
      expect(graph.monitoring!.store).toBe(facts.store);
      const containers = resourcesOf(graph, "docker:index/container:Container").map((resource) => String(resource.inputs.name));
      const other = facts.store === "victoriametrics" ? "prometheus" : "victoriametrics";
      expect(containers).toContain(`${facts.prefix}-${facts.store}`);
      expect(containers).not.toContain(`${facts.prefix}-${other}`);
      const datasources = parse(uploaded(graph, facts.prefix, "grafana", `${GRAFANA_PROVISIONING_DIR}/datasources/platform.yaml`)) as {
        datasources: { uid: string; url: string }[];
      };
      expect(datasources.datasources.find((source) => source.uid === "metrics")!.url).toBe(
        `http://${facts.store}:${facts.store === "prometheus" ? 9090 : 8428}`,
      );
      expect(uploaded(graph, facts.prefix, facts.rules[0], facts.rules[1])).toBe(fileOf(model(stack, name), facts.rules[0], facts.rules[1]));
    });

    it("passes promtool check rules, with the rule groups its components call for", async () => {
      const graph = await plan(stack, name);
      const rules = uploaded(graph, facts.prefix, facts.rules[0], facts.rules[1]);
      const run = timed(`${name} promtool check rules`, "promtool", ["check", "rules", "rules.yml"], { "rules.yml": rules });
      expect(run.ok, run.output).toBe(true);
      const groups = (parse(rules) as { groups: { name: string; interval: string }[] }).groups;
      expect(groups.map((group) => group.name)).toEqual(facts.groups);
      // Seed 001: rules are evaluated every 30 s.
      for (const group of groups) expect(group.interval, group.name).toBe("30s");
      expect(run.output).toContain(`SUCCESS: ${graph.monitoring!.alerts.length} rules found`);
    });

    it("passes promtool check config: scraped every 15 s, alerting to Alertmanager", async () => {
      const graph = await plan(stack, name);
      if (facts.store !== "prometheus") {
        // Alloy scrapes here and writes to VictoriaMetrics: its jobs, rendered in Prometheus's format, for promtool.
        const platform = model(stack, name);
        const config = scrapeConfig({
          design: VPAI_MONITORING,
          settings: platform.config.monitoring,
          environment: stack,
          jobs: platform.spec.monitoring!.jobs,
          probes: platform.spec.monitoring!.probes,
        });
        const run = timed(`${name} promtool check config`, "promtool", ["check", "config", "--syntax-only", "prometheus.yml"], { "prometheus.yml": config });
        expect(run.ok, run.output).toBe(true);
        expect(resourcesOf(graph, "docker:index/container:Container").map((resource) => resource.inputs.name)).toContain(`${facts.prefix}-alloy`);
        return;
      }
      const config = uploaded(graph, facts.prefix, "prometheus", "/etc/prometheus/prometheus.yml");
      const run = checkConfig(name, config, uploaded(graph, facts.prefix, "prometheus", "/etc/prometheus/rules.yml"));
      expect(run.ok, run.output).toBe(true);
      const document = parse(config) as {
        global: Record<string, unknown>;
        alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
        rule_files: string[];
      };
      expect(document.global).toMatchObject({ scrape_interval: "15s", evaluation_interval: "30s", external_labels: { environment: stack } });
      expect(document.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(["alertmanager:9093"]);
      expect(document.rule_files).toEqual(["/etc/prometheus/rules.yml"]);
    });

    it("passes amtool check-config, sending to the stack's email receiver with the password in a file", async () => {
      const graph = await plan(stack, name);
      // The SMTP password is uploaded beside the config, so the graph masks every upload of Alertmanager.
      expect(upload(graph, facts.prefix, "alertmanager", ALERTMANAGER_CONFIG_PATH)).toBeUndefined();
      expect(graph.secretsToSet.map((secret) => secret.key)).toContain("infra:alertSmtpPassword");
      const config = fileOf(model(stack, name), "alertmanager", ALERTMANAGER_CONFIG_PATH);
      const run = timed(`${name} amtool check-config`, "amtool", ["check-config", "alertmanager.yml"], { "alertmanager.yml": config });
      expect(run.ok, run.output).toBe(true);
      const document = parse(config) as { global: Record<string, unknown>; receivers: { name: string; email_configs?: { to: string }[] }[] };
      expect(document.global).toMatchObject({ smtp_smarthost: "smtp.example.com:587", smtp_auth_password_file: "/etc/alertmanager/secrets/smtp-password" });
      expect(document.receivers[0]!.email_configs).toEqual([{ to: "ops@vpai.example.com", send_resolved: true }]);
      expect(graph.monitoring!.notifies).toEqual(["email to ops@vpai.example.com via smtp.example.com:587"]);
    });

    it("scrapes exactly the services that declare metrics, the exporters of those that declare one, and each host's node-exporter and cAdvisor", async () => {
      const graph = await plan(stack, name);
      const services = model(stack, name).spec.services;
      const expected = [
        "node",
        "cadvisor",
        ...services.flatMap((service) => [...(service.metrics ? [service.name] : []), ...(service.exporter ? [`${service.exporter.kind}-exporter`] : [])]),
      ].sort();
      expect(graph.monitoring!.scraped.map((entry) => entry.job).sort()).toEqual(expected);
      if (facts.store !== "prometheus") return;
      const jobs = scrapeConfigs(uploaded(graph, facts.prefix, "prometheus", "/etc/prometheus/prometheus.yml")).filter(
        (job) => !(PROBE_JOBS as readonly string[]).includes(job.job_name),
      );
      expect(jobs.map((job) => job.job_name).sort()).toEqual(expected);
      for (const service of services.filter((candidate) => candidate.metrics)) {
        expect(
          jobs.find((job) => job.job_name === service.name)!.static_configs.flatMap((group) => group.targets),
          service.name,
        ).toEqual([`${service.name}:${service.metrics!.port}`]);
      }
      for (const service of services.filter((candidate) => candidate.exporter)) {
        const [target] = jobs.find((job) => job.job_name === `${service.exporter!.kind}-exporter`)!.static_configs.flatMap((group) => group.targets);
        expect(target, service.name).toMatch(new RegExp(`^${service.name}-exporter:\\d+$`));
        expect(resourcesOf(graph, "docker:index/container:Container").map((resource) => resource.inputs.name)).toContain(
          `${facts.prefix}-${service.name}-exporter`,
        );
      }
    });

    it("probes every public route through the ingress, with the route's name as Host and TLS server name (blackbox_exporter --config.check)", async () => {
      const graph = await plan(stack, name);
      const hostnames = graph.routes.map((route) => route.hostname).sort();
      expect(hostnames.length).toBeGreaterThan(0);
      const probes = graph.monitoring!.probed.filter((probe) => probe.job === "routes");
      expect(probes.map((probe) => probe.name).sort()).toEqual(hostnames);
      const blackbox = uploaded(graph, facts.prefix, facts.blackbox[0], facts.blackbox[1]);
      const run = timed(`${name} blackbox_exporter --config.check`, "prometheus-blackbox-exporter", ["--config.check", "--config.file=blackbox.yml"], {
        "blackbox.yml": blackbox,
      });
      expect(run.ok, run.output).toBe(true);
      const modules = (
        parse(blackbox) as { modules: Record<string, { prober: string; http?: { headers: { Host: string }; tls_config: { server_name: string } } }> }
      ).modules;
      for (const probe of probes) {
        expect(modules[probe.module]!.http, probe.name).toMatchObject({ headers: { Host: probe.name }, tls_config: { server_name: probe.name } });
      }
      if (facts.store !== "prometheus") return;
      const routes = scrapeConfigs(uploaded(graph, facts.prefix, "prometheus", "/etc/prometheus/prometheus.yml")).find((job) => job.job_name === "routes")!;
      expect(routes.static_configs.map((group) => group.labels.instance).sort()).toEqual(hostnames);
      for (const group of routes.static_configs) expect(modules[group.labels.__param_module!]!.http!.headers.Host).toBe(group.labels.instance);
    });

    it("keeps the admin UIs on 127.0.0.1 or behind authentication: nothing of the stack is published publicly, and no route reaches a UI without a login", async () => {
      const graph = await plan(stack, name);
      const monitoring = graph.monitoring!;
      for (const entry of monitoring.admin) {
        const addresses = published(container(graph, facts.prefix, entry.service));
        for (const address of addresses) expect(address, entry.service).toMatch(/^127\.0\.0\.1:/);
        const routes = graph.routes.filter((route) => route.service === entry.service);
        if (entry.ui === "grafana") continue;
        // Prometheus, Alertmanager and Loki have no login: only the ingress's basic auth may front them (adminAccess ingress, or caddy behind Caddy).
        if (routes.length > 0) expect(entry.access, entry.service).toMatch(/basic_auth as /);
        else expect(entry.access, entry.service).toMatch(/^127\.0\.0\.1:\d+ \(SSH tunnel\)$/);
      }
      for (const host of graph.hosts)
        expect(
          host.exposed.filter((exposure) => !/\((caddy|nginx|traefik)\)$/.test(exposure)),
          host.server,
        ).toEqual([]);
    });

    it(`fits its server's memory budget with the ${facts.profile[stack]} limits`, async () => {
      const graph = await plan(stack, name);
      expect(graph.memoryProfile).toBe(facts.profile[stack]);
      for (const host of graph.hosts) expect(host.budget.headroomMb, host.server).toBeGreaterThanOrEqual(0);
    });
  });

  it("has a promtool test rules case for every alert it generates, firing on the series that should trigger it and silent on the rest", async () => {
    const files = new Map<string, string>();
    for (const stack of STACKS) {
      const graph = await plan(stack, name);
      const rules = uploaded(graph, facts.prefix, facts.rules[0], facts.rules[1]);
      files.set(rules, stack);
    }
    // prod and preprod share thresholds and container names, so one rule file usually serves both.
    for (const [rules, stack] of files) {
      const graph = await plan(stack as Stack, name);
      const cases = alertCases(facts, model(stack as Stack, name), graph);
      const document = parse(rules) as { groups: { name: string; rules: { alert: string }[] }[] };
      const names = document.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
      for (const alert of names) expect(cases[alert], `no case for ${alert}`).toBeDefined();
      for (const group of document.groups) {
        const alerts = [...new Set(group.rules.map((rule) => rule.alert))];
        const test = stringify({ rule_files: ["rules.yml"], evaluation_interval: "30s", tests: alerts.flatMap((alert) => caseTests(alert, cases[alert]!)) });
        const run = timed(`${name} promtool test rules (${group.name})`, "promtool", ["test", "rules", "test.yml"], {
          "rules.yml": stringify({ groups: [group] }),
          "test.yml": test,
        });
        expect(run.ok, `${group.name}: ${run.output}`).toBe(true);
      }
    }
  });
});

/**
 * Every alert's case for one blueprint: the shared cases (support.ts) with
 * this blueprint's container names, route and scrape job, plus its own
 * response counters and database and cache series.
 */
function alertCases(facts: Facts, platform: PlatformModel, graph: PlanResult): Record<string, AlertCase> {
  const victim = platform.spec.services.find((service) => service.role === "app")!.name;
  const errors = (perStep: number): Series[] =>
    facts.counters.flatMap((counter) => [s(counter.series("500"), `0+${perStep}x40`), s(counter.series("200"), "0+100x40")]);
  const fired: ExpectedAlert[] = facts.counters.map((counter) => ({
    labels: { severity: "critical", group: "apps", ...counter.labels },
    summary: `${counter.summaryPrefix ?? ""}9.1% of responses are 5xx, over 5%`,
  }));
  return {
    ...platformAlertCases({
      containers: platform.containerNames,
      services: platform.spec.services.map((service) => service.name),
      victims: { down: victim, restarting: victim, unhealthy: victim, beside: victim },
      job: graph.monitoring!.scraped.find((entry) => entry.target.startsWith("http://"))!.job,
      route: graph.routes[0]!.hostname,
      pullServers: platform.opsHost?.pulls.map((pull) => pull.server) ?? [],
    }),
    HTTP5xxRatioHigh: {
      evalTime: "4m",
      fires: { input: errors(10), ...fired[0]!, more: fired.slice(1) },
      // 1% of responses fail; 5xx on Traefik's plain-HTTP entry point, which only redirects, do not count.
      silent: { input: [...errors(1), s('traefik_entrypoint_requests_total{entrypoint="web",code="500",method="GET",protocol="http"}', "0+50x40")] },
    },
    PostgresConnectionsHigh: {
      evalTime: "6m",
      fires: {
        input: [
          s('pg_stat_activity_count{instance="postgres",datname="app",state="active"}', "90x40"),
          s('pg_settings_max_connections{instance="postgres"}', "100x40"),
        ],
        labels: { severity: "warning", group: "postgres", instance: "postgres" },
        summary: "PostgreSQL uses 90% of max_connections, over 80%",
      },
      silent: {
        input: [
          s('pg_stat_activity_count{instance="postgres",datname="app",state="active"}', "50x40"),
          s('pg_settings_max_connections{instance="postgres"}', "100x40"),
        ],
      },
    },
    RedisMemoryHigh: {
      evalTime: "6m",
      fires: {
        input: [s('redis_memory_used_bytes{instance="redis"}', "95000000x40"), s('redis_memory_max_bytes{instance="redis"}', "100000000x40")],
        labels: { severity: "warning", group: "redis", instance: "redis" },
        summary: "Redis uses 95% of maxmemory, over 90%",
      },
      silent: { input: [s('redis_memory_used_bytes{instance="redis"}', "50000000x40"), s('redis_memory_max_bytes{instance="redis"}', "100000000x40")] },
    },
    ...databaseCheckCase(graph),
  };
}

/**
 * DatabaseConnectionFailed, for a blueprint whose service checks its
 * database (seed 003's /api/health/db): the check fails while the service
 * answers. Silent while the check passes, and while the service answers
 * nothing at all (ContainerUnhealthy's), so the two never page twice.
 */
function databaseCheckCase(graph: PlanResult): Record<string, AlertCase> {
  const checked = graph.monitoring!.probed.find((probe) => probe.job === "database");
  if (!checked) return {};
  const instance = checked.name;
  const probe = (job: string, value: string) => s(`probe_success{job="${job}",instance="${instance}"}`, value);
  return {
    DatabaseConnectionFailed: {
      evalTime: "3m",
      fires: {
        input: [probe("database", "0x20"), probe("services", "1x20")],
        labels: { severity: "critical", group: "dependencies", job: "database", instance },
        summary: `${instance} answers, but its database check fails: it cannot reach its database`,
      },
      // The check passing while the portal's route fails (RouteProbeFailed's), and a service that does not answer at all (ContainerUnhealthy's).
      silent: {
        input: [
          probe("database", "1x20"),
          probe("services", "1x20"),
          probe("routes", "0x20"),
          s('probe_success{job="database",instance="down"}', "0x20"),
          s('probe_success{job="services",instance="down"}', "0x20"),
        ],
      },
    },
  };
}

/**
 * Seed 004's phases 3 and 5: the data and monitoring server apart from the
 * app servers (and a replica). node-exporter, cAdvisor and Promtail run on
 * every server, and Prometheus on the monitoring server scrapes the others
 * at their private addresses, where their ports are published and nowhere else.
 */
describe.each([3, 5])("GALION phase %i: every server's exporters, scraped over the private network", (phase) => {
  const overrides = overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${phase}.yaml`));
  const servers = JSON.parse(overrides.find((override) => override.startsWith("infra:servers="))!.slice("infra:servers=".length)) as {
    name: string;
    privateIp: string;
    roles: string[];
  }[];
  const phasePlan = () => planOf("prod", { overrides });

  it("runs node-exporter, cAdvisor and Promtail on every server, publishing them on private addresses only", async () => {
    const graph = await phasePlan();
    expect(graph.hosts.map((host) => host.server)).toEqual(servers.map((server) => server.name));
    for (const host of graph.hosts) {
      const ip = servers.find((server) => server.name === host.server)!.privateIp;
      for (const [agent, port] of [
        ["node-exporter", 9100],
        ["cadvisor", 8080],
        ["promtail", 9080],
      ] as const) {
        const service = host.services.find((candidate) => candidate.name === agent);
        expect(service, `${agent} on ${host.server}`).toBeDefined();
        // One spec for every server, so the monitoring server's own agents are on its private address too.
        expect(service!.ports, `${agent} on ${host.server}`).toEqual([`${port}/tcp`, `${ip}:${port}->${port}/tcp`]);
      }
      expect(
        host.exposed.filter((exposure) => !exposure.endsWith("(nginx)")),
        host.server,
      ).toEqual([]);
    }
  });

  it("scrapes every server's agents, and each app server's nginx exporter and APIs, from the monitoring server (promtool check config)", async () => {
    const graph = await phasePlan();
    const config = uploaded(graph, "galion", "prometheus", "/etc/prometheus/prometheus.yml");
    const run = checkConfig(`galion phase ${phase}`, config, uploaded(graph, "galion", "prometheus", "/etc/prometheus/rules.yml"));
    expect(run.ok, run.output).toBe(true);
    const jobs = Object.fromEntries(
      scrapeConfigs(config).map((job) => [
        job.job_name,
        job.static_configs.map((group) => `${group.targets[0]} ${group.labels.server ?? group.labels.instance}`),
      ]),
    );
    const home = servers.find((server) => server.roles.includes("monitoring"))!;
    // Away from home a service is scraped on the host port it is published on for peers.
    const at = (port: number, local: string, roles?: string, peerPort = port) =>
      servers
        .filter((server) => roles === undefined || server.roles.includes(roles))
        .map((server) => `${server.name === home.name ? `${local}:${port}` : `${server.privateIp}:${peerPort}`} ${server.name}`);
    expect(jobs.node).toEqual(at(9100, "node-exporter"));
    expect(jobs.cadvisor).toEqual(at(8080, "cadvisor"));
    expect(jobs["nginx-exporter"]).toEqual(at(9113, "nginx-exporter", "ingress"));
    // Both APIs listen on 8000 in their containers; each app server publishes them on 8001 and 8003.
    expect(jobs["app-api"]).toEqual(at(8000, "app-api", "app", 8001));
    expect(jobs["studio-api"]).toEqual(at(8000, "studio-api", "app", 8003));
    expect(jobs["postgres-exporter"]).toEqual(["postgres-exporter:9187 postgres"]);
    // Every route is probed on every server that serves it.
    expect(jobs.routes!.filter((entry) => entry.startsWith("https://")).length).toBe(
      graph.routes.length * servers.filter((server) => server.roles.includes("ingress")).length,
    );
    const prometheus = graph.hosts.find((host) => host.server === home.name)!.services.find((service) => service.name === "prometheus")!;
    // A Docker network with a route off the host, to reach the peers.
    expect(prometheus.networks).toContain("egress");
  });
});

afterAll(() => {
  const total = Object.values(timings).reduce((sum, ms) => sum + ms, 0);
  console.log(
    `validator timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([key, ms]) => [key, Math.round(ms)])))}; total ${Math.round(total)}`,
  );
});
