import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { hostnamesBehindBasicAuth } from "../../components/ingress/protected-hostnames";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { fastapi } from "../../infra/blueprints/fastapi";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig, type RawConfig } from "../../infra/config/validate";
import {
  planOf,
  resourcesOf,
  type PlannedResource,
  containerNamed,
  uploadOf,
  publishedPorts,
  secretsCommandOf,
  serviceAliases,
  withoutRelease,
} from "../support/plans";
import { rawConfigWithSecrets } from "../support/stack-config";
import { requireTool } from "../support/tools";
import type { PlanResult } from "../../tools/plan/plan";

/**
 * Seed 001's facts (FastAPI and PostgreSQL on a 2 vCPU / 4 GB server),
 * pinned on the registered graph of both stacks with `-c blueprint=fastapi`.
 */
const STACKS = ["prod", "preprod"] as const;
const fastapiPlan = (stack: string) => planOf(stack, { overrides: ["blueprint=fastapi"] });

const container = (plan: PlanResult, service: string): PlannedResource => containerNamed(plan, `fastapi-${service}`);

const upload = (plan: PlanResult, service: string, path: string): string => uploadOf(plan, `fastapi-${service}`, path);

const published = publishedPorts;

/**
 * Seed 001, "Port Mapping": the internal ports, and the networks of its
 * diagram (nginx and the backend at the edge). cAdvisor and the blackbox
 * exporter are the generated monitoring's: the container and route alerts
 * read them. Promtail and cAdvisor read the Docker API through the socket
 * proxy, each on a network it shares with the proxy alone (C14).
 */
const SERVICE_MATRIX: Record<string, { networks: string[]; port?: number }> = {
  nginx: { networks: ["edge"], port: 443 },
  certbot: { networks: ["edge"] },
  backend: { networks: ["edge", "internal"], port: 8000 },
  postgres: { networks: ["internal"], port: 5432 },
  prometheus: { networks: ["internal"], port: 9090 },
  loki: { networks: ["internal"], port: 3100 },
  promtail: { networks: ["internal", "docker-api-promtail"], port: 9080 },
  alertmanager: { networks: ["internal", "edge"], port: 9093 },
  "node-exporter": { networks: ["internal"], port: 9100 },
  "postgres-exporter": { networks: ["internal"], port: 9187 },
  grafana: { networks: ["internal"], port: 3000 },
  cadvisor: { networks: ["internal", "docker-api-cadvisor"], port: 8080 },
  "blackbox-exporter": { networks: ["internal", "edge"], port: 9115 },
  "docker-socket-proxy": { networks: ["docker-api-cadvisor", "docker-api-promtail"], port: 2375 },
};

/** The tunnelled admin UIs whose seed networks are all internal. */
const LOOPBACK_ONLY = ["prometheus", "loki", "grafana"];

/** Seed 001: "Internal access only, expose via SSH tunnel", for every admin UI. */
const TUNNELLED: Record<string, string[]> = {
  "fastapi-grafana": ["127.0.0.1:3000->3000"],
  "fastapi-prometheus": ["127.0.0.1:9090->9090"],
  "fastapi-alertmanager": ["127.0.0.1:9093->9093"],
  "fastapi-loki": ["127.0.0.1:3100->3100"],
};

/**
 * Seed 001, "Resource Allocation": Backend ~300 MB, PostgreSQL ~500 MB, Nginx
 * ~20 MB, Prometheus ~400 MB, Grafana ~200 MB, Loki ~300 MB, "Other
 * (exporters) ~100MB" (node and PostgreSQL at 32, cAdvisor 64, blackbox 16),
 * and ~1 GB for the OS.
 */
const SEED_MEMORY_TABLE: Record<string, number> = {
  backend: 300,
  postgres: 512,
  nginx: 32,
  prometheus: 400,
  grafana: 200,
  loki: 300,
  "node-exporter": 32,
  "postgres-exporter": 32,
  cadvisor: 64,
  "blackbox-exporter": 16,
};

/** A complete config of a shipped stack running `blueprint`, with its secrets set, so validation runs as `pulumi up` would. */
function rawConfigFor(stack: string, blueprint: string, secrets: Record<string, string> = {}): RawConfig {
  return rawConfigWithSecrets({ "infra:blueprint": blueprint }, stack, secrets);
}

/** `promtool test rules` on the rule file and one unit test of it: the error-rate alert must fire, or stay silent, on the given series. */
function promtoolRuleTest(
  rules: string,
  series: { series: string; values: string }[],
  evalTime: string,
  expected: { alertname: string; exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[],
): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  try {
    writeFileSync(join(dir, "rules.yml"), rules);
    const alertnames = ["HTTP5xxRatioHigh"];
    const test = {
      rule_files: ["rules.yml"],
      evaluation_interval: "30s",
      // Samples at the scrape interval: the ratio is a rate over one minute.
      tests: [
        {
          interval: "15s",
          input_series: series,
          alert_rule_test: alertnames.map((alertname) => ({
            eval_time: evalTime,
            alertname,
            exp_alerts: expected.filter((alert) => alert.alertname === alertname).map(({ alertname: _name, ...alert }) => alert),
          })),
        },
      ],
    };
    writeFileSync(join(dir, "test.yml"), stringify(test));
    const result = spawnSync(requireTool("promtool"), ["test", "rules", join(dir, "test.yml")], { encoding: "utf8", cwd: dir });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(STACKS)("FastAPI blueprint on %s (seed 001)", (stack) => {
  it("runs the seed's nine containers plus nginx and certbot, cAdvisor, the blackbox exporter and the socket proxy, with PostgreSQL 16", async () => {
    const plan = await fastapiPlan(stack);
    expect(plan.blueprint).toBe("fastapi");
    const names = resourcesOf(plan, "docker:index/container:Container").map((resource) => withoutRelease(String(resource.inputs.name)));
    expect(names.sort()).toEqual(
      Object.keys(SERVICE_MATRIX)
        .map((service) => `fastapi-${service}`)
        .sort(),
    );
    expect(container(plan, "postgres").inputs.image).toMatch(/^postgres:16\./);
  });

  it("builds an edge network and seed 001's internal bridge network, which has no route out, and an internal network per reader of the Docker API", async () => {
    const plan = await fastapiPlan(stack);
    const networks = Object.fromEntries(
      resourcesOf(plan, "docker:index/network:Network").map((network) => [
        network.inputs.name,
        [(network.inputs.ipamConfigs as { subnet: string }[])[0]!.subnet, network.inputs.internal],
      ]),
    );
    // The third carries the tunnelled admin UIs' loopback ports only: Docker publishes nothing for a container on internal networks alone.
    expect(networks).toEqual({
      "fastapi-edge": ["172.26.1.0/24", false],
      "fastapi-internal": ["172.26.2.0/24", true],
      "fastapi-loopback-publish": ["172.31.254.0/24", false],
      "fastapi-docker-api-cadvisor": ["172.31.252.0/28", true],
      "fastapi-docker-api-promtail": ["172.31.252.16/28", true],
    });
  });

  it("listens on the seed's internal ports, on its networks", async () => {
    const plan = await fastapiPlan(stack);
    const host = plan.hosts[0]!;
    for (const [service, expected] of Object.entries(SERVICE_MATRIX)) {
      // Grafana, Prometheus and Loki sit on the internal network alone, so their loopback ports need the publishing bridge.
      const networks = [...expected.networks, ...(LOOPBACK_ONLY.includes(service) ? ["loopback-publish"] : [])];
      expect(container(plan, service).inputs.networksAdvanced, service).toEqual(
        networks.map((network) => ({ name: `fastapi-${network}`, aliases: serviceAliases(container(plan, service), service) })),
      );
      if (expected.port)
        expect(host.services.find((candidate) => candidate.name === service)!.ports.join(" "), service).toMatch(new RegExp(`(^|[ >])${expected.port}/tcp`));
    }
  });

  it("publishes only nginx's 80/443 publicly, and Grafana, Prometheus, Alertmanager and Loki on 127.0.0.1 for an SSH tunnel; everything else stays inside Docker (C11)", async () => {
    const plan = await fastapiPlan(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      const expected = name === "fastapi-nginx" ? ["0.0.0.0:80->80", "0.0.0.0:443->443"] : (TUNNELLED[name] ?? []);
      expect(published(resource), name).toEqual(expected);
    }
    const host = plan.hosts[0]!;
    expect(host.exposed).toEqual(["80/tcp (nginx)", "443/tcp (nginx)"]);
    // Seed 001's UFW: 22 for admins, 80 and 443; Grafana's 3000 is not opened.
    expect(host.firewall.filter((rule) => rule.protocol === "tcp").map((rule) => rule.port)).toEqual([22, 80, 443]);
    expect(host.firewall.find((rule) => rule.port === 22)!.sourceCidrs).toEqual(["198.51.100.7/32", "100.64.0.0/10"]);
  });

  it("terminates TLS at nginx, redirects HTTP to HTTPS, rate-limits per client and sends security headers and gzip", async () => {
    const plan = await fastapiPlan(stack);
    const conf = upload(plan, "nginx", "/etc/infra/live/nginx.conf");
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    expect(conf).toContain("return 301 https://$host$request_uri;");
    expect(conf).toMatch(/limit_req_zone \$binary_remote_addr zone=per_client:10m rate=100r\/m;/);
    expect(conf).toMatch(/^\s*gzip on;$/m);
    const server = conf.split(/\n\s*server \{/).find((block) => block.includes(`server_name api.${domain};`))!;
    expect(server).toContain("ssl_certificate /etc/letsencrypt/live/fastapi/fullchain.pem;");
    expect(server).toContain("limit_req zone=per_client");
    expect(server).toContain("proxy_pass http://backend_8000;");
    for (const header of ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"])
      expect(server, header).toContain(`add_header ${header} `);
  });

  it("scrapes the backend's /metrics, the node and PostgreSQL exporters every 15 s, evaluates every 30 s, and alerts through Alertmanager", async () => {
    const plan = await fastapiPlan(stack);
    const config = parse(upload(plan, "prometheus", "/etc/prometheus/prometheus.yml"));
    expect(config.global).toMatchObject({ scrape_interval: "15s", evaluation_interval: "30s" });
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["alertmanager:9093"]);
    const jobs = Object.fromEntries(
      (config.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[]).map((job) => [job.job_name, job.static_configs[0]!.targets]),
    );
    expect(jobs).toMatchObject({ backend: ["backend:8000"], node: ["node-exporter:9100"], "postgres-exporter": ["postgres-exporter:9187"] });
    const groups = parse(upload(plan, "prometheus", "/etc/prometheus/rules.yml")).groups as { interval: string; rules: { alert: string; expr: string }[] }[];
    for (const group of groups) expect(group.interval).toBe("30s");
    expect(groups.flatMap((group) => group.rules.map((rule) => rule.alert))).toEqual(expect.arrayContaining(["HTTP5xxRatioHigh", "PostgresDown"]));
  });

  it("ships container logs with Promtail, which reads the Docker API through the socket proxy, to Loki", async () => {
    const plan = await fastapiPlan(stack);
    const config = parse(upload(plan, "promtail", "/etc/promtail/config.yml"));
    expect(config.clients).toEqual([{ url: "http://loki:3100/loki/api/v1/push" }]);
    expect(config.scrape_configs[0].docker_sd_configs).toEqual([{ host: "tcp://docker-socket-proxy:2375" }]);
    // No host path at all (C14); its read positions live in a volume of its own.
    const volumes = container(plan, "promtail").inputs.volumes as { hostPath?: string; volumeName?: string }[];
    expect(volumes.filter((volume) => volume.hostPath !== undefined)).toEqual([]);
    expect(container(plan, "promtail").dependsOn).toContain(container(plan, "docker-socket-proxy").name);
    expect(volumes.filter((volume) => volume.hostPath === undefined).map((volume) => volume.volumeName)).toEqual(["fastapi-promtail-positions"]);
    expect(container(plan, "promtail").dependsOn).toContain(container(plan, "loki").name);
  });

  it("dumps PostgreSQL daily into the S3 bucket and keeps at least the seed's last 7 days", async () => {
    const plan = await fastapiPlan(stack);
    const [backup] = plan.backups;
    expect(backup!.schedule).toMatch(/^daily at /);
    expect(backup!.sources).toEqual([{ service: "postgres", kind: "postgres", what: expect.stringContaining(": app") }]);
    expect(backup!.retention.daily).toBeGreaterThanOrEqual(7);
    expect(backup!.repository).toMatch(/vpai(-preprod)?-backups\/restic\/main$/);
    expect(resourcesOf(plan, "infra:storage:Bucket").map((bucket) => bucket.name)).toEqual(["fastapi-backups"]);
  });

  it("sizes the containers as the seed's resource table, and fits a 4 GB server with the seed's ~1 GB for the OS", async () => {
    const plan = await fastapiPlan(stack);
    for (const [service, mb] of Object.entries(SEED_MEMORY_TABLE)) expect(container(plan, service).inputs.memory, service).toBe(mb);
    const budget = plan.hosts[0]!.budget;
    expect(budget.reserveMb).toBe(1024);
    // The seed's table, Promtail, Alertmanager, certbot and 16 MB for the socket proxy.
    expect(budget.containersMb).toBe(2048);
    // Seed 001: "TOTAL ~2.8GB, Available ~1.2GB" of 4 GB.
    expect(4096 - budget.reserveMb - budget.containersMb).toBeGreaterThanOrEqual(1024);
    expect(plan.memoryProfile).toBe("seed");
  });

  it("routes api.<domain> to the backend with DNS proxied, and gives every container rotation, limits and no-new-privileges", async () => {
    const plan = await fastapiPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    expect(resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord").map((record) => [record.inputs.name, record.inputs.proxied])).toEqual([
      [`api.${domain}`, true],
    ]);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect(resource.inputs.logOpts, name).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(resource.inputs.securityOpts, name).toEqual(["no-new-privileges:true"]);
      expect(resource.inputs.restart, name).toBe("unless-stopped");
    }
  });
});

describe("FastAPI admin UIs routed through nginx (adminAccess: ingress)", () => {
  const routedPlan = () => planOf("prod", { overrides: ["blueprint=fastapi", 'monitoring={"adminAccess":"ingress"}'] });
  const ADMIN_NAMES = ["alerts", "grafana", "logs", "metrics"].map((name) => `${name}.vpai.example.com`);

  it("serves Grafana, Prometheus, Alertmanager and Loki by name, each behind basic auth, and the API without", async () => {
    const plan = await routedPlan();
    expect(plan.routes.map((route) => route.hostname).sort()).toEqual(["api.vpai.example.com", ...ADMIN_NAMES].sort());
    const conf = upload(plan, "nginx", "/etc/infra/live/nginx.conf");
    expect([...hostnamesBehindBasicAuth("nginx", [{ path: "/etc/infra/live/nginx.conf", content: conf }])].sort()).toEqual(ADMIN_NAMES);
    expect(plan.monitoring!.admin.map((entry) => entry.access)).toEqual(
      ["grafana", "metrics", "alerts", "logs"].map((name) => `https://${name}.vpai.example.com (basic_auth as admin)`),
    );
    expect(
      resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord")
        .map((record) => record.inputs.name)
        .sort(),
    ).toEqual(["api.vpai.example.com", ...ADMIN_NAMES].sort());
  });

  it("publishes none of them on the host any more: nginx reaches them on the internal network", async () => {
    const plan = await routedPlan();
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect(published(resource), name).toEqual(name === "fastapi-nginx" ? ["0.0.0.0:80->80", "0.0.0.0:443->443"] : []);
    }
    expect(container(plan, "nginx").inputs.networksAdvanced).toEqual(
      ["edge", "internal"].map((network) => ({ name: `fastapi-${network}`, aliases: ["nginx"] })),
    );
    expect(plan.hosts[0]!.firewall.filter((rule) => rule.protocol === "tcp").map((rule) => rule.port)).toEqual([22, 80, 443]);
  });

  it("gets one certificate for every name, and the password hash as a secret, never the password", async () => {
    const plan = await routedPlan();
    const issue = (container(plan, "certbot").inputs.command as string[]).join(" ");
    for (const name of ["api.vpai.example.com", ...ADMIN_NAMES]) expect(issue).toContain(`-d ${name}`);
    // nginx's start script writes the htpasswd file from its secret file (C15), so its environment holds nothing.
    expect(container(plan, "nginx").inputs.envs).toEqual([]);
    expect(secretsCommandOf(plan, container(plan, "nginx")).inputs.stdin).toBe("[secret]");
    const keys = plan.secretsToSet.map((secret) => secret.key);
    expect(keys).toContain("infra:monitoringAdminPasswordHash");
    expect(keys).not.toContain("infra:monitoringAdminPassword");
  });

  it("keeps them tunnelled with adminAccess: caddy, the older name, which routes only through Caddy", async () => {
    const plan = await planOf("prod", { overrides: ["blueprint=fastapi", 'monitoring={"adminAccess":"caddy"}'] });
    expect(plan.routes.map((route) => route.hostname)).toEqual(["api.vpai.example.com"]);
    expect(published(container(plan, "grafana"))).toEqual(["127.0.0.1:3000->3000"]);
  });
});

describe("FastAPI alerting (seed 001: error_rate > 5% for 2 minutes)", () => {
  const errors = (perStep: number, okPerStep: number) => [
    { series: 'http_requests_total{job="backend",status="5xx"}', values: `0+${perStep}x60` },
    { series: 'http_requests_total{job="backend",status="2xx"}', values: `0+${okPerStep}x60` },
  ];
  const rules = async () => upload(await fastapiPlan("prod"), "prometheus", "/etc/prometheus/rules.yml");

  it("fires HTTP5xxRatioHigh at 10% errors of the backend, evaluated by promtool", async () => {
    const result = promtoolRuleTest(await rules(), errors(10, 90), "10m", [
      {
        alertname: "HTTP5xxRatioHigh",
        exp_labels: { severity: "critical", group: "apps", job: "backend" },
        exp_annotations: { summary: "10.0% of responses are 5xx, over 5%" },
      },
    ]);
    expect(result.ok, result.output).toBe(true);
  });

  it("stays silent at 1% errors", async () => {
    const result = promtoolRuleTest(await rules(), errors(1, 99), "10m", []);
    expect(result.ok, result.output).toBe(true);
  });

  it("waits the seed's 2 minutes before firing", async () => {
    const groups = parse(await rules()).groups as { rules: { alert: string; for?: string }[] }[];
    expect(groups.flatMap((group) => group.rules).find((rule) => rule.alert === "HTTP5xxRatioHigh")!.for).toBe("2m");
  });
});

describe("FastAPI secrets", () => {
  it.each(["admin123", "admin", ""])("refuses %j as Grafana's admin password, naming the key", (password) => {
    let problems: readonly { path: string; message: string }[] = [];
    try {
      validateStackConfig(rawConfigFor("prod", "fastapi", { "infra:grafanaAdminPassword": password }), BLUEPRINT_CATALOG);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([{ path: "infra:grafanaAdminPassword", message: expect.stringContaining("well-known default") }]);
  });

  it("accepts a strong Grafana admin password", () => {
    expect(
      validateStackConfig(rawConfigFor("prod", "fastapi", { "infra:grafanaAdminPassword": "c0rrect-h0rse-battery" }), BLUEPRINT_CATALOG).config.blueprint,
    ).toBe("fastapi");
  });

  it("declares the backend's JWT secret and the ACME token as secrets, not config", () => {
    expect(fastapi.secrets.map((secret) => secret.key).sort()).toEqual([
      "infra:acmeCloudflareToken",
      "infra:grafanaAdminPassword",
      "infra:jwtSecret",
      "infra:postgresPassword",
    ]);
  });
});
