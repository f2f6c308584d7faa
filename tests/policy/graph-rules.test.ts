import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { hostPrepareScript } from "../../components/compute/host-setup";
import { knownHostsPath } from "../../components/remote/known-hosts-file";
import { pinnedHostKeyOptions } from "../../components/remote/ssh-arguments";
import { SSH_COMMAND_TYPE, SSHCommand } from "../../components/remote/ssh-command";
import { containerSettings } from "../../components/container/container-settings";
import { liveConfigScript, liveConfigTrigger, liveFiles } from "../../components/container/live-config";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { enforcePolicy } from "../../infra/policy/enforce";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { PolicyError, type PolicyReport } from "../../infra/policy/report";
import { ruleNamed } from "../../infra/policy/rules";
import { loadStackConfig } from "../../infra/config/load";
import { deployPlatform } from "../../infra/platform";
import type { PlatformModel } from "../../infra/platform-model";
import { recordGraph } from "../../tools/plan/mock-run";
import { graphOf } from "../support/graph";
import { completeRawConfig, TEST_HOST_KEY } from "../support/stack-config";
import { hardenedSettings, modelOf, violationsOf } from "./models";

/**
 * Rules broken in a registered graph: resources registered under the mock
 * runtime exactly as a component would, then judged by the graph policy.
 */
const model = modelOf("prod");
const admin = model.config.adminCidrs;

async function reportOf(build: () => void, judgedBy: PlatformModel = model): Promise<PolicyReport> {
  const run = await graphOf(() => {
    build();
  });
  return evaluateGraph(run.resources, judgedBy);
}

function expectOnly(report: PolicyReport, rule: string, resource: string, message: RegExp): void {
  const found = violationsOf(report, rule);
  expect(found.length, JSON.stringify(report.violations)).toBeGreaterThan(0);
  expect(found.every((violation) => violation.resource === resource)).toBe(true);
  expect(found.map((violation) => violation.message).join("\n")).toMatch(message);
  expect(found[0]!.fix).toBe(ruleNamed(rule)!.fix);
}

/** Any resource type, registered as the engine would receive it. */
class Raw extends pulumi.CustomResource {
  constructor(type: string, name: string, props: pulumi.Inputs) {
    super(type, name, props);
  }
}

const provider = () =>
  new docker.Provider("host-docker", { host: "ssh://deploy@203.0.113.20", sshOpts: pinnedHostKeyOptions(knownHostsPath("203.0.113.20", 22)) });

/** A container registered with the hardened settings of a well-behaved service, then one input overridden. */
function container(overrides: Record<string, unknown>): void {
  const settings = hardenedSettings();
  new docker.Container("web", { name: "vpai-web", image: "example/web:1.0.0", ...settings, ...overrides } as docker.ContainerArgs, { provider: provider() });
}

describe("container rules on the registered graph", () => {
  it("a hardened container passes", async () => {
    expect((await reportOf(() => container({}))).violations).toEqual([]);
  });

  it("C1: privileged", async () => {
    expectOnly(await reportOf(() => container({ privileged: true })), "C1", "container vpai-web", /privileged/);
  });

  it("C2: host network, pid and ipc namespaces", async () => {
    const report = await reportOf(() => container({ networkMode: "host", pidMode: "host", ipcMode: "host" }));
    expectOnly(report, "C2", "container vpai-web", /network_mode is host[\s\S]*pid_mode is host[\s\S]*ipc_mode is host/);
  });

  it("C4: no-new-privileges missing", async () => {
    expectOnly(await reportOf(() => container({ securityOpts: [] })), "C4", "container vpai-web", /no-new-privileges is not set/);
  });

  it("C5: capabilities not dropped", async () => {
    expectOnly(await reportOf(() => container({ capabilities: { drops: [], adds: [] } })), "C5", "container vpai-web", /does not drop ALL/);
  });

  it("C12: logs that never rotate", async () => {
    expectOnly(await reportOf(() => container({ logOpts: {} })), "C12", "container vpai-web", /do not rotate/);
  });

  it("C13: no restart policy", async () => {
    expectOnly(await reportOf(() => container({ restart: "no" })), "C13", "container vpai-web", /restart policy is no/);
  });

  it("C10: an image registered with the latest tag", async () => {
    expectOnly(
      await reportOf(() => new docker.RemoteImage("web-image", { name: "example/web:latest" }, { provider: provider() })),
      "C10",
      "image web-image",
      /latest/,
    );
  });
});

describe("C11 on the ingress container as registered", () => {
  /**
   * The Caddy container of the prod model (admin UIs behind basic_auth) and
   * the command that installs its live Caddyfile, registered with `edit`
   * applied to the Caddyfile.
   */
  const caddy = (edit: (content: string) => string) => () => {
    const spec = model.spec.services.find((candidate) => candidate.name === "caddy")!;
    const settings = containerSettings(spec);
    const files = liveFiles(spec).map((file) => (file.path === CADDYFILE_PATH ? { ...file, content: edit(file.content) } : file));
    new docker.Container("vpai-main-caddy", { name: "vpai-caddy", image: "caddy:2.8.4-alpine", ...settings } as docker.ContainerArgs, { provider: provider() });
    new SSHCommand("vpai-main-caddy-live-config", {
      connection: { host: "203.0.113.20", port: 22, user: "deploy", privateKey: pulumi.secret("test-key"), hostPublicKey: TEST_HOST_KEY },
      create: "sudo bash -s",
      stdin: liveConfigScript("vpai-caddy", files, spec.liveReload!),
      triggers: [liveConfigTrigger("vpai-caddy", files)],
    });
  };

  it("the shipped Caddyfile protects every admin route", async () => {
    expect(violationsOf(await reportOf(caddy((content) => content)), "C11")).toEqual([]);
  });

  it("a Caddyfile registered without Grafana's basicauth, while Grafana lets anonymous visitors in", async () => {
    // Grafana is VPAI's one admin route (seed 002); with anonymous access it has no login of its own.
    const anonymous = modelOf("prod", {
      spec: (spec) => ({
        ...spec,
        services: spec.services.map((service) =>
          service.name === "grafana" ? { ...service, env: { ...service.env, GF_AUTH_ANONYMOUS_ENABLED: "true" } } : service,
        ),
      }),
    });
    const report = await reportOf(
      caddy((content) => content.replace(/\tbasicauth \{\n[^}]*\}\n/g, "")),
      anonymous,
    );
    expect(violationsOf(report, "C11").map((violation) => violation.resource)).toEqual(["route grafana.vpai.example.com"]);
    expect(violationsOf(report, "C11")[0]!.fix).toBe(ruleNamed("C11")!.fix);
    // With its basicauth in place, the same Grafana is no violation.
    expect(
      violationsOf(
        await reportOf(
          caddy((content) => content),
          anonymous,
        ),
        "C11",
      ),
    ).toEqual([]);
  });
});

describe("firewall rules on the registered graph", () => {
  const firewall = (rules: { port?: string; sourceIps: string[]; protocol?: string }[]) => () => {
    new hcloud.Firewall("fw", { rules: rules.map((rule) => ({ direction: "in", protocol: rule.protocol ?? "tcp", ...rule })) });
  };

  it("F1: a port range containing 22 open to ::/0", async () => {
    expectOnly(await reportOf(firewall([{ port: "20-30", sourceIps: ["::/0"] }])), "F1", "firewall fw", /tcp\/20-30 opens SSH to ::\/0/);
  });

  it("F2: Redis open to the admins is still a forbidden port", async () => {
    expectOnly(await reportOf(firewall([{ port: "6379", sourceIps: [...admin] }])), "F2", "firewall fw", /opens 6379/);
  });

  it("F3: 443 from anywhere while DNS is proxied", async () => {
    expectOnly(await reportOf(firewall([{ port: "443", sourceIps: ["0.0.0.0/0"] }])), "F3", "firewall fw", /outside Cloudflare's ranges/);
  });

  it("F4: a Hetzner server without a firewall, and one of a stack that is not disposable without protection", async () => {
    const report = await reportOf(
      () =>
        new hcloud.Server("main", {
          serverType: "cx23",
          image: "ubuntu-24.04",
          labels: { environment: "prod" },
          deleteProtection: false,
          rebuildProtection: true,
        }),
    );
    expect(violationsOf(report, "F4").map((violation) => violation.message)).toEqual([
      "no firewall attached",
      "a server of a stack that is not disposable without delete and rebuild protection",
    ]);
  });
});

describe("zone and bucket rules on the registered graph", () => {
  const zone = (settings: Record<string, unknown>) => () => {
    for (const [settingId, value] of Object.entries(settings)) new cloudflare.ZoneSetting(`dns-${settingId}`, { zoneId: "z1", settingId, value });
  };
  const hsts = { strictTransportSecurity: { enabled: true, maxAge: 31536000, includeSubdomains: true, nosniff: true } };

  it("CF1: SSL mode flexible", async () => {
    expectOnly(
      await reportOf(zone({ ssl: "flexible", min_tls_version: "1.2", always_use_https: "on", security_header: hsts })),
      "CF1",
      "zone z1",
      /"flexible", not strict/,
    );
  });

  it("CF2: TLS 1.0 and no HTTPS redirect", async () => {
    const report = await reportOf(zone({ ssl: "strict", min_tls_version: "1.0", always_use_https: "off", security_header: hsts }));
    expect(violationsOf(report, "CF2").map((violation) => violation.message)).toEqual([
      'min_tls_version is "1.0" (want 1.2 or higher)',
      "always_use_https is not on",
    ]);
  });

  it("CF3: a short HSTS max-age on prod", async () => {
    const report = await reportOf(
      zone({
        ssl: "strict",
        min_tls_version: "1.2",
        always_use_https: "on",
        security_header: { strictTransportSecurity: { ...hsts.strictTransportSecurity, maxAge: 300 } },
      }),
    );
    expectOnly(report, "CF3", "zone z1", /max-age 300/);
  });

  it("CF4: an unproxied record", async () => {
    expectOnly(
      await reportOf(
        () => new cloudflare.DnsRecord("dns-n8n", { zoneId: "z1", name: "n8n.example.com", type: "A", content: "203.0.113.20", proxied: false, ttl: 300 }),
      ),
      "CF4",
      "record dns-n8n",
      /not proxied/,
    );
  });

  it("S1: a public bucket outside the provider that keeps buckets private", async () => {
    const report = await reportOf(() => new Raw("aws:s3/bucketV2:BucketV2", "public-files", { acl: "public-read" }));
    expectOnly(report, "S1", "bucket public-files", /not managed by components\/storage\/bucket.ts/);
  });

  it("S2: an unversioned bucket outside the provider that turns versioning on", async () => {
    const report = await reportOf(() => new Raw("minio:index/s3Bucket:S3Bucket", "scratch", { bucket: "scratch" }));
    expectOnly(report, "S2", "bucket scratch", /not managed by components\/storage\/bucket.ts/);
  });

  it("S3: a bucket whose noncurrent versions expire too soon", async () => {
    expectOnly(
      await reportOf(() => new Raw("pulumi-nodejs:dynamic/storage:Bucket", "vpai-backups", { noncurrentVersionExpiryDays: 2 })),
      "S3",
      "bucket vpai-backups",
      /after 2 days/,
    );
  });

  it("S4: a restic key registered in clear text", async () => {
    const report = await reportOf(() => new Raw("test:index:Job", "backup", { create: "true", environment: { RESTIC_PASSWORD: "hunter2-restic" } }));
    expectOnly(report, "S4", "test:index:Job backup", /RESTIC_PASSWORD holds the restic key in clear text/);
    const masked = await reportOf(
      () => new Raw("test:index:Job", "backup", { create: "true", environment: { RESTIC_PASSWORD: pulumi.secret("hunter2-restic") } }),
    );
    expect(violationsOf(masked, "S4")).toEqual([]);
  });
});

describe("host rules on the registered preparation and firewall commands", () => {
  const script = hostPrepareScript({ sshUser: "deploy" });
  const connection = { host: "203.0.113.20", port: 22, user: "deploy", privateKey: pulumi.secret("test-key"), hostPublicKey: TEST_HOST_KEY };
  /** A host command as the Server and Firewall components register it. */
  const hostCommand = (name: string, stdin: string) => new SSHCommand(name, { connection, create: "sudo bash -s", stdin });
  const prepare = (stdin: string) => () => {
    hostCommand("vpai-main-prepare", stdin);
    hostCommand("vpai-main-firewall-ufw", ufwScript(firewallRules([], { adminCidrs: admin, behindCloudflare: true, sshPort: 22 })));
  };
  const replaced = (from: string | RegExp, to: string) => {
    const changed = script.replace(from, to);
    expect(changed).not.toBe(script);
    return changed;
  };

  it("the shipped script and UFW rules pass", async () => {
    expect((await reportOf(prepare(script))).violations).toEqual([]);
  });

  it.each([
    ["H1", "PermitRootLogin no", "PermitRootLogin yes", /PermitRootLogin is yes/],
    ["H2", "PasswordAuthentication no", "PasswordAuthentication yes", /PasswordAuthentication is yes/],
    ["H3", "MaxAuthTries 3", "MaxAuthTries 6", /MaxAuthTries is 6/],
    ["H4", "net.ipv4.ip_forward = 1", "net.ipv4.ip_forward = 0", /ip_forward is 0/],
    ["H5", '"userland-proxy": false', '"userland-proxy": true', /userland-proxy is not false/],
    ["H7", "enabled = true", "enabled = false", /sshd jail is not enabled/],
    ["H8", 'APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::Unattended-Upgrade "0";', /does not turn on/],
  ])("%s: the host's file changed from %j to %j", async (rule, from, to, message) => {
    expectOnly(await reportOf(prepare(replaced(from, to))), rule, "host vpai-main", message);
  });

  it("H1-H3 follow sshd's first-value-wins: a later line cannot weaken, an earlier one can", async () => {
    expect((await reportOf(prepare(replaced("ClientAliveCountMax 2\n", "ClientAliveCountMax 2\nPermitRootLogin yes\n")))).violations).toEqual([]);
    expectOnly(
      await reportOf(prepare(replaced("# Managed by infra: key-only SSH", "PermitRootLogin yes\n# Managed by infra: key-only SSH"))),
      "H1",
      "host vpai-main",
      /is yes/,
    );
  });

  it("H6: a UFW script without DOCKER-USER lets published ports through", async () => {
    const ufw = ufwScript(firewallRules([], { adminCidrs: admin, behindCloudflare: true, sshPort: 22 }));
    const withoutDockerUser = ufw.replace(/cat >> \/etc\/ufw\/after6?\.rules <<'DOCKER_USER'\n[\s\S]*?\nDOCKER_USER\n/g, "");
    expect(withoutDockerUser).not.toContain("DOCKER-USER");
    const report = await reportOf(() => {
      hostCommand("vpai-main-prepare", script);
      hostCommand("vpai-main-firewall-ufw", withoutDockerUser.replace("ufw default deny incoming", "ufw default allow incoming"));
    });
    const messages = violationsOf(report, "H6").map((violation) => violation.message);
    expect(messages).toEqual([
      "UFW does not deny incoming by default",
      "no DOCKER-USER rules: Docker-published ports bypass UFW",
      "sets UFW's default policy for incoming to allow (ufw default allow incoming)",
      "resets UFW, which turns it off, and does not turn it on again with default deny incoming",
    ]);
  });

  it("H6: a DOCKER-USER rule that admits the internet to a port published for private-network peers", async () => {
    const peers = { address: "10.0.1.2", sourceCidr: "10.0.0.0/16", ports: [{ port: 6432, protocol: "tcp" as const, service: "pgbouncer" }] };
    const rules = firewallRules([], { adminCidrs: admin, behindCloudflare: true, sshPort: 22 });
    const shipped = ufwScript(rules, peers);
    const opened = shipped.replace("-s 10.0.0.0/16 -p tcp", "-s 0.0.0.0/0 -p tcp");
    expect(opened).not.toBe(shipped);
    const reportWith = (stdin: string) =>
      reportOf(() => {
        hostCommand("vpai-main-prepare", script);
        hostCommand("vpai-main-firewall-ufw", stdin);
      });
    expect((await reportWith(shipped)).violations).toEqual([]);
    expectOnly(
      await reportWith(opened),
      "H6",
      "host firewall vpai-main-firewall-ufw",
      /admits 0\.0\.0\.0\/0 to 10\.0\.1\.2:6432, which is published for private-network peers only/,
    );
  });

  it.each([
    "ufw allow 22/tcp",
    "ufw allow ssh",
    "ufw allow from any",
    "ufw allow proto tcp from 0.0.0.0/00 to any port 20:30",
    "ufw allow proto tcp from 203.0.113.0/24 to any port 80,22",
  ])("H6 and F1: SSH admitted beyond the admins however UFW is told: %s", async (command) => {
    const shipped = ufwScript(firewallRules([], { adminCidrs: admin, behindCloudflare: true, sshPort: 22 }));
    const report = await reportOf(() => {
      hostCommand("vpai-main-prepare", script);
      hostCommand("vpai-main-firewall-ufw", shipped.replace("ufw --force enable", `${command}\nufw --force enable`));
    });
    expect(
      violationsOf(report, "H6")
        .map((violation) => violation.message)
        .join("\n"),
    ).toMatch(/UFW admits SSH from .*, which is not an admin CIDR/);
    expect(violationsOf(report, "F1").length).toBeGreaterThan(0);
  });

  describe("H10 on a host whose sshd listens on 2222", () => {
    const onPort2222 = modelOf("prod", {
      config: (config) => ({ ...config, servers: config.servers.map((server) => (server.provider === "existing" ? { ...server, sshPort: 2222 } : server)) }),
    });
    const reportOn2222 = async (prepareScript: string, ufw: string) => {
      const run = await graphOf(() => {
        hostCommand("vpai-main-prepare", prepareScript);
        hostCommand("vpai-main-firewall-ufw", ufw);
      });
      return evaluateGraph(run.resources, onPort2222);
    };
    const rulesOn = (sshPort: number) => ufwScript(firewallRules([], { adminCidrs: admin, behindCloudflare: true, sshPort }));

    it("the shipped preparation and a UFW script for 2222 pass", async () => {
      expect((await reportOn2222(script, rulesOn(2222))).violations).toEqual([]);
    });

    it("a UFW script that admits the admins on 22 only locks SSH out", async () => {
      const found = violationsOf(await reportOn2222(script, rulesOn(22)), "H10");
      expect(found.map((violation) => violation.message)).toEqual([
        "no rule admits the admin CIDRs to SSH on port 2222, where the server's sshd listens: the firewall would lock SSH out",
      ]);
      expect(found[0]!.resource).toBe("host firewall vpai-main-firewall-ufw");
    });

    it("a fail2ban jail on the ssh service's port leaves 2222 unguarded", async () => {
      const found = violationsOf(await reportOn2222(replaced("port = 0:65535", "port = ssh"), rulesOn(2222)), "H10");
      expect(found.map((violation) => violation.message)).toEqual(["the sshd jail bans on port ssh, not on 2222, where sshd listens"]);
    });

    it("an sshd drop-in that moves sshd to another port", async () => {
      const found = violationsOf(await reportOn2222(replaced("MaxAuthTries 3", "MaxAuthTries 3\nPort 22"), rulesOn(2222)), "H10");
      expect(found.map((violation) => violation.message).join("\n")).toMatch(/moves sshd to port 22, but the firewalls admit SSH on 2222/);
    });
  });

  it("H6: an existing host prepared without any UFW command", async () => {
    const report = await reportOf(() => hostCommand("vpai-main-prepare", script));
    expectOnly(report, "H6", "host vpai-main", /without a UFW firewall command/);
  });
});

describe("H9: host keys pinned before the first connection", () => {
  const connection = { host: "203.0.113.20", port: 22, user: "deploy", privateKey: pulumi.secret("test-key") };

  it("the program's SSH command and Docker provider pass", async () => {
    const report = await reportOf(() => {
      provider();
      new SSHCommand("vpai-main-prepare", { connection: { ...connection, hostPublicKey: TEST_HOST_KEY }, create: "true" });
    });
    expect(violationsOf(report, "H9")).toEqual([]);
  });

  it.each([
    [
      "trusts a new key on first use",
      ["-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=~/.ssh/pinned"],
      /StrictHostKeyChecking is accept-new/,
    ],
    ["checks no key at all", ["-oStrictHostKeyChecking=no"], /StrictHostKeyChecking is no[\s\S]*no UserKnownHostsFile/],
    [
      "puts a weaker value before the strict one, which ssh keeps",
      ["-o", "stricthostkeychecking no", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=~/.ssh/pinned"],
      /StrictHostKeyChecking is no/,
    ],
    ["has no options", undefined, /StrictHostKeyChecking is unset/],
  ])("a Docker provider whose ssh %s", async (_case, sshOpts, message) => {
    const report = await reportOf(() => new docker.Provider("vpai-main-docker", { host: "ssh://deploy@203.0.113.20", ...(sshOpts ? { sshOpts } : {}) }));
    expectOnly(report, "H9", "docker provider vpai-main-docker", message);
  });

  it("a Docker provider on a local socket needs no pin", async () => {
    expect(violationsOf(await reportOf(() => new docker.Provider("local-docker", { host: "unix:///var/run/docker.sock" })), "H9")).toEqual([]);
  });

  it.each([
    ["no key", undefined, /pins no host key/],
    ["a known_hosts line", `203.0.113.20 ${TEST_HOST_KEY}`, /its pinned host key starts with something other than the key type/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", /its pinned host key is a private key/],
  ])("an SSH command that pins %s", async (_case, hostPublicKey, message) => {
    const report = await reportOf(
      () =>
        new Raw(SSH_COMMAND_TYPE, "vpai-main-prepare", {
          connection: { host: "203.0.113.20", port: 22, user: "deploy", ...(hostPublicKey ? { hostPublicKey } : {}) },
          create: "true",
        }),
    );
    expectOnly(report, "H9", "host command vpai-main-prepare", message);
  });

  it("@pulumi/command's remote command, which accepts any key", async () => {
    expectOnly(
      await reportOf(() => new Raw("command:remote:Command", "vpai-main-prepare", { connection: { host: "203.0.113.20" }, create: "true" })),
      "H9",
      "host command vpai-main-prepare",
      /pulumi-command#755/,
    );
  });
});

describe("enforcement inside deployPlatform", () => {
  it("the stack transformation refuses a privileged container as it is registered (preview and up too)", async () => {
    let error: unknown;
    const run = await graphOf(() => {
      enforcePolicy(model);
      container({});
      try {
        new docker.Container("root", { name: "vpai-root", image: "example/web:1.0.0", privileged: true }, { provider: provider() });
      } catch (caught) {
        error = caught;
      }
    });
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as Error).message).toMatch(/C1 container vpai-root: runs privileged[\s\S]*fix: remove `privileged`/);
    expect(run.resources.map((resource) => resource.name)).toContain("web");
    expect(run.resources.map((resource) => resource.name)).not.toContain("root");
  });

  it("a violation fails the program before any resource is registered", async () => {
    const raw = completeRawConfig("prod", { "infra:dns": JSON.stringify({ zoneId: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", proxied: true, hsts: false }) });
    let error: unknown;
    const run = await recordGraph({ project: "infra", stack: "prod", values: raw.values, secretKeys: raw.secretKeys }, () => {
      try {
        return deployPlatform(loadStackConfig()).outputs;
      } catch (caught) {
        error = caught;
        return {};
      }
    });
    expect((error as PolicyError).violations).toEqual([
      { rule: "CF3", resource: "zone vpai-dns", message: "HSTS is off on the zone of a stack that is not disposable", fix: ruleNamed("CF3")!.fix },
    ]);
    expect(run.resources.filter((resource) => resource.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});
