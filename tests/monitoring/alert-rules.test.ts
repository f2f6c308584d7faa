import { describe, expect, it } from "vitest";
import { alertNames, alertRules, ruleFile } from "../../components/monitoring/alert-rules";
import { DEFAULT_THRESHOLDS } from "../../components/monitoring/settings";
import { groupOf, platformAlertCases, prometheusObservability, runTool, s, testFile, vpaiModel, fileOf, type AlertCase } from "./support";

/**
 * Every alert the platform generates has a `promtool test rules` case: a
 * series that must make it fire (with the labels and summary it must carry),
 * and one that must leave it silent. The rule file under test is the one
 * uploaded into vmalert for the prod stack.
 */

const model = vpaiModel("prod");
const rules = fileOf(model, "vmalert", "/etc/vmalert/rules.yml");

const node = 'instance="main",job="node"';

/**
 * The shared cases with VPAI's names (tests/monitoring/support.ts), and the
 * three whose series are Caddy's and VPAI's own: the error rate on Caddy's
 * counters, connections spread over VPAI's databases, and a second Redis
 * without maxmemory.
 */
const CASES: Record<string, AlertCase> = {
  ...platformAlertCases({
    containers: model.containerNames,
    services: model.spec.services.map((service) => service.name),
    victims: { down: "redis", restarting: "n8n", unhealthy: "qdrant", beside: "n8n" },
    job: "n8n",
    route: "n8n.vpai.example.com",
  }),
  HTTP5xxRatioHigh: {
    evalTime: "4m",
    fires: {
      input: [
        s('caddy_http_request_duration_seconds_count{server="srv0",code="500"}', "0+10x40"),
        s('caddy_http_request_duration_seconds_count{server="srv0",code="200"}', "0+100x40"),
      ],
      labels: { severity: "critical", group: "apps", server: "srv0" },
      summary: "9.1% of responses are 5xx, over 5%",
    },
    silent: {
      input: [
        s('caddy_http_request_duration_seconds_count{server="srv0",code="500"}', "0+1x40"),
        s('caddy_http_request_duration_seconds_count{server="srv0",code="200"}', "0+100x40"),
      ],
    },
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
};

const timings: Record<string, number> = {};

describe("alert rules (promtool)", () => {
  it("promtool check rules accepts the generated rule file, evaluated every 30 s (seed 001)", () => {
    const run = runTool("promtool", ["check", "rules", "rules.yml"], { "rules.yml": rules });
    timings["promtool check rules"] = run.ms;
    expect(run.ok, run.output).toBe(true);
    // 17 of the blueprint's, and 4 with which the server watches prod's ops host (infra:opsHost).
    expect(run.output).toMatch(/SUCCESS: 21 rules found/);
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
    const run = runTool("promtool", ["test", "rules", "test.yml"], {
      "rules.yml": groupOf(rules, "HostDiskSpaceLow"),
      "test.yml": testFile("HostDiskSpaceLow", CASES.HostDiskSpaceLow!, false),
    });
    expect(run.ok).toBe(false);
    expect(run.output).toContain("HostDiskSpaceLow");
  });

  it("thresholds come from infra:monitoring: 40 GB free fires with diskFreeGb 50 and not with the default 20", () => {
    const forty: AlertCase = {
      ...CASES.HostDiskSpaceLow!,
      fires: {
        ...CASES.HostDiskSpaceLow!.fires,
        input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "40000000000x40")],
        summary: "/ has 40GB free, under 50 GB",
      },
      silent: { input: [s(`node_filesystem_avail_bytes{${node},fstype="ext4",mountpoint="/"}`, "60000000000x40")] },
    };
    const custom = ruleFile(
      alertRules({ thresholds: { ...DEFAULT_THRESHOLDS, diskFreeGb: 50 }, evaluationIntervalSeconds: 30, jobs: [], probes: [], containers: [] }),
    );
    expect(runTool("promtool", ["test", "rules", "test.yml"], { "rules.yml": custom, "test.yml": testFile("HostDiskSpaceLow", forty) }).ok).toBe(true);
    const atDefault = runTool("promtool", ["test", "rules", "test.yml"], {
      "rules.yml": groupOf(rules, "HostDiskSpaceLow"),
      "test.yml": testFile("HostDiskSpaceLow", { ...forty, fires: { ...forty.fires, summary: "/ has 40GB free, under 20 GB" } }),
    });
    expect(atDefault.ok).toBe(false);
  });

  it("reports how long each validator took", () => {
    const total = Object.values(timings).reduce((sum, ms) => sum + ms, 0);
    console.log(
      `promtool timings (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([key, ms]) => [key, Math.round(ms)])))}; total ${Math.round(total)}`,
    );
    expect(Object.keys(timings).length).toBeGreaterThan(Object.keys(CASES).length);
  });
});
