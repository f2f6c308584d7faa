import { describe, expect, it } from "vitest";
import { alertNames, alertRules, ruleFile } from "../../components/monitoring/alert-rules";
import { DEFAULT_THRESHOLDS } from "../../components/monitoring/settings";
import { groupOf, prometheusObservability, runTool, s, testFile, vpaiModel, fileOf, type AlertCase } from "./support";

/**
 * Every alert the platform generates has a `promtool test rules` case: a
 * series that must make it fire (with the labels and summary it must carry),
 * and one that must leave it silent. The rule file under test is the one
 * uploaded into vmalert for the prod stack.
 */

const model = vpaiModel("prod");
const rules = fileOf(model, "vmalert", "/etc/vmalert/rules.yml");
const containers = model.spec.services.map((service) => ({ service: service.name, container: `vpai-${service.name}` }));

const node = 'instance="main",job="node"';

const CASES: Record<string, AlertCase> = {
  HostDiskSpaceLow: {
    evalTime: "6m",
    fires: {
      input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "15000000000x40")],
      labels: { severity: "warning", group: "host", instance: "main", job: "node", fstype: "ext4", mountpoint: "/" },
      summary: "/ has 15GB free, under 20 GB",
    },
    // 25 GB on the disk; a 1 GB tmpfs is no disk at all.
    silent: { input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "25000000000x40"), s(`node_filesystem_avail_bytes{${node},fstype="tmpfs",mountpoint="/run"}`, "1000000000x40")] },
  },
  HostDiskFillingUp: {
    interval: "10m",
    evalTime: "7h",
    fires: {
      // 2 GB lost every 10 minutes: full long before a day is out.
      input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "200000000000-2000000000x60")],
      labels: { severity: "warning", group: "host", instance: "main", job: "node", fstype: "ext4", mountpoint: "/" },
      summary: "/ fills up within 24 h at the rate of the last 6 h",
    },
    // 10 MB lost every 10 minutes: 200 GB last for years.
    silent: { input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "200000000000-10000000x60")] },
  },
  HostMemoryPressure: {
    evalTime: "6m",
    fires: {
      input: [s(`node_memory_MemAvailable_bytes{${node}}`, "300000000x40"), s(`node_memory_MemTotal_bytes{${node}}`, "4000000000x40")],
      labels: { severity: "warning", group: "host", instance: "main", job: "node" },
      summary: "only 7.5% of memory is available, under 10%",
    },
    silent: { input: [s(`node_memory_MemAvailable_bytes{${node}}`, "2000000000x40"), s(`node_memory_MemTotal_bytes{${node}}`, "4000000000x40")] },
  },
  ContainerDown: {
    evalTime: "3m",
    fires: {
      input: containers.filter((entry) => entry.service !== "redis").map((entry) => s(`container_last_seen{name="${entry.container}"}`, "0+15x20")),
      labels: { severity: "critical", group: "containers", name: "vpai-redis", instance: "redis" },
      summary: "container vpai-redis is not running",
    },
    silent: { input: containers.map((entry) => s(`container_last_seen{name="${entry.container}"}`, "0+15x20")) },
  },
  ContainerRestarting: {
    evalTime: "2m",
    fires: {
      input: [s('container_start_time_seconds{name="vpai-n8n"}', "100 100 200 200 300 300 400 400 500")],
      labels: { severity: "warning", group: "containers", name: "vpai-n8n" },
      summary: "container vpai-n8n restarted 4 times in 15 minutes",
    },
    // One restart of n8n, and a container of someone else's restarting often.
    silent: { input: [s('container_start_time_seconds{name="vpai-n8n"}', "100 100 200 200 200 200 200 200 200"), s('container_start_time_seconds{name="other"}', "1 2 3 4 5 6 7 8 9")] },
  },
  ContainerUnhealthy: {
    evalTime: "3m",
    fires: {
      input: [s('probe_success{job="services",instance="qdrant"}', "0x20")],
      labels: { severity: "critical", group: "containers", job: "services", instance: "qdrant" },
      summary: "qdrant does not accept connections on its port",
    },
    silent: { input: [s('probe_success{job="services",instance="qdrant"}', "1x20")] },
  },
  ScrapeTargetDown: {
    evalTime: "3m",
    fires: {
      input: [s('up{job="n8n",instance="n8n"}', "0x20")],
      labels: { severity: "warning", group: "containers", job: "n8n", instance: "n8n" },
      summary: "metrics of n8n (n8n) cannot be scraped",
    },
    silent: { input: [s('up{job="n8n",instance="n8n"}', "1x20")] },
  },
  HTTP5xxRatioHigh: {
    evalTime: "4m",
    fires: {
      input: [s('caddy_http_request_duration_seconds_count{server="srv0",code="500"}', "0+10x40"), s('caddy_http_request_duration_seconds_count{server="srv0",code="200"}', "0+100x40")],
      labels: { severity: "critical", group: "apps", server: "srv0" },
      summary: "9.1% of responses are 5xx, over 5%",
    },
    silent: { input: [s('caddy_http_request_duration_seconds_count{server="srv0",code="500"}', "0+1x40"), s('caddy_http_request_duration_seconds_count{server="srv0",code="200"}', "0+100x40")] },
  },
  PostgresDown: {
    evalTime: "3m",
    fires: {
      input: [s('pg_up{instance="postgres",job="postgres-exporter"}', "0x20")],
      labels: { severity: "critical", group: "postgres", instance: "postgres", job: "postgres-exporter" },
      summary: "PostgreSQL does not answer its exporter",
    },
    silent: { input: [s('pg_up{instance="postgres",job="postgres-exporter"}', "1x20")] },
  },
  PostgresConnectionsHigh: {
    evalTime: "6m",
    fires: {
      input: [
        s('pg_stat_activity_count{instance="postgres",datname="n8n",state="active"}', "50x40"),
        s('pg_stat_activity_count{instance="postgres",datname="litellm",state="idle"}', "40x40"),
        s('pg_settings_max_connections{instance="postgres"}', "100x40"),
      ],
      labels: { severity: "warning", group: "postgres", instance: "postgres" },
      summary: "PostgreSQL uses 90% of max_connections, over 80%",
    },
    silent: {
      input: [
        s('pg_stat_activity_count{instance="postgres",datname="n8n",state="active"}', "30x40"),
        s('pg_stat_activity_count{instance="postgres",datname="litellm",state="idle"}', "20x40"),
        s('pg_settings_max_connections{instance="postgres"}', "100x40"),
      ],
    },
  },
  RedisDown: {
    evalTime: "3m",
    fires: {
      input: [s('redis_up{instance="redis",job="redis-exporter"}', "0x20")],
      labels: { severity: "critical", group: "redis", instance: "redis", job: "redis-exporter" },
      summary: "Redis does not answer its exporter",
    },
    silent: { input: [s('redis_up{instance="redis",job="redis-exporter"}', "1x20")] },
  },
  RedisMemoryHigh: {
    evalTime: "6m",
    fires: {
      input: [s('redis_memory_used_bytes{instance="redis"}', "95000000x40"), s('redis_memory_max_bytes{instance="redis"}', "100000000x40")],
      labels: { severity: "warning", group: "redis", instance: "redis" },
      summary: "Redis uses 95% of maxmemory, over 90%",
    },
    // Half full, and a second Redis without maxmemory, which has no ratio.
    silent: {
      input: [
        s('redis_memory_used_bytes{instance="redis"}', "50000000x40"),
        s('redis_memory_max_bytes{instance="redis"}', "100000000x40"),
        s('redis_memory_used_bytes{instance="cache"}', "95000000x40"),
        s('redis_memory_max_bytes{instance="cache"}', "0x40"),
      ],
    },
  },
  BackupTooOld: {
    interval: "1h",
    evalTime: "37h",
    fires: {
      // The last success was at time 0; at 37 h that is past 1.5 x 24 h.
      input: [s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0x40")],
      labels: { severity: "critical", group: "backups", instance: "main", job: "node" },
      summary: "the last good backup is 1d 13h 0m 0s old, over 1.5 x the RPO of 24 h",
    },
    silent: { input: [s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0+3600x40")] },
  },
  BackupNeverSucceeded: {
    interval: "1h",
    evalTime: "37h",
    fires: { input: [s(`up{${node}}`, "1x40")], labels: { severity: "critical", group: "backups" }, summary: "no backup has succeeded on this host yet" },
    silent: { input: [s(`up{${node}}`, "1x40"), s(`infra_backup_last_success_timestamp_seconds{${node}}`, "0+3600x40")] },
  },
  BackupFailed: {
    evalTime: "1m",
    fires: {
      input: [s(`infra_backup_last_exit_code{${node}}`, "3x20")],
      labels: { severity: "warning", group: "backups", instance: "main", job: "node" },
      summary: "the last backup run exited with code 3",
    },
    silent: { input: [s(`infra_backup_last_exit_code{${node}}`, "0x20")] },
  },
  RouteProbeFailed: {
    evalTime: "3m",
    fires: {
      input: [s('probe_success{job="routes",instance="n8n.vpai.example.com"}', "0x20")],
      labels: { severity: "critical", group: "routes", job: "routes", instance: "n8n.vpai.example.com" },
      summary: "https://n8n.vpai.example.com fails its probe",
    },
    // A service port failing is ContainerUnhealthy's, not this alert's.
    silent: { input: [s('probe_success{job="routes",instance="n8n.vpai.example.com"}', "1x20"), s('probe_success{job="services",instance="n8n"}', "0x20")] },
  },
  TLSCertificateExpiring: {
    evalTime: "6m",
    fires: {
      // Expires 10 days after the evaluation at 6 minutes.
      input: [s('probe_ssl_earliest_cert_expiry{job="routes",instance="n8n.vpai.example.com"}', "864360x40")],
      labels: { severity: "warning", group: "routes", job: "routes", instance: "n8n.vpai.example.com" },
      summary: "the certificate of n8n.vpai.example.com expires in 10d 0h 0m 0s, under 14 days",
    },
    silent: { input: [s('probe_ssl_earliest_cert_expiry{job="routes",instance="n8n.vpai.example.com"}', "5184000x40")] },
  },
};

const timings: Record<string, number> = {};

describe("alert rules (promtool)", () => {
  it("promtool check rules accepts the generated rule file, evaluated every 30 s (seed 001)", () => {
    const run = runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": rules });
    timings["promtool check rules"] = run.ms;
    expect(run.ok, run.output).toBe(true);
    expect(run.output).toMatch(/SUCCESS: 17 rules found/);
  });

  it("promtool check rules fails on a rule with a broken expression", () => {
    const broken = rules.replace("up == 0", "up == ");
    expect(broken).not.toBe(rules);
    expect(runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": broken }).ok).toBe(false);
  });

  it("every alert of both designs has a test case, and every case an alert", () => {
    const vpaiAlerts = model.spec.monitoring!.ruleGroups;
    const prometheusAlerts = prometheusObservability().plan.ruleGroups;
    expect(new Set([...alertNames(vpaiAlerts), ...alertNames(prometheusAlerts)])).toEqual(new Set(Object.keys(CASES)));
  });

  it.each(Object.entries(CASES))("%s fires on a series that should trigger it and stays silent on one that should not", (alert, test) => {
    const run = runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": groupOf(rules, alert), "test.yml": testFile(alert, test) });
    timings[`promtool test rules ${alert}`] = run.ms;
    expect(run.ok, run.output).toBe(true);
  });

  it("promtool test rules fails when an alert that fires is expected to stay silent", () => {
    const run = runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": groupOf(rules, "HostDiskSpaceLow"), "test.yml": testFile("HostDiskSpaceLow", CASES.HostDiskSpaceLow!, false) });
    expect(run.ok).toBe(false);
    expect(run.output).toContain("HostDiskSpaceLow");
  });

  it("thresholds come from infra:monitoring: 40 GB free fires with diskFreeGb 50 and not with the default 20", () => {
    const forty: AlertCase = {
      ...CASES.HostDiskSpaceLow!,
      fires: { ...CASES.HostDiskSpaceLow!.fires, input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "40000000000x40")], summary: "/ has 40GB free, under 50 GB" },
      silent: { input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "60000000000x40")] },
    };
    const custom = ruleFile(alertRules({ thresholds: { ...DEFAULT_THRESHOLDS, diskFreeGb: 50 }, evaluationIntervalSeconds: 30, jobs: [], probes: [], containers: [] }));
    expect(runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": custom, "test.yml": testFile("HostDiskSpaceLow", forty) }).ok).toBe(true);
    const atDefault = runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": groupOf(rules, "HostDiskSpaceLow"), "test.yml": testFile("HostDiskSpaceLow", { ...forty, fires: { ...forty.fires, summary: "/ has 40GB free, under 20 GB" } }) });
    expect(atDefault.ok).toBe(false);
  });

  it("reports how long each validator took", () => {
    const total = Object.values(timings).reduce((sum, ms) => sum + ms, 0);
    console.log(`promtool timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([key, ms]) => [key, Math.round(ms)])))}; total ${Math.round(total)}`);
    expect(Object.keys(timings).length).toBeGreaterThan(Object.keys(CASES).length);
  });
});
