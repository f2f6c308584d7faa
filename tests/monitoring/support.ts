import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { parse, stringify } from "yaml";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { PROMETHEUS_STACK_MEMORY_MB, type MonitoringDesign } from "../../components/monitoring/design";
import { adminRoutes, observability, type Observability } from "../../components/monitoring/observability";
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
    caddyServiceSpec([{ hostname: "api.example.com", service: "api", port: 8000 }], { networks: ["frontend", "backend"], memoryMb: 64, dependsOn: ["api"], metricsPort: 2020 }),
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
  return observability({ design: PROMETHEUS_DESIGN, settings, environment: "test", hostname: "main", domain: "example.com", services, routes, containerName: (name) => `app-${name}` });
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
    alert_rule_test: [{ eval_time: test.evalTime, alertname: alert, exp_alerts: expected.map((entry) => ({ exp_labels: entry.labels, exp_annotations: { summary: entry.summary } })) }],
  });
  return [group(`${alert} fires`, test.fires.input, expectFiring ? [test.fires, ...(test.fires.more ?? [])] : []), group(`${alert} stays silent`, test.silent.input, [])];
}

export function testFile(alert: string, test: AlertCase, expectFiring = true): string {
  return stringify({ rule_files: ["rules.yml"], evaluation_interval: "30s", tests: caseTests(alert, test, expectFiring) });
}
