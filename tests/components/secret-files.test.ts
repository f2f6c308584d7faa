import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  removeSecretFilesCommand,
  renderSecretContent,
  SECRET_FILES_SCRIPT,
  secretFileBinds,
  secretFileEnv,
  secretFileProblems,
  secretFilesStdin,
  SECRETS_HOST_DIR,
  writeSecretFilesCommand,
} from "../../components/container/secret-files";
import {
  healthcheck,
  renderSecretTemplate,
  service,
  type SecretEncoding,
  type SecretFileSpec,
  type ServiceSpec,
} from "../../components/container/service-spec";
import { shellcheck } from "../support/validators";

/**
 * Secret files (C15) as data, and the script that writes them on a host, run
 * here with bash against a temporary directory that stands for
 * /etc/infra/secrets and a stand-in for docker that records what it is asked.
 */

const base: ServiceSpec = service({
  name: "postgres",
  description: "test",
  role: "data",
  image: { repository: "postgres", tag: "16.6-alpine" },
  networks: ["backend"],
  healthcheck: healthcheck(["CMD", "true"]),
  memoryMb: 256,
});

const password: SecretFileSpec = { name: "postgres-password", content: { secret: "infra:postgresPassword" }, variable: "POSTGRES_PASSWORD_FILE", uid: 70 };

describe("the spec's secret files", () => {
  it("become read-only binds from the container's host directory, and the variables that name them", () => {
    const spec = { ...base, secretFiles: [password, { name: "local.yaml", content: { secret: "infra:key" }, target: "/qdrant/config/local.yaml", uid: 0 }] };
    expect(secretFileBinds(spec, "vpai-postgres")).toEqual([
      { hostPath: `${SECRETS_HOST_DIR}/vpai-postgres/postgres-password`, containerPath: "/run/secrets/postgres-password", readOnly: true },
      { hostPath: `${SECRETS_HOST_DIR}/vpai-postgres/local.yaml`, containerPath: "/qdrant/config/local.yaml", readOnly: true },
    ]);
    expect(secretFileEnv(spec)).toEqual({ POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-password" });
    expect(secretFileProblems(spec)).toEqual([]);
  });

  it.each<[string, Partial<ServiceSpec>, RegExp]>([
    ["a name with a slash", { secretFiles: [{ ...password, name: "../passwd" }] }, /name must be letters/],
    ["the same name twice", { secretFiles: [password, { ...password, variable: "OTHER_FILE" }] }, /declared twice/],
    ["a uid that is not one", { secretFiles: [{ ...password, uid: -1 }] }, /uid -1 is not a user id/],
    ["a numeric user that could not read its file", { user: "1000", secretFiles: [password] }, /owned by uid 70, but the container runs as 1000/],
    [
      "its variable also set in the environment",
      { env: { POSTGRES_PASSWORD_FILE: "/elsewhere" }, secretFiles: [password] },
      /POSTGRES_PASSWORD_FILE is also set in the environment/,
    ],
    ["a target another mount uses", { volumes: [{ volume: "data", target: "/run/secrets/postgres-password" }], secretFiles: [password] }, /mounted twice/],
    ["a relative target", { secretFiles: [{ ...password, target: "config/local.yaml" }] }, /not an absolute path/],
    ["a variable that is not a name", { secretFiles: [{ ...password, variable: "POSTGRES-PASSWORD-FILE" }] }, /is not an environment variable name/],
  ])("refuses %s", (_case, change, message) => {
    expect(secretFileProblems({ ...base, ...change }).join("\n")).toMatch(message);
  });

  it("fills a template with each value written as the file's syntax needs", () => {
    const values = { "infra:p": 'a"b\\c:d é\n' };
    const table: [SecretEncoding | undefined, string, string][] = [
      [undefined, "user:{{infra:p}}", 'user:a"b\\c:d é\n'],
      [undefined, "postgresql://u:{{infra:p}}@h/db", `postgresql://u:${encodeURIComponent(values["infra:p"])}@h/db`],
      ["json", "api_key: {{infra:p}}", 'api_key: "a\\"b\\\\c:d é\\n"'],
      ["redis", "requirepass {{infra:p}}", 'requirepass "a\\"b\\\\c:d \\xc3\\xa9\\x0a"'],
      ["userlist", '"postgres" {{infra:p}}', '"postgres" "a""b\\c:d é\n"'],
    ];
    for (const [encoding, template, expected] of table) expect(renderSecretTemplate(template, values, encoding), `${encoding} ${template}`).toBe(expected);
    expect(renderSecretTemplate("*:*:*:replicator:{{infra:p}}", { "infra:p": "a\\b:c" }, "pgpass")).toBe("*:*:*:replicator:a\\\\b\\:c");
    expect(() => renderSecretTemplate("*:*:*:u:{{infra:p}}", values, "pgpass")).toThrow(/infra:p holds a line break/);
    expect(renderSecretContent({ secret: "infra:p" }, values)).toBe(values["infra:p"]);
    expect(() => renderSecretContent({ secret: "infra:q" }, values)).toThrow(/no value for infra:q/);
  });

  it("frames the contents on stdin by their length in bytes, and refuses a NUL", () => {
    expect(secretFilesStdin(["pw", "", "é\n"])).toBe("2\npw0\n3\né\n");
    expect(() => secretFilesStdin(["a\0b"])).toThrow(/NUL/);
  });

  it("puts the container, names and uids in the command line, and nothing of the contents", () => {
    const command = writeSecretFilesCommand("vpai-postgres", [password, { name: "n8n-key", uid: 1000 }]);
    expect(command).toMatch(/^sudo bash -c '.*' infra-secrets vpai-postgres postgres-password:70 n8n-key:1000$/s);
    expect(spawnSync("bash", ["-n", "-c", command], { encoding: "utf8" }).status).toBe(0);
    expect(() => writeSecretFilesCommand("vpai postgres", [password])).toThrow(/not a container name/);
    expect(removeSecretFilesCommand("vpai-postgres")).toMatch(/^sudo sh -c '.*vpai-postgres.*' *$/s);
    expect(spawnSync("sh", ["-n", "-c", removeSecretFilesCommand("vpai-postgres")]).status).toBe(0);
  });
});

describe("the script that writes them on the host", () => {
  it("is clean for shellcheck", () => {
    const result = shellcheck(`#!/usr/bin/env bash\n${SECRET_FILES_SCRIPT}`);
    expect(result.ok, result.output).toBe(true);
  });

  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A host stand-in: `root` for /etc/infra/secrets, and a `docker` on PATH
   * that answers `inspect` from a state file (absent, running or stopped),
   * lists the container's mount sources from another, and appends every
   * call to a log.
   */
  function host(): {
    root: string;
    setContainer: (state: "absent" | "running" | "stopped", mounts?: string[]) => void;
    calls: () => string[];
    run: (args: string[], stdin: string) => { status: number | null; stdout: string; stderr: string };
    bin: string;
  } {
    if (process.getuid?.() !== 0) throw new Error("the secret-files script test runs the script as root, to give files to other uids (npm test runs as root)");
    const dir = mkdtempSync(join(tmpdir(), "secret-files-"));
    dirs.push(dir);
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const state = join(dir, "container-state");
    const log = join(dir, "docker.log");
    const mounts = join(dir, "container-mounts");
    writeFileSync(state, "absent");
    writeFileSync(mounts, "");
    writeFileSync(
      join(bin, "docker"),
      [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >>${log}`,
        `state=$(cat ${state})`,
        'case "$1" in',
        '  inspect) [ "$state" = absent ] && exit 1; [ "$state" = running ] && echo true || echo false ;;',
        `  container) [ "$state" = absent ] && exit 1; cat ${mounts} ;;`,
        '  restart) [ "$state" = running ] || exit 1 ;;',
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(join(bin, "docker"), 0o755);
    const root = join(dir, "etc", "infra", "secrets");
    const script = SECRET_FILES_SCRIPT.replace(`readonly root=${SECRETS_HOST_DIR}`, `readonly root=${root}`);
    return {
      root,
      bin,
      setContainer: (value, sources = []) => {
        writeFileSync(state, value);
        writeFileSync(mounts, sources.map((source) => `${source}\n`).join(""));
      },
      calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []),
      run: (args, stdin) => {
        const result = spawnSync("bash", ["-c", script, "infra-secrets", ...args], {
          input: stdin,
          encoding: "utf8",
          env: { PATH: `${bin}:${process.env.PATH}` },
        });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
      },
    };
  }

  const tricky = "line one\nquote \" and ' and \\ and $(touch x) and é\n";

  it("writes every file 0400 with its owner, in a directory only root may enter, byte for byte", () => {
    const machine = host();
    const result = machine.run(
      ["vpai-redis", "redis-auth.conf:999", "redis-password:999", "empty:0", "root-read:0"],
      secretFilesStdin(["requirepass x\n", tricky, "", "r"]),
    );
    expect(result.status, result.stderr).toBe(0);
    const dir = join(machine.root, "vpai-redis");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(dir).uid).toBe(0);
    expect(statSync(machine.root).mode & 0o777).toBe(0o700);
    for (const [name, uid, content] of [
      ["redis-auth.conf", 999, "requirepass x\n"],
      ["redis-password", 999, tricky],
      ["empty", 0, ""],
      ["root-read", 0, "r"],
    ] as const) {
      const file = join(dir, name);
      expect(readFileSync(file, "utf8"), name).toBe(content);
      expect(statSync(file).mode & 0o7777, name).toBe(0o400);
      expect(statSync(file).uid, name).toBe(uid);
    }
    expect(readdirSync(dir).sort()).toEqual(["empty", "redis-auth.conf", "redis-password", "root-read"]);
    // The container does not exist yet: it reads the files when it is created.
    expect(machine.calls()).toEqual(["inspect --format {{.State.Running}} vpai-redis"]);
    expect(result.stdout).not.toContain("requirepass");
  });

  it("rewrites a changed file in one rename and restarts the running container; an unchanged run touches nothing", () => {
    const machine = host();
    const args = ["vpai-postgres", "postgres-password:70", "other:70"];
    expect(machine.run(args, secretFilesStdin(["old", "same"])).status).toBe(0);
    const file = join(machine.root, "vpai-postgres", "postgres-password");
    // A hard link keeps the old inode: what a running container's bind mount holds.
    const held = join(machine.root, "..", "held");
    linkSync(file, held);
    const before = { password: statSync(file).ino, other: statSync(join(machine.root, "vpai-postgres", "other")).ino };
    machine.setContainer("running");

    const changed = machine.run(args, secretFilesStdin(["new", "same"]));
    expect(changed.status, changed.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(statSync(file).ino).not.toBe(before.password);
    expect(readFileSync(held, "utf8")).toBe("old");
    expect(statSync(join(machine.root, "vpai-postgres", "other")).ino).toBe(before.other);
    expect(readdirSync(join(machine.root, "vpai-postgres")).sort()).toEqual(["other", "postgres-password"]);
    expect(machine.calls().filter((call) => call.startsWith("restart"))).toEqual(["restart vpai-postgres"]);
    expect(changed.stdout).toContain("wrote postgres-password");

    const rewritten = statSync(file).ino;
    const again = machine.run(args, secretFilesStdin(["new", "same"]));
    expect(again.status).toBe(0);
    expect(statSync(file).ino).toBe(rewritten);
    expect(again.stdout).toBe("");
    expect(machine.calls().filter((call) => call.startsWith("restart"))).toEqual(["restart vpai-postgres"]);
  });

  it("restarts no stopped container, and rewrites a file whose owner or mode drifted", () => {
    const machine = host();
    const args = ["vpai-grafana", "grafana-admin-password:472"];
    expect(machine.run(args, secretFilesStdin(["pw"])).status).toBe(0);
    const file = join(machine.root, "vpai-grafana", "grafana-admin-password");
    chmodSync(file, 0o644);
    machine.setContainer("stopped");
    expect(machine.run(args, secretFilesStdin(["pw"])).status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o400);
    expect(machine.calls().filter((call) => call.startsWith("restart"))).toEqual([]);
  });

  it("removes a file no longer declared, and the empty directory Docker makes for a missing bind source", () => {
    const machine = host();
    expect(machine.run(["vpai-caddy", "admin-password:0", "old-file:0"], secretFilesStdin(["a", "b"])).status).toBe(0);
    mkdirSync(join(machine.root, "vpai-caddy", "admin-password-hash"));
    const result = machine.run(["vpai-caddy", "admin-password-hash:0"], secretFilesStdin(["$2y$10$hash"]));
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(join(machine.root, "vpai-caddy"))).toEqual(["admin-password-hash"]);
    expect(readFileSync(join(machine.root, "vpai-caddy", "admin-password-hash"), "utf8")).toBe("$2y$10$hash");
    expect(result.stdout).toContain("removed admin-password");
  });

  it.each<[string, string[], string, RegExp]>([
    ["stdin that ends inside a file", ["vpai-postgres", "a:0", "b:0"], "3\nabc5\nxy", /stdin ends inside b/],
    ["stdin that ends before a file", ["vpai-postgres", "a:0", "b:0"], "3\nabc", /stdin ends before b/],
    ["an argument that is not <name>:<uid>", ["vpai-postgres", "a:root"], "1\nx", /"a:root" is not <name>:<uid>/],
    ["a container name with a slash", ["../etc", "a:0"], "1\nx", /is not a container name/],
  ])("fails on %s and writes nothing", (_case, args, stdin, message) => {
    const machine = host();
    const result = machine.run(args, stdin);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(existsSync(machine.root)).toBe(false);
  });

  it("is removed with its container's mounts: kept while a container mounts the files, gone once none does", () => {
    const machine = host();
    const file = join(machine.root, "vpai-postgres", "postgres-password");
    const remove = removeSecretFilesCommand("vpai-postgres")
      .replace(/^sudo /, "")
      .replaceAll(SECRETS_HOST_DIR, machine.root);
    const run = () => spawnSync("sh", ["-c", remove], { encoding: "utf8", env: { PATH: `${machine.bin}:${process.env.PATH}` } });
    const write = () => expect(machine.run(["vpai-postgres", "postgres-password:70"], secretFilesStdin(["pw"])).status).toBe(0);
    write();
    // The command replaced after a rotation: the container runs on, mounting the rewritten file.
    machine.setContainer("running", ["/var/lib/docker/volumes/vpai-postgres-data/_data", file]);
    expect(run().status).toBe(0);
    expect(existsSync(file)).toBe(true);
    // The container replaced without secret files: nothing mounts them any more.
    machine.setContainer("running", ["/var/lib/docker/volumes/vpai-postgres-data/_data"]);
    expect(run().status).toBe(0);
    expect(existsSync(join(machine.root, "vpai-postgres"))).toBe(false);
    // The service removed: its container went first.
    write();
    machine.setContainer("absent");
    expect(run().status).toBe(0);
    expect(existsSync(join(machine.root, "vpai-postgres"))).toBe(false);
  });
});
