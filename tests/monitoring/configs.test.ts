import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { alertmanagerConfig, ALERTMANAGER_CONFIG_PATH } from "../../components/monitoring/alertmanager-config";
import { BLACKBOX_CONFIG_PATH } from "../../components/monitoring/alloy-config";
import { GRAFANA_DASHBOARDS_DIR, GRAFANA_PROVISIONING_DIR } from "../../components/monitoring/grafana-provisioning";
import { scrapeConfig } from "../../components/monitoring/scrape-config";
import { withMonitoringDefaults } from "../../components/monitoring/settings";
import { VPAI_MONITORING } from "../../infra/blueprints/vpai";
import { container, planOf, resourcesOf } from "../support/plans";
import { requireTool } from "../support/tools";
import { fileOf, prometheusObservability, runTool, syntheticServices, vpaiModel } from "./support";

const model = vpaiModel("prod");
const plan = model.spec.monitoring!;

describe("scrape configuration (promtool check config)", () => {
  it("accepts the Prometheus design's prometheus.yml, with a job per service that declares metrics and per exporter", () => {
    const stack = prometheusObservability();
    const prometheus = stack.services.find((service) => service.name === "prometheus")!;
    const config = prometheus.files.find((file) => file.path === "/etc/prometheus/prometheus.yml")!.content;
    const rules = prometheus.files.find((file) => file.path === "/etc/prometheus/rules.yml")!.content;
    const run = runTool("promtool", ["check", "config", "--syntax-only", "prometheus.yml"], {
      "prometheus.yml": config.replace("/etc/prometheus/rules.yml", "rules.yml"),
      "rules.yml": rules,
    });
    expect(run.ok, run.output).toBe(true);
    const jobs = (parse(config) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }).scrape_configs;
    expect(
      Object.fromEntries(jobs.filter((job) => !["routes", "services"].includes(job.job_name)).map((job) => [job.job_name, job.static_configs[0]!.targets[0]])),
    ).toEqual({
      node: "node-exporter:9100",
      cadvisor: "cadvisor:8080",
      caddy: "caddy:2020",
      api: "api:8000",
      "postgres-exporter": "postgres-exporter:9187",
      "redis-exporter": "redis-exporter:9121",
      "nginx-exporter": "nginx-exporter:9113",
      prometheus: "prometheus:9090",
      alertmanager: "alertmanager:9093",
      loki: "loki:3100",
      promtail: "promtail:9080",
      grafana: "grafana:3000",
    });
    const settings = prometheus.command!.join(" ");
    expect(parse(config).global).toMatchObject({ scrape_interval: "15s", evaluation_interval: "30s" });
    expect(settings).toContain("--config.file=/etc/prometheus/prometheus.yml");
  });

  it("accepts VPAI's jobs rendered the same way (Alloy's exporters at their Alloy endpoints)", () => {
    const config = scrapeConfig({ design: VPAI_MONITORING, settings: withMonitoringDefaults(), environment: "prod", jobs: plan.jobs, probes: plan.probes });
    const run = runTool("promtool", ["check", "config", "--syntax-only", "prometheus.yml"], { "prometheus.yml": config });
    expect(run.ok, run.output).toBe(true);
  });

  it("scrapes what declares metrics and nothing else: a service that stops declaring them drops out", () => {
    const services = prometheusObservability().plan.jobs.map((job) => job.job);
    expect(services).toContain("api");
    const without = prometheusObservability(
      {},
      syntheticServices().map((service) => {
        if (service.name !== "api") return service;
        const { metrics: _metrics, ...rest } = service;
        return rest;
      }),
    );
    expect(without.plan.jobs.map((job) => job.job)).not.toContain("api");
  });

  it("promtool check config fails on a broken scrape config", () => {
    const broken = stringify({ scrape_configs: [{ job_name: "x", static_configs: [{ targets: ["no port here:"] }], scrape_interval: "fast" }] });
    expect(runTool("promtool", ["check", "config", "--syntax-only", "prometheus.yml"], { "prometheus.yml": broken }).ok).toBe(false);
  });
});

describe("Alertmanager configuration (amtool check-config)", () => {
  it("accepts the prod stack's config: email with the SMTP password in a file, never inline", () => {
    const content = fileOf(model, "alertmanager", ALERTMANAGER_CONFIG_PATH);
    const run = runTool("amtool", ["check-config", "alertmanager.yml"], { "alertmanager.yml": content });
    expect(run.ok, run.output).toBe(true);
    expect(parse(content).global).toMatchObject({ smtp_smarthost: "smtp.example.com:587", smtp_auth_password_file: "/etc/alertmanager/secrets/smtp-password" });
    expect(plan.secretFiles).toEqual([{ service: "alertmanager", path: "/etc/alertmanager/secrets/smtp-password", secret: "infra:alertSmtpPassword" }]);
  });

  it.each([
    ["no receiver", {}],
    [
      "email, Slack and a webhook with a bearer token",
      {
        email: { to: ["a@example.com", "b@example.com"], from: "alerts@example.com", smarthost: "smtp.example.com:587", username: "u", requireTLS: true },
        slack: { channel: "#alerts" },
        webhook: { url: "https://hooks.example.com/alerts", bearerToken: true },
      },
    ],
  ])("accepts %s", (_name, receivers) => {
    const config = alertmanagerConfig(receivers);
    const run = runTool("amtool", ["check-config", "alertmanager.yml"], { "alertmanager.yml": config.content });
    expect(run.ok, run.output).toBe(true);
    expect(config.content).not.toMatch(/hooks\.slack\.com|password:/);
  });

  it("amtool fails on a config routing to a receiver that does not exist", () => {
    const broken = stringify({ route: { receiver: "nobody" }, receivers: [{ name: "platform" }] });
    expect(runTool("amtool", ["check-config", "alertmanager.yml"], { "alertmanager.yml": broken }).ok).toBe(false);
  });

  it("uploads the SMTP password into the container as a secret: the plan masks the uploads, and lists the file", async () => {
    const graph = await planOf("prod");
    expect(container(graph, "alertmanager").inputs.uploads).toBe("[secret]");
    const withoutSecrets = await planOf("prod", { overrides: ['monitoring={"adminAccess":"caddy"}'] });
    expect((container(withoutSecrets, "alertmanager").inputs.uploads as { file: string }[]).map((upload) => upload.file)).toEqual([ALERTMANAGER_CONFIG_PATH]);
  });
});

describe("blackbox modules (blackbox_exporter --config.check)", () => {
  it("accepts the modules the routes and service ports are probed with", () => {
    const content = fileOf(model, "alloy", BLACKBOX_CONFIG_PATH);
    const run = runTool("prometheus-blackbox-exporter", ["--config.check", "--config.file=blackbox.yml"], { "blackbox.yml": content });
    expect(run.ok, run.output).toBe(true);
    const modules = (parse(content) as { modules: Record<string, { http?: { valid_status_codes?: number[]; headers: { Host: string } } }> }).modules;
    expect(modules.route_grafana!.http).toMatchObject({ valid_status_codes: [401], headers: { Host: "grafana.vpai.example.com" } });
    // n8n asks for its own password but for its webhooks (E1); LiteLLM asks for none.
    expect(modules.route_n8n!.http!.valid_status_codes).toEqual([401]);
    expect(modules.route_llm!.http!.valid_status_codes).toBeUndefined();
  });

  it("fails on an unknown prober", () => {
    expect(
      runTool("prometheus-blackbox-exporter", ["--config.check", "--config.file=blackbox.yml"], {
        "blackbox.yml": "modules:\n  x:\n    prober: http\n    colour: blue\n",
      }).ok,
    ).toBe(false);
  });
});

interface Upload {
  file: string;
  content: string;
}

/** Every datasource URL must name a container Grafana shares a network with, on a port it listens on. */
function unreachableDatasources(graph: Awaited<ReturnType<typeof planOf>>, datasourcesYaml: string): string[] {
  const containers = resourcesOf(graph, "docker:index/container:Container");
  const host = graph.hosts[0]!;
  const grafanaNetworks = host.services.find((service) => service.name === "grafana")!.networks;
  const problems: string[] = [];
  for (const source of (parse(datasourcesYaml) as { datasources: { name: string; url: string }[] }).datasources) {
    const url = new URL(source.url);
    const target = containers.find((resource) =>
      (resource.inputs.networksAdvanced as { aliases: string[] }[]).some((network) => network.aliases.includes(url.hostname)),
    );
    const service = host.services.find((candidate) => candidate.name === url.hostname);
    if (!target || !service) problems.push(`${source.name}: no container ${url.hostname}`);
    else if (!service.ports.some((port) => port.endsWith(`${url.port}/tcp`))) problems.push(`${source.name}: ${url.hostname} does not listen on ${url.port}`);
    else if (!service.networks.some((network) => grafanaNetworks.includes(network)))
      problems.push(`${source.name}: ${url.hostname} shares no network with grafana`);
  }
  return problems;
}

describe("Grafana provisioning", () => {
  it("points every datasource at a container of the graph that Grafana can reach", async () => {
    const graph = await planOf("prod");
    const uploads = container(graph, "grafana").inputs.uploads as Upload[];
    const datasources = uploads.find((upload) => upload.file === `${GRAFANA_PROVISIONING_DIR}/datasources/platform.yaml`)!.content;
    expect((parse(datasources) as { datasources: { type: string }[] }).datasources.map((source) => source.type)).toEqual([
      "prometheus",
      "loki",
      "alertmanager",
    ]);
    expect(unreachableDatasources(graph, datasources)).toEqual([]);
  });

  it("the check catches a datasource that points at nothing, or at the wrong port", async () => {
    const graph = await planOf("prod");
    const bad = stringify({
      datasources: [
        { name: "Ghost", url: "http://prometheus:9090" },
        { name: "Wrong port", url: "http://loki:9999" },
      ],
    });
    expect(unreachableDatasources(graph, bad)).toEqual(["Ghost: no container prometheus", "Wrong port: loki does not listen on 9999"]);
  });

  it("has host, containers, PostgreSQL and backups dashboards whose every PromQL query promtool parses", async () => {
    const graph = await planOf("prod");
    const uploads = container(graph, "grafana").inputs.uploads as Upload[];
    const boards = uploads
      .filter((upload) => upload.file.startsWith(`${GRAFANA_DASHBOARDS_DIR}/`))
      .map((upload) => JSON.parse(upload.content) as { uid: string; panels: { datasource: { uid: string }; targets: { expr: string }[] }[] });
    expect(boards.map((board) => board.uid)).toEqual(expect.arrayContaining(["host", "containers", "postgres", "backups"]));
    const queries = boards.flatMap((board) =>
      board.panels.filter((panel) => panel.datasource.uid === "metrics").flatMap((panel) => panel.targets.map((target) => target.expr)),
    );
    const asRules = (exprs: string[]) =>
      stringify({ groups: [{ name: "dashboards", rules: exprs.map((expr, index) => ({ record: `dashboard:query_${index}`, expr })) }] });
    const run = runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": asRules(queries) });
    expect(run.ok, run.output).toBe(true);
    expect(runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": asRules(["sum(rate(x[5m])"]) }).ok).toBe(false);
    const provider = parse(uploads.find((upload) => upload.file === `${GRAFANA_PROVISIONING_DIR}/dashboards/platform.yaml`)!.content) as {
      providers: { options: { path: string } }[];
    };
    expect(provider.providers[0]!.options.path).toBe(GRAFANA_DASHBOARDS_DIR);
  });
});

/** caddy's own parser, with the admin password hash Caddy computes at start. */
function adapt(content: string, hash: string, n8nHash = hash): string {
  const dir = mkdtempSync(join(tmpdir(), "caddyfile-"));
  try {
    writeFileSync(join(dir, "Caddyfile"), content);
    return execFileSync(requireTool("caddy"), ["adapt", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
      encoding: "utf8",
      env: { ...process.env, INFRA_ADMIN_PASSWORD_HASH: hash, INFRA_BCRYPT_N8N_PASSWORD_HASH: n8nHash },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("admin UIs are never public without authentication (seed 001)", () => {
  it("adminAccess caddy: Grafana's route, the only admin one, asks for the password before proxying, the apps do not", () => {
    const caddyfile = fileOf(model, "caddy", CADDYFILE_PATH);
    const hash = execFileSync(requireTool("caddy"), ["hash-password", "--plaintext", "correct horse battery"], { encoding: "utf8" }).trim();
    const config = JSON.parse(adapt(caddyfile, hash)) as {
      apps: { http: { servers: Record<string, { routes: { match?: { host?: string[] }[]; handle: { routes?: { handle: { handler: string }[] }[] }[] }[] }> } };
    };
    const handlers = new Map<string, string[]>();
    for (const server of Object.values(config.apps.http.servers)) {
      for (const route of server.routes) {
        const host = route.match?.[0]?.host?.[0];
        if (host)
          handlers.set(
            host,
            route.handle.flatMap((handle) => (handle.routes ?? []).flatMap((inner) => inner.handle.map((step) => step.handler))),
          );
      }
    }
    const steps = handlers.get("grafana.vpai.example.com")!;
    expect(steps.indexOf("authentication")).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf("authentication")).toBeLessThan(steps.indexOf("reverse_proxy"));
    // Seed 002 keeps Caddy off the monitoring network: the other admin UIs have no site at all.
    for (const admin of ["metrics", "alerts", "logs"]) expect(handlers.has(`${admin}.vpai.example.com`), admin).toBe(false);
    // n8n asks for a password of its own (E1), before the proxy too; the other applications ask for none.
    const n8n = handlers.get("n8n.vpai.example.com")!;
    expect(n8n.indexOf("authentication")).toBeGreaterThanOrEqual(0);
    expect(n8n.indexOf("authentication")).toBeLessThan(n8n.indexOf("reverse_proxy"));
    for (const app of ["llm", "openclaw"]) expect(handlers.get(`${app}.vpai.example.com`), app).not.toContain("authentication");
    expect(JSON.stringify(config)).toContain(hash);
  });

  it("caddy refuses to start an admin route without the password hash", () => {
    const n8nHash = execFileSync(requireTool("caddy"), ["hash-password", "--plaintext", "correct horse battery"], { encoding: "utf8" }).trim();
    expect(() => adapt(fileOf(model, "caddy", CADDYFILE_PATH), "", n8nHash)).toThrow();
  });

  it("adminAccess caddy publishes the UIs it does not route on 127.0.0.1 only; tunnel publishes each on 127.0.0.1 only and routes none", () => {
    const published = (m: typeof model) =>
      m.hosts[0]!.services.flatMap((service) =>
        service.ports.filter((port) => port.publish).map((port) => `${service.name} ${port.publish!.address}:${port.publish!.host}`),
      );
    expect(published(model).sort()).toEqual([
      "alertmanager 127.0.0.1:9093",
      "caddy 0.0.0.0:443",
      "caddy 0.0.0.0:80",
      "loki 127.0.0.1:3100",
      "victoriametrics 127.0.0.1:8428",
    ]);
    const tunnel = vpaiModel("prod", { adminAccess: "tunnel" });
    expect(published(tunnel).sort()).toEqual([
      "alertmanager 127.0.0.1:9093",
      "caddy 0.0.0.0:443",
      "caddy 0.0.0.0:80",
      "grafana 127.0.0.1:3000",
      "loki 127.0.0.1:3100",
      "victoriametrics 127.0.0.1:8428",
    ]);
    expect(tunnel.spec.routes.map((route) => route.subdomain)).toEqual(["n8n", "llm", "openclaw"]);
    expect(tunnel.spec.monitoring!.admin.map((entry) => entry.access)).toEqual([
      "127.0.0.1:3000 (SSH tunnel)",
      "127.0.0.1:8428 (SSH tunnel)",
      "127.0.0.1:9093 (SSH tunnel)",
      "127.0.0.1:3100 (SSH tunnel)",
    ]);
    expect(fileOf(tunnel, "caddy", CADDYFILE_PATH)).not.toContain("grafana");
  });
});
