import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { installScript } from "../../components/backup/install-script";
import { hostBackupJob, resticRepository, type BackupJob, type BackupSource } from "../../components/backup/job";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { restoreScript } from "../../components/backup/restore-script";
import { BACKUP_DEFAULTS } from "../../components/backup/settings";
import { backupServiceUnit, backupTimerUnit } from "../../components/backup/systemd-units";
import { nextmavens } from "../../infra/blueprints/nextmavens";
import { startMinIO, type MinIO } from "../support/minio";
import { requireTool } from "../support/tools";
import { expectLoudFailure, localJob, startHeartbeat, type Heartbeat, type LocalJob, type RunResult } from "./local-job";
import { startPostgres, type LocalPostgres } from "./local-servers";

/**
 * Seed 003's managed PostgreSQL, backed up for real: a PostgreSQL 15 on
 * 127.0.0.1 that asks every role but its own superuser for a password, as a
 * managed service does, reached only through a `postgresql://` URL with a
 * non-superuser role. The job is the one the program builds for NextMavens
 * (retention included), run with the machine's client instead of the
 * pinned image, since this machine has no Docker daemon.
 */
const RUNBOOK = resolve(__dirname, "..", "..", "docs", "runbooks", "restore.md");
/** Every character a URL must escape, so the test proves the decoding against libpq's real authentication. */
const PASSWORD = "Nm-p@ss:w/rd?&=%#+ 7f3a";
const ROLE = "portal";
const DATABASE = "nextmavens";
const TABLES = {
  "public.developers": 1200,
  "public.projects": 3000,
  "public.api_keys": 2500,
  "public.audit_logs": 150_000,
  "tenant_acme.usage_metrics": 4000,
} as const;

const url = (port: number, database: string, password = PASSWORD) =>
  `postgresql://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}?sslmode=disable&application_name=infra-backup`;

/** The job the program builds for NextMavens' server, and its one source: the portal's managed database. */
function nextmavensJob(): { job: BackupJob; source: Extract<BackupSource, { kind: "postgres-url" }> } {
  const job = hostBackupJob({
    server: "main",
    services: nextmavens.build({ domain: "vpai.example.com", environment: "prod" }).services,
    settings: BACKUP_DEFAULTS,
    repository: resticRepository("https://fsn1.your-objectstorage.com", "vpai-backups", "main"),
    containerName: (name) => `nextmavens-${name}`,
  });
  const source = job.sources.find((candidate) => candidate.kind === "postgres-url");
  if (source?.kind !== "postgres-url") throw new Error("the NextMavens job has no managed-database source");
  return { job, source };
}

/** The portal's role owns its database and everything in it, and is not a superuser: it cannot read roles. */
function seed(postgres: LocalPostgres): void {
  postgres.psql(
    `CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'; CREATE ROLE portal_reader NOLOGIN; CREATE DATABASE ${DATABASE} OWNER ${ROLE};`,
  );
  postgres.psql(
    `SET ROLE ${ROLE};
     CREATE TABLE developers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
     INSERT INTO developers (email, created_at) SELECT 'dev' || i || '@example.com', timestamptz '2026-01-01' + i * interval '1 hour' FROM generate_series(1, ${TABLES["public.developers"]}) i;
     CREATE TABLE projects (id bigserial PRIMARY KEY, developer_id bigint NOT NULL REFERENCES developers, tenant text NOT NULL, settings jsonb);
     INSERT INTO projects (developer_id, tenant, settings) SELECT 1 + i % ${TABLES["public.developers"]}, 'tenant-' || i, jsonb_build_object('quota', i) FROM generate_series(1, ${TABLES["public.projects"]}) i;
     -- Seed 003: row level security on the project data.
     ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
     CREATE POLICY own_projects ON projects USING (tenant = current_setting('app.tenant', true));
     CREATE TABLE api_keys (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects, key_hash bytea NOT NULL);
     INSERT INTO api_keys (project_id, key_hash) SELECT 1 + i % ${TABLES["public.projects"]}, sha256(i::text::bytea) FROM generate_series(1, ${TABLES["public.api_keys"]}) i;
     CREATE TABLE audit_logs (id bigserial PRIMARY KEY, at timestamptz NOT NULL, note text);
     INSERT INTO audit_logs (at, note) SELECT timestamptz '2026-01-01' + i * interval '1 second', repeat(md5(i::text), 3) FROM generate_series(1, ${TABLES["public.audit_logs"]}) i;
     CREATE SCHEMA tenant_acme;
     CREATE TABLE tenant_acme.usage_metrics (id bigserial PRIMARY KEY, metric text, value numeric);
     INSERT INTO tenant_acme.usage_metrics (metric, value) SELECT 'requests', i * 1.5 FROM generate_series(1, ${TABLES["tenant_acme.usage_metrics"]}) i;
     CREATE VIEW active_projects AS SELECT id, tenant FROM projects WHERE settings IS NOT NULL;
     GRANT SELECT ON developers TO portal_reader;`,
    DATABASE,
  );
}

/** Every row of every table, hashed, in a stable order: equal means nothing was lost or changed. */
function contents(postgres: LocalPostgres, database: string): string {
  return Object.keys(TABLES)
    .map((table) =>
      postgres.psql(`SELECT '${table} ' || count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t.id)), '') FROM ${table} t`, database),
    )
    .join("\n");
}

/** Arguments of every process on the machine right now, as ps would show them. */
function commandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
    } catch {
      // the process ended in between
    }
  }
  return lines;
}

/** Runs the backup while reading every process's arguments every millisecond or so. */
async function backupWatchingCommandLines(job: LocalJob): Promise<{ run: RunResult; seen: string[] }> {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const line of commandLines()) if (/pg_dump|psql|pg_restore/.test(line)) seen.add(line);
  }, 1);
  try {
    return { run: await job.backup(), seen: [...seen] };
  } finally {
    clearInterval(timer);
  }
}

interface Drill {
  lost: number;
  mismatched: string[];
  counts: { service: string; object: string; before: number; after: number }[];
}

describe("the managed PostgreSQL of seed 003, backed up through its URL (live: PostgreSQL 15, MinIO, restic)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let heartbeat: Heartbeat;
  let job: LocalJob;
  let original: string;
  let watched: { run: RunResult; seen: string[] };
  const program = nextmavensJob();

  beforeAll(async () => {
    [minio, postgres, heartbeat] = await Promise.all([startMinIO(), startPostgres({ passwordAuthentication: true }), startHeartbeat()]);
    seed(postgres);
    original = contents(postgres, DATABASE);
    job = await localJob({
      storage: minio,
      bucket: "nextmavens-backups",
      settings: program.job.settings,
      managedDatabase: { source: program.source, url: url(postgres.port, DATABASE) },
      heartbeatUrl: heartbeat.url,
    });
    watched = await backupWatchingCommandLines(job);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop(), heartbeat?.stop()]);
  });

  it("is reachable only with the password: the role is no superuser and cannot read the roles pg_dumpall would need", () => {
    expect(postgres.psql(`SELECT rolsuper FROM pg_roles WHERE rolname = '${ROLE}'`)).toBe("f");
    const wrong = spawnSync(requireTool("psql"), ["-X", "-c", "SELECT 1"], {
      env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(postgres.port), PGUSER: ROLE, PGPASSWORD: "wrong", PGDATABASE: DATABASE },
      encoding: "utf8",
    });
    expect(wrong.stderr).toContain("password authentication failed");
    const globals = spawnSync(requireTool("pg_dumpall"), ["--globals-only"], {
      env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(postgres.port), PGUSER: ROLE, PGPASSWORD: PASSWORD, PGDATABASE: DATABASE },
      encoding: "utf8",
    });
    expect(globals.status).not.toBe(0);
    expect(globals.stderr).toContain("permission denied");
  });

  it("dumps it in custom format with its row counts into restic in MinIO, records success and sends one heartbeat", async () => {
    const { run } = watched;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("finished");
    expect(run.stderr).toMatch(/dumped the database \(\d+ bytes, 5 tables with data\)/);
    expect(heartbeat.hits()).toBe(1);
    expect((await job.metrics())[LAST_EXIT_CODE_METRIC]).toBe(0);
    const dir = `${job.paths.stagingDir}/developer-portal/postgres-url`;
    const files = (await job.restic(["ls", "latest"])).stdout.split("\n");
    expect(files).toEqual(expect.arrayContaining([`${dir}/database.dump`, `${dir}/database.list`]));
    // No globals: a managed service's user cannot read them.
    expect(files.filter((file) => /globals/.test(file))).toEqual([]);
    expect((await job.restic(["dump", "latest", `${dir}/database.dump`])).stdout.startsWith("PGDMP")).toBe(true);
    expect((await job.restic(["dump", "latest", `${dir}/database.list`])).stdout).toMatch(/TABLE DATA tenant_acme usage_metrics portal/);
    const counts = (await job.restic(["dump", "latest", `${job.paths.stagingDir}/counts.tsv`])).stdout;
    for (const [table, rows] of Object.entries(TABLES)) expect(counts).toContain(`developer-portal\tdatabase/${table}\t${rows}\n`);
  });

  it("keeps at least seed 003's 30 daily snapshots, whatever the stack's 7", () => {
    expect(BACKUP_DEFAULTS.retention.daily).toBe(7);
    expect(program.job.settings.retention.daily).toBe(30);
    expect(watched.run.stdout).toContain("Applying Policy: keep 30 daily, 4 weekly, 6 monthly, 2 yearly snapshots");
  });

  it("never puts the URL or its password on a command line, in the scripts and units, or in the job's output", async () => {
    const encoded = encodeURIComponent(PASSWORD);
    const secrets = [PASSWORD, encoded, url(postgres.port, DATABASE)];
    // The client ran, and was seen, while the job ran; none of its arguments held the secret.
    expect(watched.seen.some((line) => /pg_dump .*--format=custom/.test(line))).toBe(true);
    const generated = [
      backupScript(job.job),
      restoreScript(job.job),
      installScript(program.job),
      backupScript(program.job),
      restoreScript(program.job),
      backupServiceUnit(),
      backupTimerUnit(program.job.settings),
    ];
    for (const text of [...watched.seen, ...generated, watched.run.stdout, watched.run.stderr])
      for (const secret of secrets) expect(text).not.toContain(secret);
    // It lives in the environment file alone, which only its owner may read.
    expect(await readFile(job.envFile, "utf8")).toContain(`DATABASE_URL='${url(postgres.port, DATABASE).replace(/'/g, `'\\''`)}'`);
    expect((await stat(job.envFile)).mode & 0o777).toBe(0o600);
  });

  it("restores into a fresh database given by URL, as the same non-superuser, with no row lost", async () => {
    postgres.psql(`CREATE DATABASE nextmavens_restored OWNER ${ROLE}`);
    const urlFile = join(job.dir, "target-url");
    await writeFile(urlFile, `${url(postgres.port, "nextmavens_restored")}\n`, { mode: 0o600 });
    const run = await job.restore(["--service", "developer-portal", "--database-url-file", urlFile, "--report", join(job.dir, "drill.json")]);
    expect(run.code, run.stderr).toBe(0);
    const drill = JSON.parse(run.stdout) as Drill;
    expect(drill.lost).toBe(0);
    expect(drill.mismatched).toEqual([]);
    for (const [table, rows] of Object.entries(TABLES))
      expect(drill.counts).toContainEqual({ service: "developer-portal", object: `database/${table}`, before: rows, after: rows });
    expect(contents(postgres, "nextmavens_restored")).toBe(original);
    // What the rows do not show: row level security, grants to the provider's roles, views, sequences.
    expect(postgres.psql("SELECT relrowsecurity FROM pg_class WHERE relname = 'projects'", "nextmavens_restored")).toBe("t");
    expect(postgres.psql("SELECT has_table_privilege('portal_reader', 'developers', 'SELECT')", "nextmavens_restored")).toBe("t");
    expect(postgres.psql("SELECT count(*) FROM active_projects", "nextmavens_restored")).toBe(String(TABLES["public.projects"]));
    expect(postgres.psql("SELECT nextval('developers_id_seq')", "nextmavens_restored")).toBe(String(TABLES["public.developers"] + 1));
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
  });

  it("refuses to restore over a database that holds data, and leaves it as it was", async () => {
    // Without --database-url-file the target is the job's own database, which is not empty.
    const run = await job.restore(["--service", "developer-portal"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("already holds");
    expect(contents(postgres, DATABASE)).toBe(original);
  });

  it("brings the database back when the runbook's managed-database commands are run as written", async () => {
    const blocks = [...(await readFile(RUNBOOK, "utf8")).matchAll(/<!-- drill: managed-database -->\n```bash\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.join("\n")).toContain("--database-url-file /dev/stdin");
    postgres.psql(`CREATE DATABASE nextmavens_drill OWNER ${ROLE}`);
    const bin = join(job.dir, "bin");
    await writeFile(join(bin, "sudo"), '#!/bin/sh\nexec "$@"\n');
    await chmod(join(bin, "sudo"), 0o755);
    await symlink(job.restorePath, join(bin, "infra-restore"));
    // The operator types the URL; here it comes on standard input, where `read` takes it.
    const run = spawnSync(requireTool("bash"), ["-c", ["set -euo pipefail", ...blocks].join("\n")], {
      input: `${url(postgres.port, "nextmavens_drill")}\n`,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, INFRA_BACKUP_ENV: job.envFile, TMPDIR: job.dir },
      encoding: "utf8",
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(contents(postgres, "nextmavens_drill")).toBe(original);
    expect(JSON.parse(await readFile(join(job.dir, "restore-database.json"), "utf8"))).toMatchObject({
      lost: 0,
      mismatched: [],
      services: ["developer-portal"],
    });
    expect(`${run.stdout}${run.stderr}`).not.toContain(encodeURIComponent(PASSWORD));
  });
});

describe("a failing managed-database backup is loud and loses nothing (live)", () => {
  let minio: MinIO;
  let postgres: LocalPostgres;
  let heartbeat: Heartbeat;
  let job: LocalJob;
  let lastSuccess: number;
  let snapshots: string[];
  const program = nextmavensJob();

  const snapshotIds = async () => (JSON.parse((await job.restic(["snapshots", "--json"])).stdout) as { id: string }[]).map((snapshot) => snapshot.id);

  beforeAll(async () => {
    [minio, postgres, heartbeat] = await Promise.all([startMinIO(), startPostgres({ passwordAuthentication: true }), startHeartbeat()]);
    postgres.psql(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'; CREATE DATABASE ${DATABASE} OWNER ${ROLE};`);
    postgres.psql(`SET ROLE ${ROLE}; CREATE TABLE developers AS SELECT generate_series(1, 100) AS id;`, DATABASE);
    job = await localJob({
      storage: minio,
      bucket: "nextmavens-failures",
      settings: program.job.settings,
      managedDatabase: { source: program.source, url: url(postgres.port, DATABASE) },
      heartbeatUrl: heartbeat.url,
    });
    const first = await job.backup();
    expect(first.code, first.stderr).toBe(0);
    expect(heartbeat.hits()).toBe(1);
    lastSuccess = (await job.metrics())[LAST_SUCCESS_METRIC]!;
    snapshots = await snapshotIds();
    expect(snapshots).toHaveLength(1);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop(), heartbeat?.stop()]);
  });

  async function expectFailedDump(): Promise<RunResult> {
    const run = await expectLoudFailure(job, heartbeat, lastSuccess, "developer-portal/postgres-url");
    // It stopped before the upload: the repository holds exactly what it held, and forget never ran.
    expect(await snapshotIds()).toEqual(snapshots);
    return run;
  }

  it("a wrong password in the URL: the dump is refused, and the password shows nowhere", async () => {
    const wrong = "Wr0ng-p@ss:9c1d";
    await job.setVariable("DATABASE_URL", url(postgres.port, DATABASE, wrong));
    try {
      const run = await expectFailedDump();
      expect(run.stderr).toContain("password authentication failed");
      for (const secret of [wrong, encodeURIComponent(wrong), PASSWORD]) expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
    } finally {
      await job.setVariable("DATABASE_URL", url(postgres.port, DATABASE));
    }
  });

  it("a URL that names no database is refused without being shown", async () => {
    await job.setVariable("DATABASE_URL", `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${postgres.port}`);
    try {
      const run = await expectFailedDump();
      expect(run.stderr).toContain("the database URL names no database");
      expect(`${run.stdout}${run.stderr}`).not.toContain(encodeURIComponent(PASSWORD));
    } finally {
      await job.setVariable("DATABASE_URL", url(postgres.port, DATABASE));
    }
  });

  it("succeeds again once the URL is right; only then does retention run", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const run = await job.backup();
    expect(run.code, run.stderr).toBe(0);
    expect(heartbeat.hits()).toBe(2);
    expect((await job.metrics())[LAST_SUCCESS_METRIC]).toBeGreaterThan(lastSuccess);
    // Both snapshots fall on the same day, so the daily policy keeps the newer one: forget ran after a good upload, never before.
    const now = await snapshotIds();
    expect(now).toHaveLength(1);
    expect(now).not.toEqual(snapshots);
    expect(run.stdout).toContain("keep 30 daily");
  });
});
