import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { installScript } from "../../components/backup/install-script";
import { hostBackupJob, resticRepository, type BackupJob } from "../../components/backup/job";
import { archiveCommand, pitrPostgresSettings, pitrRpoSeconds, WAL_ARCHIVE_PATH, withWalArchive } from "../../components/backup/pitr";
import { pitrRestoreScript, walShipScript, walShipServiceUnit, walShipTimerUnit } from "../../components/backup/pitr-scripts";
import { backupReport, backupReportText } from "../../components/backup/report";
import { BACKUP_DEFAULTS, MAX_ARCHIVE_TIMEOUT_SECONDS, type BackupSettings } from "../../components/backup/settings";
import type { ServerConfig } from "../../components/compute/server-spec";
import { vpai } from "../../infra/blueprints/vpai";
import { textReport } from "../../tools/plan/text-report";
import { container, planOf, resourcesOf } from "../support/plans";
import { freePort, stopProcess } from "../support/processes";
import { requireTool } from "../support/tools";
import { shellcheck } from "../support/validators";
import { localJob, type LocalJob, type RunResult } from "./local-job";
import { POSTGRES_BIN, startPostgres, type LocalPostgres } from "./local-servers";

const PITR: BackupSettings = { ...BACKUP_DEFAULTS, pitr: { enabled: true, archiveTimeoutSeconds: 60 } };
let built: ReturnType<typeof vpai.build> | undefined;
const vpaiSpec = () => (built ??= vpai.build({ domain: "vpai.example.com", environment: "prod" }));
const postgresService = () => vpaiSpec().services.find((service) => service.name === "postgres")!;

function vpaiJob(settings: BackupSettings): BackupJob {
  return hostBackupJob({
    server: "main",
    services: vpaiSpec().services,
    settings,
    repository: resticRepository("https://fsn1.your-objectstorage.com/", "vpai-backups", "main"),
    containerName: (name) => `vpai-${name}`,
  });
}

describe("PITR with the stock PostgreSQL image (B6): generators", () => {
  it("archives WAL with the image's own tools, at least once a minute by default", () => {
    expect(BACKUP_DEFAULTS.pitr.archiveTimeoutSeconds).toBeLessThanOrEqual(MAX_ARCHIVE_TIMEOUT_SECONDS);
    expect(MAX_ARCHIVE_TIMEOUT_SECONDS).toBe(60);
    expect(pitrPostgresSettings("/wal", { enabled: true, archiveTimeoutSeconds: 15 })).toEqual({
      wal_level: "replica",
      archive_mode: "on",
      archive_timeout: "15s",
      archive_command: "if test ! -f /wal/%f; then cp %p /wal/.%f.tmp && mv /wal/.%f.tmp /wal/%f; else cmp -s %p /wal/%f; fi",
    });
    expect(() => archiveCommand("/wal dir")).toThrow(/absolute path/);
    expect(pitrRpoSeconds(PITR.pitr)).toBe(120);
  });

  it("gives PostgreSQL the archive volume and -c options only when PITR is on", () => {
    const postgresSpec = postgresService();
    expect(withWalArchive(postgresSpec, BACKUP_DEFAULTS.pitr)).toBe(postgresSpec);
    const redis = vpaiSpec().services.find((service) => service.name === "redis")!;
    expect(withWalArchive(redis, PITR.pitr)).toBe(redis);
    const archived = withWalArchive(postgresSpec, PITR.pitr);
    expect(archived.command).toEqual([
      "postgres",
      "-c",
      "wal_level=replica",
      "-c",
      "archive_mode=on",
      "-c",
      "archive_timeout=60s",
      "-c",
      `archive_command=${archiveCommand(WAL_ARCHIVE_PATH)}`,
    ]);
    expect(archived.volumes).toEqual([...postgresSpec.volumes, { volume: "wal-archive", target: "/var/lib/postgresql/wal-archive" }]);
    expect(archived.image).toEqual({ repository: "postgres", tag: "16.6-alpine" });
  });

  it("ships the volume the container archives into, and takes a base backup nightly", () => {
    expect(vpaiJob(BACKUP_DEFAULTS).sources[0]).not.toHaveProperty("walArchive");
    const job = vpaiJob(PITR);
    expect(job.sources[0]).toMatchObject({ kind: "postgres", walArchive: "vpai-postgres-wal-archive" });
    const backup = backupScript(job);
    expect(backup).toContain("pg_basebackup --username=postgres --pgdata=- --format=tar --wal-method=fetch");
    expect(backup).toContain('restic forget --host "$host" --tag wal --group-by host,tags --keep-within 7d');
    expect(backupScript(vpaiJob(BACKUP_DEFAULTS))).not.toContain("pg_basebackup");
    expect(walShipScript(job)).toContain("docker volume inspect --format '{{.Mountpoint}}' vpai-postgres-wal-archive");
    expect(pitrRestoreScript(job)).toContain("local -a exec=(docker exec -i vpai-postgres)");
  });

  it("every generated script passes shellcheck", () => {
    const job = vpaiJob(PITR);
    for (const [name, script] of [
      ["backup", backupScript(job)],
      ["ship", walShipScript(job)],
      ["pitr restore", pitrRestoreScript(job)],
      ["install", installScript(job)],
      ["install without PITR", installScript(vpaiJob(BACKUP_DEFAULTS))],
    ] as const) {
      const result = shellcheck(script);
      expect(result.output, name).toBe("");
      expect(result.ok, name).toBe(true);
    }
  });

  it("installs the shipping timer with PITR and removes it without", () => {
    const install = installScript(vpaiJob(PITR));
    const embedded = (path: string) => install.split(`cat >"${path}.new" <<'INFRA_BACKUP_FILE_END'\n`)[1]!.split("\nINFRA_BACKUP_FILE_END")[0]! + "\n";
    expect(embedded("/usr/local/sbin/infra-wal-ship")).toBe(walShipScript(vpaiJob(PITR)));
    expect(embedded("/usr/local/sbin/infra-restore-pitr")).toBe(pitrRestoreScript(vpaiJob(PITR)));
    expect(embedded("/etc/systemd/system/infra-wal-ship.timer")).toBe(walShipTimerUnit());
    expect(embedded("/etc/systemd/system/infra-wal-ship.service")).toBe(walShipServiceUnit());
    expect(install).toContain("systemctl enable --now infra-wal-ship.timer");
    expect(walShipTimerUnit()).toContain("OnUnitActiveSec=60s");
    const without = installScript(vpaiJob(BACKUP_DEFAULTS));
    expect(without).toContain("systemctl disable --now infra-wal-ship.timer");
    expect(without).not.toContain("infra-wal-ship.new");
  });

  it("reports the PITR RPO in the plan", () => {
    const server = { name: "main" } as ServerConfig;
    expect(backupReport(server, vpaiJob(BACKUP_DEFAULTS)).pitr).toBe("off (infra:backup.pitr.enabled)");
    const report = backupReport(server, vpaiJob(PITR));
    expect(report.pitr).toMatch(/^on for postgres, RPO ≈ 2 min \(archive_timeout 60 s \+ WAL shipped to restic every 60 s/);
    expect(backupReportText([report]).join("\n")).toContain("PITR:      on for postgres, RPO ≈ 2 min");
    expect(backupReport(server, vpaiJob({ ...PITR, pitr: { enabled: true, archiveTimeoutSeconds: 30 } })).pitr).toContain("RPO ≈ 90 s");
  });
});

describe("PITR in a stack's plan", () => {
  it("with infra:backup.pitr on, the deployed PostgreSQL archives into its own volume and the plan gives the RPO", async () => {
    const settings = { ...BACKUP_DEFAULTS, pitr: { enabled: true, archiveTimeoutSeconds: 60 } };
    const on = await planOf("prod", { overrides: [`backup=${JSON.stringify(settings)}`] });
    const postgres = container(on, "postgres");
    expect(JSON.stringify(postgres.inputs.command)).toContain("archive_command=");
    expect(postgres.inputs.command).toContain("archive_mode=on");
    expect(resourcesOf(on, "docker:index/volume:Volume").map((volume) => volume.inputs.name)).toContain("vpai-postgres-wal-archive");
    expect(on.backups[0]!.pitr).toContain("on for postgres, RPO ≈ 2 min");
    expect(textReport(on)).toContain("PITR:      on for postgres, RPO ≈ 2 min");

    const off = await planOf("prod");
    expect(container(off, "postgres").inputs.command ?? []).not.toContain("archive_mode=on");
    expect(resourcesOf(off, "docker:index/volume:Volume").map((volume) => volume.inputs.name)).not.toContain("vpai-postgres-wal-archive");
  });
});

/** A MinIO whose data outlives a stop, so the test can take the storage away and bring it back. */
interface RestartableMinIO {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function restartableMinIO(dir: string): Promise<RestartableMinIO> {
  const binary = requireTool("minio");
  const port = await freePort();
  const accessKeyId = `root${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const minio: RestartableMinIO = {
    endpoint,
    region: "us-east-1",
    accessKeyId,
    secretAccessKey,
    async start() {
      const consolePort = await freePort();
      child = spawn(binary, ["server", join(dir, "data"), "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: dir,
          MINIO_ROOT_USER: accessKeyId,
          MINIO_ROOT_PASSWORD: secretAccessKey,
          MINIO_BROWSER: "off",
          MINIO_UPDATE: "off",
        },
        stdio: "ignore",
      });
      const current = child;
      exited = new Promise((resolve) => current.once("exit", resolve));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        try {
          if ((await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1000) })).ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`minio at ${endpoint} was not live after 30 s`);
    },
    async stop() {
      if (child) await stopProcess(child, exited);
      child = undefined;
    },
  };
  await minio.start();
  return minio;
}

const postgresUid = () => Number(execFileSync("id", ["-u", "postgres"]).toString().trim());

describe("PITR (live: PostgreSQL 15 archiving WAL, MinIO, restic)", () => {
  let dir: string;
  let archive: string;
  let minio: RestartableMinIO;
  let postgres: LocalPostgres;
  let job: LocalJob;
  let target = "";
  let shipped = 0;
  const runs: RunResult[] = [];

  const rows = (kind: string) => postgres.psql(`SELECT count(*) FROM events WHERE kind = '${kind}'`, "app");

  /** Closes the current segment and waits until the archive_command has put it in the archive directory. */
  async function switchAndArchive(): Promise<string> {
    const segment = postgres.psql("SELECT pg_walfile_name(pg_switch_wal())");
    const deadline = Date.now() + 30_000;
    while (postgres.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < segment) {
      if (Date.now() > deadline) throw new Error(`segment ${segment} was not archived within 30 s: ${postgres.psql("SELECT * FROM pg_stat_archiver")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return segment;
  }

  const archived = async () => (await readdir(archive)).filter((name) => !name.startsWith(".")).sort();

  async function ship(): Promise<RunResult> {
    const before = await archived();
    const run = await job.ship();
    runs.push(run);
    if (run.code === 0) shipped += before.length;
    return run;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pitr-test-"));
    archive = join(dir, "wal-archive");
    await mkdir(archive);
    await mkdir(join(dir, "restored"));
    // PostgreSQL runs as postgres when the tests run as root: it archives into, and restores under, these.
    if (process.getuid?.() === 0) for (const path of [dir, archive, join(dir, "restored")]) chownSync(path, postgresUid(), 0);
    minio = await restartableMinIO(join(dir, "minio"));
    postgres = await startPostgres({ settings: pitrPostgresSettings(archive, PITR.pitr) });
    postgres.psql("CREATE DATABASE app");
    postgres.psql("CREATE TABLE events (id serial PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())", "app");
    job = await localJob({
      storage: minio,
      bucket: "pitr",
      postgres: { server: postgres, databases: ["app"], walArchive: archive, ...(process.getuid?.() === 0 ? { runAs: "postgres" } : {}) },
      settings: PITR,
    });
  }, 120_000);

  afterAll(async () => {
    const recovered = join(dir ?? "", "restored", "app");
    if (dir)
      spawnSync(requireTool("runuser"), ["-u", "postgres", "--", join(POSTGRES_BIN, "pg_ctl"), "-D", recovered, "-m", "immediate", "-w", "stop"], {
        stdio: "ignore",
      });
    await Promise.all([job?.cleanup(), minio?.stop(), postgres?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the nightly job takes a base backup before any of the rows exist", async () => {
    const run = await job.backup();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/took a base backup for PITR \(\d+ bytes\)/);
    expect(rows("A")).toBe("0");
  }, 120_000);

  it("ships rows A, then rows B, each after a segment switch; the local copies go once restic has them", async () => {
    postgres.psql("INSERT INTO events (kind) SELECT 'A' FROM generate_series(1, 1000)", "app");
    target = postgres.psql("SELECT clock_timestamp()");
    await switchAndArchive();
    expect((await archived()).length).toBeGreaterThan(0);
    const first = await ship();
    expect(first.code, first.stderr).toBe(0);
    expect(await archived()).toEqual([]);

    // B's commits must carry a later timestamp than the target, whatever the clock's resolution.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    postgres.psql("INSERT INTO events (kind) SELECT 'B' FROM generate_series(1, 500)", "app");
    await switchAndArchive();
    const second = await ship();
    expect(second.code, second.stderr).toBe(0);
    expect(await archived()).toEqual([]);
    const snapshots = JSON.parse((await job.restic(["snapshots", "--json", "--tag", "wal"])).stdout) as unknown[];
    expect(snapshots).toHaveLength(2);
  }, 120_000);

  it("a shipping failure keeps the segments and exits non-zero; the next run ships them", async () => {
    postgres.psql("INSERT INTO events (kind) SELECT 'C' FROM generate_series(1, 10)", "app");
    await switchAndArchive();
    const waiting = await archived();
    expect(waiting.length).toBeGreaterThan(0);

    await minio.stop();
    const failed = await ship();
    expect(failed.code, failed.stderr).not.toBe(0);
    expect(await archived()).toEqual(waiting);

    await minio.start();
    const retried = await ship();
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain(`shipped ${waiting.length} WAL files`);
    expect(await archived()).toEqual([]);
    const listed = (await job.restic(["ls", "--json", "latest", "--tag", "wal"])).stdout;
    for (const name of waiting) expect(listed).toContain(`/${name}"`);
  }, 600_000);

  it("restores to the time between A and B into a new data directory on another port: A there, B not", async () => {
    const data = join(dir, "restored", "app");
    const port = await freePort();
    const run = await job.restorePitr(["--time", target, "--data-dir", data, "--port", String(port), "--report", join(dir, "pitr-report.json")]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { walFiles: number; walSnapshots: number; restoreSeconds: number; dataDirectory: string; port: number };
    expect(report).toMatchObject({ dataDirectory: data, port, walSnapshots: 3 });
    const query = (sql: string) => {
      const result = spawnSync(requireTool("psql"), ["-X", "-A", "-t", "-q", "-h", data, "-p", String(port), "-U", "postgres", "-d", "app", "-c", sql], {
        encoding: "utf8",
      });
      if (result.status !== 0) throw new Error(result.stderr);
      return result.stdout.trim();
    };
    expect(query("SELECT pg_is_in_recovery()")).toBe("f");
    expect(query("SELECT count(*) FROM events WHERE kind = 'A'")).toBe("1000");
    expect(query("SELECT count(*) FROM events WHERE kind = 'B'")).toBe("0");
    expect(query("SELECT count(*) FROM events WHERE kind = 'C'")).toBe("0");
    // The live server is untouched.
    expect(rows("B")).toBe("500");
    // Later than anything shipped: PostgreSQL ends recovery with FATAL, and so does the script.
    const later = await job.restorePitr([
      "--time",
      new Date(Date.now() + 3_600_000).toISOString(),
      "--data-dir",
      join(dir, "restored", "too-late"),
      "--port",
      String(await freePort()),
    ]);
    expect(later.code, later.stderr).not.toBe(0);
    expect(later.stderr).toContain("recovery stopped before it reached");
    expect(later.stderr).toContain("recovery ended before configured recovery target was reached");
    console.log(
      `PITR: ${shipped} WAL files shipped in ${runs.length} runs; restore to ${target} from ${report.walSnapshots} WAL snapshots (${report.walFiles} files) took ${run.seconds.toFixed(1)} s (script: ${report.restoreSeconds} s)`,
    );
  }, 300_000);
});
