import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { environmentFile } from "../../components/backup/environment-file";
import { installScript } from "../../components/backup/install-script";
import { declarationProblems, HOST_PATHS, hostBackupJob, resticRepository, secretVariable, secretVariables, type BackupJob } from "../../components/backup/job";
import { BACKUP_METRICS, LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { describeRetention, forgetFlags } from "../../components/backup/retention";
import { restoreScript } from "../../components/backup/restore-script";
import { BACKUP_DEFAULTS } from "../../components/backup/settings";
import { backupServiceUnit, backupTimerUnit, onCalendar } from "../../components/backup/systemd-units";
import { healthcheck, service } from "../../components/container/service-spec";
import { vpai } from "../../infra/blueprints/vpai";
import { requireTool } from "../support/tools";
import { shellcheck } from "../support/validators";

const spec = vpai.build({ domain: "vpai.example.com", environment: "prod" });
const job: BackupJob = hostBackupJob({
  server: "main",
  services: spec.services,
  settings: BACKUP_DEFAULTS,
  repository: resticRepository("https://fsn1.your-objectstorage.com/", "vpai-backups", "main"),
  containerName: (name) => `vpai-${name}`,
});

describe("the VPAI backup job (seed 002)", () => {
  it("covers every stateful service, dumps first, through docker exec into each container", () => {
    expect(job.sources.map((source) => `${source.service}:${source.kind}`)).toEqual([
      "postgres:postgres",
      "redis:redis",
      "qdrant:qdrant",
      "n8n:volume",
      "openclaw:volume",
      "n8n:n8n-workflows",
    ]);
    expect(job.sources[0]).toMatchObject({ databases: ["n8n", "litellm", "openclaw"], user: "postgres", access: { kind: "docker", container: "vpai-postgres" } });
    expect(job.sources.find((source) => source.kind === "qdrant")).toMatchObject({ port: 6333, apiKeyVariable: "QDRANT_API_KEY" });
    expect(job.sources.filter((source) => source.kind === "volume").map((source) => (source.kind === "volume" ? source.volume : ""))).toEqual(["vpai-n8n-data", "vpai-openclaw-data"]);
    expect(job.repository).toBe("s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main");
    // The databases' own data directories are never copied as files (B5).
    expect(JSON.stringify(job)).not.toContain("vpai-postgres-data");
    expect(JSON.stringify(job)).not.toContain("vpai-redis-data");
  });

  it("the generated scripts pass shellcheck", () => {
    for (const [name, script] of [
      ["backup", backupScript(job)],
      ["restore", restoreScript(job)],
      ["install", installScript(job)],
    ] as const) {
      const result = shellcheck(script);
      expect(result.output, name).toBe("");
      expect(result.ok, name).toBe(true);
    }
  });

  it("reaches each service through the prefix that is empty in the live tests", () => {
    const script = backupScript(job);
    expect(script).toContain("local -a exec=(docker exec -i vpai-postgres)");
    expect(script).toContain("local -a exec=(docker exec -i vpai-redis)");
    expect(script).toContain("local -a exec=(docker exec -i vpai-n8n)");
    expect(script).toContain("docker volume inspect --format '{{.Mountpoint}}' vpai-openclaw-data");
    expect(script).toContain("container_url vpai-qdrant 6333");
    expect(script).toContain('"${QDRANT_API_KEY:?}"');
  });

  it("exports the metric names the alert rules import, and writes them in textfile format", () => {
    expect(BACKUP_METRICS).toEqual(["infra_backup_last_success_timestamp_seconds", "infra_backup_last_exit_code", "infra_backup_last_run_timestamp_seconds", "infra_backup_last_duration_seconds"]);
    const script = backupScript(job);
    for (const metric of BACKUP_METRICS) expect(script).toContain(`# TYPE ${metric} gauge\n${metric} $`);
    expect(script.indexOf(`${LAST_SUCCESS_METRIC} $last_success`)).toBeGreaterThan(0);
    expect(script).toContain(`${LAST_EXIT_CODE_METRIC} $code`);
  });

  it("installs exactly the generated scripts and units", () => {
    const install = installScript(job);
    const embedded = (path: string) => install.split(`cat >"${path}.new" <<'INFRA_BACKUP_FILE_END'\n`)[1]!.split("\nINFRA_BACKUP_FILE_END")[0]! + "\n";
    expect(embedded("/usr/local/sbin/infra-backup")).toBe(backupScript(job));
    expect(embedded("/usr/local/sbin/infra-restore")).toBe(restoreScript(job));
    expect(embedded("/etc/systemd/system/infra-backup.service")).toBe(backupServiceUnit());
    expect(embedded("/etc/systemd/system/infra-backup.timer")).toBe(backupTimerUnit(BACKUP_DEFAULTS));
    expect(install).toContain("systemctl enable --now infra-backup.timer");
  });
});

describe("pure pieces", () => {
  it.each([
    ["02:55", "*-*-* 02:55:00"],
    ["00:00", "*-*-* 00:00:00"],
    ["23:59", "*-*-* 23:59:00"],
  ])("schedule %s runs on systemd calendar %s, which systemd accepts", (schedule, calendar) => {
    expect(onCalendar(schedule)).toBe(calendar);
    const result = spawnSync(requireTool("systemd-analyze"), ["calendar", calendar], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Normalized form: ${calendar}`);
    expect(backupTimerUnit({ ...BACKUP_DEFAULTS, schedule })).toContain(`OnCalendar=${calendar}\nPersistent=true`);
  });

  it.each([
    [{ daily: 7, weekly: 4, monthly: 6, yearly: 2 }, ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6", "--keep-yearly", "2"], "7 daily, 4 weekly, 6 monthly, 2 yearly"],
    [{ daily: 30, weekly: 0, monthly: 0, yearly: 0 }, ["--keep-daily", "30"], "30 daily"],
    [{ daily: 1, weekly: 0, monthly: 12, yearly: 0 }, ["--keep-daily", "1", "--keep-monthly", "12"], "1 daily, 12 monthly"],
  ])("retention %j is forget %j", (policy, flags, text) => {
    expect(forgetFlags(policy)).toEqual(flags);
    expect(describeRetention(policy)).toBe(text);
  });

  it.each([
    ["infra:qdrantApiKey", "QDRANT_API_KEY"],
    ["infra:redisPassword", "REDIS_PASSWORD"],
    ["app:s3Key2", "S3_KEY2"],
  ])("secret %s reaches the job as %s", (key, variable) => {
    expect(secretVariable(key)).toBe(variable);
  });

  it("maps each secret a dump needs to its variable", () => {
    expect(secretVariables(spec.services)).toEqual({ QDRANT_API_KEY: "infra:qdrantApiKey" });
  });

  it("refuses a declaration the job could not carry out", () => {
    const base = { name: "app", description: "x", role: "app" as const, image: { repository: "x", tag: "1" }, networks: [], healthcheck: healthcheck(["CMD", "true"]), memoryMb: 64 };
    expect(declarationProblems(service({ ...base, volumes: [{ volume: "data", target: "/d" }], backup: { volumes: ["data", "cache"] } }))).toEqual(['app backs up volume "cache", which it does not mount']);
    expect(declarationProblems(service({ ...base, backup: { dump: { kind: "postgres", user: "postgres", databases: [] } } }))).toEqual(["app declares a PostgreSQL dump of no database"]);
  });

  it("quotes the environment file so that bash reads every value back as it was", () => {
    const awkward = { resticPassword: `p'a"s$s \\ w\`o rd`, accessKeyId: "AKID", secretAccessKey: "s3cr3t/+=", heartbeatUrl: "https://uptime.example.com/api/push/x?status=up&msg=OK" };
    const file = environmentFile(job, HOST_PATHS, { ...awkward, variables: { QDRANT_API_KEY: "k $(touch /tmp/never)" } }, "fsn1");
    const dir = mkdtempSync(join(tmpdir(), "environment-"));
    writeFileSync(join(dir, "backup.env"), file);
    const result = spawnSync(
      requireTool("bash"),
      ["-c", 'set -a; source "$1"; set +a; printf "%s\\n" "$RESTIC_PASSWORD" "$AWS_SECRET_ACCESS_KEY" "$BACKUP_HEARTBEAT_URL" "$QDRANT_API_KEY" "$RESTIC_REPOSITORY" "$BACKUP_STAGING_DIR"', "bash", join(dir, "backup.env")],
      { encoding: "utf8" },
    );
    rmSync(dir, { recursive: true, force: true });
    expect(result.stdout.split("\n").slice(0, 6)).toEqual([awkward.resticPassword, awkward.secretAccessKey, awkward.heartbeatUrl, "k $(touch /tmp/never)", job.repository, HOST_PATHS.stagingDir]);
  });
});
