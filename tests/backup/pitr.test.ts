import { describe, expect, it } from "vitest";
import { pgbackrestConfig, pitrPostgresSettings } from "../../components/backup/pitr";
import { BACKUP_DEFAULTS, MAX_ARCHIVE_TIMEOUT_SECONDS } from "../../components/backup/settings";

const target = { stanza: "main", endpointHost: "fsn1.your-objectstorage.com", region: "fsn1", bucket: "vpai-backups", dataDirectory: "/var/lib/postgresql/data/pgdata", fullBackupsKept: 2 };

describe("PITR generators (B6)", () => {
  it("archives WAL through pgBackRest at least once a minute by default", () => {
    expect(BACKUP_DEFAULTS.pitr.archiveTimeoutSeconds).toBeLessThanOrEqual(MAX_ARCHIVE_TIMEOUT_SECONDS);
    expect(MAX_ARCHIVE_TIMEOUT_SECONDS).toBe(60);
    expect(pitrPostgresSettings(target, BACKUP_DEFAULTS.pitr)).toEqual({
      wal_level: "replica",
      archive_mode: "on",
      archive_timeout: "60s",
      archive_command: "pgbackrest --stanza=main archive-push %p",
    });
    expect(pitrPostgresSettings(target, { enabled: true, archiveTimeoutSeconds: 15 }).archive_timeout).toBe("15s");
  });

  it("keeps the repository in the backups bucket, encrypted, with no credential in the file", () => {
    const config = pgbackrestConfig(target);
    expect(config).toContain("repo1-type=s3\n");
    expect(config).toContain("repo1-s3-bucket=vpai-backups\n");
    expect(config).toContain("repo1-path=/pgbackrest/main\n");
    expect(config).toContain("repo1-cipher-type=aes-256-cbc\n");
    expect(config).toContain("[main]\npg1-path=/var/lib/postgresql/data/pgdata\n");
    expect(config).not.toMatch(/s3-key|cipher-pass/);
  });
});
