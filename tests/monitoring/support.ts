import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { healthcheck, service, type ServiceSpec } from "../../components/container/service-spec";
import { caddyServiceSpec } from "../../components/ingress/caddy-spec";
import { PROMETHEUS_STACK_MEMORY_MB, type MonitoringDesign } from "../../components/monitoring/design";
import { adminRoutes, observability, type Observability } from "../../components/monitoring/observability";
import { withMonitoringDefaults, type MonitoringInput } from "../../components/monitoring/settings";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { vpai } from "../../infra/blueprints/vpai";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { completeRawConfig } from "../support/stack-config";
import { requireTool } from "../support/tools";

/** The VPAI platform of a shipped stack, as pure data, optionally with other monitoring settings. */
export function vpaiModel(stack: "prod" | "preprod", monitoring?: MonitoringInput): PlatformModel {
  const changes = monitoring === undefined ? {} : { "infra:monitoring": JSON.stringify(monitoring) };
  const config = validateStackConfig(completeRawConfig(stack, changes), BLUEPRINT_CATALOG).config;
  return planPlatform(config, vpai);
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
