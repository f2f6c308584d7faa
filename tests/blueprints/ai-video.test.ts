import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { BASIC_AUTH_DIR } from "../../components/ingress/basic-auth";
import { hostnamesBehindBasicAuth } from "../../components/ingress/protected-hostnames";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { aiVideo } from "../../infra/blueprints/ai-video";
import { ConfigError } from "../../infra/config/errors";
import { validateStackConfig, type RawConfig } from "../../infra/config/validate";
import { goldenGraph } from "../../tools/golden-graph";
import { mermaidDiagram } from "../../tools/plan/mermaid";
import { textReport } from "../../tools/plan/text-report";
import {
  planOf,
  resourcesOf,
  type PlannedResource,
  containerNamed,
  uploadOf,
  publishedPorts,
  declaredNetworks,
  declaredNetworkResources,
  secretsCommandOf,
  serviceAliases,
  withoutRelease,
} from "../support/plans";
import { RELEASE_ID_PATTERN } from "../../components/container/release";
import { PROJECT_DIR, rawConfigWithSecrets } from "../support/stack-config";
import { requireTool } from "../support/tools";
import { buildPlan, type PlanResult } from "../../tools/plan/plan";

/**
 * Seed 000's facts (the AI video platform and its audit), pinned on the
 * registered graph of both stacks with `-c blueprint=ai-video`, and each of
 * the audit's findings shown fixed: backups, firewall, alerting, log
 * rotation, Kong on 54321, no default Grafana password.
 */
const STACKS = ["prod", "preprod"] as const;
const aiVideoPlan = (stack: string) => planOf(stack, { overrides: ["blueprint=ai-video"] });
/** The stack with the admin UIs routed through the ingress (`adminAccess: ingress`). */
const routedAdminPlan = (stack: string) => planOf(stack, { overrides: ["blueprint=ai-video", 'monitoring={"adminAccess":"ingress"}'] });
const STUDIO_HASH_SECRET = "infra:supabaseStudioPasswordHash";

const container = (plan: PlanResult, service: string): PlannedResource => containerNamed(plan, `aivideo-${service}`);

const upload = (plan: PlanResult, service: string, path: string): string => uploadOf(plan, `aivideo-${service}`, path);

const published = publishedPorts;
const specService = (name: string) => aiVideo.build({ domain: "vpai.example.com", environment: "prod" }).services.find((service) => service.name === name)!;

/**
 * Seed 000's port map as the audit found it (Kong on 54321, not the
 * documented 8001), with each service's networks. Coolify (8000) is left
 * out on purpose: the program deploys the containers itself. PostgREST,
 * postgres-meta, Alertmanager and the blackbox exporter are what Supabase
 * and the audit's "set up alerting" and "uptime monitoring" need; Loki and
 * Promtail keep the logs the generated monitoring ships.
 */
const SERVICE_MATRIX: Record<string, { networks: string[]; port?: number }> = {
  traefik: { networks: ["egress", "backend", "monitoring"], port: 443 },
  postgres: { networks: ["backend"], port: 5432 },
  rest: { networks: ["backend"], port: 3000 },
  meta: { networks: ["backend"], port: 8080 },
  kong: { networks: ["backend", "egress"], port: 54321 },
  studio: { networks: ["backend", "egress"], port: 3000 },
  manim: { networks: ["backend"], port: 5000 },
  revideo: { networks: ["backend"], port: 5001 },
  "document-retriever": { networks: ["backend", "egress"], port: 8101 },
  "search-proxy": { networks: ["backend", "egress"], port: 8102 },
  "video-orchestrator": { networks: ["backend", "egress"], port: 8103 },
  "notes-generator": { networks: ["backend", "egress"], port: 8104 },
  prometheus: { networks: ["monitoring"], port: 9090 },
  alertmanager: { networks: ["monitoring", "egress"], port: 9093 },
  "blackbox-exporter": { networks: ["monitoring", "backend"], port: 9115 },
  grafana: { networks: ["monitoring"], port: 3001 },
  "node-exporter": { networks: ["monitoring"], port: 9100 },
  cadvisor: { networks: ["monitoring"], port: 8085 },
  loki: { networks: ["monitoring"], port: 3100 },
  promtail: { networks: ["monitoring"], port: 9080 },
  // cAdvisor's and Promtail's way to the Docker API (C14), on networks the platform adds.
  "docker-socket-proxy": { networks: [], port: 2375 },
};

/** The admin UIs without a route of their own, on 127.0.0.1 for an SSH tunnel; Grafana also has its route, behind its login. */
const TUNNELLED: Record<string, string[]> = {
  grafana: ["127.0.0.1:3001->3001"],
  prometheus: ["127.0.0.1:9090->9090"],
  alertmanager: ["127.0.0.1:9093->9093"],
  loki: ["127.0.0.1:3100->3100"],
};

function rawConfigFor(stack: string, secrets: Record<string, string> = {}): RawConfig {
  return rawConfigWithSecrets({ "infra:blueprint": "ai-video" }, stack, secrets);
}

/** The audit's three alerts (seed 000, next steps 3) among the generated rules: disk space, downtime, error rate. */
const AUDIT_ALERTS = ["HostDiskSpaceLow", "ContainerUnhealthy", "HTTP5xxRatioHigh"];

/** `promtool test rules` on the rules uploaded into Prometheus: each audit alert is expected to fire with exactly `firing`'s labels, or not at all. */
async function promtoolRuleTest(
  series: { series: string; values: string }[],
  firing: Record<string, { labels: Record<string, string>; summary: string }>,
): Promise<{ ok: boolean; output: string }> {
  const rules = upload(await aiVideoPlan("prod"), "prometheus", "/etc/prometheus/rules.yml");
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  try {
    writeFileSync(join(dir, "rules.yml"), rules);
    const alertnames = AUDIT_ALERTS;
    const test = {
      rule_files: ["rules.yml"],
      evaluation_interval: "30s",
      // Samples at the scrape interval: the error ratio is a rate over one minute.
      tests: [
        {
          interval: "15s",
          input_series: series,
          alert_rule_test: alertnames.map((alertname) => ({
            eval_time: "20m",
            alertname,
            exp_alerts: firing[alertname] ? [{ exp_labels: firing[alertname].labels, exp_annotations: { summary: firing[alertname].summary } }] : [],
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

describe.each(STACKS)("AI video blueprint on %s (seed 000)", (stack) => {
  it("runs Supabase (PostgreSQL 17 with pgvector, PostgREST, Kong, Studio), both renderers, the four AI services and the monitoring stack, without Coolify", async () => {
    const plan = await aiVideoPlan(stack);
    expect(plan.blueprint).toBe("ai-video");
    const names = resourcesOf(plan, "docker:index/container:Container").map((resource) => withoutRelease(String(resource.inputs.name)));
    expect(names.sort()).toEqual(
      Object.keys(SERVICE_MATRIX)
        .map((service) => `aivideo-${service}`)
        .sort(),
    );
    expect(container(plan, "postgres").inputs.image).toMatch(/^pgvector\/pgvector:[0-9.]+-pg17$/);
    for (const image of resourcesOf(plan, "docker:index/remoteImage:RemoteImage")) expect(image.inputs.name).not.toMatch(/:latest$|^[^:]+$/);
  });

  it("builds three networks: egress with a route out, backend and monitoring without", async () => {
    const plan = await aiVideoPlan(stack);
    const networks = Object.fromEntries(
      declaredNetworkResources(plan).map((network) => [
        network.inputs.name,
        [(network.inputs.ipamConfigs as { subnet: string }[])[0]!.subnet, network.inputs.internal],
      ]),
    );
    expect(networks).toEqual({
      "aivideo-egress": ["172.27.4.0/24", false],
      "aivideo-backend": ["172.27.2.0/24", true],
      "aivideo-monitoring": ["172.27.3.0/24", true],
    });
  });

  it("listens on the audit's ports, each service on its networks", async () => {
    const plan = await aiVideoPlan(stack);
    const host = plan.hosts[0]!;
    for (const [service, expected] of Object.entries(SERVICE_MATRIX)) {
      expect(declaredNetworks(container(plan, service).inputs.networksAdvanced), service).toEqual(
        expected.networks.map((network) => ({ name: `aivideo-${network}`, aliases: serviceAliases(container(plan, service), service) })),
      );
      if (expected.port)
        expect(host.services.find((candidate) => candidate.name === service)!.ports.join(" "), service).toMatch(new RegExp(`(^|[ >])${expected.port}/tcp`));
    }
  });

  it("fixes the open firewall: only Traefik publishes publicly, on 80/443, the admin UIs on 127.0.0.1 for an SSH tunnel; SSH only from the admin networks; no admin UI, database or exporter port is opened (F1, F2, C11)", async () => {
    const plan = await aiVideoPlan(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect(published(resource), name).toEqual(
        name === "aivideo-traefik" ? ["0.0.0.0:80->80", "0.0.0.0:443->443"] : (TUNNELLED[name.replace(/^aivideo-/, "")] ?? []),
      );
    }
    const host = plan.hosts[0]!;
    expect(host.exposed).toEqual(["80/tcp (traefik)", "443/tcp (traefik)"]);
    const tcp = host.firewall.filter((rule) => rule.protocol === "tcp");
    expect(tcp.map((rule) => rule.port)).toEqual([22, 80, 443]);
    expect(tcp[0]!.sourceCidrs).toEqual(["198.51.100.7/32", "100.64.0.0/10"]);
  });

  it("serves the Supabase API through Kong on 54321, the port the audit found, never 8001", async () => {
    const plan = await aiVideoPlan(stack);
    const kong = specService("kong");
    expect(kong.env.KONG_PROXY_LISTEN).toBe("0.0.0.0:54321");
    expect(kong.ports).toEqual([{ container: 54321 }]);
    const dynamic = parse(upload(plan, "traefik", "/etc/infra/live/dynamic.yml"));
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const router = Object.values(dynamic.http.routers as Record<string, { rule: string; service: string }>).find(
      (candidate) => candidate.rule === `Host(\`api.${domain}\`)`,
    )!;
    // Kong releases with zero downtime: Traefik proxies to its current release's alias.
    expect(dynamic.http.services[router.service].loadBalancer.servers).toEqual([
      { url: expect.stringMatching(new RegExp(`^http://kong-${RELEASE_ID_PATTERN}:54321$`)) },
    ]);
    expect(JSON.stringify(dynamic)).not.toContain("8001");
    expect(specService("studio").env.SUPABASE_URL).toBe("http://kong:54321");
  });

  it("puts rate limiting, security headers and compression on every route, with HTTP redirected to HTTPS and Let's Encrypt", async () => {
    const plan = await aiVideoPlan(stack);
    const dynamic = parse(upload(plan, "traefik", "/etc/infra/live/dynamic.yml"));
    for (const [name, router] of Object.entries(dynamic.http.routers as Record<string, { middlewares: string[]; tls: { certResolver: string } }>)) {
      expect(
        router.middlewares.filter((middleware) => !middleware.startsWith("basic-auth-")),
        name,
      ).toEqual(["security-headers", "rate-limit", "compress"]);
      expect(router.tls.certResolver, name).toBe("letsencrypt");
    }
    expect(dynamic.http.middlewares["rate-limit"].rateLimit).toMatchObject({ period: "1m" });
    expect(dynamic.http.middlewares["rate-limit"].rateLimit.average).toBeGreaterThan(0);
    const staticConfig = parse(upload(plan, "traefik", "/etc/traefik/traefik.yml"));
    expect(staticConfig.entryPoints.web.http.redirections.entryPoint).toMatchObject({ to: "websecure", scheme: "https" });
  });

  it("fixes Supabase Studio open to the internet: Traefik asks user supabase for a password first, checked against the bcrypt hash in its own secret", async () => {
    const plan = await aiVideoPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const dynamicYAML = upload(plan, "traefik", "/etc/infra/live/dynamic.yml");
    const dynamic = parse(dynamicYAML);
    const studio = Object.values(dynamic.http.routers as Record<string, { rule: string; middlewares: string[] }>).find(
      (router) => router.rule === `Host(\`studio.${domain}\`)`,
    )!;
    expect(studio.middlewares).toEqual(["security-headers", "rate-limit", "basic-auth-infra-supabaseStudioPasswordHash", "compress"]);
    expect(dynamic.http.middlewares["basic-auth-infra-supabaseStudioPasswordHash"]).toEqual({
      basicAuth: { usersFile: `${BASIC_AUTH_DIR}/infra-supabaseStudioPasswordHash`, realm: "restricted", removeHeader: true },
    });
    // Read back the way the policy reads it: Studio is protected, the API and Grafana (its own login) are not.
    const files = [{ path: "/etc/infra/live/dynamic.yml", content: dynamicYAML }];
    expect([...hostnamesBehindBasicAuth("traefik", files)]).toEqual([`studio.${domain}`]);
    // Traefik writes the htpasswd file from its secret file when it starts; the hash is in no uploaded file nor its environment (C15).
    expect(specService("traefik").secretFiles).toEqual([
      { name: "htpasswd-infra-supabaseStudioPasswordHash", content: { secretTemplate: `supabase:{{${STUDIO_HASH_SECRET}}}` }, uid: 0 },
    ]);
    expect(container(plan, "traefik").inputs.envs).toEqual([]);
    expect(secretsCommandOf(plan, container(plan, "traefik")).inputs.stdin).toBe("[secret]");
    expect((container(plan, "traefik").inputs.command as string[]).join(" ")).toContain(`> ${BASIC_AUTH_DIR}/infra-supabaseStudioPasswordHash`);
    expect(plan.secretsToSet.find((secret) => secret.key === STUDIO_HASH_SECRET)!.purpose).toContain("bcrypt hash");
    // The uptime probe counts Studio's 401 as up.
    expect(parse(upload(plan, "blackbox-exporter", "/etc/blackbox_exporter/config.yml")).modules.route_studio.http.valid_status_codes).toEqual([401]);
  });

  it("keeps the Studio hash out of every output when it is set (V3)", async () => {
    const planted = "$2y$05$plantedStudioHash0123456789abcdefghijklmnopqrstuvwxyz";
    const plan = await buildPlan({ projectDir: PROJECT_DIR, stack, overrides: ["blueprint=ai-video"], secretOverrides: [`${STUDIO_HASH_SECRET}=${planted}`] });
    expect(plan.secretsToSet.map((secret) => secret.key)).not.toContain(STUDIO_HASH_SECRET);
    for (const [where, text] of [
      ["text plan", textReport(plan)],
      ["JSON plan", JSON.stringify(plan)],
      ["Mermaid plan", mermaidDiagram(plan)],
      ["golden graph", goldenGraph(plan)],
    ]) {
      expect(text, where).not.toContain("plantedStudioHash");
    }
  });

  it("routes the admin UIs through Traefik behind the monitoring admin's password with adminAccess: ingress, and publishes none of them on the host", async () => {
    const plan = await routedAdminPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    expect(plan.routes.map((route) => route.hostname).sort()).toEqual(
      ["alerts", "api", "grafana", "logs", "metrics", "studio"].map((name) => `${name}.${domain}`),
    );
    const guarded = hostnamesBehindBasicAuth("traefik", [
      { path: "/etc/infra/live/dynamic.yml", content: upload(plan, "traefik", "/etc/infra/live/dynamic.yml") },
    ]);
    expect([...guarded].sort()).toEqual(["alerts", "grafana", "logs", "metrics", "studio"].map((name) => `${name}.${domain}`));
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect(published(resource), name).toEqual(name === "aivideo-traefik" ? ["0.0.0.0:80->80", "0.0.0.0:443->443"] : []);
    }
    expect(plan.secretsToSet.map((secret) => secret.key)).toEqual(expect.arrayContaining(["infra:monitoringAdminPasswordHash", STUDIO_HASH_SECRET]));
    expect(plan.monitoring!.admin.map((entry) => entry.access)).toEqual(
      ["grafana", "metrics", "alerts", "logs"].map((name) => `https://${name}.${domain} (basic_auth as admin)`),
    );
  });

  it("fixes the missing backups: PostgreSQL is dumped daily into the S3 backups bucket, the renders volume beside it (the audit's HIGH RISK)", async () => {
    const plan = await aiVideoPlan(stack);
    expect(plan.backups).toHaveLength(1);
    const [backup] = plan.backups;
    expect(backup!.schedule).toMatch(/^daily at /);
    expect(backup!.sources).toEqual([
      { service: "postgres", kind: "postgres", what: expect.stringContaining(": postgres") },
      { service: "manim", kind: "volume", what: "files of volume aivideo-manim-renders" },
    ]);
    expect(backup!.repository).toMatch(/^s3:https:\/\/.+-backups\/restic\/main$/);
    expect(resourcesOf(plan, "infra:storage:Bucket").map((bucket) => bucket.name)).toEqual(["aivideo-backups"]);
  });

  it("backs up the renders at least weekly, as seed 000 asks of the Docker volumes: they cost paid TTS and LLM calls to make again, and come out different", async () => {
    const plan = await aiVideoPlan(stack);
    const [backup] = plan.backups;
    // Nightly, with the database: more often than the seed's weekly.
    expect(backup!.schedule).toMatch(/^daily at /);
    expect(backup!.sources.filter((source) => source.kind === "volume")).toEqual([
      { service: "manim", kind: "volume", what: "files of volume aivideo-manim-renders" },
    ]);
    // The volume holds what Manim renders into and serves.
    const manim = container(plan, "manim");
    expect(manim.inputs.volumes).toEqual([{ containerPath: "/manim", readOnly: false, volumeName: "aivideo-manim-renders" }]);
    expect(manim.inputs.command).toEqual(["python3", "-m", "http.server", "5000", "--directory", "/manim"]);
    // Every volume is in the backup, or holds what the platform makes again by itself: no data volume is left out unsaid.
    const REMADE: Record<string, string> = {
      "aivideo-postgres-data": "covered by the pg_dump, never copied live (B5)",
      "aivideo-traefik-acme": "Let's Encrypt issues the certificates again",
      "aivideo-prometheus-data": "metrics history",
      "aivideo-alertmanager-data": "silences and notification state",
      "aivideo-loki-data": "log history",
      "aivideo-grafana-data": "provisioned from the plan",
      "aivideo-promtail-positions": "read positions of the logs",
    };
    const taken = new Set(backup!.sources.filter((source) => source.kind === "volume").map((source) => source.what.replace("files of volume ", "")));
    for (const volume of resourcesOf(plan, "docker:index/volume:Volume").map((resource) => String(resource.inputs.name))) {
      expect(taken.has(volume) || volume in REMADE, `${volume} is neither backed up nor made again`).toBe(true);
    }
    // Manim is replaced only once the backup job has taken its renders.
    expect(manim.dependsOn).toContain("aivideo-main-manim-backup-first");
    // Backing them up costs no memory: the budget and the policy hold on both stacks.
    expect(plan.hosts[0]!.budget.headroomMb).toBeGreaterThanOrEqual(0);
    expect(plan.policy.violations).toEqual([]);
  });

  it("fixes the missing alerting: Prometheus evaluates the generated rules, the audit's three among them, and sends them to Alertmanager, with blackbox probes of every route and service", async () => {
    const plan = await aiVideoPlan(stack);
    const config = parse(upload(plan, "prometheus", "/etc/prometheus/prometheus.yml"));
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["alertmanager:9093"]);
    expect(config.rule_files).toEqual(["/etc/prometheus/rules.yml"]);
    const alerts = (parse(upload(plan, "prometheus", "/etc/prometheus/rules.yml")).groups as { rules: { alert: string }[] }[]).flatMap((group) =>
      group.rules.map((rule) => rule.alert),
    );
    expect(alerts).toEqual(expect.arrayContaining(AUDIT_ALERTS));
    const jobs = Object.fromEntries(
      (config.scrape_configs as { job_name: string; static_configs: { targets: string[]; labels: { instance: string } }[] }[]).map((job) => [
        job.job_name,
        job.static_configs.map((group) => group.targets[0]!),
      ]),
    );
    // The error-rate alert reads Traefik's request counters, so Traefik must be scraped.
    expect(jobs).toMatchObject({ node: ["node-exporter:9100"], cadvisor: ["cadvisor:8085"], traefik: ["traefik:8082"] });
    expect(jobs.services).toEqual(
      expect.arrayContaining([
        "studio:3000",
        "kong:54321",
        "manim:5000",
        "revideo:5001",
        "document-retriever:8101",
        "search-proxy:8102",
        "video-orchestrator:8103",
        "notes-generator:8104",
        "grafana:3001",
      ]),
    );
    // The audit's "uptime monitoring": every route through Traefik, as the public reaches it.
    expect(jobs.routes).toEqual(["https://traefik:443/", "https://traefik:443/", "https://traefik:443/"]);
    expect(
      plan
        .monitoring!.probed.filter((probe) => probe.job === "routes")
        .map((probe) => probe.name)
        .sort(),
    ).toEqual(plan.routes.map((route) => route.hostname).sort());
  });

  it("fixes the unclear log rotation: every container's json-file log rotates at 10 MB x 3 (C12)", async () => {
    const plan = await aiVideoPlan(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      expect(resource.inputs.logDriver, String(resource.inputs.name)).toBe("json-file");
      expect(resource.inputs.logOpts, String(resource.inputs.name)).toEqual({ "max-size": "10m", "max-file": "3" });
    }
  });

  it("takes Grafana's admin password from a secret instead of admin/admin123, with sign-up off", async () => {
    const plan = await aiVideoPlan(stack);
    expect(specService("grafana").env).toMatchObject({ GF_USERS_ALLOW_SIGN_UP: "false" });
    expect(specService("grafana").secretFiles).toEqual([
      { name: "grafana-admin-password", content: { secret: "infra:grafanaAdminPassword" }, variable: "GF_SECURITY_ADMIN_PASSWORD__FILE", uid: 472 },
    ]);
    // Grafana's start script reads the file named by the __FILE variable (C15): its environment holds no secret.
    expect(container(plan, "grafana").inputs.envs).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana-admin-password");
    expect(secretsCommandOf(plan, container(plan, "grafana")).inputs.stdin).toBe("[secret]");
    expect(plan.secretsToSet.map((secret) => secret.key)).toContain("infra:grafanaAdminPassword");
  });

  it("takes A4F and RevenueCat as secrets of the stack and creates nothing for them", async () => {
    const plan = await aiVideoPlan(stack);
    const external = plan.secretsToSet.filter((secret) => ["infra:a4fApiKey", "infra:revenuecatApiKey"].includes(secret.key));
    expect(external.map((secret) => secret.purpose)).toEqual([
      expect.stringContaining("configured, not created"),
      expect.stringContaining("configured, not created"),
    ]);
    expect(plan.resources.filter((resource) => /a4f|revenuecat/i.test(`${resource.type} ${resource.name}`))).toEqual([]);
    expect(specService("video-orchestrator").env).toMatchObject({
      A4F_API_KEY: { secret: "infra:a4fApiKey" },
      REVENUECAT_API_KEY: { secret: "infra:revenuecatApiKey" },
    });
  });

  it("fits the memory budget of its server", async () => {
    const plan = await aiVideoPlan(stack);
    const budget = plan.hosts[0]!.budget;
    expect(budget.headroomMb).toBeGreaterThanOrEqual(0);
    for (const resource of resourcesOf(plan, "docker:index/container:Container"))
      expect(resource.inputs.memory, String(resource.inputs.name)).toBeGreaterThan(0);
    // Prod's 16 GB takes the full limits; preprod's 4 GB CX23 the compact ones.
    expect(plan.memoryProfile).toBe(stack === "prod" ? "seed" : "compact");
  });
});

describe("AI video alert rules, evaluated by promtool", () => {
  const healthy = [
    { series: 'node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"}', values: "100e9x100" },
    { series: 'probe_success{job="services",instance="kong"}', values: "1x100" },
    { series: 'traefik_entrypoint_requests_total{entrypoint="websecure",code="200"}', values: "0+100x100" },
    { series: 'traefik_entrypoint_requests_total{entrypoint="websecure",code="502"}', values: "0+1x100" },
  ];

  it("stay silent on a healthy host", async () => {
    const result = await promtoolRuleTest(healthy, {});
    expect(result.ok, result.output).toBe(true);
  });

  it("fire HostDiskSpaceLow when the host's root filesystem has less than 20 GB free", async () => {
    const result = await promtoolRuleTest([{ series: 'node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"}', values: "15e9x100" }, ...healthy.slice(1)], {
      HostDiskSpaceLow: { labels: { severity: "warning", group: "host", mountpoint: "/", fstype: "ext4" }, summary: "/ has 15GB free, under 20 GB" },
    });
    expect(result.ok, result.output).toBe(true);
  });

  it("fire ContainerUnhealthy when a service's probe fails", async () => {
    const result = await promtoolRuleTest(
      [...healthy.filter((series) => !series.series.startsWith("probe_success")), { series: 'probe_success{job="services",instance="kong"}', values: "0x100" }],
      {
        ContainerUnhealthy: {
          labels: { severity: "critical", group: "containers", job: "services", instance: "kong" },
          summary: "kong does not accept connections on its port",
        },
      },
    );
    expect(result.ok, result.output).toBe(true);
  });

  it("fire HTTP5xxRatioHigh when more than 5% of the requests through Traefik fail", async () => {
    const result = await promtoolRuleTest(
      [...healthy.slice(0, 3), { series: 'traefik_entrypoint_requests_total{entrypoint="websecure",code="502"}', values: "0+20x100" }],
      {
        HTTP5xxRatioHigh: { labels: { severity: "critical", group: "apps", entrypoint: "websecure" }, summary: "16.7% of responses are 5xx, over 5%" },
      },
    );
    expect(result.ok, result.output).toBe(true);
  });
});

describe("AI video secrets", () => {
  it.each(["admin123", "admin", "changeme"])("refuses %j as Grafana's admin password, the audit's default, naming the key", (password) => {
    let problems: readonly { path: string; message: string }[] = [];
    try {
      validateStackConfig(rawConfigFor("prod", { "infra:grafanaAdminPassword": password }), BLUEPRINT_CATALOG);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([{ path: "infra:grafanaAdminPassword", message: expect.stringContaining("admin/admin123") }]);
  });

  it("accepts a strong one", () => {
    expect(validateStackConfig(rawConfigFor("prod", { "infra:grafanaAdminPassword": "c0rrect-h0rse-battery" }), BLUEPRINT_CATALOG).config.blueprint).toBe(
      "ai-video",
    );
  });
});
