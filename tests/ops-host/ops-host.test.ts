import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { EXPORT_DIR, pullInstallScript, PULL_ACCOUNT } from "../../components/backup/pull";
import { OPS_HOST_NAME } from "../../components/ops-host/ops-host-spec";
import {
  OPS_ALERT_METRIC,
  OPS_LAST_SEEN_METRIC,
  OPS_PULL_METRIC,
  OPS_RULES_EVALUATED_METRIC,
  opsMonitoringInstallScript,
  opsStatusReceiver,
  opsStatusReceiverInstallScript,
  opsStatusScript,
  routeModule,
} from "../../components/ops-host/ops-monitoring";
import { ruleFile } from "../../components/monitoring/alert-rules";
import { generateWireGuardKey } from "../../components/vpn/wireguard-key";
import { hubConfig, INSTALL_WIREGUARD_COMMAND, isWireGuardKey, memberConfig } from "../../components/vpn/wireguard-spec";
import { vpai } from "../../infra/blueprints/vpai";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import { estimateCost, serverMonthlyEur } from "../../infra/cost-estimate";
import { validateStackConfig } from "../../infra/config/validate";
import { planPlatform, type PlatformModel } from "../../infra/platform-model";
import { completeRawConfig, configProblemsOf } from "../support/stack-config";
import { requireTool } from "../support/tools";
import { shellcheck } from "../support/validators";
import { runTool } from "../monitoring/support";

function model(stack: "prod" | "preprod", changes: Record<string, string | undefined> = {}): PlatformModel {
  return planPlatform(validateStackConfig(completeRawConfig(stack, changes), BLUEPRINT_CATALOG).config, vpai);
}

const prodOps = JSON.parse(completeRawConfig("prod").values["infra:opsHost"]!) as Record<string, unknown>;
const opsHost = (changes: Record<string, unknown>) => JSON.stringify({ ...prodOps, ...changes });

/** Problems of the prod stack with `changes`, from validation or from planning, with their config paths. */
function problems(changes: Record<string, string | undefined>): { path: string; message: string }[] {
  const raw = completeRawConfig("prod", changes);
  try {
    planPlatform(validateStackConfig(raw, BLUEPRINT_CATALOG).config, vpai);
    return [];
  } catch (error) {
    return (error as { problems?: { path: string; message: string }[] }).problems ?? [];
  }
}

describe("the ops host in the plan (seed 002's Seko-VPN)", () => {
  for (const stack of ["prod", "preprod"] as const) {
    it(`${stack}: its own Hetzner server and monthly cost, and a firewall with only SSH from the admin networks and the WireGuard port`, () => {
      const planned = model(stack);
      const ops = planned.opsHost!;
      expect(ops.server).toMatchObject({ provider: "hetzner", name: OPS_HOST_NAME, serverType: "cx23", location: "fsn1" });
      expect(serverMonthlyEur(estimateCost(planned), OPS_HOST_NAME)).toBe(3.49);
      const rules = ops.firewall.map((rule) => `${rule.protocol}/${rule.port ?? "-"} ${rule.sourceCidrs.join(",")}`);
      expect(rules).toEqual(["tcp/22 198.51.100.7/32,100.64.0.0/10", "udp/51820 0.0.0.0/0,::/0", "icmp/- 0.0.0.0/0,::/0"]);
      expect(ops.firewall.find((rule) => rule.ssh)?.sourceCidrs).toEqual(planned.config.adminCidrs);
      // Everything the ops host runs listens on loopback: nothing else may be published.
      expect(ops.exposed).toEqual([{ port: 51820, protocol: "udp", service: "wireguard" }]);
    });
  }

  it("every server joins the VPN; admin SSH comes through its range, with the office address as the stated break-glass path", () => {
    const ops = model("prod").opsHost!;
    expect(ops.vpn).toMatchObject({
      range: "100.64.0.0/10",
      hubAddress: "100.64.0.1",
      port: 51820,
      members: [{ name: "main", address: "100.64.0.2", kind: "server" }],
    });
    expect(ops.adminRange).toBe("100.64.0.0/10");
    expect(ops.breakGlass).toEqual([{ server: "main", sources: ["198.51.100.7/32"] }]);
  });

  it("in pull mode the server's job only exports, and the ops host pulls it at 03:00 into the same repository, copying seed data to the shared bucket", () => {
    const planned = model("prod");
    const main = planned.hosts.find((host) => host.server.name === "main")!;
    expect(main.backup!.export).toEqual({ dir: EXPORT_DIR, group: PULL_ACCOUNT });
    expect(planned.opsHost!.pulls).toEqual([
      expect.objectContaining({
        server: "main",
        address: "100.64.0.2",
        account: PULL_ACCOUNT,
        repository: "s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main",
        seedDataUrl: "https://fsn1.your-objectstorage.com/vpai-shared/seed-data/main",
      }),
    ]);
    expect(planned.opsHost!.pullSchedule).toBe("03:00");
    // Without pullBackups the server pushes as before.
    const pushing = model("prod", { "infra:opsHost": opsHost({ pullBackups: false }) });
    expect(pushing.hosts[0]!.backup!.export).toBeUndefined();
    expect(pushing.opsHost!.pulls).toEqual([]);
    // Without the ops host nothing changes.
    const without = model("prod", { "infra:opsHost": undefined });
    expect(without.opsHost).toBeUndefined();
    expect(without.hosts[0]!.backup!.export).toBeUndefined();
  });

  it("refuses an ops host it could not run, each problem with its config path", () => {
    expect(problems({ "infra:opsHost": opsHost({ vpnRange: "100.96.0.0/11" }) })).toContainEqual({
      path: "infra:opsHost.vpnRange",
      message: expect.stringContaining("must also be one of infra:adminCidrs"),
    });
    // Every admin address inside the VPN: no break-glass path.
    expect(problems({ "infra:adminCidrs": JSON.stringify(["100.64.0.0/10", "100.64.5.7/32"]) })).toContainEqual({
      path: "infra:adminCidrs",
      message: expect.stringContaining("break-glass"),
    });
    expect(problems({ "infra:opsHost": opsHost({ pullSchedule: "02:55" }) })).toContainEqual({
      path: "infra:opsHost.pullSchedule",
      message: expect.stringContaining("not after the servers' dumps"),
    });
    expect(problems({ "infra:opsHost": opsHost({ pullSchedule: "01:00" }) })).toContainEqual({
      path: "infra:opsHost.pullSchedule",
      message: expect.stringContaining("not after"),
    });
    const peer = { name: "laptop", address: "100.64.0.2", publicKey: generateWireGuardKey().publicKey };
    expect(problems({ "infra:opsHost": opsHost({ peers: [peer] }) })).toContainEqual({
      path: "infra:opsHost.peers",
      message: expect.stringContaining("already main's"),
    });
    expect(problems({ "infra:opsHost": opsHost({ peers: [{ ...peer, address: "100.64.0.1" }] }) })).toContainEqual({
      path: "infra:opsHost.peers",
      message: expect.stringContaining("already the ops host's"),
    });
    expect(problems({ "infra:opsHost": opsHost({ peers: [{ ...peer, address: "10.0.0.5" }] }) })).toContainEqual({
      path: "infra:opsHost.peers",
      message: expect.stringContaining("not inside 100.64.0.0/10"),
    });
    expect(problems({ "infra:opsHost": opsHost({ peers: [{ ...peer, address: "100.64.9.9", publicKey: "ssh-ed25519 AAAA" }] }) })).toContainEqual({
      path: "infra:opsHost.peers[0].publicKey",
      message: expect.stringContaining("WireGuard public key"),
    });
    expect(problems({ "infra:opsHost": opsHost({ vpnRange: "100.64.0.1/10" }) })[0]).toMatchObject({ path: "infra:opsHost.vpnRange" });
    expect(problems({ "infra:opsHost": opsHost({ vpnPort: 22 }) })[0]).toMatchObject({ path: "infra:opsHost.vpnPort" });
    expect(problems({ "infra:opsHost": opsHost({ hostKey: "ssh-ed25519 AAAA" }) })).toContainEqual({
      path: "infra:opsHost.hostKey",
      message: expect.stringContaining("generated by the program"),
    });
    expect(problems({ "infra:opsHost": opsHost({ vpnRnage: "x" }) })).toContainEqual({
      path: "infra:opsHost.vpnRnage",
      message: expect.stringContaining("vpnRange"),
    });
    expect(problems({ "infra:servers": completeRawConfig("prod").values["infra:servers"]!.replace('"name":"main"', '"name":"ops"') })).toContainEqual(
      expect.objectContaining({ path: "infra:servers", message: expect.stringContaining("ops host's name") }),
    );
  });

  it("needs Hetzner's token even when every other server is an existing VPS", () => {
    const raw = completeRawConfig("prod");
    delete (raw.values as Record<string, string>)["hcloud:token"];
    expect(configProblemsOf(raw)).toContainEqual(expect.objectContaining({ path: "hcloud:token" }));
  });
});

describe("the VPN's configuration (WireGuard)", () => {
  it("keys the program makes are WireGuard's: wg derives the same public key from the private one", () => {
    const key = generateWireGuardKey();
    expect(isWireGuardKey(key.publicKey)).toBe(true);
    const derived = spawnSync(requireTool("wg"), ["pubkey"], { input: `${key.privateKey}\n`, encoding: "utf8" });
    expect(derived.status, derived.stderr).toBe(0);
    expect(derived.stdout.trim()).toBe(key.publicKey);
  });

  it("the hub admits each member from its own /32 only, and members dial the hub for the whole range; wg reads both", () => {
    const plan = model("prod").opsHost!.vpn;
    const hub = generateWireGuardKey();
    const main = generateWireGuardKey();
    const hubText = hubConfig(plan, hub.privateKey, { main: main.publicKey });
    expect(hubText).toContain(`PublicKey = ${main.publicKey}\nAllowedIPs = 100.64.0.2/32`);
    expect(hubText).toContain("ListenPort = 51820");
    const memberText = memberConfig(plan, "main", main.privateKey, hub.publicKey, "203.0.113.5");
    expect(memberText).toContain("Endpoint = 203.0.113.5:51820\nAllowedIPs = 100.64.0.0/10");
    expect(memberText).not.toContain("ListenPort");
    // `wg-quick strip` is wg-quick's own reader: it refuses a configuration it cannot parse, and leaves what `wg setconf` reads.
    for (const text of [hubText, memberText]) {
      const dir = mkdtempSync(join(tmpdir(), "wg-"));
      try {
        writeFileSync(join(dir, "wg0.conf"), text, { mode: 0o600 });
        const stripped = spawnSync(requireTool("wg-quick"), ["strip", join(dir, "wg0.conf")], { encoding: "utf8" });
        expect(stripped.status, stripped.stderr).toBe(0);
        expect(stripped.stdout).toContain("[Peer]");
        expect(stripped.stdout).not.toContain("Address");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(() => memberConfig(plan, "stranger", main.privateKey, hub.publicKey, "203.0.113.5")).toThrow(/not a member/);
    expect(() => hubConfig(plan, hub.privateKey, {})).toThrow(/no WireGuard public key for VPN member main/);
    // The private key reaches the host on stdin, never on a command line.
    expect(INSTALL_WIREGUARD_COMMAND).toContain("cat >/etc/wireguard/wg0.conf.new");
  });
});

describe("uptime checks as code: Prometheus and the blackbox exporter on the ops host", () => {
  const ops = model("prod").opsHost!;
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("monitors every public route (with TLS expiry), each server over the VPN, and a push monitor per backup pull", () => {
    const routes = model("prod").hostnames;
    expect(routes.length).toBeGreaterThan(0);
    for (const hostname of routes) expect(ops.monitoring.prometheus).toContain(`https://${hostname}/`);
    expect(ops.monitoring.monitors.map((monitor) => monitor.kind)).toEqual(
      expect.arrayContaining(["https route, TLS expiry", "server over the VPN (ssh port)", "push monitor (dead-man switch)"]),
    );
    expect(ops.monitoring.monitors.filter((monitor) => monitor.kind.startsWith("https")).length).toBe(routes.length);
    // Grafana's route asks for a password: 401 is it working.
    expect(ops.monitoring.blackbox).toContain(`${routeModule("grafana.vpai.example.com")}:`);
  });

  it("promtool check config and the blackbox exporter's --config.check accept the generated files", () => {
    const dir = mkdtempSync(join(tmpdir(), "ops-checks-"));
    dirs.push(dir);
    writeFileSync(join(dir, "ops-rules.yml"), ops.monitoring.rules);
    writeFileSync(join(dir, "prometheus.yml"), ops.monitoring.prometheus.replace("/etc/prometheus/ops-rules.yml", join(dir, "ops-rules.yml")));
    writeFileSync(join(dir, "blackbox.yml"), ops.monitoring.blackbox);
    const config = spawnSync(requireTool("promtool"), ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });
    expect(config.status, config.stdout + config.stderr).toBe(0);
    expect(config.stdout).toContain("SUCCESS: 1 rule files found");
    const blackbox = spawnSync(requireTool("prometheus-blackbox-exporter"), ["--config.check", `--config.file=${join(dir, "blackbox.yml")}`], {
      encoding: "utf8",
    });
    expect(blackbox.status, blackbox.stdout + blackbox.stderr).toBe(0);
  });

  it("promtool test rules: a missing or stale pull heartbeat fires BackupPullMissing, a fresh one does not; routes, TLS and the VPN probe alert", () => {
    const day = 86_400;
    const tests = [
      // No pull has ever reported: the dead-man switch fires at once.
      {
        interval: "1m",
        input_series: [],
        alert_rule_test: [
          {
            eval_time: "5m",
            alertname: "BackupPullMissing",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-backup-pulls", server: "main", mode: "pull" },
                exp_annotations: { summary: "no good pull of main's backups for over 36 h" },
              },
            ],
          },
        ],
      },
      // A pull at t=0 and nothing since: silent at 30 h, firing at 37 h (1.5 x the 24 h RPO).
      {
        interval: "1h",
        input_series: [
          { series: `${LAST_SUCCESS_METRIC}{mode="pull",server="main"}`, values: "0+0x40" },
          { series: `${LAST_EXIT_CODE_METRIC}{mode="pull",server="main"}`, values: "0+0x40" },
        ],
        alert_rule_test: [
          { eval_time: "30h", alertname: "BackupPullMissing", exp_alerts: [] },
          {
            eval_time: "37h",
            alertname: "BackupPullMissing",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-backup-pulls", server: "main", mode: "pull" },
                exp_annotations: { summary: "no good pull of main's backups for over 36 h" },
              },
            ],
          },
          { eval_time: "37h", alertname: "BackupPullFailed", exp_alerts: [] },
        ],
      },
      // Nightly pulls keep it silent.
      {
        interval: "1h",
        input_series: [{ series: `${LAST_SUCCESS_METRIC}{mode="pull",server="main"}`, values: `0+0x23 ${day}+0x23 ${2 * day}+0x23` }],
        alert_rule_test: [{ eval_time: "71h", alertname: "BackupPullMissing", exp_alerts: [] }],
      },
      {
        interval: "1m",
        input_series: [
          { series: `${LAST_EXIT_CODE_METRIC}{mode="pull",server="main"}`, values: "1+0x10" },
          { series: 'probe_success{job="routes",instance="https://llm.vpai.example.com/"}', values: "0+0x10" },
          { series: 'probe_ssl_earliest_cert_expiry{job="routes",instance="https://llm.vpai.example.com/"}', values: `${10 * day}+0x10` },
          { series: 'probe_success{job="vpn",server="main"}', values: "0+0x10" },
        ],
        alert_rule_test: [
          {
            eval_time: "5m",
            alertname: "BackupPullFailed",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", group: "ops-backup-pulls", server: "main", mode: "pull" },
                exp_annotations: { summary: "the last pull of main's backups exited with code 1" },
              },
            ],
          },
          { eval_time: "1m", alertname: "RouteDown", exp_alerts: [] },
          {
            eval_time: "3m",
            alertname: "RouteDown",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-uptime", job: "routes", instance: "https://llm.vpai.example.com/" },
                exp_annotations: { summary: "https://llm.vpai.example.com/ does not answer as expected from outside" },
              },
            ],
          },
          {
            eval_time: "1m",
            alertname: "TLSCertificateExpiresSoon",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", group: "ops-uptime", job: "routes", instance: "https://llm.vpai.example.com/" },
                exp_annotations: { summary: "the certificate of https://llm.vpai.example.com/ expires in 9d 23h 59m 0s" },
              },
            ],
          },
          {
            eval_time: "6m",
            alertname: "ServerUnreachableOverVPN",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-uptime", job: "vpn", server: "main" },
                exp_annotations: { summary: "main does not answer on its SSH port over the VPN" },
              },
            ],
          },
        ],
      },
    ];
    const run = runTool("promtool", ["test", "rules", "tests.yml"], {
      "rules.yml": ops.monitoring.rules,
      "tests.yml": stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }),
    });
    expect(run.output).toContain("SUCCESS");
    expect(run.ok, run.output).toBe(true);
  });
});

describe("the monitor of the monitor: each server's alerting watches the ops host", () => {
  const planned = model("prod");
  const watch = planned.opsHost!.watchRules;

  it("the rules join the server's own monitoring stack", () => {
    expect(planned.spec.monitoring!.ruleGroups.map((group) => group.name)).toContain("ops-host-watch");
    expect(model("prod", { "infra:opsHost": undefined }).spec.monitoring!.ruleGroups.map((group) => group.name)).not.toContain("ops-host-watch");
  });

  it("promtool test rules: silence from the ops host, checks not evaluated, a stale pull and its own alerts each fire", () => {
    const minute = 60;
    const tests = [
      // The ops host never reported, or went silent after 20 minutes.
      {
        interval: "1m",
        input_series: [],
        alert_rule_test: [
          {
            eval_time: "1m",
            alertname: "OpsHostSilent",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch" },
                exp_annotations: { summary: "no status from the ops host for over 10 minutes: its uptime checks and backup pulls are not known to run" },
              },
            ],
          },
        ],
      },
      {
        interval: "1m",
        input_series: [
          { series: OPS_LAST_SEEN_METRIC, values: `0+${minute}x20 ${20 * minute}+0x30` },
          { series: OPS_RULES_EVALUATED_METRIC, values: `0+${minute}x20 ${20 * minute}+0x30` },
          { series: `${OPS_PULL_METRIC}{server="main"}`, values: "0+0x50" },
        ],
        alert_rule_test: [
          { eval_time: "15m", alertname: "OpsHostSilent", exp_alerts: [] },
          { eval_time: "15m", alertname: "OpsHostPullStale", exp_alerts: [] },
          { eval_time: "15m", alertname: "OpsHostChecksStopped", exp_alerts: [] },
          {
            eval_time: "35m",
            alertname: "OpsHostSilent",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch" },
                exp_annotations: { summary: "no status from the ops host for over 10 minutes: its uptime checks and backup pulls are not known to run" },
              },
            ],
          },
          {
            eval_time: "35m",
            alertname: "OpsHostChecksStopped",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch" },
                exp_annotations: { summary: "the ops host answers, but its checks are not evaluated" },
              },
            ],
          },
        ],
      },
      // The ops host reports, but its rules stopped, no pull of main is known, and one of its checks fires.
      {
        interval: "1m",
        input_series: [
          { series: OPS_LAST_SEEN_METRIC, values: `0+${minute}x30` },
          { series: `${OPS_ALERT_METRIC}{check="RouteDown"}`, values: "1+0x30" },
        ],
        alert_rule_test: [
          {
            eval_time: "5m",
            alertname: "OpsHostChecksStopped",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch" },
                exp_annotations: { summary: "the ops host answers, but its checks are not evaluated" },
              },
            ],
          },
          {
            eval_time: "5m",
            alertname: "OpsHostPullStale",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch", server: "main" },
                exp_annotations: { summary: "the ops host reports no good pull of main's backups for over 36 h" },
              },
            ],
          },
          {
            eval_time: "5m",
            alertname: "OpsHostAlertFiring",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", group: "ops-host-watch", check: "RouteDown" },
                exp_annotations: { summary: "the ops host's check RouteDown is firing" },
              },
            ],
          },
        ],
      },
    ];
    const run = runTool("promtool", ["test", "rules", "tests.yml"], {
      "rules.yml": ruleFile([watch]),
      "tests.yml": stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }),
    });
    expect(run.ok, run.output).toBe(true);
  });

  it("the status receiver keeps only the ops host's metrics, whole lines, and stamps the time it received them", () => {
    const dir = mkdtempSync(join(tmpdir(), "ops-status-"));
    try {
      const input = [
        `${OPS_RULES_EVALUATED_METRIC} 1796630000`,
        `${OPS_PULL_METRIC}{server="main"} 1796620000`,
        `${OPS_ALERT_METRIC}{check="RouteDown"} 1`,
        // What a compromised ops host might try: other metrics, a forged receipt time, label injection, a second line in a value.
        `${OPS_LAST_SEEN_METRIC} 9999999999`,
        `${LAST_SUCCESS_METRIC} 1796630000`,
        `${OPS_ALERT_METRIC}{check="x",server="main"} 1`,
        `${OPS_ALERT_METRIC}{check="x"} 1 1796630000`,
        `node_textfile_scrape_error 0`,
      ].join("\n");
      const before = Math.floor(Date.now() / 1000);
      const run = spawnSync(requireTool("bash"), ["-c", opsStatusReceiver(dir)], { input, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: dir } });
      expect(run.status, run.stderr).toBe(0);
      const lines = readFileSync(join(dir, "infra_ops_status.prom"), "utf8").trim().split("\n");
      expect(lines.slice(0, 3)).toEqual([
        `${OPS_RULES_EVALUATED_METRIC} 1796630000`,
        `${OPS_PULL_METRIC}{server="main"} 1796620000`,
        `${OPS_ALERT_METRIC}{check="RouteDown"} 1`,
      ]);
      expect(lines).toHaveLength(4);
      const stamp = Number(lines[3]!.split(" ")[1]);
      expect(lines[3]!.startsWith(`${OPS_LAST_SEEN_METRIC} `)).toBe(true);
      expect(stamp).toBeGreaterThanOrEqual(before);
      expect(stamp).toBeLessThan(before + 60);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the ops host's generated scripts", () => {
  it("pass shellcheck", () => {
    const planned = model("prod");
    const ops = planned.opsHost!;
    const keys = { main: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIArUDylfarOvzxdhCuNbdDREM+e92Gjfq1jXbj0z5I0a" };
    for (const [name, script] of [
      ["pull install", pullInstallScript(ops.pulls, ops.pullSchedule, keys)],
      ["checks install", opsMonitoringInstallScript(ops.monitoring)],
      ["status", opsStatusScript([{ name: "main", address: "100.64.0.2", sshPort: 22 }], ops.pulls, PULL_ACCOUNT)],
      ["status receiver", opsStatusReceiver()],
      ["status receiver install", opsStatusReceiverInstallScript(PULL_ACCOUNT)],
    ] as const) {
      const result = shellcheck(script);
      expect(result.output, name).toBe("");
    }
  });
});
