import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { Backup } from "../../components/backup/backup";
import { installScript, WRITE_ENVIRONMENT_COMMAND } from "../../components/backup/install-script";
import { hostBackupJob, resticRepository, type BackupJob } from "../../components/backup/job";
import { BACKUP_DEFAULTS, type BackupSettings } from "../../components/backup/settings";
import { contentHash } from "../../components/compute/content-hash";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { vpai } from "../../infra/blueprints/vpai";
import { graphOf, named, ofType } from "../support/graph";
import { planOf, resourcesOf } from "../support/plans";
import { TEST_HOST_KEY } from "../support/stack-config";

const RESTIC = "restic-planted-7c1e";
const S3_SECRET = "s3-planted-91ab";
const HEARTBEAT = "https://uptime.example.com/api/push/heartbeat-planted-33f0";
const QDRANT = "qdrant-planted-d4e2";

function job(settings: BackupSettings = BACKUP_DEFAULTS): BackupJob {
  return hostBackupJob({
    server: "main",
    services: vpai.build({ domain: "vpai.example.com", environment: "prod" }).services,
    settings,
    repository: resticRepository("https://fsn1.your-objectstorage.com", "vpai-backups", "main"),
    containerName: (name) => `vpai-${name}`,
  });
}

/** Stands in for the server's last preparation step. */
class Prepared extends pulumi.CustomResource {
  constructor(name: string) {
    super("test:index:Prepared", name, {});
  }
}

const connection = {
  host: "203.0.113.20",
  port: 22,
  user: "deploy",
  privateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----test"),
  hostPublicKey: TEST_HOST_KEY,
};

function register(settings?: BackupSettings) {
  return graphOf(() => {
    new Backup("vpai-main-backup", {
      job: job(settings),
      connection,
      ready: new Prepared("vpai-main-prepare"),
      region: "fsn1",
      resticPassword: pulumi.secret(RESTIC),
      accessKeyId: pulumi.secret("AKID"),
      secretAccessKey: pulumi.secret(S3_SECRET),
      heartbeatUrl: pulumi.secret(HEARTBEAT),
      variables: { QDRANT_API_KEY: pulumi.secret(QDRANT) },
    });
  });
}

describe("Backup component (graph)", () => {
  it("writes the secret environment file first, then installs the job, each re-run by a content hash, both after the host's preparation", async () => {
    const run = await register();
    expect(ofType(run, "infra:backup:Backup").map((resource) => resource.name)).toEqual(["vpai-main-backup"]);
    const environment = named(run, SSH_COMMAND_TYPE, "vpai-main-backup-environment");
    const install = named(run, SSH_COMMAND_TYPE, "vpai-main-backup-install");
    expect(environment.parent).toBe("vpai-main-backup");
    expect(install.parent).toBe("vpai-main-backup");
    expect(install.dependsOn).toContain("vpai-main-backup-environment");
    expect(environment.dependsOn).toContain("vpai-main-prepare");
    expect(install.dependsOn).toContain("vpai-main-prepare");
    // The host key is pinned in plain sight; the admin key is masked.
    expect(environment.inputs).toMatchObject({
      connection: { host: "203.0.113.20", port: 22, user: "deploy", hostPublicKey: TEST_HOST_KEY },
      privateKey: "[secret]",
    });
    expect(environment.inputs).toMatchObject({ create: WRITE_ENVIRONMENT_COMMAND, stdin: "[secret]", triggers: "[secret]" });
    const script = installScript(job());
    expect(install.inputs).toMatchObject({ create: "sudo bash -s", stdin: script, triggers: [contentHash(script)] });
  });

  it("keeps every secret out of plain inputs (V3)", async () => {
    const text = JSON.stringify((await register()).resources);
    for (const planted of [RESTIC, S3_SECRET, HEARTBEAT, "heartbeat-planted", QDRANT]) expect(text).not.toContain(planted);
  });

  it("re-installs when the schedule or the retention changes, and only then", async () => {
    const trigger = async (settings?: BackupSettings) =>
      (named(await register(settings), SSH_COMMAND_TYPE, "vpai-main-backup-install").inputs.triggers as string[])[0];
    const base = await trigger();
    expect(await trigger()).toBe(base);
    expect(await trigger({ ...BACKUP_DEFAULTS, schedule: "04:00" })).not.toBe(base);
    expect(await trigger({ ...BACKUP_DEFAULTS, retention: { ...BACKUP_DEFAULTS.retention, daily: 8 } })).not.toBe(base);
  });

  it("refuses a job whose source needs a secret that is not loaded, rather than installing it empty", () => {
    const args = {
      job: job(),
      connection,
      ready: undefined as unknown as pulumi.Resource,
      region: "fsn1",
      resticPassword: "r",
      accessKeyId: "a",
      secretAccessKey: "s",
    };
    expect(() => new Backup("vpai-main-backup", { ...args, variables: { QDRANT_API_KEY: undefined as unknown as string } })).toThrow(
      "no secret loaded for QDRANT_API_KEY",
    );
  });
});

describe("backups in the stacks' plans", () => {
  it.each(["prod", "preprod"])("%s registers one Backup per server, after its host and the backups bucket", async (stack) => {
    const plan = await planOf(stack);
    const backups = resourcesOf(plan, "infra:backup:Backup");
    expect(backups.map((resource) => resource.name)).toEqual(["vpai-main-backup"]);
    expect(backups[0]!.dependsOn).toContain("vpai-backups-bucket");
    expect(backups[0]!.dependsOn.some((name) => name === "vpai-main-prepare" || name === "vpai-main-ready")).toBe(true);
  });

  it("reports what, when, where, how long and the RPO per server, in --json and in text", async () => {
    const plan = await planOf("prod");
    expect(plan.backups).toHaveLength(1);
    const report = plan.backups[0]!;
    expect(report).toMatchObject({
      server: "main",
      repository: "s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main",
      retention: { daily: 7, weekly: 4, monthly: 6, yearly: 2 },
      rpoSeconds: 86_400,
      alertAfterSeconds: 129_600,
    });
    expect(report.schedule).toContain("02:55");
    expect(report.sources.map((source) => source.service)).toEqual(["postgres", "redis", "qdrant", "n8n", "openclaw", "n8n"]);
    const { textReport } = await import("../../tools/plan/text-report");
    const text = textReport(plan);
    expect(text).toContain("Backups\n  server main: daily at 02:55");
    expect(text).toContain("retention: 7 daily, 4 weekly, 6 monthly, 2 yearly");
    expect(text).toContain("RPO:       24 h");
  });

  it("keeps planted backup secrets out of the plan (V3)", async () => {
    const plan = await planOf("prod", { secretOverrides: [`infra:resticPassword=${RESTIC}`, `infra:backupHeartbeatUrl=${HEARTBEAT}`] });
    const text = JSON.stringify(plan);
    expect(text).not.toContain(RESTIC);
    expect(text).not.toContain("heartbeat-planted");
  });
});
