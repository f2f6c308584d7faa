import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_DEFAULTS } from "../../components/backup/settings";
import { startMinIO, type MinIO } from "../support/minio";
import { localJob, type LocalJob } from "./local-job";
import { startPostgres, type LocalPostgres } from "./local-servers";

/**
 * A database of about 1 GB through the whole job, twice, and back: what a
 * night costs in time and storage, and that the second run only adds what
 * changed. The numbers are printed for the record; the assertions hold the
 * properties (nothing lost, deduplication works) rather than timings that
 * depend on the machine.
 */
const TARGET_BYTES = 1024 ** 3;
const MiB = 1024 ** 2;

interface Stats {
  total_size: number;
}

describe("a 1 GB database (live: PostgreSQL, MinIO, restic)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let job: LocalJob;
  const report: Record<string, string> = {};

  beforeAll(async () => {
    [minio, postgres] = await Promise.all([startMinIO(), startPostgres()]);
    postgres.psql("CREATE DATABASE big");
    // About 150 bytes a row on disk, half of it hex that compresses like real text does.
    postgres.psql(
      `CREATE TABLE events (id bigint, kind int, a text, b text, c text);
       INSERT INTO events SELECT i, i % 17, md5(i::text), md5((i * 31)::text), md5((i * 7919)::text) FROM generate_series(1::bigint, 7500000) i;`,
      "big",
    );
    job = await localJob({
      storage: minio,
      bucket: "size",
      postgres: { server: postgres, databases: ["big"] },
      settings: { ...BACKUP_DEFAULTS, checkSubsets: 30 },
    });
  }, 600_000);

  afterAll(async () => {
    process.stdout.write(
      `\n1 GB backup measurements:\n${Object.entries(report)
        .map(([key, value]) => `  ${key}: ${value}`)
        .join("\n")}\n`,
    );
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop()]);
  });

  it("backs up, backs up again deduplicated, and restores every row", async () => {
    const size = Number(postgres.psql("SELECT pg_database_size('big')"));
    expect(size).toBeGreaterThan(0.9 * TARGET_BYTES);
    report["database size"] = `${(size / MiB).toFixed(0)} MiB`;

    const first = await job.backup();
    expect(first.code, first.stderr).toBe(0);
    const afterFirst = JSON.parse((await job.restic(["stats", "--json", "--mode", "raw-data"])).stdout) as Stats;
    report["first backup (dump, upload, forget, prune, check 1/30)"] = `${first.seconds.toFixed(1)} s`;
    report["repository after the first run"] = `${(afterFirst.total_size / MiB).toFixed(0)} MiB`;

    postgres.psql("INSERT INTO events SELECT i, 0, 'new', 'rows', 'today' FROM generate_series(7500001, 7510000) i", "big");
    const second = await job.backup();
    expect(second.code, second.stderr).toBe(0);
    const afterSecond = JSON.parse((await job.restic(["stats", "--json", "--mode", "raw-data"])).stdout) as Stats;
    report["second backup, 10,000 rows added"] = `${second.seconds.toFixed(1)} s`;
    report["repository after the second run"] =
      `${(afterSecond.total_size / MiB).toFixed(0)} MiB (+${((afterSecond.total_size - afterFirst.total_size) / MiB).toFixed(2)} MiB)`;
    // Deduplication: the unchanged bulk of the dump is stored once.
    expect(afterSecond.total_size - afterFirst.total_size).toBeLessThan(0.25 * afterFirst.total_size);

    postgres.psql("DROP DATABASE big");
    const restore = await job.restore(["--service", "postgres"]);
    expect(restore.code, restore.stderr).toBe(0);
    const drill = JSON.parse(restore.stdout) as { restoreSeconds: number; lost: number };
    expect(drill.lost).toBe(0);
    expect(postgres.psql("SELECT count(*) FROM events", "big")).toBe("7510000");
    report["restore (download, pg_restore, recount) = RTO"] = `${restore.seconds.toFixed(1)} s (drill report: ${drill.restoreSeconds} s)`;
  }, 900_000);
});
