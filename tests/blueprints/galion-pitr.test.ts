import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretFileTarget } from "../../components/container/secret-files";
import { baseBackupScript, galion, GALION_BASE_BACKUPS_KEPT } from "../../infra/blueprints/galion";
import { freePort } from "../support/processes";
import { requireTool } from "../support/tools";

/**
 * Seed 004's point-in-time recovery, drilled on a real PostgreSQL 15 on
 * 127.0.0.1 with what the blueprint deploys: the primary's settings
 * (WAL archiving with its archive_command), its init script (databases and
 * the replication role), and the base-backup script. Rows written before a
 * moment are restored to that moment from the base backup and the archived
 * WAL, and the rows written after it are not.
 */
const BIN = "/usr/lib/postgresql/15/bin";
const ARCHIVE_IN_CONTAINER = "/var/lib/postgresql/wal-archive";
const REPLICATION_PASSWORD = "drill-replication-Pw-51c";

function binary(name: string): string {
  const path = join(BIN, name);
  if (!existsSync(path)) throw new Error(`required tool ${path} is not installed; run \`npm test\`, which installs postgresql-15`);
  return path;
}

const isRoot = process.getuid?.() === 0;
/** PostgreSQL refuses to run as root; as root, server-side commands run as Debian's postgres user. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return isRoot ? [requireTool("runuser"), ["-u", "postgres", "--", command, ...args]] : [command, args];
}

function run(command: string, args: string[], env: Record<string, string> = {}): string {
  const [file, argv] = asPostgres(command, args);
  const result = spawnSync(file, argv, { env: { ...process.env, ...env }, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stdout}${result.stderr}`);
  return result.stdout.trim();
}

const spec = galion.build({ domain: "example.com", environment: "prod" });
const service = (name: string) => spec.services.find((candidate) => candidate.name === name)!;

/** The primary's `-c 'key=value'` settings, exactly as its container command passes them. */
function primarySettings(archive: string): string[] {
  const command = service("postgres").command!.join(" ");
  return [...command.matchAll(/-c '((?:[^']|'\\'')*)'/g)].map((match) => match[1]!.replace(/'\\''/g, "'").split(ARCHIVE_IN_CONTAINER).join(archive));
}

interface Cluster {
  readonly data: string;
  readonly port: number;
  readonly socket: string;
  psql(sql: string, database?: string): string;
}

async function startCluster(data: string, socket: string, settings: string[]): Promise<Cluster> {
  const port = await freePort();
  // The test machine is not the 16 GB server: shared_buffers is the one setting scaled down.
  const options = [
    ...settings.filter((setting) => !setting.startsWith("shared_buffers=")),
    "shared_buffers=32MB",
    `port=${port}`,
    "listen_addresses=127.0.0.1",
    `unix_socket_directories=${socket}`,
    "fsync=off",
  ]
    // pg_ctl hands these to /bin/sh, as the container's `sh -c` does: each is single-quoted the same way.
    .map((setting) => `-c '${setting.replace(/'/g, "'\\''")}'`)
    .join(" ");
  run(binary("pg_ctl"), ["-D", data, "-o", options, "-l", join(socket, `server-${port}.log`), "-w", "-t", "120", "start"]);
  return {
    data,
    port,
    socket,
    psql: (sql, database = "galion") =>
      run(binary("psql"), ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", socket, "-p", String(port), "-U", "postgres", "-d", database, "-c", sql]),
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("GALION point-in-time recovery drill (seed 004, B6)", () => {
  let dir = "";
  let primary: Cluster | undefined;
  let restored: Cluster | undefined;
  let script: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "galion-pitr-"));
    if (isRoot) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
  });

  afterAll(async () => {
    if (script?.pid && script.exitCode === null) process.kill(-script.pid, "SIGKILL");
    for (const cluster of [restored, primary]) if (cluster) spawnSync(...asPostgres(binary("pg_ctl"), ["-D", cluster.data, "-m", "immediate", "-w", "stop"]));
    if (dir && !process.env.KEEP_DRILL) await rm(dir, { recursive: true, force: true });
  });

  it("restores the rows of a moment from the weekly base backup and the archived WAL, and prunes only old segments", { timeout: 180_000 }, async () => {
    const [data, archive, backups, restore] = ["data", "archive", "base-backups", "restore"].map((name) => join(dir, name)) as [string, string, string, string];
    for (const path of [archive, backups]) run("mkdir", ["-m", "0700", path]);
    run(binary("initdb"), ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"]);
    primary = await startCluster(data, dir, primarySettings(archive));

    // The blueprint's init script: both databases, and the replicator role the base backup streams as.
    // It reads the replication password from its secret file (C15), here one in the drill's directory, owned by whoever runs the script.
    const init = service("postgres").files.find((file) => file.path === "/docker-entrypoint-initdb.d/10-galion.sh")!.content;
    const passwordFile = join(dir, "replication-password");
    writeFileSync(passwordFile, REPLICATION_PASSWORD, { mode: 0o400 });
    if (isRoot) chownSync(passwordFile, Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
    expect(init).toContain(secretFileTarget({ name: "replication-password" }));
    writeFileSync(join(dir, "init.sh"), init.replaceAll(secretFileTarget({ name: "replication-password" }), passwordFile));
    run("sh", [join(dir, "init.sh")], { POSTGRES_USER: "postgres", PGDATA: data, PGHOST: dir, PGPORT: String(primary.port) });
    run(binary("pg_ctl"), ["-D", data, "reload"]);
    expect(primary.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'galion%'", "postgres")).toBe(
      "galion,galion_studio",
    );

    // An archived segment older than the kept base backups need; the next archiving prunes it.
    const stale = join(archive, "000000010000000000000000");
    run("touch", [stale]);
    const longAgo = Date.now() / 1000 - 20 * 86400;
    utimesSync(stale, longAgo, longAgo);

    // The base-backup service's own script, pointed at this primary by the same PG* variables.
    const [file, argv] = asPostgres("sh", ["-c", baseBackupScript(backups, GALION_BASE_BACKUPS_KEPT)]);
    script = spawn(file, argv, {
      detached: true,
      stdio: "ignore",
      env: {
        ...process.env,
        PATH: `${BIN}:${process.env.PATH}`,
        PGHOST: "127.0.0.1",
        PGPORT: String(primary.port),
        PGUSER: "replicator",
        PGPASSWORD: REPLICATION_PASSWORD,
      },
    });
    const taken = await waitFor("the first base backup", () => readdirSync(backups).find((name) => /^\d{8}T\d{6}Z$/.test(name)));
    expect(readdirSync(join(backups, taken)).sort()).toEqual(["backup_manifest", "base.tar.gz", "pg_wal.tar.gz"]);
    expect(readdirSync(backups).filter((name) => name.startsWith(".partial-"))).toEqual([]);

    primary.psql("CREATE TABLE orders (id int PRIMARY KEY)");
    primary.psql("INSERT INTO orders SELECT generate_series(1, 100)");
    const target = primary.psql("SELECT clock_timestamp()");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    primary.psql("INSERT INTO orders SELECT generate_series(101, 150)");
    const segment = primary.psql("SELECT pg_walfile_name(pg_switch_wal())");
    await waitFor("the last segment in the archive", () =>
      primary!.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver", "postgres") >= segment ? true : undefined,
    );
    expect(primary.psql("SELECT failed_count FROM pg_stat_archiver", "postgres")).toBe("0");
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(archive, segment))).toBe(true);

    // Restore: the base backup, then the archive replayed up to the target.
    run("mkdir", ["-m", "0700", restore]);
    run("tar", ["-xzf", join(backups, taken, "base.tar.gz"), "-C", restore]);
    run("tar", ["-xzf", join(backups, taken, "pg_wal.tar.gz"), "-C", join(restore, "pg_wal")]);
    const recovery = [`restore_command = 'cp ${archive}/%f %p'`, `recovery_target_time = '${target}'`, "recovery_target_action = 'promote'", ""].join("\n");
    run("sh", ["-c", `printf '%s' "$1" >> "$2/postgresql.auto.conf" && touch "$2/recovery.signal"`, "sh", recovery, restore]);
    mkdirSync(join(dir, "restored-socket"), { recursive: true });
    if (isRoot) chownSync(join(dir, "restored-socket"), Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
    // Recovery refuses settings below the primary's (max_connections=200), so the
    // restore runs with the primary's own, without archiving into its archive.
    restored = await startCluster(
      restore,
      join(dir, "restored-socket"),
      primarySettings(archive).filter((setting) => !setting.startsWith("archive_")),
    );
    await waitFor("promotion after recovery", () => (restored!.psql("SELECT pg_is_in_recovery()", "postgres") === "f" ? true : undefined));
    expect(restored.psql("SELECT count(*), max(id) FROM orders")).toBe("100|100");
  });
});
