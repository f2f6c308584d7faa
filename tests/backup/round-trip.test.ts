import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { startMinIO, type MinIO } from "../support/minio";
import { localJob, startHeartbeat, type Heartbeat, type LocalJob } from "./local-job";
import { startPostgres, startRedis, type LocalPostgres, type LocalRedis } from "./local-servers";

/**
 * The generated backup and restore scripts, run unchanged against a real
 * PostgreSQL 15, Redis 7 and MinIO on 127.0.0.1 with restic from Debian.
 */
const DATABASES = ["n8n", "litellm"];

interface Drill {
  snapshot: string;
  restoreSeconds: number;
  lost: number;
  mismatched: string[];
  counts: { service: string; object: string; before: number; after: number }[];
}

function seed(postgres: LocalPostgres, redis: LocalRedis): void {
  for (const database of DATABASES) {
    postgres.psql(`CREATE DATABASE ${database}`);
    postgres.psql(
      `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, payload jsonb);
       INSERT INTO items SELECT i, '${database}-' || md5(i::text), jsonb_build_object('n', i) FROM generate_series(1, 5000) i;
       CREATE SCHEMA audit;
       CREATE TABLE audit.events (at timestamptz, note text);
       INSERT INTO audit.events SELECT timestamptz '2026-01-01' + i * interval '1 minute', 'event ' || i FROM generate_series(1, 321) i;`,
      database,
    );
  }
  for (let index = 0; index < 200; index++) redis.cli("SET", `key:${index}`, `value-${index}`);
  redis.cli("HSET", "hash", "a", "1", "b", "2");
  redis.cli("RPUSH", "list", "x", "y", "z");
  redis.cli("-n", "1", "SET", "other-db", "kept");
}

/** Everything the test wrote, read back in a stable order. */
function contents(postgres: LocalPostgres, redis: LocalRedis): string {
  const tables = DATABASES.map((database) =>
    postgres.psql(
      "SELECT string_agg(id || ':' || name || ':' || payload::text, ',' ORDER BY id) FROM items; SELECT string_agg(at || note, ',' ORDER BY at) FROM audit.events;",
      database,
    ),
  );
  const keys = redis.cli("--scan").split("\n").sort();
  const values = keys.map((key) => `${key}=${redis.cli("DUMP", key).length}:${redis.cli("TYPE", key)}`);
  return JSON.stringify({
    tables,
    keys,
    values,
    hash: redis.cli("HGETALL", "hash"),
    list: redis.cli("LRANGE", "list", "0", "-1"),
    other: redis.cli("-n", "1", "GET", "other-db"),
  });
}

describe("backup and restore round trip (live: PostgreSQL 15, Redis 7, MinIO, restic)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let redis: LocalRedis;
  let heartbeat: Heartbeat;
  let job: LocalJob;
  let volume: string;
  let original: string;

  beforeAll(async () => {
    [minio, postgres, redis, heartbeat] = await Promise.all([startMinIO(), startPostgres(), startRedis(), startHeartbeat()]);
    // A path that sorts before the staging directory, as /var/lib/docker/volumes
    // does before /var/lib/infra-backup: restic lists a snapshot's paths sorted.
    volume = await mkdtemp(join(tmpdir(), "a-volume-"));
    await mkdir(join(volume, "nested"));
    await writeFile(join(volume, "config"), "encryptionKey=abc\n");
    await writeFile(join(volume, "nested", "binary.bin"), Buffer.from([0, 1, 2, 3, 255]));
    job = await localJob({
      storage: minio,
      bucket: "vpai-backups",
      postgres: { server: postgres, databases: DATABASES },
      redis,
      volume: { service: "n8n", path: volume },
      heartbeatUrl: heartbeat.url,
    });
    seed(postgres, redis);
    original = contents(postgres, redis);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([
      job?.cleanup(),
      minio?.stop(),
      postgres?.stop(),
      redis?.stop(),
      heartbeat?.stop(),
      volume ? rm(volume, { recursive: true, force: true }) : undefined,
    ]);
  });

  it("backs up every source into one snapshot, records success and sends one heartbeat", async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await job.backup();
    expect(run.stderr).toContain("finished");
    expect(run.code, run.stderr).toBe(0);
    expect(heartbeat.hits()).toBe(1);
    const metrics = await job.metrics();
    expect(metrics[LAST_EXIT_CODE_METRIC]).toBe(0);
    expect(metrics[LAST_SUCCESS_METRIC]).toBeGreaterThanOrEqual(before);
    const snapshots = JSON.parse((await job.restic(["snapshots", "--json"])).stdout) as { paths: string[]; tags: string[]; hostname: string }[];
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ hostname: "main", tags: ["infra-backup"], paths: [volume, job.paths.stagingDir] });
    const files = (await job.restic(["ls", "latest"])).stdout;
    for (const database of DATABASES) expect(files).toContain(`${job.paths.stagingDir}/postgres/postgres/${database}.dump`);
    expect(files).toContain(`${job.paths.stagingDir}/redis/redis/dump.rdb`);
    expect(files).toContain(`${volume}/nested/binary.bin`);
    // Custom-format dumps start with pg_dump's magic, never plain SQL.
    const dump = (await job.restic(["dump", "latest", `${job.paths.stagingDir}/postgres/postgres/n8n.dump`])).stdout;
    expect(dump.startsWith("PGDMP")).toBe(true);
    // The check read one slice and the rotation moved on.
    expect(run.stdout).toContain("read group #1 of");
    expect(run.stdout).toContain("no errors were found");
    expect((await readFile(join(job.paths.stateDir, "check-subset"), "utf8")).trim()).toBe("1");
  });

  it("counts rows inside the dump's own snapshot", async () => {
    const counts = (await job.restic(["dump", "latest", `${job.paths.stagingDir}/counts.tsv`])).stdout;
    expect(counts).toContain("postgres\tn8n/public.items\t5000\n");
    expect(counts).toContain("postgres\tlitellm/audit.events\t321\n");
    expect(counts).toContain("redis\tkeys\t203\n");
  });

  it("after the databases are dropped and Redis flushed, restores everything with no row lost", async () => {
    for (const database of DATABASES) postgres.psql(`DROP DATABASE ${database}`);
    redis.cli("FLUSHALL");
    await rm(join(volume, "nested"), { recursive: true });
    await writeFile(join(volume, "config"), "overwritten\n");
    expect(() => contents(postgres, redis)).toThrow(/database "n8n" does not exist/);

    const run = await job.restore(["--report", join(job.dir, "drill.json")]);
    expect(run.code, run.stderr).toBe(0);
    const drill = JSON.parse(run.stdout) as Drill;
    expect(drill.lost).toBe(0);
    expect(drill.mismatched).toEqual([]);
    expect(drill.counts).toContainEqual({ service: "postgres", object: "n8n/public.items", before: 5000, after: 5000 });
    expect(drill.counts).toContainEqual({ service: "redis", object: "keys", before: 203, after: 203 });
    expect(JSON.parse(await readFile(join(job.dir, "drill.json"), "utf8"))).toEqual(drill);

    expect(contents(postgres, redis)).toBe(original);
    expect(await readFile(join(volume, "config"), "utf8")).toBe("encryptionKey=abc\n");
    expect([...(await readFile(join(volume, "nested", "binary.bin")))]).toEqual([0, 1, 2, 3, 255]);
    // Redis keeps its AOF on after the restore, so a restart keeps the data.
    expect(redis.cli("CONFIG", "GET", "appendonly")).toContain("yes");
    expect(redis.cli("ROLE").split("\n")[0]).toBe("master");
  });

  it("restores one service alone from a chosen snapshot, leaving the others as they are", async () => {
    postgres.psql("INSERT INTO items VALUES (999999, 'after the backup', null)", "n8n");
    redis.cli("SET", "written-after-backup", "1");
    const snapshot = (JSON.parse((await job.restic(["snapshots", "--json"])).stdout) as { id: string }[])[0]!.id;
    const run = await job.restore(["--snapshot", snapshot, "--service", "postgres"]);
    expect(run.code, run.stderr).toBe(0);
    expect(postgres.psql("SELECT count(*) FROM items WHERE id = 999999", "n8n")).toBe("0");
    expect(redis.cli("GET", "written-after-backup")).toBe("1");
  });

  it("seeds another environment from this repository, recording the RTO and the counts (B8)", async () => {
    const [target, targetRedis] = await Promise.all([startPostgres(), startRedis("another-password")]);
    const preprod = await localJob({
      server: "main",
      storage: minio,
      bucket: "vpai-preprod-backups",
      resticPassword: "preprod-password",
      postgres: { server: target, databases: DATABASES },
      redis: targetRedis,
    });
    try {
      const passwordFile = join(preprod.dir, "prod-password");
      await writeFile(passwordFile, "restic-test-password");
      const run = await preprod.restore(["--repository", job.job.repository, "--password-file", passwordFile, "--service", "postgres", "--service", "redis"]);
      expect(run.code, run.stderr).toBe(0);
      const drill = JSON.parse(run.stdout) as Drill;
      expect(drill.lost).toBe(0);
      expect(drill.restoreSeconds).toBeGreaterThanOrEqual(0);
      expect(target.psql("SELECT count(*) FROM items", "litellm")).toBe("5000");
      expect(targetRedis.cli("GET", "key:7")).toBe("value-7");
      process.stdout.write(`seed drill: restored ${drill.counts.length} counted objects in ${drill.restoreSeconds}s\n`);
    } finally {
      await Promise.all([preprod.cleanup(), target.stop(), targetRedis.stop()]);
    }
  });
});
