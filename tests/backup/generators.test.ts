import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { environmentFile } from "../../components/backup/environment-file";
import { installScript } from "../../components/backup/install-script";
import { LIBPQ_VARIABLE_NAMES } from "../../components/backup/database-url";
import { declarationProblems, HOST_PATHS, hostBackupJob, resticRepository, secretVariable, secretVariables, type BackupJob } from "../../components/backup/job";
import { BACKUP_METRICS, LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { describeRetention, forgetFlags } from "../../components/backup/retention";
import { restoreScript } from "../../components/backup/restore-script";
import { backupReport } from "../../components/backup/report";
import { BACKUP_DEFAULTS, type BackupSettings } from "../../components/backup/settings";
import { backupServiceUnit, backupTimerUnit, onCalendar } from "../../components/backup/systemd-units";
import { healthcheck, service } from "../../components/container/service-spec";
import type { ServerConfig } from "../../components/compute/server-spec";
import { nextmavens } from "../../infra/blueprints/nextmavens";
import { vpai } from "../../infra/blueprints/vpai";
import { databaseURLFunctions } from "../../components/backup/database-url";
import { requireTool } from "../support/tools";
import { shellcheck } from "../support/validators";

const spec = vpai.build({ domain: "vpai.example.com", environment: "prod" });
const job: BackupJob = hostBackupJob({
  server: "main",
  services: spec.services,
  settings: BACKUP_DEFAULTS,
  repository: resticRepository("https://fsn1.your-objectstorage.com/", "vpai-backups", "main"),
  containerName: (name) => `vpai-${name}`,
});

describe("the VPAI backup job (seed 002)", () => {
  it("covers every stateful service, dumps first, through docker exec into each container", () => {
    expect(job.sources.map((source) => `${source.service}:${source.kind}`)).toEqual([
      "postgres:postgres",
      "redis:redis",
      "qdrant:qdrant",
      "n8n:volume",
      "openclaw:volume",
      "n8n:n8n-workflows",
    ]);
    expect(job.sources[0]).toMatchObject({
      databases: ["n8n", "litellm", "openclaw"],
      user: "postgres",
      access: { kind: "docker", container: "vpai-postgres" },
    });
    expect(job.sources.find((source) => source.kind === "qdrant")).toMatchObject({ port: 6333, apiKeyVariable: "QDRANT_API_KEY" });
    expect(job.sources.filter((source) => source.kind === "volume").map((source) => (source.kind === "volume" ? source.volume : ""))).toEqual([
      "vpai-n8n-data",
      "vpai-openclaw-data",
    ]);
    expect(job.repository).toBe("s3:https://fsn1.your-objectstorage.com/vpai-backups/restic/main");
    // The databases' own data directories are never copied as files (B5).
    expect(JSON.stringify(job)).not.toContain("vpai-postgres-data");
    expect(JSON.stringify(job)).not.toContain("vpai-redis-data");
  });

  it("the generated scripts pass shellcheck", () => {
    for (const [name, script] of [
      ["backup", backupScript(job)],
      ["restore", restoreScript(job)],
      ["install", installScript(job)],
    ] as const) {
      const result = shellcheck(script);
      expect(result.output, name).toBe("");
      expect(result.ok, name).toBe(true);
    }
  });

  it("reaches each service through the prefix that is empty in the live tests", () => {
    const script = backupScript(job);
    expect(script).toContain("local -a exec=(docker exec -i vpai-postgres)");
    expect(script).toContain("local -a exec=(docker exec -i vpai-redis)");
    expect(script).toContain("local -a exec=(docker exec -i vpai-n8n)");
    expect(script).toContain("docker volume inspect --format '{{.Mountpoint}}' vpai-openclaw-data");
    expect(script).toContain("container_url vpai-qdrant 6333");
    expect(script).toContain('"${QDRANT_API_KEY:?}"');
  });

  it("reads Redis's password from its secret file inside the container, for redis-cli alone (C15)", () => {
    // The container's environment holds no password any more: the dump and the restore read the file.
    expect(job.sources.find((source) => source.kind === "redis")).toMatchObject({ passwordFile: "/run/secrets/redis-password" });
    const client = `-- sh -c 'REDISCLI_AUTH="$(cat "$0")" && export REDISCLI_AUTH && exec redis-cli "$@"' /run/secrets/redis-password`;
    expect(backupScript(job)).toContain(`dump_redis redis "$staging"/redis/redis "\${exec[@]}" ${client}\n`);
    expect(restoreScript(job)).toContain(`"\${exec[@]}" ${client}\n`);
  });

  it("exports the metric names the alert rules import, and writes them in textfile format", () => {
    expect(BACKUP_METRICS).toEqual([
      "infra_backup_last_success_timestamp_seconds",
      "infra_backup_last_exit_code",
      "infra_backup_last_run_timestamp_seconds",
      "infra_backup_last_duration_seconds",
    ]);
    const script = backupScript(job);
    for (const metric of BACKUP_METRICS) expect(script).toContain(`# TYPE ${metric} gauge\n${metric} $`);
    expect(script.indexOf(`${LAST_SUCCESS_METRIC} $last_success`)).toBeGreaterThan(0);
    expect(script).toContain(`${LAST_EXIT_CODE_METRIC} $code`);
  });

  it("installs exactly the generated scripts and units", () => {
    const install = installScript(job);
    const embedded = (path: string) => install.split(`cat >"${path}.new" <<'INFRA_BACKUP_FILE_END'\n`)[1]!.split("\nINFRA_BACKUP_FILE_END")[0]! + "\n";
    expect(embedded("/usr/local/sbin/infra-backup")).toBe(backupScript(job));
    expect(embedded("/usr/local/sbin/infra-restore")).toBe(restoreScript(job));
    expect(embedded("/etc/systemd/system/infra-backup.service")).toBe(backupServiceUnit());
    expect(embedded("/etc/systemd/system/infra-backup.timer")).toBe(backupTimerUnit(BACKUP_DEFAULTS));
    expect(install).toContain("systemctl enable --now infra-backup.timer");
  });
});

describe("pure pieces", () => {
  it.each([
    ["02:55", "*-*-* 02:55:00"],
    ["00:00", "*-*-* 00:00:00"],
    ["23:59", "*-*-* 23:59:00"],
  ])("schedule %s runs on systemd calendar %s, which systemd accepts", (schedule, calendar) => {
    expect(onCalendar(schedule)).toBe(calendar);
    const result = spawnSync(requireTool("systemd-analyze"), ["calendar", calendar], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Normalized form: ${calendar}`);
    expect(backupTimerUnit({ ...BACKUP_DEFAULTS, schedule })).toContain(`OnCalendar=${calendar}\nPersistent=true`);
  });

  it.each([
    [
      { daily: 7, weekly: 4, monthly: 6, yearly: 2 },
      ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6", "--keep-yearly", "2"],
      "7 daily, 4 weekly, 6 monthly, 2 yearly",
    ],
    [{ daily: 30, weekly: 0, monthly: 0, yearly: 0 }, ["--keep-daily", "30"], "30 daily"],
    [{ daily: 1, weekly: 0, monthly: 12, yearly: 0 }, ["--keep-daily", "1", "--keep-monthly", "12"], "1 daily, 12 monthly"],
  ])("retention %j is forget %j", (policy, flags, text) => {
    expect(forgetFlags(policy)).toEqual(flags);
    expect(describeRetention(policy)).toBe(text);
  });

  it.each([
    ["infra:qdrantApiKey", "QDRANT_API_KEY"],
    ["infra:redisPassword", "REDIS_PASSWORD"],
    ["app:s3Key2", "S3_KEY2"],
  ])("secret %s reaches the job as %s", (key, variable) => {
    expect(secretVariable(key)).toBe(variable);
  });

  it("maps each secret a dump needs to its variable", () => {
    expect(secretVariables(spec.services)).toEqual({ QDRANT_API_KEY: "infra:qdrantApiKey" });
  });

  it("refuses a declaration the job could not carry out", () => {
    const base = {
      name: "app",
      description: "x",
      role: "app" as const,
      image: { repository: "x", tag: "1" },
      networks: [],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 64,
    };
    expect(declarationProblems(service({ ...base, volumes: [{ volume: "data", target: "/d" }], backup: { volumes: ["data", "cache"] } }))).toEqual([
      'app backs up volume "cache", which it does not mount',
    ]);
    expect(declarationProblems(service({ ...base, backup: { dump: { kind: "postgres", user: "postgres", databases: [] } } }))).toEqual([
      "app declares a PostgreSQL dump of no database",
    ]);
  });

  it("quotes the environment file so that bash reads every value back as it was", () => {
    const awkward = {
      resticPassword: `p'a"s$s \\ w\`o rd`,
      accessKeyId: "AKID",
      secretAccessKey: "s3cr3t/+=",
      heartbeatUrl: "https://uptime.example.com/api/push/x?status=up&msg=OK",
    };
    const file = environmentFile(job, HOST_PATHS, { ...awkward, variables: { QDRANT_API_KEY: "k $(touch /tmp/never)" } }, "fsn1");
    const dir = mkdtempSync(join(tmpdir(), "environment-"));
    writeFileSync(join(dir, "backup.env"), file);
    const result = spawnSync(
      requireTool("bash"),
      [
        "-c",
        'set -a; source "$1"; set +a; printf "%s\\n" "$RESTIC_PASSWORD" "$AWS_SECRET_ACCESS_KEY" "$BACKUP_HEARTBEAT_URL" "$QDRANT_API_KEY" "$RESTIC_REPOSITORY" "$BACKUP_STAGING_DIR"',
        "bash",
        join(dir, "backup.env"),
      ],
      { encoding: "utf8" },
    );
    rmSync(dir, { recursive: true, force: true });
    expect(result.stdout.split("\n").slice(0, 6)).toEqual([
      awkward.resticPassword,
      awkward.secretAccessKey,
      awkward.heartbeatUrl,
      "k $(touch /tmp/never)",
      job.repository,
      HOST_PATHS.stagingDir,
    ]);
  });
});

describe("the NextMavens job (seed 003): a managed PostgreSQL reached by its URL", () => {
  const services = nextmavens.build({ domain: "vpai.example.com", environment: "prod" }).services;
  const managedJob = (settings: BackupSettings = BACKUP_DEFAULTS): BackupJob =>
    hostBackupJob({
      server: "main",
      services,
      settings,
      repository: resticRepository("https://fsn1.your-objectstorage.com", "vpai-backups", "main"),
      containerName: (name) => `nextmavens-${name}`,
    });
  const backup = backupScript(managedJob());
  const restore = restoreScript(managedJob());
  const install = installScript(managedJob());

  it("dumps the portal's database, the one at infra:databaseUrl, with the pinned client image", () => {
    expect(managedJob().sources).toEqual([
      {
        service: "developer-portal",
        kind: "postgres-url",
        urlSecret: "infra:databaseUrl",
        urlVariable: "DATABASE_URL",
        access: { kind: "image", image: "postgres:17.2-alpine", user: "postgres", environment: LIBPQ_VARIABLE_NAMES },
      },
    ]);
    // The URL reaches the host through the job's environment file only.
    expect(secretVariables(services)).toEqual({ DATABASE_URL: "infra:databaseUrl" });
  });

  it("keeps at least seed 003's 30 daily snapshots, raising the stack's daily count but never lowering it", () => {
    expect(managedJob().settings.retention).toEqual({ daily: 30, weekly: 4, monthly: 6, yearly: 2 });
    expect(managedJob().minimumRetention).toEqual({ daily: 30, reasons: ["developer-portal keeps 30 (seed 003: 30 days)"] });
    expect(backup).toContain(
      'restic forget --host "$host" --tag "$tag" --group-by host,tags --keep-daily 30 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2\n',
    );
    const longer = { ...BACKUP_DEFAULTS, retention: { daily: 90, weekly: 0, monthly: 12, yearly: 0 } };
    expect(managedJob(longer).settings.retention).toEqual(longer.retention);
    // Other jobs keep the stack's policy as it is.
    expect(job.settings.retention).toEqual(BACKUP_DEFAULTS.retention);
    expect(job.minimumRetention).toBeUndefined();
  });

  it("the generated scripts pass shellcheck", () => {
    for (const [name, script] of [
      ["backup", backup],
      ["restore", restore],
      ["install", install],
    ] as const) {
      const result = shellcheck(script);
      expect(result.output, name).toBe("");
      expect(result.ok, name).toBe(true);
    }
  });

  it("runs pg_dump in a throwaway container that gets libpq's variables by name only, and takes no globals", () => {
    const run = backup.split("\n").find((line) => line.includes("local -a exec=(docker run"))!;
    expect(run).toContain("docker run --rm --interactive --log-driver=none --read-only --cap-drop=ALL --security-opt=no-new-privileges --user=postgres ");
    expect(run.endsWith(" postgres:17.2-alpine)")).toBe(true);
    const environment = run.match(/--env=\S+/g)!;
    expect(environment).toEqual(LIBPQ_VARIABLE_NAMES.map((name) => `--env=${name}`));
    expect(environment.filter((flag) => flag.slice("--env=".length).includes("="))).toEqual([]);
    expect(backup).toContain("pg_dump --format=custom --snapshot=");
    expect(backup).toContain('pg_restore --list <"$dir/database.dump" >"$dir/database.list"');
    expect(backup).toContain('pg_restore --file=/dev/null <"$dir/database.dump"');
    expect(backup.split("\n").filter((line) => line.includes("pg_dumpall") && !line.trimStart().startsWith("#"))).toEqual([]);
    expect(backup).not.toContain("docker exec");
    // The image is pulled when the job is installed, not first at night.
    expect(install).toContain("docker pull --quiet postgres:17.2-alpine >/dev/null\n");
  });

  it("reads the URL only to take it apart, and exports it to no command", () => {
    for (const script of [backup, restore]) {
      const uses = script.split("\n").filter((line) => line.includes("DATABASE_URL"));
      expect(
        uses.every((line) =>
          /^(export -n DATABASE_URL| {2}use_database_url "\$\{(target_database_url:-\$\{)?DATABASE_URL:\?DATABASE_URL is not set in \$env_file\}\}?")$/.test(
            line,
          ),
        ),
        uses.join("\n"),
      ).toBe(true);
      expect(uses).toContain("export -n DATABASE_URL");
    }
    // The target of a restore comes from a file, never an argument.
    expect(restore).toContain('--database-url-file) target_database_url=$(<"$2"); shift 2 ;;');
    expect(restore).toContain('pg_restore --no-owner --single-transaction --exit-on-error --dbname="$PGDATABASE"');
  });

  it("leaves the scripts of jobs without a URL source as they were", () => {
    for (const script of [backupScript(job), restoreScript(job), installScript(job)]) {
      for (const text of ["use_database_url", "export -n", "docker run", "docker pull", "database-url-file"]) expect(script).not.toContain(text);
    }
  });

  it("says in the plan what is dumped, from where, and why 30 days", () => {
    const report = backupReport({ name: "main" } as ServerConfig, managedJob());
    expect(report.sources).toEqual([
      {
        service: "developer-portal",
        kind: "postgres-url",
        what: "pg_dump (custom format, row counts from the dump's snapshot, read back with pg_restore; no globals) of the PostgreSQL at secret infra:databaseUrl, by postgres:17.2-alpine (docker run)",
      },
    ]);
    expect(report.retention).toMatchObject({ daily: 30, weekly: 4, monthly: 6, yearly: 2 });
    expect(report.retention.text).toBe(
      "30 daily, 4 weekly, 6 monthly, 2 yearly; restic forget, then prune; never fewer than 30 daily, whatever infra:backup.retention says: developer-portal keeps 30 (seed 003: 30 days)",
    );
    expect(
      backupReport({ name: "main" } as ServerConfig, managedJob({ ...BACKUP_DEFAULTS, pitr: { enabled: true, archiveTimeoutSeconds: 60 } })).pitr,
    ).toContain("managed");
  });

  it("refuses a URL source the job could not carry out", () => {
    const portal = services.find((candidate) => candidate.name === "developer-portal")!;
    expect(declarationProblems(portal)).toEqual([]);
    const dump = { kind: "postgres-url" as const, urlSecret: "infra:otherDatabaseUrl", client: { repository: "postgres", tag: "latest" } };
    expect(declarationProblems({ ...portal, backup: { dump, minimumRetention: { daily: 0, reason: "x" } } })).toEqual([
      "developer-portal backs up the database at secret infra:otherDatabaseUrl, which it does not connect to",
      "developer-portal's database client must be a pinned postgres:<version>-alpine image (C10), not postgres:latest",
      "developer-portal promises a retention of 0 daily snapshots; it must be a whole number of at least 1",
    ]);
  });
});

describe("use_database_url: libpq's URL grammar into libpq's variables", () => {
  const functions = databaseURLFunctions();
  /** Runs the generated function on a URL, in a clean environment, and returns what libpq would be given. */
  function parse(url: string): { ok: boolean; variables: Record<string, string>; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), "database-url-"));
    try {
      writeFileSync(join(dir, "functions.sh"), `log() { printf '%s\\n' "$*" >&2; }\n${functions}\n`);
      const result = spawnSync(
        requireTool("bash"),
        [
          "-c",
          'set -Eeuo pipefail; shopt -s inherit_errexit; source "$1"; use_database_url "$2"; for name in "${!PG@}"; do printf \'%s=%s\\0\' "$name" "${!name}"; done',
          "bash",
          join(dir, "functions.sh"),
          url,
        ],
        // stdin not a socket, or Debian's bash would read ~/.bashrc as if run by sshd.
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PGHOST: "left-over", PGSERVICEFILE: "/left/over" },
        },
      );
      const variables = Object.fromEntries(
        result.stdout
          .split("\0")
          .filter(Boolean)
          .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
      );
      return { ok: result.status === 0, variables, stderr: result.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("passes shellcheck on its own", () => {
    const result = shellcheck(`#!/usr/bin/env bash\nlog() { printf '%s\\n' "$*" >&2; }\n${functions}\n`);
    expect(result.output).toBe("");
  });

  it.each([
    [
      "a managed service's URL, every reserved character of the password escaped",
      "postgresql://portal:p%40ss%3Aw%2Fo%3Frd%23%25@db-m4sxnf.example.com:25060/nextmavens?sslmode=require",
      { PGUSER: "portal", PGPASSWORD: "p@ss:w/o?rd#%", PGHOST: "db-m4sxnf.example.com", PGPORT: "25060", PGDATABASE: "nextmavens", PGSSLMODE: "require" },
    ],
    [
      "postgres:// and a colon inside the password, as libpq splits at the first one",
      "postgres://u:pa:ss@[2001:db8::1]:5432/db",
      { PGUSER: "u", PGPASSWORD: "pa:ss", PGHOST: "2001:db8::1", PGPORT: "5432", PGDATABASE: "db" },
    ],
    [
      "several hosts, one without a port; JDBC's ssl=true",
      "postgresql://u:p@h1:5432,h2/db?target_session_attrs=read-write&ssl=true",
      { PGUSER: "u", PGPASSWORD: "p", PGHOST: "h1,h2", PGPORT: "5432,", PGDATABASE: "db", PGTARGETSESSIONATTRS: "read-write", PGSSLMODE: "require" },
    ],
    [
      "an unescaped ? & = in the password, which libpq takes up to the @",
      "postgresql://u:pa?ss&x=y@h/d%C3%A9b",
      { PGUSER: "u", PGPASSWORD: "pa?ss&x=y", PGHOST: "h", PGDATABASE: "déb" },
    ],
    [
      "a backslash, an escaped one and a trailing newline kept as they are",
      "postgresql://u:a\\b%5Cc%0A@h/db",
      { PGUSER: "u", PGPASSWORD: "a\\b\\c\n", PGHOST: "h", PGDATABASE: "db" },
    ],
    [
      "a socket directory and the user as parameters, no host",
      "postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql&user=portal",
      { PGHOST: "/var/run/postgresql", PGUSER: "portal", PGDATABASE: "db" },
    ],
  ])("%s", (_label, url, expected) => {
    const parsed = parse(url);
    expect(parsed.stderr).toBe("");
    expect(parsed.ok).toBe(true);
    // Exactly these: nothing left over from the environment it ran in.
    expect(parsed.variables).toEqual(expected);
  });

  it.each([
    ["mysql://u:s3cret-Pw@h/db", "does not start with postgresql://"],
    ["postgresql://u:s3cret-Pw@h/db?keepalives=1", "parameter keepalives, which libpq cannot take from its environment"],
    ["postgresql://u:s3cret-Pw@h/db?s3cret-Pw", "a parameter without a value"],
    ["postgresql://u:s3cret-Pw@h:54x/db", "a port that is not a number"],
    ["postgresql://u:s3cret-Pw%zz@h/db", "a malformed percent-escape"],
    ["postgresql://u:s3cret-Pw%00@h/db", "a malformed percent-escape"],
    ["postgresql://u:s3cret-Pw@[::1/db", "without its closing bracket"],
    ["postgresql://u:s3cret-Pw@h:5432", "names no database"],
    ["postgresql://u:s3cret-Pw@h/db?ssl=false", "ssl=<not true>"],
  ])("refuses %s, saying why without showing it", (url, reason) => {
    const parsed = parse(url);
    expect(parsed.ok).toBe(false);
    expect(parsed.stderr).toContain(reason);
    expect(parsed.stderr).not.toContain("s3cret");
  });
});
