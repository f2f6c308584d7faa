import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { hostnamesBehindBasicAuth } from "../../components/ingress/protected-hostnames";
import {
  baseBackupScript,
  galion,
  GALION_BACKUP_RETENTION_DAYS,
  GALION_BASE_BACKUPS_KEPT,
  GALION_MEMORY_MB,
  GALION_WAL_ARCHIVE_KEEP_DAYS,
} from "../../infra/blueprints/galion";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { NGINX_CACHE_DIR } from "../../components/ingress/nginx-spec";
import { evaluateModel } from "../../infra/policy/model-policy";
import { modelWith } from "../support/galion-phases";
import { retentionWindowDays } from "../../components/backup/retention";
import type { ServiceSpec } from "../../components/container/service-spec";
import {
  planOf,
  resourcesOf,
  type PlannedResource,
  containerNamed,
  uploadOf,
  publishedPorts,
  declaredNetworks,
  declaredNetworkResources,
} from "../support/plans";
import type { PlanResult } from "../../tools/plan/plan";

/**
 * Seed 004's facts (GALION), pinned on the registered graph of both stacks
 * with `-c blueprint=galion`: a change that breaks one fails here.
 */
const STACKS = ["prod", "preprod"] as const;
// GALION as seed 004 draws it: the shipped stack files' ops host is seed 002's (tests/ops-host covers it).
const galionPlan = (stack: string) => planOf(stack, { overrides: ["blueprint=galion"], without: ["infra:opsHost"] });

const container = (plan: PlanResult, service: string): PlannedResource => containerNamed(plan, `galion-${service}`);

const upload = (plan: PlanResult, service: string, path: string): string => uploadOf(plan, `galion-${service}`, path);

const published = publishedPorts;

/** The blueprint's own data for a stack, where env values (masked in the graph) are read. */
const specOf = (domain: string) => galion.build({ domain, environment: "prod" });
const serviceOf = (services: readonly ServiceSpec[], name: string) => services.find((candidate) => candidate.name === name)!;

/**
 * Seed 004, "Network Flow" and the diagram: each service, the networks it
 * joins, and where it is published. The applications are on 127.0.0.1 at
 * the ports "users see"; databases and monitoring are localhost only.
 * certbot and the PgBouncer exporter are not in the seed: the certificates
 * nginx needs, and the fifth of the seed's "Exporters (5x)". The base backup
 * is the seed's weekly pg_basebackup, as a service. Alertmanager, Loki,
 * Promtail, Grafana and the blackbox exporter come with the generated
 * monitoring; its admin UIs are on 127.0.0.1 like the seed's Prometheus.
 */
const SERVICE_MATRIX: Record<string, { networks: string[]; published: string[] }> = {
  nginx: { networks: ["web", "monitoring"], published: ["0.0.0.0:80->80", "0.0.0.0:443->443"] },
  certbot: { networks: ["egress"], published: [] },
  "app-frontend": { networks: ["web"], published: ["127.0.0.1:3001->3000"] },
  "app-api": { networks: ["web", "data", "egress", "monitoring"], published: ["127.0.0.1:8001->8000"] },
  voice: { networks: ["web", "data", "egress"], published: ["127.0.0.1:8002->8000"] },
  "studio-frontend": { networks: ["web"], published: ["127.0.0.1:3003->3000"] },
  "studio-api": { networks: ["web", "data", "egress", "monitoring"], published: ["127.0.0.1:8003->8000"] },
  realtime: { networks: ["web", "data"], published: ["127.0.0.1:8004->8000"] },
  pgbouncer: { networks: ["data"], published: ["127.0.0.1:6432->6432"] },
  postgres: { networks: ["data", "monitoring"], published: ["127.0.0.1:5432->5432"] },
  redis: { networks: ["data", "monitoring"], published: ["127.0.0.1:6379->6379"] },
  prometheus: { networks: ["monitoring"], published: ["127.0.0.1:9090->9090"] },
  "node-exporter": { networks: ["monitoring"], published: [] },
  cadvisor: { networks: ["monitoring"], published: [] },
  "postgres-exporter": { networks: ["monitoring"], published: [] },
  "redis-exporter": { networks: ["monitoring"], published: [] },
  "nginx-exporter": { networks: ["monitoring"], published: [] },
  "pgbouncer-exporter": { networks: ["data", "monitoring"], published: [] },
  "postgres-base-backup": { networks: ["data"], published: [] },
  alertmanager: { networks: ["monitoring", "egress"], published: ["127.0.0.1:9093->9093"] },
  loki: { networks: ["monitoring"], published: ["127.0.0.1:3100->3100"] },
  promtail: { networks: ["monitoring"], published: [] },
  grafana: { networks: ["monitoring"], published: ["127.0.0.1:3000->3000"] },
  "blackbox-exporter": { networks: ["monitoring", "web", "data"], published: [] },
  // cAdvisor's and Promtail's way to the Docker API (C14), on networks the platform adds.
  "docker-socket-proxy": { networks: [], published: [] },
};

/** Seed 004, "Memory Allocation Strategy", in MB; the five exporters at 128 MB each. */
const SEED_MEMORY_TABLE: Record<string, number> = {
  postgres: 1536,
  redis: 2048,
  pgbouncer: 128,
  "app-api": 1536,
  "studio-api": 1536,
  voice: 1536,
  realtime: 512,
  "app-frontend": 384,
  "studio-frontend": 512,
  prometheus: 512,
  cadvisor: 256,
  "node-exporter": 128,
  "postgres-exporter": 128,
  "redis-exporter": 128,
  "nginx-exporter": 128,
  "pgbouncer-exporter": 128,
};
const SEED_RAM_MB = 16384;
const SEED_RESERVE_MB = 3072;

describe.each(STACKS)("GALION blueprint on %s (seed 004)", (stack) => {
  it("runs the seed's services, plus certbot, the PgBouncer exporter, the base backup and the rest of the generated monitoring, each pinned to a version tag", async () => {
    const plan = await galionPlan(stack);
    expect(plan.blueprint).toBe("galion");
    const names = resourcesOf(plan, "docker:index/container:Container").map((resource) => String(resource.inputs.name));
    expect(names.sort()).toEqual(
      Object.keys(SERVICE_MATRIX)
        .map((service) => `galion-${service}`)
        .sort(),
    );
    for (const image of resourcesOf(plan, "docker:index/remoteImage:RemoteImage")) {
      expect(image.inputs.name).toMatch(/^[a-z0-9._/-]+:[A-Za-z0-9._-]+$/);
      expect(image.inputs.name).not.toMatch(/:latest$/);
    }
    expect(container(plan, "postgres").inputs.image).toBe("postgres:15.10-alpine");
    expect(container(plan, "redis").inputs.image).toMatch(/^redis:7\./);
  });

  it("builds the four networks, data and monitoring internal", async () => {
    const plan = await galionPlan(stack);
    const networks = Object.fromEntries(
      declaredNetworkResources(plan).map((network) => [
        network.inputs.name,
        [(network.inputs.ipamConfigs as { subnet: string }[])[0]!.subnet, network.inputs.internal],
      ]),
    );
    expect(networks).toEqual({
      "galion-egress": ["172.24.4.0/24", false],
      "galion-web": ["172.24.1.0/24", false],
      "galion-data": ["172.24.2.0/24", true],
      "galion-monitoring": ["172.24.3.0/24", true],
    });
  });

  it("attaches each service to its networks and publishes the apps, databases and Prometheus on 127.0.0.1 only (seed: localhost only; C11)", async () => {
    const plan = await galionPlan(stack);
    for (const [service, expected] of Object.entries(SERVICE_MATRIX)) {
      expect(declaredNetworks(container(plan, service).inputs.networksAdvanced), service).toEqual(
        expected.networks.map((network) => ({ name: `galion-${network}`, aliases: [service] })),
      );
      expect(published(container(plan, service)), service).toEqual(expected.published);
    }
  });

  it("exposes only nginx's 80/443, open to Cloudflare only, and SSH only from the admin networks (F1-F3)", async () => {
    const plan = await galionPlan(stack);
    const host = plan.hosts[0]!;
    expect(host.exposed).toEqual(["80/tcp (nginx)", "443/tcp (nginx)"]);
    const tcp = host.firewall.filter((rule) => rule.protocol === "tcp");
    expect(tcp.map((rule) => rule.port)).toEqual([22, 80, 443]);
    expect(tcp[0]!.sourceCidrs).toEqual(["198.51.100.7/32", "100.64.0.0/10"]);
    for (const rule of tcp.slice(1)) {
      expect(rule.sourceCidrs).toContain("173.245.48.0/20");
      expect(rule.sourceCidrs).not.toContain("0.0.0.0/0");
    }
  });

  it("rate-limits at nginx within the seed's 100-200 requests a minute, with gzip, keepalive upstreams and HSTS, CSP and X-Frame headers", async () => {
    const plan = await galionPlan(stack);
    const conf = upload(plan, "nginx", "/etc/infra/live/nginx.conf");
    const rate = Number(/limit_req_zone \$binary_remote_addr zone=per_client:10m rate=(\d+)r\/m;/.exec(conf)?.[1]);
    expect(rate).toBeGreaterThanOrEqual(100);
    expect(rate).toBeLessThanOrEqual(200);
    expect(conf).toMatch(/^\s*gzip on;$/m);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const routes = {
      app: "app_frontend_3000",
      api: "app_api_8000",
      voice: "voice_8000",
      studio: "studio_frontend_3000",
      "studio-api": "studio_api_8000",
      realtime: "realtime_8000",
    };
    for (const [subdomain, upstream] of Object.entries(routes)) {
      const server = conf.split(/\n\s*server \{/).find((block) => block.includes(`server_name ${subdomain}.${domain};`));
      expect(server, subdomain).toBeDefined();
      for (const header of ["Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options"])
        expect(server, `${subdomain} ${header}`).toContain(`add_header ${header} `);
      expect(server).toContain("limit_req zone=per_client");
      expect(server).toContain(`proxy_pass http://${upstream};`);
      expect(conf).toMatch(new RegExp(`upstream ${upstream} \\{\\n\\s+server [a-z-]+:\\d+;\\n\\s+keepalive \\d+;`));
    }
  });

  it("puts PgBouncer (1000 clients onto 100 connections) between every application and PostgreSQL", async () => {
    const plan = await galionPlan(stack);
    const services = specOf("vpai.example.com").services;
    const pgbouncer = serviceOf(services, "pgbouncer");
    expect(pgbouncer.env).toMatchObject({ DB_HOST: "postgres", DB_PORT: "5432", MAX_CLIENT_CONN: "1000", MAX_DB_CONNECTIONS: "100" });
    for (const [api, database] of [
      ["app-api", "galion"],
      ["studio-api", "galion_studio"],
    ] as const) {
      expect(serviceOf(services, api).env.DATABASE_URL).toEqual({
        secretTemplate: `postgresql://postgres:{{infra:postgresPassword}}@pgbouncer:6432/${database}`,
      });
      expect(container(plan, api).dependsOn).toContain(container(plan, "pgbouncer").name);
    }
    // Nothing but PgBouncer and the exporter talks to PostgreSQL's own port.
    const direct = services.filter((service) => Object.values(service.env).some((value) => JSON.stringify(value).includes("postgres:5432/")));
    expect(direct.map((service) => service.name)).toEqual(["postgres-exporter"]);
    expect(container(plan, "pgbouncer").dependsOn).toContain(container(plan, "postgres").name);
  });

  it("archives WAL for point-in-time recovery every 5 minutes at most, into a volume the nightly backup takes off-site (B6)", async () => {
    const plan = await galionPlan(stack);
    const command = (container(plan, "postgres").inputs.command as string[]).join(" ");
    expect(command).toContain("-c 'wal_level=replica'");
    expect(command).toContain("-c 'archive_mode=on'");
    const timeout = Number(/-c 'archive_timeout=(\d+)'/.exec(command)?.[1]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(300);
    const archiveVolume = (container(plan, "postgres").inputs.volumes as { containerPath: string; volumeName: string }[]).find(
      (volume) => volume.volumeName === "galion-postgres-wal-archive",
    );
    expect(archiveVolume).toBeDefined();
    const archive = archiveVolume!.containerPath;
    // Copied once, never overwritten; segments older than the kept base backups need are pruned.
    expect(command).toContain(
      `-c 'archive_command=test ! -f ${archive}/%f && cp %p ${archive}/%f && (find ${archive} -maxdepth 1 -type f -mmin +${GALION_WAL_ARCHIVE_KEEP_DAYS * 1440} -delete || true)'`,
    );
    expect(command).toContain("-c 'max_connections=200'");
    const backup = plan.backups.find((job) => job.server === "main")!;
    expect(backup.sources.map((source) => [source.service, source.kind, source.what.replace(/.*: |files of volume /, "")])).toEqual([
      ["postgres", "postgres", "galion, galion_studio"],
      ["redis", "redis", "BGSAVE, wait for LASTSAVE to change, copy the RDB"],
      ["postgres", "volume", "galion-postgres-wal-archive"],
      ["postgres-base-backup", "volume", "galion-postgres-base-backup-base-backups"],
    ]);
  });

  it("takes the seed's weekly base backup that WAL is replayed onto, streaming from the primary as the replication role, two kept", async () => {
    const plan = await galionPlan(stack);
    const base = container(plan, "postgres-base-backup");
    expect(base.inputs.image).toBe(container(plan, "postgres").inputs.image);
    expect(base.dependsOn).toContain(container(plan, "postgres").name);
    const volume = (base.inputs.volumes as { containerPath: string; volumeName: string }[])[0]!;
    expect(volume.volumeName).toBe("galion-postgres-base-backup-base-backups");
    expect((base.inputs.command as string[])[2]).toContain(
      `exec su-exec postgres sh -c '${baseBackupScript(volume.containerPath, GALION_BASE_BACKUPS_KEPT).replace(/'/g, "'\\''")}'`,
    );
    const spec = serviceOf(specOf("vpai.example.com").services, "postgres-base-backup");
    // libpq finds the replicator's password in the file PGPASSFILE names (C15).
    expect(spec.env).toEqual({ PGHOST: "postgres", PGPORT: "5432", PGUSER: "replicator" });
    expect(spec.secretFiles).toEqual([
      {
        name: "replicator.pgpass",
        content: { secretTemplate: "*:*:*:replicator:{{infra:replicationPassword}}\n", encoding: "pgpass" },
        variable: "PGPASSFILE",
        uid: 70,
      },
    ]);
    const script = baseBackupScript("/backups", GALION_BASE_BACKUPS_KEPT);
    expect(script).toContain('pg_basebackup -D "$dir/.partial-$stamp" -F tar -z -X stream --checkpoint=fast');
    // Sunday 00:00 UTC, as seed 004's "WEEKLY (Sunday midnight)".
    expect(script).toContain("sleep $(( (7 - $(date -u +%w)) * 86400 - now % 86400 ))");
    expect(script).toContain(`tail -n +${GALION_BASE_BACKUPS_KEPT + 1}`);
    expect(GALION_WAL_ARCHIVE_KEEP_DAYS).toBeGreaterThan(7 * GALION_BASE_BACKUPS_KEPT);
  });

  it("keeps the nightly dumps 30 days (seed 004): 30 daily snapshots, though the stack file asks for 7, and old versions in the bucket as long", async () => {
    const plan = await galionPlan(stack);
    const backup = plan.backups.find((job) => job.server === "main")!;
    // 30 days of dailies, not a window that 7 dailies and 4 weeklies stretch to 28 days or more.
    expect(backup.retention).toMatchObject({ daily: GALION_BACKUP_RETENTION_DAYS, weekly: 4, monthly: 6, yearly: 2 });
    expect(GALION_BACKUP_RETENTION_DAYS).toBe(30);
    expect(backup.retention.text).toContain(
      "never fewer than 30 daily, whatever infra:backup.retention says: postgres keeps 30 (seed 004: daily dumps kept 30 days)",
    );
    const install = resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "galion-main-backup-install")!;
    expect(String(install.inputs.stdin)).toContain(
      'restic forget --host "$host" --tag "$tag" --group-by host,tags --keep-daily 30 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2',
    );
    // S3: a deleted or overwritten pack stays recoverable for the whole 30 days.
    expect(resourcesOf(plan, "pulumi-nodejs:dynamic/storage:Bucket")[0]!.inputs.noncurrentVersionExpiryDays).toBeGreaterThanOrEqual(30);
    expect(plan.policy.violations).toEqual([]);
  });

  it("keeps the nightly backups in the S3 bucket for at least the seed's 30 days, and Prometheus' metrics for 30 days", async () => {
    const plan = await galionPlan(stack);
    const backup = plan.backups.find((job) => job.server === "main")!;
    expect(retentionWindowDays(backup.retention)).toBeGreaterThanOrEqual(30);
    expect(backup.repository).toMatch(/^s3:https:\/\/.+\/vpai(-preprod)?-backups\/restic\/main$/);
    const bucket = resourcesOf(plan, "pulumi-nodejs:dynamic/storage:Bucket")[0]!;
    expect(bucket.inputs.noncurrentVersionExpiryDays).toBeGreaterThanOrEqual(30);
    expect(container(plan, "prometheus").inputs.command).toContain("--storage.tsdb.retention.time=30d");
  });

  it("runs Redis 7 with AOF and RDB persistence, maxmemory inside its container limit", async () => {
    const plan = await galionPlan(stack);
    const command = (container(plan, "redis").inputs.command as string[]).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toMatch(/--save \d+ \d+/);
    const maxmemory = Number(/--maxmemory (\d+)mb/.exec(command)?.[1]);
    expect(maxmemory).toBeGreaterThan(0);
    expect(maxmemory).toBeLessThan(Number(container(plan, "redis").inputs.memory));
  });

  it("scrapes the seed's exporters (node, cAdvisor, PostgreSQL, Redis, nginx) and both APIs from Prometheus", async () => {
    const plan = await galionPlan(stack);
    const config = parse(upload(plan, "prometheus", "/etc/prometheus/prometheus.yml")) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.static_configs[0]!.targets]));
    expect(jobs).toMatchObject({
      node: ["node-exporter:9100"],
      cadvisor: ["cadvisor:8080"],
      "postgres-exporter": ["postgres-exporter:9187"],
      "redis-exporter": ["redis-exporter:9121"],
      "nginx-exporter": ["nginx-exporter:9113"],
      "pgbouncer-exporter": ["pgbouncer-exporter:9127"],
      "app-api": ["app-api:8000"],
      "studio-api": ["studio-api:8000"],
    });
  });

  it("takes OpenAI and ElevenLabs as secrets of the stack and creates nothing for them", async () => {
    const plan = await galionPlan(stack);
    const wanted = plan.secretsToSet.map((secret) => secret.key);
    expect(wanted).toEqual(expect.arrayContaining(["infra:openaiApiKey", "infra:elevenlabsApiKey"]));
    expect(plan.resources.filter((resource) => /openai|elevenlabs/i.test(`${resource.type} ${resource.name}`))).toEqual([]);
    const voice = serviceOf(specOf("vpai.example.com").services, "voice");
    expect(voice.env).toMatchObject({ OPENAI_API_KEY: { secret: "infra:openaiApiKey" }, ELEVENLABS_API_KEY: { secret: "infra:elevenlabsApiKey" } });
    for (const api of ["app-api", "voice"]) expect(container(plan, api).inputs.envs, api).toBe("[secret]");
  });

  it("routes the two apps, their APIs, voice and realtime through nginx, with DNS proxied by Cloudflare", async () => {
    const plan = await galionPlan(stack);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const records = resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord").map((record) => [record.inputs.name, record.inputs.proxied]);
    expect(records.sort()).toEqual(["api", "app", "realtime", "studio", "studio-api", "voice"].map((subdomain) => [`${subdomain}.${domain}`, true]).sort());
  });

  it("gives every container a memory limit, healthcheck, log rotation, restart policy and no-new-privileges", async () => {
    const plan = await galionPlan(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect(resource.inputs.memory, name).toBeGreaterThan(0);
      expect((resource.inputs.healthcheck as { tests: string[] }).tests.length, name).toBeGreaterThan(1);
      expect(resource.inputs.logOpts, name).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(resource.inputs.restart, name).toBe("unless-stopped");
      expect(resource.inputs.securityOpts, name).toEqual(["no-new-privileges:true"]);
    }
  });
});

/**
 * nginx.conf's directives by where they stand: each server block by its
 * name, with the block (location) each line sits in; `http` for the lines
 * of no server. Only what the cache tests read: a line and its enclosing
 * blocks' heads.
 */
function nginxDirectives(conf: string): { line: string; server?: string; blocks: string[] }[] {
  const found: { line: string; server?: string; blocks: string[] }[] = [];
  const heads: string[] = [];
  let server: string | undefined;
  for (const raw of conf.split("\n")) {
    const line = raw.trim();
    if (line.endsWith("{")) {
      heads.push(line.slice(0, -1).trim());
      continue;
    }
    if (line === "}") {
      if (heads.pop() === "server") server = undefined;
      continue;
    }
    if (line.startsWith("server_name ") && heads.at(-1) === "server") server = line.slice("server_name ".length, -1);
    if (line) found.push({ line, ...(server ? { server } : {}), blocks: [...heads] });
  }
  return found;
}

describe.each([
  ["prod", []],
  ["preprod", []],
  ["prod with adminAccess: ingress", ['monitoring={"adminAccess":"ingress"}']],
] as const)("GALION's nginx proxy cache on %s (seed 004: 1.5 GB for the API and static files)", (name, overrides) => {
  const stack = name.split(" ")[0]!;
  const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
  const cachedPlan = () => planOf(stack, { overrides: ["blueprint=galion", ...overrides] });

  it("keeps 1 GB for the APIs and 500 MB for the static files, 1.5 GB in all, on a volume of nginx's own that no backup takes", async () => {
    const plan = await cachedPlan();
    const conf = upload(plan, "nginx", "/etc/infra/live/nginx.conf");
    const paths = [...conf.matchAll(/^\s*proxy_cache_path (\S+) levels=1:2 keys_zone=(\w+):(\d+)m max_size=(\d+)m inactive=(\S+) use_temp_path=off;$/gm)];
    expect(paths.map((match) => [match[1], match[2], Number(match[4]), match[5]])).toEqual([
      [`${NGINX_CACHE_DIR}/api`, "api", 1024, "60m"],
      [`${NGINX_CACHE_DIR}/static`, "static", 512, "7d"],
    ]);
    expect(paths.reduce((sum, match) => sum + Number(match[4]), 0)).toBe(1536);
    expect(conf.match(/proxy_cache_path/g)).toHaveLength(2);
    // Disk, not memory: a named volume at the cache directory, and no tmpfs there (it would count against nginx's memory limit).
    const nginx = container(plan, "nginx");
    expect(nginx.inputs.volumes).toContainEqual({ containerPath: NGINX_CACHE_DIR, readOnly: false, volumeName: "galion-nginx-cache" });
    expect(Object.keys(nginx.inputs.tmpfs as Record<string, string>)).toEqual(["/tmp"]);
    expect(resourcesOf(plan, "docker:index/volume:Volume").map((volume) => volume.inputs.name)).toContain("galion-nginx-cache");
    expect(plan.backups.flatMap((backup) => backup.sources).filter((source) => source.what.includes("nginx"))).toEqual([]);
    expect(plan.policy.violations).toEqual([]);
  });

  it("caches the two APIs and the two frontends only: never voice, realtime or a route behind a password, and nowhere outside their own location", async () => {
    const plan = await cachedPlan();
    const directives = nginxDirectives(upload(plan, "nginx", "/etc/infra/live/nginx.conf"));
    const cached = directives.filter((directive) => /^proxy_cache \w+;$/.test(directive.line));
    // Inside `location /` of a server, never at http or server level, where every location would inherit it.
    for (const directive of cached) expect(directive.blocks, directive.line).toEqual(["http", "server", "location /"]);
    expect(Object.fromEntries(cached.map((directive) => [directive.server, directive.line]))).toEqual({
      [`api.${domain}`]: "proxy_cache api;",
      [`studio-api.${domain}`]: "proxy_cache api;",
      [`app.${domain}`]: "proxy_cache static;",
      [`studio.${domain}`]: "proxy_cache static;",
    });
    const guarded = new Set(
      directives.filter((directive) => directive.line.startsWith("auth_basic ") && directive.line !== "auth_basic off;").map((directive) => directive.server),
    );
    expect(guarded.size).toBe(overrides.length > 0 ? 4 : 0);
    for (const server of guarded)
      expect(
        cached.map((directive) => directive.server),
        server,
      ).not.toContain(server);
    for (const subdomain of ["voice", "realtime"]) expect(cached.map((directive) => directive.server)).not.toContain(`${subdomain}.${domain}`);
  });

  it("honours the upstream: stores what its Cache-Control or Expires allows, never a Set-Cookie, and never for a request with credentials", async () => {
    const plan = await cachedPlan();
    const directives = nginxDirectives(upload(plan, "nginx", "/etc/infra/live/nginx.conf"));
    // No lifetime of nginx's own and no upstream header ignored: what the application says decides.
    expect(directives.filter((directive) => /^proxy_(cache_valid|ignore_headers) /.test(directive.line))).toEqual([]);
    for (const server of [`api.${domain}`, `studio-api.${domain}`, `app.${domain}`, `studio.${domain}`]) {
      const lines = directives
        .filter((directive) => directive.server === server && directive.blocks.at(-1) === "location /")
        .map((directive) => directive.line);
      expect(lines, server).toEqual(
        expect.arrayContaining([
          "proxy_cache_key $scheme$host$request_uri;",
          "proxy_cache_bypass $http_authorization $http_cookie;",
          "proxy_no_cache $http_authorization $http_cookie $upstream_http_set_cookie;",
        ]),
      );
    }
  });
});

describe("GALION's 30-day retention against the stack's own (seed 004, B1, S3)", () => {
  const backup = (retention: Record<string, number>) => `backup=${JSON.stringify({ schedule: "02:55", retention, checkSubsets: 30 })}`;
  const forgetOf = (plan: PlanResult) =>
    /restic forget [^\n]*--group-by host,tags (--keep[^\n]*?)(?: \|\||\n|$)/.exec(
      String(resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "galion-main-backup-install")!.inputs.stdin),
    )?.[1];

  it.each([
    // Dailies only, and fewer than the seed's: still 30 days of them.
    [{ daily: 3, weekly: 0, monthly: 0, yearly: 0 }, { daily: 30, weekly: 0, monthly: 0, yearly: 0 }, "--keep-daily 30"],
    // More than the seed asks for is kept: the promise is a floor, never a cap.
    [
      { daily: 60, weekly: 4, monthly: 6, yearly: 2 },
      { daily: 60, weekly: 4, monthly: 6, yearly: 2 },
      "--keep-daily 60 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2",
    ],
  ])("stack retention %j keeps %j", async (asked, kept, flags) => {
    // The bucket keeps old versions as long as the dailies reach back (S3), or the plan is refused.
    const storage = `storage=${JSON.stringify({ ...modelWith({}).config.storage, noncurrentVersionExpiryDays: kept.daily })}`;
    const plan = await planOf("prod", { overrides: ["blueprint=galion", backup(asked), storage], without: ["infra:opsHost"] });
    expect(plan.backups[0]!.retention).toMatchObject(kept);
    expect(forgetOf(plan)).toBe(flags);
  });

  it("S3 judges the bucket against the 30 days: old versions kept 29 days are a violation, 30 are none", () => {
    const storage = (days: number) => JSON.stringify({ ...modelWith({}).config.storage, noncurrentVersionExpiryDays: days });
    const report = evaluateModel(modelWith({ "infra:blueprint": "galion", "infra:storage": storage(29) }));
    expect(report.violations.filter((violation) => violation.rule === "S3").map((violation) => [violation.resource, violation.message])).toEqual([
      ["bucket galion-backups", "noncurrent versions expire after 29 days, inside the 30-day retention window"],
    ]);
    expect(
      evaluateModel(modelWith({ "infra:blueprint": "galion", "infra:storage": storage(30) })).violations.filter((violation) => violation.rule === "S3"),
    ).toEqual([]);
  });
});

describe("GALION admin UIs routed through nginx (adminAccess: ingress)", () => {
  const ADMIN = ["grafana", "metrics", "alerts", "logs"];

  it("serves them by name behind basic auth on one server, published nowhere on the host", async () => {
    const plan = await planOf("prod", { overrides: ["blueprint=galion", 'monitoring={"adminAccess":"ingress"}'] });
    const names = (subdomains: string[]) => subdomains.map((subdomain) => `${subdomain}.vpai.example.com`).sort();
    const conf = upload(plan, "nginx", "/etc/infra/live/nginx.conf");
    expect([...hostnamesBehindBasicAuth("nginx", [{ path: "/etc/infra/live/nginx.conf", content: conf }])].sort()).toEqual(names(ADMIN));
    expect(plan.routes.map((route) => route.hostname).sort()).toEqual(names(["app", "api", "voice", "studio", "studio-api", "realtime", ...ADMIN]));
    for (const service of ["grafana", "prometheus", "alertmanager", "loki"]) expect(published(container(plan, service)), service).toEqual([]);
    // nginx resolves the monitoring stack per request: it may start before it.
    expect(conf).toContain("set $late_upstream http://prometheus:9090;");
  });

  it("reaches them from the app servers through forwarders over the private network in phase 4, never on a public address", async () => {
    const plan = await planOf("prod", { overrides: ["@examples/galion/phase-4.yaml", 'monitoring={"adminAccess":"ingress"}'] });
    for (const server of ["app-1", "app-2"]) {
      const host = plan.hosts.find((candidate) => candidate.server === server)!;
      for (const service of ["grafana", "prometheus", "alertmanager", "loki"]) {
        expect(host.services.find((candidate) => candidate.name === service)!.image, `${server} ${service}`).toBe("nginx:1.27.3-alpine");
      }
      expect(host.exposed, server).toEqual([]);
    }
    const main = plan.hosts.find((candidate) => candidate.server === "main")!;
    expect(main.services.find((candidate) => candidate.name === "grafana")!.ports).toEqual(["3000/tcp", "10.0.1.2:3000->3000/tcp"]);
    expect(main.exposed).toEqual([]);
    expect(plan.policy.violations).toEqual([]);
  });
});

describe("GALION memory (seed 004, Memory Allocation Strategy)", () => {
  it("sizes every container as the seed's table does, and they fit 16 GB minus its 3 GB system reserve", () => {
    const services = galion.build({ domain: "example.com", environment: "prod", memoryProfile: "seed" }).services;
    for (const [name, mb] of Object.entries(SEED_MEMORY_TABLE)) expect(serviceOf(services, name).memoryMb, name).toBe(mb);
    expect(galion.systemReserveMb).toBe(SEED_RESERVE_MB);
    const total = services.reduce((sum, service) => sum + service.memoryMb, 0);
    // The seed's own sum is about 11 GB; nginx and certbot ran on its host, it took base backups with a script,
    // and its Grafana was Grafana Cloud, without Alertmanager, Loki, Promtail or blackbox probes.
    const beyondSeed = ["nginx", "certbot", "postgres-base-backup", "alertmanager", "loki", "promtail", "grafana", "blackbox-exporter"];
    expect(total - beyondSeed.reduce((sum, name) => sum + GALION_MEMORY_MB[name]!, 0)).toBe(11136);
    expect(total).toBeLessThanOrEqual(SEED_RAM_MB - SEED_RESERVE_MB);
  });

  it("uses the seed's limits on prod's 16 GB server, in the graph as in the budget", async () => {
    const plan = await galionPlan("prod");
    expect(plan.memoryProfile).toBe("seed");
    for (const [name, mb] of Object.entries(SEED_MEMORY_TABLE)) expect(container(plan, name).inputs.memory, name).toBe(mb);
    const budget = plan.hosts[0]!.budget;
    // The blueprint's 11984 MB and the socket proxy's 16.
    expect(budget).toMatchObject({ serverMb: SEED_RAM_MB, reserveMb: SEED_RESERVE_MB, containersMb: 12000 });
    expect(budget.headroomMb).toBeGreaterThanOrEqual(0);
  });

  it("falls back to the compact limits on preprod's 4 GB CX23, where the seed's do not fit, and fits", async () => {
    const plan = await galionPlan("preprod");
    const seedTotal = galion
      .build({ domain: "example.com", environment: "preprod", memoryProfile: "seed" })
      .services.reduce((sum, service) => sum + service.memoryMb, 0);
    expect(seedTotal + SEED_RESERVE_MB).toBeGreaterThan(4096);
    expect(plan.memoryProfile).toBe("compact");
    const budget = plan.hosts[0]!.budget;
    expect(budget.serverMb).toBe(4096);
    expect(budget.headroomMb).toBeGreaterThanOrEqual(0);
    // Redis' maxmemory follows its compact limit, so it cannot outgrow the container.
    const redis = container(plan, "redis");
    expect(Number(/--maxmemory (\d+)mb/.exec((redis.inputs.command as string[]).join(" "))?.[1])).toBeLessThan(Number(redis.inputs.memory));
  });
});

describe("GALION stack-specific settings", () => {
  it("keeps its 30 days when the ops host pulls the backups: the pull's forget carries GALION's minimum, and the server runs none", async () => {
    const plan = await planOf("prod", { overrides: ["blueprint=galion"] });
    const pull = resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "galion-ops-pull-install")!;
    expect(String(pull.inputs.stdin)).toContain("--keep-last 3 --keep-daily 30 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2");
    const install = resourcesOf(plan, SSH_COMMAND_TYPE).find((command) => command.name === "galion-main-backup-install")!;
    expect(String(install.inputs.stdin)).not.toContain("restic forget");
    expect(plan.policy.violations).toEqual([]);
  });

  it("prod adopts the existing 16 GB VPS; preprod is a Hetzner CX23", async () => {
    const prod = await galionPlan("prod");
    expect(resourcesOf(prod, "hcloud:index/server:Server")).toEqual([]);
    expect(prod.cost.totalMonthlyEur).toBe(26.99);
    const preprod = await galionPlan("preprod");
    expect(resourcesOf(preprod, "hcloud:index/server:Server")[0]!.inputs).toMatchObject({ serverType: "cx23", location: "fsn1" });
    expect(preprod.cost.totalMonthlyEur).toBe(8.48);
  });
});
