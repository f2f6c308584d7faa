import { describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { environmentFile, exportEnvironmentFile } from "../../components/backup/environment-file";
import { HOST_PATHS, hostBackupJob, resticRepository, type BackupJob } from "../../components/backup/job";
import { EXPORT_DIR, PULL_ACCOUNT, pullAuthorizedKey, pullEnvironmentFile, pullPaths, pullScript, type PullJob } from "../../components/backup/pull";
import { BACKUP_DEFAULTS } from "../../components/backup/settings";
import { vpai } from "../../infra/blueprints/vpai";
import { shellcheck } from "../support/validators";

const spec = vpai.build({ domain: "vpai.example.com", environment: "prod" });
const pushJob: BackupJob = hostBackupJob({
  server: "main",
  services: spec.services,
  settings: BACKUP_DEFAULTS,
  repository: resticRepository("https://fsn1.your-objectstorage.com/", "vpai-backups", "main"),
  containerName: (name) => `vpai-${name}`,
});
const exportJob: BackupJob = { ...pushJob, export: { dir: EXPORT_DIR, group: PULL_ACCOUNT } };
const pull: PullJob = {
  server: "main",
  address: "100.64.0.2",
  sshPort: 22,
  account: PULL_ACCOUNT,
  settings: BACKUP_DEFAULTS,
  repository: pushJob.repository,
  seedDataUrl: "https://fsn1.your-objectstorage.com/vpai-shared/seed-data/main",
};
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops-pull";

describe("pulled backups: the server's side", () => {
  it("the pull-mode job dumps and publishes, and never runs restic or needs its keys", () => {
    const script = backupScript(exportJob);
    expect(script).not.toMatch(/^\s*restic /m);
    expect(script).not.toContain("RESTIC_PASSWORD");
    expect(script).toContain(`readonly export=${EXPORT_DIR}`);
    expect(script).toContain('mv "$export/.next" "$export/current"');
    expect(script).toContain(`chgrp -R ${PULL_ACCOUNT} "$export/.next"`);
    // Push mode is unchanged: it still uploads itself.
    expect(backupScript(pushJob)).toMatch(/^restic backup --host "\$host"/m);
    const result = shellcheck(script);
    expect(result.output).toBe("");
  });

  it("its environment file has no repository, password, storage key or heartbeat, and refuses one", () => {
    const env = exportEnvironmentFile(exportJob, HOST_PATHS, { QDRANT_API_KEY: "qdrant-key" });
    expect(env).toContain(`BACKUP_EXPORT_DIR=${EXPORT_DIR}`);
    expect(env).not.toMatch(/RESTIC_|AWS_|HEARTBEAT/);
    for (const name of ["RESTIC_PASSWORD", "AWS_SECRET_ACCESS_KEY", "BACKUP_HEARTBEAT_URL", "AWS_ACCESS_KEY_ID"]) {
      expect(() => exportEnvironmentFile(exportJob, HOST_PATHS, {}, { [name]: "x" })).toThrow(/must not reach a pull-mode server/);
    }
    expect(() => exportEnvironmentFile(pushJob, HOST_PATHS)).toThrow(/not in pull mode/);
    // The push-mode file still carries them: pull mode is what removes them.
    expect(environmentFile(pushJob, HOST_PATHS, { resticPassword: "p", accessKeyId: "a", secretAccessKey: "s" }, "eu-central")).toContain("RESTIC_PASSWORD=p");
  });

  it("the ops host's key may run rrsync -ro on the export, from the ops host's VPN address only, with nothing forwarded", () => {
    expect(pullAuthorizedKey(KEY, "100.64.0.1")).toBe(`restrict,from="100.64.0.1",command="/usr/bin/rrsync -ro ${EXPORT_DIR}" ${KEY}\n`);
    // Anything that could smuggle a second option or key into the line is refused.
    expect(() => pullAuthorizedKey(`${KEY}\nssh-ed25519 AAAA other`, "100.64.0.1")).toThrow(/one ssh-ed25519/);
    expect(() => pullAuthorizedKey(`ssh-rsa AAAAB3NzaC1yc2E= x`, "100.64.0.1")).toThrow(/one ssh-ed25519/);
    expect(() => pullAuthorizedKey(`command="sh" ${KEY}`, "100.64.0.1")).toThrow(/one ssh-ed25519/);
    expect(() => pullAuthorizedKey(KEY, '100.64.0.1",command="sh')).toThrow(/not an address/);
    expect(() => pullAuthorizedKey(KEY, "*")).toThrow(/not an address/);
  });
});

describe("pulled backups: the ops host's side", () => {
  it("the pull script passes shellcheck, pins the host key and keeps the GFS retention", () => {
    const script = pullScript(pull);
    expect(shellcheck(script).output).toBe("");
    expect(script).toContain("StrictHostKeyChecking=yes");
    expect(script).toContain(`readonly source=${PULL_ACCOUNT}@100.64.0.2`);
    expect(script).toContain("--keep-daily 7 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2");
    expect(script).toContain("its backup job did not run");
    expect(script).toContain("seed-data");
    // The keys reach curl through a file descriptor, never an argument.
    expect(script).not.toMatch(/--user "\$AWS/);
  });

  it("keeps its secrets in its own environment file, the storage keys and the password among them", () => {
    const env = pullEnvironmentFile(
      pull,
      pullPaths("main"),
      { resticPassword: "p4ss", accessKeyId: "AKID", secretAccessKey: "s3cr3t", heartbeatUrl: "https://kuma/api/push/t" },
      "eu-central",
    );
    expect(env).toContain("RESTIC_PASSWORD=p4ss");
    expect(env).toContain("AWS_SECRET_ACCESS_KEY=s3cr3t");
    expect(env).toContain("PULL_KNOWN_HOSTS_FILE=/etc/infra-backup/pull-main.known_hosts");
    expect(pullScript(pull)).not.toContain("p4ss");
  });
});
