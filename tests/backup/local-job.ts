import { spawn } from "node:child_process";
import { expect } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupScript } from "../../components/backup/backup-script";
import { environmentFile } from "../../components/backup/environment-file";
import { orderSources, type BackupJob, type BackupSource, type JobPaths } from "../../components/backup/job";
import { shellQuote } from "../../components/backup/shell";
import { BACKUP_DEFAULTS, type BackupSettings } from "../../components/backup/settings";
import { restoreScript } from "../../components/backup/restore-script";
import { LAST_EXIT_CODE_METRIC, LAST_RUN_METRIC, LAST_SUCCESS_METRIC, TEXTFILE_NAME } from "../../components/backup/metrics";
import { pitrRestoreScript, pitrSources, walShipScript } from "../../components/backup/pitr-scripts";
import { freePort } from "../support/processes";
import { requireTool } from "../support/tools";
import type { LocalPostgres, LocalRedis } from "./local-servers";

export interface Storage {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface LocalJobOptions {
  readonly server?: string;
  readonly storage: Storage;
  readonly bucket: string;
  readonly resticPassword?: string;
  /**
   * `walArchive`: the directory the server archives WAL into (PITR on); then
   * `runAs` is the account its tools run as, since PostgreSQL refuses root.
   */
  readonly postgres?: { readonly server: LocalPostgres; readonly databases: readonly string[]; readonly walArchive?: string; readonly runAs?: string };
  readonly redis?: LocalRedis;
  /** A directory standing in for a named volume of files. */
  readonly volume?: { readonly service: string; readonly path: string };
  /**
   * A database reached by URL (a managed PostgreSQL): the source the program
   * builds for it, run with the machine's own client instead of its image,
   * and the URL, which reaches the job as the program sends it, in the
   * environment file's variable for the secret.
   */
  readonly managedDatabase?: { readonly source: Extract<BackupSource, { kind: "postgres-url" }>; readonly url: string };
  readonly settings?: BackupSettings;
  readonly heartbeatUrl?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

export interface LocalJob {
  readonly job: BackupJob;
  readonly dir: string;
  readonly envFile: string;
  readonly paths: JobPaths;
  readonly backupPath: string;
  readonly restorePath: string;
  /** Runs the generated backup script, exactly as the systemd unit would but with this job's environment file. */
  backup(): Promise<RunResult>;
  restore(args?: readonly string[]): Promise<RunResult>;
  /** Runs the generated WAL shipping script (PITR jobs only). */
  ship(): Promise<RunResult>;
  /** Runs the generated point-in-time restore script (PITR jobs only). */
  restorePitr(args: readonly string[]): Promise<RunResult>;
  /** The textfile collector's file, parsed into metric values. */
  metrics(): Promise<Record<string, number>>;
  /** Rewrites one variable of the environment file (e.g. to break the credentials). */
  setVariable(name: string, value: string): Promise<void>;
  /** restic against the job's repository, with its credentials. */
  restic(args: readonly string[]): Promise<RunResult>;
  cleanup(): Promise<void>;
}

/**
 * The job the program would build for a host, but with local access: the
 * generated scripts run unchanged against servers on 127.0.0.1, with restic
 * writing to MinIO.
 */
export async function localJob(options: LocalJobOptions): Promise<LocalJob> {
  const server = options.server ?? "main";
  const dir = await mkdtemp(join(tmpdir(), "backup-job-"));
  const sources: BackupSource[] = [];
  if (options.postgres) {
    const { walArchive, runAs } = options.postgres;
    sources.push({
      kind: "postgres",
      service: "postgres",
      access: { kind: "local", ...(runAs ? { runAs } : {}) },
      user: "postgres",
      databases: options.postgres.databases,
      ...(walArchive ? { walArchive } : {}),
    });
  }
  if (options.redis)
    sources.push({ kind: "redis", service: "redis", access: { kind: "local" }, cliArgs: ["-p", String(options.redis.port)], restorePort: await freePort() });
  if (options.volume) sources.push({ kind: "volume", service: options.volume.service, access: { kind: "local" }, volume: options.volume.path });
  if (options.managedDatabase) sources.push({ ...options.managedDatabase.source, access: { kind: "local" } });
  const job: BackupJob = {
    server,
    settings: options.settings ?? BACKUP_DEFAULTS,
    repository: `s3:${options.storage.endpoint}/${options.bucket}/restic/${server}`,
    sources: orderSources(sources),
  };
  const paths: JobPaths = {
    envFile: join(dir, "backup.env"),
    stagingDir: join(dir, "staging"),
    stateDir: join(dir, "state"),
    textfileDir: join(dir, "textfile"),
  };
  const extra: Record<string, string> = {
    ...(options.postgres?.server.env ?? {}),
    ...(options.redis ? { REDISCLI_AUTH: options.redis.password } : {}),
    TMPDIR: dir,
  };
  const env = environmentFile(
    job,
    paths,
    {
      resticPassword: options.resticPassword ?? "restic-test-password",
      accessKeyId: options.storage.accessKeyId,
      secretAccessKey: options.storage.secretAccessKey,
      ...(options.heartbeatUrl ? { heartbeatUrl: options.heartbeatUrl } : {}),
      ...(options.managedDatabase ? { variables: { [options.managedDatabase.source.urlVariable]: options.managedDatabase.url } } : {}),
    },
    options.storage.region,
    extra,
  );
  await writeFile(paths.envFile, env, { mode: 0o600 });
  const backupPath = join(dir, "infra-backup");
  const restorePath = join(dir, "infra-restore");
  await writeFile(backupPath, backupScript(job));
  await writeFile(restorePath, restoreScript(job));
  await chmod(backupPath, 0o755);
  await chmod(restorePath, 0o755);
  const shipPath = join(dir, "infra-wal-ship");
  const pitrRestorePath = join(dir, "infra-restore-pitr");
  if (pitrSources(job).length > 0) {
    await writeFile(shipPath, walShipScript(job), { mode: 0o755 });
    await writeFile(pitrRestorePath, pitrRestoreScript(job), { mode: 0o755 });
  }
  await mkdir(join(dir, "bin"));

  const run = (path: string, args: readonly string[] = []) => runScript(path, args, { INFRA_BACKUP_ENV: paths.envFile });
  return {
    job,
    dir,
    envFile: paths.envFile,
    paths,
    backupPath,
    restorePath,
    backup: () => run(backupPath),
    restore: (args = []) => run(restorePath, args),
    ship: () => run(shipPath),
    restorePitr: (args) => run(pitrRestorePath, args),
    async metrics() {
      const text = await readFile(join(paths.textfileDir, TEXTFILE_NAME), "utf8");
      return Object.fromEntries(
        text
          .split("\n")
          .filter((line) => line && !line.startsWith("#"))
          .map((line) => line.split(" "))
          .map(([name, value]) => [name!, Number(value)]),
      );
    },
    async setVariable(name, value) {
      const lines = (await readFile(paths.envFile, "utf8")).split("\n").map((line) => (line.startsWith(`${name}=`) ? `${name}=${shellQuote(value)}` : line));
      await writeFile(paths.envFile, lines.join("\n"));
    },
    restic: (args) =>
      runScript(requireTool("bash"), ["-c", 'set -a; source "$INFRA_BACKUP_ENV"; set +a; exec restic "$@"', "restic", ...args], {
        INFRA_BACKUP_ENV: paths.envFile,
      }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs a script without blocking the event loop, so a heartbeat server in the same process can answer it. */
export function runScript(path: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-200_000)));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

export interface Heartbeat {
  readonly url: string;
  hits(): number;
  stop(): Promise<void>;
}

/** A local push endpoint that counts the heartbeats it receives. */
/** A push monitor stand-in on `host` (127.0.0.1, or a link a test made), counting the pushes it receives. */
export async function startHeartbeat(host = "127.0.0.1"): Promise<Heartbeat> {
  let hits = 0;
  const server: Server = createServer((request, response) => {
    if (request.url?.startsWith("/api/push/")) hits++;
    response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/api/push/token-${Math.random().toString(36).slice(2)}?status=up&msg=OK`,
    hits: () => hits,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * B9, after a first successful run: the next run fails at `step`, exits
 * non-zero, sends no heartbeat (the success's one stays the only hit) and
 * leaves the last-success metric where it was, while the last-run one moves.
 */
export async function expectLoudFailure(job: LocalJob, heartbeat: Heartbeat, lastSuccess: number, step: string): Promise<RunResult> {
  // Whole seconds: a run in the same second as the last success would hide a wrongly updated timestamp.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const run = await job.backup();
  expect(run.code, run.stderr).not.toBe(0);
  expect(run.stderr).toContain(`[${step}]`);
  expect(run.stderr).toContain("FAILED");
  expect(run.stderr).not.toContain("finished");
  expect(heartbeat.hits()).toBe(1);
  const metrics = await job.metrics();
  expect(metrics[LAST_SUCCESS_METRIC]).toBe(lastSuccess);
  expect(metrics[LAST_EXIT_CODE_METRIC]).toBe(run.code);
  expect(metrics[LAST_RUN_METRIC]).toBeGreaterThan(lastSuccess);
  return run;
}
