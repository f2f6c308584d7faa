import { RELEASE_ID_PATTERN } from "../../components/container/release";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { parse, stringify } from "yaml";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { PROMETHEUS_STACK_MEMORY_MB, type MonitoringDesign } from "../../components/monitoring/design";
import { adminRoutes } from "../../components/monitoring/admin-access";
import { observability, type Observability } from "../../components/monitoring/observability";
import { withMonitoringDefaults, type MonitoringInput } from "../../components/monitoring/settings";
import { BLUEPRINT_CATALOG, blueprintNamed } from "../../infra/blueprints";
import { vpai } from "../../infra/blueprints/vpai";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { completeRawConfig, rawConfigWithSecrets } from "../support/stack-config";
import { requireTool } from "../support/tools";

/** The VPAI platform of a shipped stack, as pure data, optionally with other monitoring settings. */
export function vpaiModel(stack: "prod" | "preprod", monitoring?: MonitoringInput): PlatformModel {
  const changes = monitoring === undefined ? {} : { "infra:monitoring": JSON.stringify(monitoring) };
  const config = validateStackConfig(completeRawConfig(stack, changes), BLUEPRINT_CATALOG).config;
  return planPlatform(config, vpai);
}

/**
 * A shipped stack running `blueprint` as pure data, with `changes` to its
 * config and every secret that blueprint needs set: the model the offline
 * plan registers, for the files the graph masks (a container whose uploads
 * carry a credential file shows them as a secret).
 */
export function blueprintModel(stack: "prod" | "preprod", blueprint: string, changes: Record<string, string> = {}): PlatformModel {
  const config = validateStackConfig(rawConfigWithSecrets({ "infra:blueprint": blueprint, ...changes }, stack), BLUEPRINT_CATALOG).config;
  return planPlatform(config, blueprintNamed(blueprint));
}

export function fileOf(model: PlatformModel, serviceName: string, path: string): string {
  const found = model.spec.services.find((candidate) => candidate.name === serviceName)?.files.find((file) => file.path === path);
  if (!found) throw new Error(`${serviceName} carries no ${path}`);
  return found.content;
}

/**
 * A platform of the seed 000/001 kind (an API behind Caddy, PostgreSQL, Redis
 * and nginx) monitored the Prometheus way, to exercise the exporters design
 * with the same generators.
 */
export const PROMETHEUS_DESIGN: MonitoringDesign = {
  store: "prometheus",
  agent: "exporters",
  networks: { monitoring: "monitoring", frontend: "frontend", egress: "egress", agent: [] },
  memoryMb: PROMETHEUS_STACK_MEMORY_MB,
};

export function syntheticServices(): ServiceSpec[] {
  return [
    caddyServiceSpec([{ hostname: "api.example.com", service: "api", port: 8000 }], {
      networks: ["frontend", "backend"],
      memoryMb: 64,
      dependsOn: ["api"],
      metricsPort: 2020,
    }),
    service({
      name: "api",
      description: "FastAPI backend",
      role: "app",
      image: { repository: "example/api", tag: "1.0.0" },
      networks: ["backend"],
      ports: [{ container: 8000 }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 256,
      metrics: { port: 8000, path: "/metrics" },
    }),
    service({
      name: "postgres",
      description: "PostgreSQL",
      role: "data",
      image: { repository: "postgres", tag: "16.6-alpine" },
      networks: ["backend"],
      ports: [{ container: 5432 }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 512,
      exporter: { kind: "postgres", user: "postgres", database: "postgres", passwordSecret: "infra:postgresPassword" },
    }),
    service({
      name: "redis",
      description: "Redis",
      role: "data",
      image: { repository: "redis", tag: "7.4.1-alpine" },
      networks: ["backend"],
      ports: [{ container: 6379 }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 128,
      exporter: { kind: "redis" },
    }),
    service({
      name: "nginx",
      description: "nginx serving static files",
      role: "app",
      image: { repository: "nginx", tag: "1.27.3-alpine" },
      networks: ["backend"],
      ports: [{ container: 80 }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 32,
      exporter: { kind: "nginx", statusPort: 8080, statusPath: "/stub_status" },
    }),
  ];
}

export function prometheusObservability(input: MonitoringInput = {}, services: ServiceSpec[] = syntheticServices()): Observability {
  const settings = withMonitoringDefaults(input);
  const routes = [{ subdomain: "api", service: "api", port: 8000 }, ...adminRoutes(PROMETHEUS_DESIGN, settings)];
  return observability({
    design: PROMETHEUS_DESIGN,
    designPath: "blueprint synthetic",
    settings,
    environment: "test",
    hostname: "main",
    domain: "example.com",
    services,
    routes,
    containerName: (name) => `app-${name}`,
  });
}

export interface ToolRun {
  readonly ok: boolean;
  readonly output: string;
  readonly ms: number;
}

/** Writes `files` into a fresh directory and runs a real tool there. */
export function runTool(tool: string, args: string[], files: Record<string, string>): ToolRun {
  const dir = mkdtempSync(join(tmpdir(), `${tool}-`));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const started = performance.now();
    const result = spawnSync(requireTool(tool), args, { cwd: dir, encoding: "utf8" });
    if (result.error) throw result.error;
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`, ms: performance.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Series {
  readonly series: string;
  readonly values: string;
}

export const s = (series: string, values: string): Series => ({ series, values });

export interface ExpectedAlert {
  readonly labels: Record<string, string>;
  readonly summary: string;
}

/** A `promtool test rules` case of one alert: series that must make it fire, and series that must leave it silent. */
export interface AlertCase {
  /** Spacing of the input samples; 15s is the scrape interval. */
  readonly interval?: string;
  readonly evalTime: string;
  /** `more`: further alerts of the same name that fire with it (one rule per counter, say). */
  readonly fires: { readonly input: Series[]; readonly labels: Record<string, string>; readonly summary: string; readonly more?: readonly ExpectedAlert[] };
  readonly silent: { readonly input: Series[] };
}

/**
 * The generated rule file cut down to the group that holds `alert`: promtool
 * evaluates every rule it loads at every step, and the backup cases run 37
 * hours of steps.
 */
export function groupOf(file: string, alert: string): string {
  const document = parse(file) as { groups: { rules: { alert: string }[] }[] };
  const groups = document.groups.filter((group) => group.rules.some((rule) => rule.alert === alert));
  expect(groups, alert).toHaveLength(1);
  return stringify({ groups });
}

/** The `tests:` entries of one case: it fires as expected (or, with `expectFiring` false, is wrongly expected silent), and stays silent. */
export function caseTests(alert: string, test: AlertCase, expectFiring = true): unknown[] {
  const group = (name: string, input: Series[], expected: readonly ExpectedAlert[]) => ({
    name,
    interval: test.interval ?? "15s",
    input_series: input,
    alert_rule_test: [
      {
        eval_time: test.evalTime,
        alertname: alert,
        exp_alerts: expected.map((entry) => ({ exp_labels: entry.labels, exp_annotations: { summary: entry.summary } })),
      },
    ],
  });
  return [
    group(`${alert} fires`, test.fires.input, expectFiring ? [test.fires, ...(test.fires.more ?? [])] : []),
    group(`${alert} stays silent`, test.silent.input, []),
  ];
}

export function testFile(alert: string, test: AlertCase, expectFiring = true): string {
  return stringify({ rule_files: ["rules.yml"], evaluation_interval: "30s", tests: caseTests(alert, test, expectFiring) });
}

/** What the alert cases shared by every platform differ in. */
export interface PlatformAlertFacts {
  /** The platform's container names by service (the model's containerNames): a zero-downtime service's carries its release id. */
  readonly containers: Readonly<Record<string, string>>;
  /** Every service of the platform, for the containers that keep running. */
  readonly services: readonly string[];
  /** The container that goes missing, restarts, stops answering, and whose failing port must not count as a failing route. */
  readonly victims: { readonly down: string; readonly restarting: string; readonly unhealthy: string; readonly beside: string };
  /** A scraped job whose target goes down. */
  readonly job: string;
  /** A probed route's host name. */
  readonly route: string;
  /** The servers the stack's ops host pulls from (infra:opsHost): one OpsHostPullStale rule each. */
  readonly pullServers?: readonly string[];
}

/**
 * The alert cases whose series are the same on every platform but for its
 * names: the host, its containers, the scrape targets, the database and cache
 * exporters being up, the backup metrics, and the routes. The ingress's error
 * rate and the database and cache saturation depend on the platform's own
 * series, so each test adds those.
 */
export function platformAlertCases(facts: PlatformAlertFacts): Record<string, AlertCase> {
  const node = 'instance="main",job="node"';
  const container = (service: string) => facts.containers[service]!;
  /** The name an alert about a missing container gives: a release's container is named without its release id. */
  const missing = (service: string) => container(service).replace(new RegExp(`-${RELEASE_ID_PATTERN}$`), "");
  const { down, restarting, unhealthy, beside } = facts.victims;
  const { job, route } = facts;
  return {
    HostDiskSpaceLow: {
      evalTime: "6m",
      fires: {
        input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "15000000000x40")],
        labels: { severity: "warning", group: "host", instance: "main", job: "node", fstype: "ext4", mountpoint: "/" },
        summary: "/ has 15GB free, under 20 GB",
      },
      // 25 GB on the disk; a 1 GB tmpfs is no disk at all.
      silent: {
        input: [
          s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "25000000000x40"),
          s(`node_filesystem_avail_bytes{${node},fstype="tmpfs",mountpoint="/run"}`, "1000000000x40"),
        ],
      },
    },
    HostDiskFillingUp: {
      interval: "10m",
      evalTime: "7h",
      fires: {
        // 2 GB lost every 10 minutes: full long before a day is out.
        input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "200000000000-2000000000x60")],
        labels: { severity: "warning", group: "host", instance: "main", job: "node", fstype: "ext4", mountpoint: "/" },
        summary: "/ fills up within 24 h at the rate of the last 6 h",
      },
      // 10 MB lost every 10 minutes: 200 GB last for years.
      silent: { input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "200000000000-10000000x60")] },
    },
    HostMemoryPressure: {
      evalTime: "6m",
      fires: {
        input: [s(`node_memory_MemAvailable_bytes{${node}}`, "300000000x40"), s(`node_memory_MemTotal_bytes{${node}}`, "4000000000x40")],
        labels: { severity: "warning", group: "host", instance: "main", job: "node" },
        summary: "only 7.5% of memory is available, under 10%",
      },
      silent: { input: [s(`node_memory_MemAvailable_bytes{${node}}`, "2000000000x40"), s(`node_memory_MemTotal_bytes{${node}}`, "4000000000x40")] },
    },
    ContainerDown: {
      evalTime: "3m",
      fires: {
        input: facts.services.filter((service) => service !== down).map((service) => s(`container_last_seen{name="${container(service)}"}`, "0+15x20")),
        labels: { severity: "critical", group: "containers", name: missing(down), instance: down },
        summary: `container ${missing(down)} is not running`,
      },
      silent: { input: facts.services.map((service) => s(`container_last_seen{name="${container(service)}"}`, "0+15x20")) },
    },
    ContainerRestarting: {
      evalTime: "2m",
      fires: {
        input: [s(`container_start_time_seconds{name="${container(restarting)}"}`, "100 100 200 200 300 300 400 400 500")],
        labels: { severity: "warning", group: "containers", name: container(restarting) },
        summary: `container ${container(restarting)} restarted 4 times in 15 minutes`,
      },
      // One restart of the platform's own container, and someone else's container restarting often.
      silent: {
        input: [
          s(`container_start_time_seconds{name="${container(restarting)}"}`, "100 100 200 200 200 200 200 200 200"),
          s('container_start_time_seconds{name="other"}', "1 2 3 4 5 6 7 8 9"),
        ],
      },
    },
    ContainerUnhealthy: {
      evalTime: "3m",
      fires: {
        input: [s(`probe_success{job="services",instance="${unhealthy}"}`, "0x20")],
        labels: { severity: "critical", group: "containers", job: "services", instance: unhealthy },
        summary: `${unhealthy} does not accept connections on its port`,
      },
      silent: { input: [s(`probe_success{job="services",instance="${unhealthy}"}`, "1x20")] },
    },
    ScrapeTargetDown: {
      evalTime: "3m",
      fires: {
        input: [s(`up{job="${job}",instance="${job}"}`, "0x20")],
        labels: { severity: "warning", group: "containers", job, instance: job },
        summary: `metrics of ${job} (${job}) cannot be scraped`,
      },
      silent: { input: [s(`up{job="${job}",instance="${job}"}`, "1x20")] },
    },
    PostgresDown: {
      evalTime: "3m",
      fires: {
        input: [s('pg_up{instance="postgres",job="postgres-exporter"}', "0x20")],
        labels: { severity: "critical", group: "postgres", instance: "postgres", job: "postgres-exporter" },
        summary: "PostgreSQL does not answer its exporter",
      },
      silent: { input: [s('pg_up{instance="postgres",job="postgres-exporter"}', "1x20")] },
    },
    RedisDown: {
      evalTime: "3m",
      fires: {
        input: [s('redis_up{instance="redis",job="redis-exporter"}', "0x20")],
        labels: { severity: "critical", group: "redis", instance: "redis", job: "redis-exporter" },
        summary: "Redis does not answer its exporter",
      },
      silent: { input: [s('redis_up{instance="redis",job="redis-exporter"}', "1x20")] },
    },
    BackupTooOld: {
      interval: "1h",
      evalTime: "37h",
      fires: {
        // The last success was at time 0; at 37 h that is past 1.5 x 24 h.
        input: [s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0x40")],
        labels: { severity: "critical", group: "backups", instance: "main", job: "node" },
        summary: "the last good backup is 1d 13h 0m 0s old, over 1.5 x the RPO of 24 h",
      },
      silent: { input: [s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0+3600x40")] },
    },
    BackupNeverSucceeded: {
      interval: "1h",
      evalTime: "37h",
      fires: { input: [s(`up{${node}}`, "1x40")], labels: { severity: "critical", group: "backups" }, summary: "no backup has succeeded on this host yet" },
      silent: { input: [s(`up{${node}}`, "1x40"), s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0+3600x40")] },
    },
    // The ops host's status, received by the server's node-exporter textfile (components/ops-host/ops-monitoring.ts).
    OpsHostSilent: {
      interval: "1m",
      evalTime: "15m",
      fires: {
        input: [s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0x40")],
        labels: { severity: "critical", group: "ops-host-watch", instance: "main", job: "node" },
        summary: "no status from the ops host for over 10 minutes: its uptime checks and backup pulls are not known to run",
      },
      silent: { input: [s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+60x40")] },
    },
    OpsHostChecksStopped: {
      interval: "1m",
      evalTime: "15m",
      fires: {
        input: [s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+60x40"), s(`infra_ops_checks_last_evaluation_timestamp_seconds{${node}}`, "0x40")],
        labels: { severity: "critical", group: "ops-host-watch", instance: "main", job: "node" },
        summary: "the ops host answers, but its checks are not evaluated",
      },
      silent: {
        input: [
          s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+60x40"),
          s(`infra_ops_checks_last_evaluation_timestamp_seconds{${node}}`, "0+60x40"),
        ],
      },
    },
    OpsHostAlertFiring: {
      evalTime: "1m",
      fires: {
        input: [s(`infra_ops_alert_firing{${node},check="RouteDown"}`, "1x20")],
        labels: { severity: "critical", group: "ops-host-watch", instance: "main", job: "node", check: "RouteDown" },
        summary: "the ops host's check RouteDown is firing",
      },
      silent: { input: [s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+15x20")] },
    },
    OpsHostPullStale: (() => {
      const [first, ...rest] = (facts.pullServers ?? ["main"]).map((server): ExpectedAlert => ({
        labels: { severity: "critical", group: "ops-host-watch", server, instance: "main", job: "node" },
        summary: `the ops host reports no good pull of ${server}'s backups for over 36 h`,
      }));
      return {
        interval: "1m",
        evalTime: "5m",
        // The ops host reports, but no pull of any server.
        fires: { input: [s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+60x40")], ...first!, more: rest },
        silent: {
          input: [
            s(`infra_ops_host_last_seen_timestamp_seconds{${node}}`, "0+60x40"),
            ...(facts.pullServers ?? ["main"]).map((server) => s(`infra_ops_backup_pull_last_success_timestamp_seconds{${node},server="${server}"}`, "0x40")),
          ],
        },
      };
    })(),
    BackupFailed: {
      evalTime: "1m",
      fires: {
        input: [s(`infra_backup_last_exit_code{${node}}`, "3x20")],
        labels: { severity: "warning", group: "backups", instance: "main", job: "node" },
        summary: "the last backup run exited with code 3",
      },
      silent: { input: [s(`infra_backup_last_exit_code{${node}}`, "0x20")] },
    },
    RouteProbeFailed: {
      evalTime: "3m",
      fires: {
        input: [s(`probe_success{job="routes",instance="${route}"}`, "0x20")],
        labels: { severity: "critical", group: "routes", job: "routes", instance: route },
        summary: `https://${route} fails its probe`,
      },
      // A service port failing is ContainerUnhealthy's, not this alert's.
      silent: { input: [s(`probe_success{job="routes",instance="${route}"}`, "1x20"), s(`probe_success{job="services",instance="${beside}"}`, "0x20")] },
    },
    TLSCertificateExpiring: {
      evalTime: "6m",
      fires: {
        // Expires 10 days after the evaluation at 6 minutes.
        input: [s(`probe_ssl_earliest_cert_expiry{job="routes",instance="${route}"}`, "864360x40")],
        labels: { severity: "warning", group: "routes", job: "routes", instance: route },
        summary: `the certificate of ${route} expires in 10d 0h 0m 0s, under 14 days`,
      },
      silent: { input: [s(`probe_ssl_earliest_cert_expiry{job="routes",instance="${route}"}`, "5184000x40")] },
    },
  };
}
