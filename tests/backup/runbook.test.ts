import { chmod, readFile, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMinIO, type MinIO } from "../support/minio";
import { requireTool } from "../support/tools";
import { localJob, runScript, type LocalJob } from "./local-job";
import { startPostgres, startRedis, type LocalPostgres, type LocalRedis } from "./local-servers";

const RUNBOOK = resolve(__dirname, "..", "..", "docs", "runbooks", "restore.md");

/** The bash blocks the runbook marks `<!-- drill -->`, in order. */
export function drillBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/<!-- drill -->\n```bash\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/**
 * The restore runbook, followed as written: its drill blocks run in one bash
 * session on a machine where `infra-restore` is the generated script and
 * `sudo` only runs the command (the test already runs as the job would).
 */
describe("the restore runbook (live: PostgreSQL, Redis, MinIO, restic)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let redis: LocalRedis;
  let job: LocalJob;

  beforeAll(async () => {
    [minio, postgres, redis] = await Promise.all([startMinIO(), startPostgres(), startRedis()]);
    postgres.psql("CREATE DATABASE n8n");
    postgres.psql("CREATE TABLE workflows AS SELECT i AS id, 'workflow ' || i AS name FROM generate_series(1, 250) i", "n8n");
    redis.cli("SET", "session:1", "alive");
    job = await localJob({ storage: minio, bucket: "runbook", postgres: { server: postgres, databases: ["n8n"] }, redis });
    const backup = await job.backup();
    expect(backup.code, backup.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop(), redis?.stop()]);
  });

  it("has drill blocks for choosing a snapshot, restoring one service, all of them, and checking", async () => {
    const blocks = drillBlocks(await readFile(RUNBOOK, "utf8"));
    expect(blocks).toHaveLength(4);
    expect(blocks.join("\n")).toContain("infra-restore --list");
    expect(blocks.join("\n")).toContain("--service postgres");
  });

  it("brings lost data back when its commands are run as written", async () => {
    postgres.psql("DROP DATABASE n8n");
    redis.cli("FLUSHALL");
    const bin = join(job.dir, "bin");
    await writeFile(join(bin, "sudo"), '#!/bin/sh\nexec "$@"\n');
    await chmod(join(bin, "sudo"), 0o755);
    await symlink(job.restorePath, join(bin, "infra-restore"));
    const script = ["set -euo pipefail", ...drillBlocks(await readFile(RUNBOOK, "utf8"))].join("\n");
    const run = await runScript(requireTool("bash"), ["-c", script], { PATH: `${bin}:${process.env.PATH}`, INFRA_BACKUP_ENV: job.envFile, TMPDIR: job.dir });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("restoring from ");
    expect(postgres.psql("SELECT count(*) FROM workflows", "n8n")).toBe("250");
    expect(redis.cli("GET", "session:1")).toBe("alive");
    const report = JSON.parse(await readFile(join(job.dir, "restore-all.json"), "utf8")) as { lost: number; services: string[] };
    expect(report).toMatchObject({ lost: 0, services: ["postgres", "redis"] });
  });
});
