import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { startMinIO, type MinIO } from "../support/minio";
import { expectLoudFailure, localJob, startHeartbeat, type Heartbeat, type LocalJob } from "./local-job";
import { startPostgres, startRedis, type LocalPostgres, type LocalRedis } from "./local-servers";

/**
 * B9: a run that fails anywhere exits non-zero, sends no heartbeat and leaves
 * the last-success metric where it was (coolify#7779 reported success for
 * failed uploads). Each case breaks one thing for real.
 */
describe("a failing backup is loud (live: PostgreSQL, Redis, MinIO, restic)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let redis: LocalRedis;
  let heartbeat: Heartbeat;
  let job: LocalJob;
  let lastSuccess: number;

  beforeAll(async () => {
    [minio, postgres, redis, heartbeat] = await Promise.all([startMinIO(), startPostgres(), startRedis(), startHeartbeat()]);
    postgres.psql("CREATE DATABASE app");
    postgres.psql("CREATE TABLE t AS SELECT generate_series(1, 100) AS id", "app");
    redis.cli("SET", "k", "v");
    job = await localJob({ storage: minio, bucket: "failures", postgres: { server: postgres, databases: ["app"] }, redis, heartbeatUrl: heartbeat.url });
    const first = await job.backup();
    expect(first.code, first.stderr).toBe(0);
    expect(heartbeat.hits()).toBe(1);
    lastSuccess = (await job.metrics())[LAST_SUCCESS_METRIC]!;
    expect(lastSuccess).toBeGreaterThan(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop(), redis?.stop(), heartbeat?.stop()]);
  });

  const expectFailureAt = (step: string) => expectLoudFailure(job, heartbeat, lastSuccess, step);

  it("wrong storage credentials: the upload fails", async () => {
    await job.setVariable("AWS_SECRET_ACCESS_KEY", "not-the-key");
    try {
      await expectFailureAt("upload");
    } finally {
      await job.setVariable("AWS_SECRET_ACCESS_KEY", minio.secretAccessKey);
    }
  });

  it("a wrong repository password: restic cannot open the repository", async () => {
    await job.setVariable("RESTIC_PASSWORD", "wrong");
    try {
      await expectFailureAt("upload");
    } finally {
      await job.setVariable("RESTIC_PASSWORD", "restic-test-password");
    }
  });

  it("a database the dump cannot reach fails before anything is uploaded", async () => {
    await job.setVariable("PGPORT", "1");
    try {
      await expectFailureAt("postgres/postgres");
    } finally {
      await job.setVariable("PGPORT", String(postgres.port));
    }
  });

  it("the object storage stopped: the upload fails", async () => {
    await minio.stop();
    await expectFailureAt("upload");
  });
});
