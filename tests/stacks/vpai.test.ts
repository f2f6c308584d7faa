import { liveFilesInstalled } from "../../components/container/live-config";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { describe, expect, it } from "vitest";
import { container, planOf, resourcesOf, secretsCommandOf, serviceAliases, uploadOf, withoutRelease, type PlannedResource } from "../support/plans";
import type { PlanResult } from "../../tools/plan/plan";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { vpai } from "../../infra/blueprints/vpai";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform } from "../../infra/platform-model";
import { completeRawConfig } from "../support/stack-config";

/**
 * Seed 002's facts, pinned on the registered graph of both stacks: a change
 * that breaks one fails here.
 */
const SERVICE_MATRIX: Record<string, { networks: string[]; port?: number; tunnel?: number }> = {
  // Exactly the seed's frontend and backend: Grafana, the one admin UI Caddy serves, is on frontend.
  caddy: { networks: ["frontend", "backend"], port: 443 },
  postgres: { networks: ["backend"], port: 5432 },
  redis: { networks: ["backend"], port: 6379 },
  qdrant: { networks: ["backend"], port: 6333 },
  n8n: { networks: ["backend", "egress"], port: 5678 },
  litellm: { networks: ["backend", "egress"], port: 4000 },
  openclaw: { networks: ["backend", "egress"], port: 8080 },
  // `tunnel`: the admin UIs without a route, on 127.0.0.1 for an SSH tunnel.
  victoriametrics: { networks: ["monitoring"], port: 8428, tunnel: 8428 },
  loki: { networks: ["monitoring"], port: 3100, tunnel: 3100 },
  // Each reader of the Docker API also joins the network it shares with the socket proxy alone (C14).
  alloy: { networks: ["backend", "monitoring", "docker-api-alloy"], port: 12345 },
  grafana: { networks: ["frontend", "monitoring"], port: 3000 },
  diun: { networks: ["egress", "docker-api-diun"] },
  // Not in seed 002's matrix: the rule evaluator and the notifier its alerts need,
  // and the socket proxy that stands between Alloy and DIUN and the Docker socket.
  vmalert: { networks: ["monitoring"], port: 8880 },
  alertmanager: { networks: ["monitoring", "egress"], port: 9093, tunnel: 9093 },
  "docker-socket-proxy": { networks: ["docker-api-alloy", "docker-api-diun"], port: 2375 },
};

/** Services whose networks are all internal ride the loopback-publishing bridge to publish on 127.0.0.1 (network-spec.ts). */
const loopbackCarried = (service: string) =>
  SERVICE_MATRIX[service]!.tunnel !== undefined && SERVICE_MATRIX[service]!.networks.every((network) => ["backend", "monitoring"].includes(network));

const STARTUP_ORDER: [string, string][] = [
  ["postgres", "n8n"],
  ["postgres", "litellm"],
  ["postgres", "openclaw"],
  ["redis", "litellm"],
  ["redis", "openclaw"],
  ["qdrant", "openclaw"],
  ["n8n", "caddy"],
  ["litellm", "caddy"],
  ["victoriametrics", "alloy"],
  ["loki", "alloy"],
  ["victoriametrics", "grafana"],
  ["loki", "grafana"],
  ["docker-socket-proxy", "alloy"],
  ["docker-socket-proxy", "diun"],
];

describe.each(["prod", "preprod"])("VPAI blueprint on %s (seed 002)", (stack) => {
  it("runs the seed's twelve services plus vmalert, Alertmanager and the socket proxy, each pinned to a version tag (C10)", async () => {
    const plan = await planOf(stack);
    const names = resourcesOf(plan, "docker:index/container:Container").map((resource) => withoutRelease(String(resource.inputs.name)));
    expect(names.sort()).toEqual(
      Object.keys(SERVICE_MATRIX)
        .map((service) => `vpai-${service}`)
        .sort(),
    );
    for (const image of resourcesOf(plan, "docker:index/remoteImage:RemoteImage")) {
      expect(image.inputs.name).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      expect(image.inputs.name).not.toMatch(/:latest$/);
      expect(image.inputs.keepLocally).toBe(true);
    }
  });

  it("builds the four networks with the seed's subnets and internal flags, an internal one per reader of the Docker API, and a no-traffic bridge for the loopback ports", async () => {
    const plan = await planOf(stack);
    const networks = Object.fromEntries(
      resourcesOf(plan, "docker:index/network:Network").map((network) => [
        network.inputs.name,
        [(network.inputs.ipamConfigs as { subnet: string }[])[0]!.subnet, network.inputs.internal],
      ]),
    );
    expect(networks).toEqual({
      "vpai-frontend": ["172.20.1.0/24", false],
      "vpai-backend": ["172.20.2.0/24", true],
      "vpai-monitoring": ["172.20.3.0/24", true],
      "vpai-egress": ["172.20.4.0/24", false],
      "vpai-docker-api-alloy": ["172.31.252.0/28", true],
      "vpai-docker-api-diun": ["172.31.252.16/28", true],
      "vpai-loopback-publish": ["172.31.254.0/24", false],
    });
    // It carries 127.0.0.1 ports only: its members cannot talk to each other, and nothing leaves through it.
    const bridge = resourcesOf(plan, "docker:index/network:Network").find((network) => network.inputs.name === "vpai-loopback-publish")!;
    expect(bridge.inputs.options).toEqual({ "com.docker.network.bridge.enable_icc": "false", "com.docker.network.bridge.enable_ip_masquerade": "false" });
  });

  it("attaches every service to the networks of the seed's service matrix", async () => {
    const plan = await planOf(stack);
    for (const [service, expected] of Object.entries(SERVICE_MATRIX)) {
      const attached = (container(plan, service).inputs.networksAdvanced as { name: string; aliases: string[] }[]).map((network) =>
        network.name.replace("vpai-", ""),
      );
      const networks = [...expected.networks, ...(loopbackCarried(service) ? ["loopback-publish"] : [])];
      expect(attached, service).toEqual(networks);
      expect(container(plan, service).inputs.networksAdvanced).toEqual(
        networks.map((network) => ({ name: `vpai-${network}`, aliases: serviceAliases(container(plan, service), service) })),
      );
    }
    const host = plan.hosts[0]!;
    for (const [service, expected] of Object.entries(SERVICE_MATRIX)) {
      if (expected.port) expect(host.services.find((candidate) => candidate.name === service)!.ports.join(" "), service).toContain(String(expected.port));
    }
  });

  it("publishes Caddy's 80/443 on all addresses, the admin UIs without a route on 127.0.0.1 only, and the rest only inside Docker (C11)", async () => {
    const plan = await planOf(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const ports = ((resource.inputs.ports ?? []) as { external: number; ip: string }[]).map((port) => [port.ip, port.external]);
      const service = withoutRelease(String(resource.inputs.name)).replace("vpai-", "");
      const tunnel = SERVICE_MATRIX[service]!.tunnel;
      if (service === "caddy")
        expect(ports).toEqual([
          ["0.0.0.0", 80],
          ["0.0.0.0", 443],
        ]);
      else expect(ports, service).toEqual(tunnel === undefined ? [] : [["127.0.0.1", tunnel]]);
    }
    expect(plan.hosts[0]!.exposed).toEqual(["80/tcp (caddy)", "443/tcp (caddy)"]);
  });

  it("follows the seed's startup order", async () => {
    const plan = await planOf(stack);
    for (const [first, then] of STARTUP_ORDER) {
      const dependent = container(plan, then);
      const dependency = container(plan, first);
      expect(dependent.dependsOn, `${then} after ${first}`).toContain(dependency.name);
    }
    expect(container(plan, "postgres").dependsOn.some((name) => name.endsWith("-n8n") || name.endsWith("-caddy"))).toBe(false);
  });

  it("gives the Docker socket, read-only, to the socket proxy alone; DIUN and Alloy reach the API through it, Alloy's host root hides /run (C14), and Caddy binds its live configuration; besides, each service only its own secret files, all read-only", async () => {
    const plan = await planOf(stack);
    const all = (service: string) =>
      (container(plan, service).inputs.volumes as { hostPath?: string; readOnly?: boolean }[]).filter((volume) => volume.hostPath);
    // Each service's secret files come from its own container's directory on the host, read-only (C15).
    for (const service of Object.keys(SERVICE_MATRIX)) {
      for (const bind of all(service).filter((volume) => volume.hostPath!.startsWith("/etc/infra/secrets/"))) {
        expect(bind.hostPath, service).toMatch(new RegExp(`^/etc/infra/secrets/${String(container(plan, service).inputs.name)}/[^/]+$`));
        expect(bind.readOnly, bind.hostPath).toBe(true);
      }
    }
    const binds = (service: string) => all(service).filter((volume) => !volume.hostPath!.startsWith("/etc/infra/secrets/"));
    expect(binds("docker-socket-proxy")).toEqual([{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }]);
    expect(container(plan, "docker-socket-proxy").inputs.ports ?? []).toEqual([]);
    expect(binds("diun")).toEqual([]);
    expect(container(plan, "diun").inputs.envs).toContain("DIUN_PROVIDERS_DOCKER_ENDPOINT=tcp://docker-socket-proxy:2375");
    // node-exporter's collectors read /proc, /sys and / (a C3 waiver); a tmpfs hides the host's /run and its sockets.
    expect(binds("alloy")).toEqual([
      { hostPath: "/proc", containerPath: "/host/proc", readOnly: true },
      { hostPath: "/sys", containerPath: "/host/sys", readOnly: true },
      { hostPath: "/", containerPath: "/host/root", readOnly: true },
    ]);
    expect(Object.keys(container(plan, "alloy").inputs.tmpfs as Record<string, string>)).toEqual(["/host/root/run"]);
    const alloy = (container(plan, "alloy").inputs.uploads as { file: string; content: string }[]).find(
      (upload) => upload.file === "/etc/alloy/config.alloy",
    )!.content;
    expect(alloy).not.toContain("unix://");
    expect(alloy.match(/tcp:\/\/docker-socket-proxy:2375/g)).toHaveLength(3);
    // Caddy reads its routes from the host directory its config command writes and reloads (live-config.ts).
    expect(binds("caddy")).toEqual([{ hostPath: "/srv/infra/vpai-caddy", containerPath: "/etc/infra", readOnly: true }]);
    for (const service of Object.keys(SERVICE_MATRIX).filter((name) => !["docker-socket-proxy", "alloy", "caddy"].includes(name)))
      expect(binds(service), service).toEqual([]);
  });

  it("routes n8n behind its own password but for its webhooks, LiteLLM, OpenClaw, and Grafana behind basic_auth, through Caddy, with /metrics blocked and DNS proxied for each", async () => {
    const plan = await planOf(stack);
    const config = plan.resources.find((resource) => resource.name === "vpai-main-caddy-service-live-config")!;
    const caddyfile = liveFilesInstalled(config.inputs.triggers, "vpai-caddy").find((file) => file.path === CADDYFILE_PATH)!.content;
    expect(container(plan, "caddy").inputs.uploads ?? []).toEqual([]);
    const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
    const site = (subdomain: string, ...lines: string[]) =>
      [
        `${subdomain}.${domain} {`,
        "\timport security_headers",
        "\tencode zstd gzip",
        "\t@blocked0 path_regexp (?i)^(/|%2[fF])+metrics([^a-zA-Z0-9_~-]|$)",
        "\trespond @blocked0 404",
        ...lines,
      ].join("\n");
    // LiteLLM releases with zero downtime: Caddy proxies to its current release's alias.
    const expected = { llm: `${serviceAliases(container(plan, "litellm"), "litellm").at(-1)}:4000`, openclaw: "openclaw:8080" };
    expect(expected.llm).toMatch(/^litellm-[0-9a-f]{8}:4000$/);
    for (const [subdomain, upstream] of Object.entries(expected)) expect(caddyfile).toContain(site(subdomain, `\treverse_proxy ${upstream}`, "}"));
    // E1: n8n's owner setup, editor and API ask for n8n's own password; only production webhooks do not.
    expect(caddyfile).toContain(
      site(
        "n8n",
        "\t@protected not path /webhook/*",
        "\tbasicauth @protected {",
        "\t\tn8n {$INFRA_BCRYPT_N8N_PASSWORD_HASH}",
        "\t}",
        "\trequest_header @protected -Authorization",
        "\treverse_proxy n8n:5678",
        "}",
      ),
    );
    // Both hashes Caddy reads, the admin password's and n8n's own, come from its secret files (C15), never its environment.
    expect(container(plan, "caddy").inputs.envs).toEqual([]);
    expect(String(secretsCommandOf(plan, container(plan, "caddy")).inputs.create)).toMatch(
      / vpai-caddy admin-password(-hash)?:0 infra-bcrypt-n8n-password-hash:0$/,
    );
    const admin = { grafana: "grafana:3000" };
    for (const [subdomain, upstream] of Object.entries(admin)) {
      expect(caddyfile).toContain(site(subdomain, "\tbasicauth {", "\t\tadmin {$INFRA_ADMIN_PASSWORD_HASH}", "\t}", `\treverse_proxy ${upstream} {`));
    }
    const records = resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord").map((record) => [record.inputs.name, record.inputs.proxied]);
    expect(records.sort()).toEqual(["n8n", ...Object.keys(expected), ...Object.keys(admin)].map((subdomain) => [`${subdomain}.${domain}`, true]).sort());
  });

  it("runs PostgreSQL and Redis as their images' own users with every capability dropped, and the stateless-root services read-only (C5, C6, C9)", async () => {
    const plan = await planOf(stack);
    expect(container(plan, "postgres").inputs).toMatchObject({ user: "postgres", capabilities: { drops: ["ALL"], adds: [] } });
    expect(container(plan, "redis").inputs).toMatchObject({ user: "redis", readOnly: true, capabilities: { drops: ["ALL"], adds: [] } });
    for (const service of ["redis", "loki", "victoriametrics", "diun", "docker-socket-proxy"])
      expect(container(plan, service).inputs.readOnly, service).toBe(true);
    expect(container(plan, "docker-socket-proxy").inputs).toMatchObject({ user: "0", capabilities: { drops: ["ALL"], adds: ["CAP_SETGID"] } });
    // Docker refuses uploads into a read-only root filesystem, so nothing that uploads files is read-only.
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      if (((resource.inputs.uploads ?? []) as unknown[]).length > 0) expect(resource.inputs.readOnly, String(resource.inputs.name)).toBe(false);
    }
    expect(container(plan, "caddy").inputs.capabilities).toEqual({ drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] });
  });

  it("gives every container a healthcheck, limits, rotation, restart policy and no-new-privileges", async () => {
    const plan = await planOf(stack);
    for (const resource of resourcesOf(plan, "docker:index/container:Container")) {
      const name = String(resource.inputs.name);
      expect((resource.inputs.healthcheck as { tests: string[] }).tests.length, name).toBeGreaterThan(1);
      expect(resource.inputs.memory, name).toBeGreaterThan(0);
      expect(resource.inputs.logOpts, name).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(resource.inputs.restart, name).toBe("unless-stopped");
      expect(resource.inputs.securityOpts, name).toEqual(["no-new-privileges:true"]);
    }
  });

  it("keeps secrets secret: files for the images that read them, masked env lists for the two that cannot, no placeholder in plain text", async () => {
    const plan = await planOf(stack);
    // LiteLLM and OpenClaw read their secrets from their environment only (C15 waivers).
    for (const service of ["litellm", "openclaw"]) expect(container(plan, service).inputs.envs, service).toBe("[secret]");
    for (const service of ["postgres", "redis", "qdrant", "n8n", "grafana", "alloy", "caddy"]) {
      const envs = container(plan, service).inputs.envs as string[];
      expect(Array.isArray(envs), service).toBe(true);
      expect(envs.join("\n"), service).not.toMatch(/\{\{|\[secret\]/);
      expect(secretsCommandOf(plan, container(plan, service)).inputs.stdin, service).toBe("[secret]");
    }
    expect(container(plan, "postgres").inputs.envs).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password");
    expect(container(plan, "n8n").inputs.envs).toContain("DB_POSTGRESDB_PASSWORD_FILE=/run/secrets/postgres-password");
    expect(container(plan, "grafana").inputs.envs).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana-admin-password");
    expect(container(plan, "diun").inputs.envs).toEqual([
      "DIUN_PROVIDERS_DOCKER=true",
      "DIUN_PROVIDERS_DOCKER_ENDPOINT=tcp://docker-socket-proxy:2375",
      "DIUN_PROVIDERS_DOCKER_WATCHBYDEFAULT=true",
      "DIUN_WATCH_SCHEDULE=0 */6 * * *",
      "TZ=UTC",
    ]);
  });

  it("creates the backups and shared buckets, private and versioned", async () => {
    const plan = await planOf(stack);
    const buckets = resourcesOf(plan, "infra:storage:Bucket").map((bucket) => bucket.name);
    expect(buckets.sort()).toEqual(["vpai-backups", "vpai-shared"]);
    const prefix = stack === "prod" ? "vpai" : "vpai-preprod";
    expect(plan.outputs.buckets).toEqual({ backups: `${prefix}-backups`, shared: `${prefix}-shared` });
  });

  it("fits the memory budget of its server", async () => {
    const plan = await planOf(stack);
    const budget = plan.hosts[0]!.budget;
    // 3552 MB of the seed's services and 16 MB for the socket proxy: preprod's CX23 has 4096 MB, 512 of them kept for the system.
    expect(budget.containersMb).toBe(3568);
    expect(budget.headroomMb).toBeGreaterThanOrEqual(0);
  });
});

/**
 * Seed 002's matrix keeps Caddy on frontend and backend. Grafana is on
 * frontend and monitoring, so Caddy reaches it on frontend; VictoriaMetrics,
 * vmalert, Alertmanager, Loki and Alloy live on the monitoring network, which
 * Caddy never joins, so no name under the domain reaches them, whatever
 * `adminAccess` says: they listen on 127.0.0.1 for an SSH tunnel (and the
 * VPN, once the ops host exists).
 */
describe("Caddy stays off the monitoring network (seed 002's matrix)", () => {
  const MONITORING_ONLY = ["victoriametrics", "vmalert", "alertmanager", "loki", "alloy"];
  const MONITORING_PORTS = [8428, 8880, 9093, 3100, 12345];
  const TUNNELLED = { metrics: ["victoriametrics", 8428], alerts: ["alertmanager", 9093], logs: ["loki", 3100] } as const;
  const variants: [string, string, string[]][] = [
    ["prod", "prod", []],
    ["preprod", "preprod", []],
    // The other way a stack routes admin UIs: it opens nothing more here.
    ["prod with adminAccess: ingress", "prod", ['monitoring={"adminAccess":"ingress"}']],
  ];
  const networksOf = (resource: PlannedResource) => resource.inputs.networksAdvanced as { name: string; aliases: string[] }[];
  const caddyfileOf = (plan: PlanResult) => uploadOf(plan, "vpai-caddy", CADDYFILE_PATH);

  it.each(variants)("%s: Caddy joins frontend and backend only, and proxies to nothing it does not share one of them with", async (_name, stack, overrides) => {
    const plan = await planOf(stack, { overrides });
    expect(networksOf(container(plan, "caddy")).map((network) => network.name)).toEqual(["vpai-frontend", "vpai-backend"]);
    const caddyNetworks = new Set(networksOf(container(plan, "caddy")).map((network) => network.name));
    // Every upstream of every site and path, by the alias Caddy dials: a service on a network Caddy is on, and none of the monitoring stack's.
    const upstreams = [...caddyfileOf(plan).matchAll(/reverse_proxy\s+([^\s{]+)/g)].map((match) => match[1]!);
    expect(upstreams.length).toBeGreaterThan(0);
    for (const upstream of upstreams) {
      const [host, port] = upstream.split(":");
      const targets = resourcesOf(plan, "docker:index/container:Container").filter((resource) =>
        networksOf(resource).some((network) => network.aliases.includes(host!)),
      );
      expect(targets.length, upstream).toBeGreaterThan(0);
      for (const target of targets) {
        expect(MONITORING_ONLY, upstream).not.toContain(withoutRelease(String(target.inputs.name)).replace("vpai-", ""));
        expect(
          networksOf(target).some((network) => network.aliases.includes(host!) && caddyNetworks.has(network.name)),
          `${upstream} on a network of Caddy's`,
        ).toBe(true);
      }
      expect(MONITORING_PORTS, upstream).not.toContain(Number(port));
    }
  });

  it.each(variants)(
    "%s: no name under the domain reaches VictoriaMetrics, Alertmanager or Loki; they are on 127.0.0.1 for an SSH tunnel",
    async (_name, stack, overrides) => {
      const plan = await planOf(stack, { overrides });
      const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
      expect(plan.routes.filter((route) => MONITORING_ONLY.includes(route.service))).toEqual([]);
      // The Caddyfile serves exactly the planned names, each with a DNS record; metrics., alerts. and logs. are none of them.
      const sites = [...caddyfileOf(plan).matchAll(/^(\S+) \{$/gm)].map((match) => match[1]!).filter((site) => site.endsWith(domain));
      const names = plan.routes.map((route) => route.hostname).sort();
      expect(sites.sort()).toEqual(names);
      expect(
        resourcesOf(plan, "cloudflare:index/dnsRecord:DnsRecord")
          .map((record) => String(record.inputs.name))
          .sort(),
      ).toEqual(names);
      for (const [ui, [service, port]] of Object.entries(TUNNELLED)) {
        expect(names, ui).not.toContain(`${ui}.${domain}`);
        expect(
          plan.monitoring!.admin.find((entry) => entry.ui === ui),
          ui,
        ).toEqual({ ui, service, access: `127.0.0.1:${port} (SSH tunnel)` });
        expect(
          ((container(plan, service).inputs.ports ?? []) as { ip: string; external: number }[]).map((published) => `${published.ip}:${published.external}`),
          service,
        ).toEqual([`127.0.0.1:${port}`]);
      }
      expect(plan.policy.violations).toEqual([]);
    },
  );

  it.each(variants)(
    "%s: Grafana still answers through Caddy, behind basic_auth, on the frontend network they share, and is probed there",
    async (_name, stack, overrides) => {
      const plan = await planOf(stack, { overrides });
      const domain = stack === "prod" ? "vpai.example.com" : "preprod.vpai.example.com";
      expect(plan.routes.filter((route) => route.service === "grafana").map((route) => [route.hostname, route.port])).toEqual([[`grafana.${domain}`, 3000]]);
      const site = caddyfileOf(plan).split(`grafana.${domain} {`)[1]!.split("\n}\n")[0]!;
      expect(site.indexOf("basicauth {")).toBeGreaterThan(0);
      expect(site.indexOf("basicauth {")).toBeLessThan(site.indexOf("reverse_proxy grafana:3000"));
      expect(networksOf(container(plan, "grafana")).map((network) => network.name)).toEqual(["vpai-frontend", "vpai-monitoring"]);
      expect(plan.monitoring!.admin.find((entry) => entry.ui === "grafana")!.access).toBe(`https://grafana.${domain} (basic_auth as admin)`);
      expect(plan.monitoring!.probed).toContainEqual(expect.objectContaining({ job: "routes", name: `grafana.${domain}`, target: "https://caddy:443/" }));
      expect(container(plan, "grafana").inputs.ports ?? []).toEqual([]);
    },
  );

  it("refuses a stack route that would give VictoriaMetrics a name, naming the key", () => {
    const config = validateStackConfig(
      completeRawConfig("prod", { "infra:ingress": JSON.stringify({ routes: [{ subdomain: "vm", service: "victoriametrics", port: 8428 }] }) }),
      BLUEPRINT_CATALOG,
    ).config;
    expect(() => planPlatform(config, vpai)).toThrow(
      expect.objectContaining({
        problems: [
          expect.objectContaining({
            path: "infra:ingress.routes[0].service",
            message: expect.stringContaining('no route of the blueprint reaches "victoriametrics"'),
          }),
        ],
      }),
    );
  });
});

describe("stack-specific settings", () => {
  it("prod adopts the existing VPS, protects its data and sends HSTS", async () => {
    const plan = await planOf("prod");
    // The one Hetzner server is the ops host (infra:opsHost); the VPS is adopted.
    expect(resourcesOf(plan, "hcloud:index/server:Server").map((server) => server.name)).toEqual(["vpai-ops"]);
    // The commands that run on the VPS, the ops host's among them (VPN membership, the pull account, the status receiver).
    const commands = resourcesOf(plan, SSH_COMMAND_TYPE)
      .map((command) => command.name)
      .filter((name) => name.startsWith("vpai-main-"))
      .sort();
    expect(commands.filter((name) => !/-(healthy|backup-first|secrets)$/.test(name))).toEqual([
      "vpai-main-backup-environment",
      "vpai-main-backup-install",
      "vpai-main-caddy-service-live-config",
      "vpai-main-firewall-ufw",
      "vpai-main-ops-account",
      "vpai-main-prepare",
      "vpai-main-status-receiver",
      "vpai-main-wireguard",
    ]);
    // The backup job runs before each container whose data it takes is replaced.
    expect(commands.filter((name) => name.endsWith("-backup-first"))).toEqual(
      ["n8n", "openclaw", "postgres", "qdrant", "redis"].map((service) => `vpai-main-${service}-backup-first`),
    );
    // Each service with secret files has the command that writes them (C15).
    expect(commands.filter((name) => name.endsWith("-secrets"))).toEqual([
      "vpai-main-caddy-service-secrets",
      "vpai-main-monitoring-alloy-secrets",
      "vpai-main-monitoring-grafana-secrets",
      "vpai-main-n8n-secrets",
      "vpai-main-postgres-secrets",
      "vpai-main-qdrant-secrets",
      "vpai-main-redis-secrets",
    ]);
    // Besides those, one health gate per container.
    const gates = resourcesOf(plan, "docker:index/container:Container").map((container) => `${container.name}-healthy`);
    expect(commands.filter((name) => name.endsWith("-healthy"))).toEqual(gates.sort());
    for (const volume of resourcesOf(plan, "docker:index/volume:Volume")) expect(volume.protect, volume.name).toBe(true);
    for (const bucket of resourcesOf(plan, "pulumi-nodejs:dynamic/storage:Bucket")) expect(bucket.protect).toBe(true);
    expect(resourcesOf(plan, "cloudflare:index/zoneSetting:ZoneSetting").map((setting) => setting.inputs.settingId)).toContain("security_header");
    expect(plan.cost.totalMonthlyEur).toBe(30.48); // the VPS 22.00 + the ops host's CX23 3.49 + object storage 4.99
  });

  it("preprod is a Hetzner CX23 with its firewall attached and nothing protected", async () => {
    const plan = await planOf("preprod");
    const server = resourcesOf(plan, "hcloud:index/server:Server").find((candidate) => candidate.name === "vpai-main")!;
    expect(server.inputs).toMatchObject({ serverType: "cx23", location: "fsn1", deleteProtection: false, rebuildProtection: false });
    expect(server.dependsOn).toContain("vpai-main-firewall");
    expect((server.inputs.firewallIds as unknown[]).length).toBe(1);
    expect(plan.resources.filter((resource) => resource.protect)).toEqual([]);
    expect(plan.cost.totalMonthlyEur).toBe(11.97); // seed 002: CX23 3.49 + object storage 4.99, and the ops host's CX23 3.49
  });
});
