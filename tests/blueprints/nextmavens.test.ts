import { parse, stringify } from "yaml";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { describe, expect, it } from "vitest";
import { nextmavens } from "../../infra/blueprints/nextmavens";
import { WRITE_ENVIRONMENT_COMMAND } from "../../components/backup/install-script";
import { buildPlan, type PlanResult } from "../../tools/plan/plan";
import { planOf, resourcesOf, type PlannedResource, containerNamed, uploadOf, publishedPorts, declaredNetworkResources } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";
import { hostnamesBehindBasicAuth } from "../../components/ingress/protected-hostnames";
import { runTool } from "../monitoring/support";

/**
 * Seed 003's facts (the NextMavens developer portal), pinned on the
 * registered graph of both stacks with `-c blueprint=nextmavens`: one
 * Next.js container behind Traefik, and a managed PostgreSQL, auth, audit
 * and email services that are configured by secrets, never created.
 */
const STACKS = ["prod", "preprod"] as const;
// NextMavens as seed 003 draws it: the shipped stack files' ops host is seed 002's (tests/ops-host covers it).
const nextmavensPlan = (stack: string) => planOf(stack, { overrides: ["blueprint=nextmavens"], without: ["infra:opsHost"] });

const container = (plan: PlanResult, service: string): PlannedResource => containerNamed(plan, `nextmavens-${service}`);

const upload = (plan: PlanResult, service: string, path: string): string => uploadOf(plan, `nextmavens-${service}`, path);

const published = publishedPorts;
const portal = () => nextmavens.build({ domain: "vpai.example.com", environment: "prod" }).services.find((service) => service.name === "developer-portal")!;

/** Seed 003's external dependencies, each a secret of the stack. */
const EXTERNAL_SECRETS = ["infra:databaseUrl", "infra:resendApiKey", "infra:authServiceUrl", "infra:auditServiceUrl"];

describe.each(STACKS)("NextMavens blueprint on %s (seed 003)", (stack) => {
  it("runs the portal, Traefik and the generated monitoring only: no database, cache or storage container", async () => {
    const plan = await nextmavensPlan(stack);
    expect(plan.blueprint).toBe("nextmavens");
    // Seed 003 has basic logging only; the generated stack at its smallest adds metrics, alerts and the log store.
    // Promtail and cAdvisor read the Docker API through the socket proxy (C14).
    const monitoring = ["prometheus", "alertmanager", "loki", "promtail", "grafana", "node-exporter", "cadvisor", "blackbox-exporter", "docker-socket-proxy"];
    expect(
      resourcesOf(plan, "docker:index/container:Container")
        .map((resource) => resource.inputs.name)
        .sort(),
    ).toEqual(["developer-portal", "traefik", ...monitoring].map((service) => `nextmavens-${service}`).sort());
    const volumes = resourcesOf(plan, "docker:index/volume:Volume").map((volume) => volume.name);
    expect(volumes.filter((volume) => !/-monitoring-(prometheus|alertmanager|loki|grafana)-data$|-monitoring-promtail-positions$/.test(volume))).toEqual([
      expect.stringMatching(/traefik-service-acme$/),
    ]);
  });

  it("joins the portal to the Traefik network (seed 003's dokploy-network), which reaches the managed services outside", async () => {
    const plan = await nextmavensPlan(stack);
    const networks = declaredNetworkResources(plan).map((network) => [network.inputs.name, network.inputs.internal]);
    // The monitoring stack keeps to a network of its own, without a route out.
    expect(networks).toEqual([
      ["nextmavens-web", false],
      ["nextmavens-monitoring", true],
    ]);
    for (const service of ["developer-portal", "traefik"])
      expect(container(plan, service).inputs.networksAdvanced).toEqual([{ name: "nextmavens-web", aliases: [service] }]);
  });

  it("keeps the seed's 3006:3000 mapping on 127.0.0.1 only; Traefik's 80/443 are the only public ports", async () => {
    const plan = await nextmavensPlan(stack);
    expect(published(container(plan, "developer-portal"))).toEqual(["127.0.0.1:3006->3000"]);
    expect(published(container(plan, "traefik"))).toEqual(["0.0.0.0:80->80", "0.0.0.0:443->443"]);
    const host = plan.hosts[0]!;
    expect(host.exposed).toEqual(["80/tcp (traefik)", "443/tcp (traefik)"]);
    // Seed 003: "Only HTTP (80) and HTTPS (443) exposed; SSH access restricted".
    const tcp = host.firewall.filter((rule) => rule.protocol === "tcp");
    expect(tcp.map((rule) => rule.port)).toEqual([22, 80, 443]);
    expect(tcp[0]!.sourceCidrs).toEqual(["198.51.100.7/32", "100.64.0.0/10"]);
  });

  it("serves portal.<domain> over HTTPS through Traefik's websecure entry point with the letsencrypt resolver, as seed 003's labels do", async () => {
    const plan = await nextmavensPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const dynamic = parse(upload(plan, "traefik", "/etc/infra/live/dynamic.yml"));
    expect(Object.values(dynamic.http.routers)).toEqual([
      {
        rule: `Host(\`portal.${domain}\`)`,
        entryPoints: ["websecure"],
        service: "developer-portal-3000",
        middlewares: ["security-headers", "rate-limit", "compress"],
        tls: { certResolver: "letsencrypt" },
      },
      // /metrics answered by Traefik itself, in every spelling (E2).
      {
        rule: `Host(\`portal.${domain}\`) && PathRegexp(\`(?i)^(/|%2[fF])+metrics([^a-zA-Z0-9_~-]|$)\`)`,
        entryPoints: ["websecure"],
        service: "noop@internal",
        priority: 100000,
        middlewares: ["security-headers", "rate-limit", "compress"],
        tls: { certResolver: "letsencrypt" },
      },
    ]);
    expect(dynamic.http.services["developer-portal-3000"].loadBalancer.servers).toEqual([{ url: "http://developer-portal:3000" }]);
    const staticConfig = parse(upload(plan, "traefik", "/etc/traefik/traefik.yml"));
    expect(Object.keys(staticConfig.certificatesResolvers)).toEqual(["letsencrypt"]);
    expect(staticConfig.entryPoints.web.http.redirections.entryPoint).toMatchObject({ to: "websecure", scheme: "https" });
    expect(resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord").map((record) => [record.inputs.name, record.inputs.proxied])).toEqual([
      [`portal.${domain}`, true],
    ]);
  });

  it("holds TLS at 1.2 or newer at the edge (seed 003: TLS 1.2+ minimum)", async () => {
    const plan = await nextmavensPlan(stack);
    const minimum = resourcesOf(plan, "cloudflare:index/zoneSetting:ZoneSetting").find((setting) => setting.inputs.settingId === "min_tls_version")!;
    expect(["1.2", "1.3"]).toContain(minimum.inputs.value);
  });

  it("restarts unless stopped and checks /api/health, the seed's health endpoint", async () => {
    const plan = await nextmavensPlan(stack);
    const inputs = container(plan, "developer-portal").inputs;
    expect(inputs.restart).toBe("unless-stopped");
    expect((inputs.healthcheck as { tests: string[] }).tests).toEqual(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:3000/api/health"]);
    expect(inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
  });

  it("takes the managed PostgreSQL, auth, audit and Resend as secrets of the stack, and creates none of them", async () => {
    const plan = await nextmavensPlan(stack);
    expect(plan.secretsToSet.map((secret) => secret.key)).toEqual(expect.arrayContaining(EXTERNAL_SECRETS));
    expect(plan.secretsToSet.find((secret) => secret.key === "infra:databaseUrl")!.purpose).toContain("configured, not created");
    expect(resourcesOf(plan, "docker:index/remoteImage:RemoteImage").map((image) => String(image.inputs.name))).not.toContainEqual(
      expect.stringMatching(/postgres|redis/),
    );
    expect(plan.resources.filter((resource) => /postgres|database|resend|audit|auth-service/i.test(`${resource.type} ${resource.name}`))).toEqual([]);
    expect(portal().env).toMatchObject({
      DATABASE_URL: { secret: "infra:databaseUrl" },
      // Seed 003: "Connection Pool: Max 20 connections".
      DATABASE_POOL_MAX: "20",
      RESEND_API_KEY: { secret: "infra:resendApiKey" },
      AUTH_SERVICE_URL: { secret: "infra:authServiceUrl" },
      AUDIT_SERVICE_URL: { secret: "infra:auditServiceUrl" },
    });
    expect(container(plan, "developer-portal").inputs.envs).toBe("[secret]");
  });

  it("keeps backups in the S3 bucket, with old versions kept at least the seed's 30 days, and nothing goes to Telegram", async () => {
    const plan = await nextmavensPlan(stack);
    expect(resourcesOf(plan, "infra:storage:Bucket").map((bucket) => bucket.name)).toEqual(["nextmavens-backups"]);
    const bucket = resourcesOf(plan, "pulumi-nodejs:dynamic/storage:Bucket")[0]!;
    expect(bucket.inputs.bucketName).toBe(stack === "prod" ? "vpai-backups" : "vpai-preprod-backups");
    expect(bucket.inputs.noncurrentVersionExpiryDays).toBeGreaterThanOrEqual(30);
    expect(JSON.stringify(plan.resources)).not.toMatch(/telegram/i);
    expect(plan.secretsToSet.map((secret) => secret.key)).not.toContainEqual(expect.stringMatching(/telegram/i));
  });

  it("dumps the managed PostgreSQL nightly into the S3 bucket, instead of Telegram, keeping 30 days (seed 003)", async () => {
    const plan = await nextmavensPlan(stack);
    const bucketName = stack === "prod" ? "vpai-backups" : "vpai-preprod-backups";
    // One job, on the portal's server, whose only source is the database the portal connects to.
    expect(resourcesOf(plan, "infra:backup:Backup").map((backup) => [backup.name, backup.dependsOn])).toEqual([
      ["nextmavens-main-backup", expect.arrayContaining(["nextmavens-backups-bucket"])],
    ]);
    expect(plan.backups).toHaveLength(1);
    const backup = plan.backups[0]!;
    expect(backup.repository).toBe(`s3:https://fsn1.your-objectstorage.com/${bucketName}/restic/main`);
    expect(backup.sources).toEqual([
      { service: "developer-portal", kind: "postgres-url", what: expect.stringContaining("the PostgreSQL at secret infra:databaseUrl") },
    ]);
    // Seed 003: "Retention: 30 days default", though the stack file asks for 7 dailies.
    expect(backup.retention).toMatchObject({ daily: 30 });
    expect(backup.retention.text).toContain("seed 003");
    const install = resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "nextmavens-main-backup-install")!;
    const script = String(install.inputs.stdin);
    expect(script).toContain('restic forget --host "$host" --tag "$tag" --group-by host,tags --keep-daily 30 ');
    expect(script).toContain('use_database_url "${DATABASE_URL:?DATABASE_URL is not set in $env_file}"');
    expect(script).toContain("pg_dump --format=custom");
    expect(script).toContain(" postgres:17.2-alpine)");
    // No globals and no container of ours: the database is the provider's.
    const commands = script.split("\n").filter((line) => !line.trimStart().startsWith("#"));
    expect(commands.filter((line) => /pg_dumpall|docker exec/.test(line))).toEqual([]);
    expect(nextmavens.build({ domain: "vpai.example.com", environment: stack }).buckets[0]!.purpose).toMatch(
      /nightly dumps of the managed PostgreSQL.*30 daily/,
    );
  });

  it("hands the job the database URL only as a secret, in its root-only environment file", async () => {
    const plan = await nextmavensPlan(stack);
    const environment = resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "nextmavens-main-backup-environment")!;
    expect(environment.inputs).toMatchObject({ create: WRITE_ENVIRONMENT_COMMAND, stdin: "[secret]", triggers: "[secret]" });
    expect(WRITE_ENVIRONMENT_COMMAND).toContain("umask 077");
  });

  it("keeps the admin UIs on 127.0.0.1 by default, and routes them through Traefik behind basic auth with adminAccess: ingress", async () => {
    const tunnelled = await nextmavensPlan(stack);
    expect(tunnelled.routes.map((route) => route.hostname.split(".")[0])).toEqual(["portal"]);
    expect(publishedPorts(containerNamed(tunnelled, "nextmavens-grafana"))).toEqual(["127.0.0.1:3000->3000"]);

    const routed = await planOf(stack, { overrides: ["blueprint=nextmavens", 'monitoring={"adminAccess":"ingress"}'] });
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    expect(routed.routes.map((route) => route.hostname).sort()).toEqual(["alerts", "grafana", "logs", "metrics", "portal"].map((name) => `${name}.${domain}`));
    const guarded = hostnamesBehindBasicAuth("traefik", [
      { path: "/etc/infra/live/dynamic.yml", content: upload(routed, "traefik", "/etc/infra/live/dynamic.yml") },
    ]);
    expect([...guarded].sort()).toEqual(["alerts", "grafana", "logs", "metrics"].map((name) => `${name}.${domain}`));
    // Traefik reaches the UIs on their network; none of them is published on the host.
    expect(containerNamed(routed, "nextmavens-traefik").inputs.networksAdvanced).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: expect.stringContaining("monitoring") })]),
    );
    expect(publishedPorts(containerNamed(routed, "nextmavens-grafana"))).toEqual([]);
    expect(routed.secretsToSet.map((secret) => secret.key)).toContain("infra:monitoringAdminPasswordHash");
  });

  it("probes /api/health/db, the seed's database check, on the portal itself, beside the route's probe of /", async () => {
    const plan = await nextmavensPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    // Over the Docker network on the portal's own port: through Traefik it would test the route, not the database.
    expect(plan.monitoring!.probed.filter((probe) => probe.job === "database")).toEqual([
      { job: "database", name: "developer-portal", target: "http://developer-portal:3000/api/health/db", module: "http_2xx" },
    ]);
    expect(plan.monitoring!.probed).toContainEqual({ job: "routes", name: `portal.${domain}`, target: "https://traefik:443/", module: "route_portal" });
    const scrape = (
      parse(upload(plan, "prometheus", "/etc/prometheus/prometheus.yml")) as {
        scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[];
      }
    ).scrape_configs;
    expect(scrape.find((job) => job.job_name === "database")).toMatchObject({
      metrics_path: "/probe",
      static_configs: [{ targets: ["http://developer-portal:3000/api/health/db"], labels: { __param_module: "http_2xx", instance: "developer-portal" } }],
    });
    // A plain GET that only a 2xx passes: no list of accepted codes, no TLS expected inside the network.
    const modules = (parse(upload(plan, "blackbox-exporter", "/etc/blackbox_exporter/config.yml")) as { modules: Record<string, unknown> }).modules;
    expect(modules.http_2xx).toEqual({ prober: "http", timeout: "5s", http: { method: "GET", preferred_ip_protocol: "ip4" } });
    // The prober shares a network with the portal.
    const networks = (service: string) => (container(plan, service).inputs.networksAdvanced as { name: string }[]).map((network) => network.name);
    expect(networks("blackbox-exporter").some((network) => networks("developer-portal").includes(network))).toBe(true);
  });

  it("alerts on database connection failures (seed 003): critical, when /api/health/db fails while the portal answers (promtool test rules)", async () => {
    const plan = await nextmavensPlan(stack);
    expect(plan.monitoring!.alerts.filter((alert) => alert.group === "dependencies")).toEqual([
      {
        group: "dependencies",
        alert: "DatabaseConnectionFailed",
        severity: "critical",
        threshold: "database check failing for 2m while the service answers",
        for: "2m",
      },
    ]);
    const rules = upload(plan, "prometheus", "/etc/prometheus/rules.yml");
    const series = (job: string, value: string, instance = "developer-portal") => ({
      series: `probe_success{job="${job}",instance="${instance}"}`,
      values: value,
    });
    const expected = {
      exp_labels: { severity: "critical", group: "dependencies", job: "database", instance: "developer-portal" },
      exp_annotations: { summary: "developer-portal answers, but its database check fails: it cannot reach its database" },
    };
    const cases = [
      // /api/health/db fails, the portal answers: the alert.
      { name: "database unreachable", input_series: [series("database", "0x20"), series("services", "1x20")], exp_alerts: [expected] },
      // The portal's own health (/api/health, its port) is fine and so is the database: nothing.
      { name: "all well", input_series: [series("database", "1x20"), series("services", "1x20")], exp_alerts: [] },
      // The portal does not answer at all: ContainerUnhealthy's, not a database failure.
      { name: "portal down", input_series: [series("database", "0x20"), series("services", "0x20")], exp_alerts: [] },
      // The public route failing is RouteProbeFailed's.
      {
        name: "route down",
        input_series: [series("database", "1x20"), series("services", "1x20"), series("routes", "0x20", `portal.vpai.example.com`)],
        exp_alerts: [],
      },
    ];
    const test = stringify({
      rule_files: ["rules.yml"],
      evaluation_interval: "30s",
      tests: cases.map((entry) => ({
        name: entry.name,
        interval: "15s",
        input_series: entry.input_series,
        alert_rule_test: [{ eval_time: "3m", alertname: "DatabaseConnectionFailed", exp_alerts: entry.exp_alerts }],
      })),
    });
    const run = runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": rules, "test.yml": test });
    expect(run.ok, run.output).toBe(true);
  });

  it("fits the memory budget of its server", async () => {
    const plan = await nextmavensPlan(stack);
    // The portal and Traefik take 640 MB, the monitoring stack 792 MB and its socket proxy 16 MB.
    expect(plan.hosts[0]!.budget).toMatchObject({ containersMb: 1448, reserveMb: 512 });
    expect(plan.hosts[0]!.budget.headroomMb).toBeGreaterThanOrEqual(0);
  });
});

describe("NextMavens secrets stay secret (V3)", () => {
  it("never lets the managed database's URL out of the plan", async () => {
    const planted = "postgresql://portal:planted-Nm-4f9d2c@nextmavens-db.example.internal:5432/nextmavens";
    const plan = await buildPlan({
      projectDir: PROJECT_DIR,
      stack: "prod",
      overrides: ["blueprint=nextmavens"],
      secretOverrides: [`infra:databaseUrl=${planted}`],
    });
    // The URL now reaches the backup job too, and stays a secret there.
    expect(resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "nextmavens-main-backup-environment")?.inputs.stdin).toBe("[secret]");
    expect(JSON.stringify(plan)).not.toContain("planted-Nm-4f9d2c");
    expect(plan.secretsToSet.map((secret) => secret.key)).not.toContain("infra:databaseUrl");
  });
});
