import { execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, chownSync, existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopProcess } from "../support/processes";
import { requireTool } from "../support/tools";

/** Debian's PostgreSQL 15 server binaries; not on PATH, so looked up here, and required. */
export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

function postgresBinary(name: string): string {
  const path = join(POSTGRES_BIN, name);
  if (!existsSync(path)) throw new Error(`required tool ${path} is not installed; run \`npm test\`, which installs postgresql-15`);
  return path;
}

/** PostgreSQL refuses to run as root, so as root the server runs as Debian's postgres user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [requireTool("runuser"), ["-u", "postgres", "--", command, ...args]] : [command, args];
}

export interface LocalPostgres {
  readonly port: number;
  /** Environment for libpq clients (psql, pg_dump) to reach it. */
  readonly env: Record<string, string>;
  psql(sql: string, database?: string): string;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL 15 cluster on 127.0.0.1 with trust authentication,
 * its data and socket in a temporary directory. fsync is off: the tests
 * measure the backup, not the disk. With `passwordAuthentication`, every
 * role but the superuser must give its password over TCP, as on a managed
 * service, so a wrong password is refused for real.
 */
export async function startPostgres(
  config: { readonly settings?: Readonly<Record<string, string>>; readonly passwordAuthentication?: boolean } = {},
): Promise<LocalPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "postgres-test-"));
  if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString().trim()), 0);
  const data = join(dir, "data");
  const [initdb, initdbArgs] = asServerUser(postgresBinary("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
  execFileSync(initdb, initdbArgs, { stdio: "pipe" });
  // Extra server settings (e.g. WAL archiving) go into postgresql.conf, quoted as PostgreSQL reads them.
  const extra = Object.entries(config.settings ?? {}).map(([key, value]) => `${key} = '${value.replace(/'/g, "''")}'\n`);
  if (extra.length > 0) appendFileSync(join(data, "postgresql.conf"), extra.join(""));
  if (config.passwordAuthentication) {
    // The first matching line wins: the test's own superuser keeps trust, every other role needs SCRAM.
    writeFileSync(join(data, "pg_hba.conf"), "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
  }
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB`;
  const [pgCtl, startArgs] = asServerUser(postgresBinary("pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  execFileSync(pgCtl, startArgs, { stdio: "pipe" });
  const env = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres" };
  const psql = requireTool("psql");
  return {
    port,
    env,
    psql(sql, database = "postgres") {
      const result = spawnSync(psql, ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", database], {
        input: sql,
        env: { ...process.env, ...env },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
      return result.stdout.trim();
    },
    async stop() {
      const [command, args] = asServerUser(postgresBinary("pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      spawnSync(command, args, { stdio: "pipe" });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface LocalRedis {
  readonly port: number;
  readonly password: string;
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** A throwaway Redis 7 with a password and AOF on, as the blueprint runs it. */
export async function startRedis(password = "redis-test-password"): Promise<LocalRedis> {
  const server = requireTool("redis-server");
  const client = requireTool("redis-cli");
  const dir = await mkdtemp(join(tmpdir(), "redis-test-"));
  const port = await freePort();
  const child = spawn(server, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--requirepass", password, "--appendonly", "yes", "--save", ""], {
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const cli = (...args: string[]) => {
    const result = spawnSync(client, ["-p", String(port), ...args], { env: { ...process.env, REDISCLI_AUTH: password }, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if (cli("PING") === "PONG") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("redis-server did not answer within 15 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    password,
    cli,
    async stop() {
      await stopProcess(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
