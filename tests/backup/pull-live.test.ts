import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupScript } from "../../components/backup/backup-script";
import { exportEnvironmentFile } from "../../components/backup/environment-file";
import type { BackupJob, JobPaths } from "../../components/backup/job";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../../components/backup/metrics";
import { pullAuthorizedKey, pullEnvironmentFile, pullScript, pullTextfileName, type PullJob, type PullPaths } from "../../components/backup/pull";
import { BACKUP_DEFAULTS } from "../../components/backup/settings";
import { startMinIO, type MinIO } from "../support/minio";
import { requireTool } from "../support/tools";
import { startHeartbeat, type Heartbeat } from "./local-job";
import { startPostgres, type LocalPostgres } from "./local-servers";

/**
 * Pulled backups, live: a "VPS" network namespace whose sshd listens only on
 * its WireGuard address and serves the dumps read-only through rrsync, an
 * "ops" namespace that pulls them over a real WireGuard link (wireguard-go,
 * since this kernel has no wireguard module) and pushes them into restic on
 * MinIO. The VPS's job is the generated one in pull mode; it holds no S3 key
 * and no restic password. PostgreSQL runs on 127.0.0.1 of this machine: the
 * dump job reaches it there, as a VPS's job reaches its container.
 */

const WG_PORT = 51820;
const ROWS = 5000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

function sh(command: string, args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): Run {
  const started = Date.now();
  const result = spawnSync(command, args, {
    encoding: "utf8",
    env: options.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    input: options.input ?? "",
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, seconds: (Date.now() - started) / 1000 };
}

/** As sh, but without blocking this process: the heartbeat monitor the script calls runs in it. */
function shAsync(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

function must(command: string, args: readonly string[], input?: string): string {
  const run = sh(command, args, input === undefined ? {} : { input });
  if (run.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

const ip = (...args: string[]) => must(requireTool("ip"), args);
const inNs = (ns: string, ...args: string[]) => must(requireTool("ip"), ["netns", "exec", ns, ...args]);

/** A long-running process inside a namespace, stopped by its own pid at the end. */
function spawnIn(ns: string, command: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(requireTool("ip"), ["netns", "exec", ns, command, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Namespaces {
  readonly ops: string;
  readonly vps: string;
  readonly minioAddress: string;
  readonly opsVpn: string;
  readonly vpsVpn: string;
  readonly wireguard: ChildProcess[];
  /** This machine's end of the link to the ops namespace. */
  readonly rootEnd: string;
}

/**
 * root <-veth-> ops <-veth-> vps, with WireGuard between ops and vps on the
 * second link. MinIO listens on root's end of the first link, the way the
 * bucket is reached over the Internet and not over the VPN.
 */
async function network(dir: string): Promise<Namespaces> {
  const id = randomInt(10, 250);
  const ops = `infra-ops-${process.pid}`;
  const vps = `infra-vps-${process.pid}`;
  const wireguard: ChildProcess[] = [];
  try {
    return await buildNetwork(dir, id, ops, vps, wireguard);
  } catch (error) {
    await removeNetwork({ ops, vps, wireguard, minioAddress: "", opsVpn: "", vpsVpn: "", rootEnd: `io${id}r` });
    throw error;
  }
}

async function buildNetwork(dir: string, id: number, ops: string, vps: string, wireguard: ChildProcess[]): Promise<Namespaces> {
  const [rootEnd, opsUp, opsDown, vpsEnd] = [`io${id}r`, `io${id}o`, `iv${id}o`, `iv${id}v`];
  ip("netns", "add", ops);
  ip("netns", "add", vps);
  ip("link", "add", rootEnd, "type", "veth", "peer", "name", opsUp);
  ip("link", "set", opsUp, "netns", ops);
  ip("addr", "add", `10.213.${id}.1/30`, "dev", rootEnd);
  ip("link", "set", rootEnd, "up");
  inNs(ops, "ip", "addr", "add", `10.213.${id}.2/30`, "dev", opsUp);
  inNs(ops, "ip", "link", "set", opsUp, "up");
  inNs(ops, "ip", "link", "set", "lo", "up");
  ip("link", "add", opsDown, "type", "veth", "peer", "name", vpsEnd);
  ip("link", "set", opsDown, "netns", ops);
  ip("link", "set", vpsEnd, "netns", vps);
  inNs(ops, "ip", "addr", "add", `10.214.${id}.1/30`, "dev", opsDown);
  inNs(ops, "ip", "link", "set", opsDown, "up");
  inNs(vps, "ip", "addr", "add", `10.214.${id}.2/30`, "dev", vpsEnd);
  inNs(vps, "ip", "link", "set", vpsEnd, "up");
  inNs(vps, "ip", "link", "set", "lo", "up");

  const wg = requireTool("wg");
  const wireguardGo = requireTool("wireguard");
  const keys = (name: string) => {
    const secret = must(wg, ["genkey"]).trim();
    const file = join(dir, `${name}.wgkey`);
    return { file, secret, publicKey: must(wg, ["pubkey"], `${secret}\n`).trim() };
  };
  const opsKey = keys("ops");
  const vpsKey = keys("vps");
  await writeFile(opsKey.file, `${opsKey.secret}\n`, { mode: 0o600 });
  await writeFile(vpsKey.file, `${vpsKey.secret}\n`, { mode: 0o600 });
  const opsVpn = "100.64.0.1";
  const vpsVpn = "100.64.0.2";
  for (const [ns, own, peer, address, peerAddress, endpoint] of [
    [ops, opsKey, vpsKey, opsVpn, vpsVpn, `10.214.${id}.2:${WG_PORT}`],
    [vps, vpsKey, opsKey, vpsVpn, opsVpn, `10.214.${id}.1:${WG_PORT}`],
  ] as const) {
    // wireguard-go's control socket is /var/run/wireguard/<name>.sock in every namespace, so each link has a name of its own.
    const link = `wg${id}${ns === ops ? "o" : "v"}`;
    // wireguard-go refuses to run on Linux unless told the kernel module is not an option.
    const child = spawnIn(ns, wireguardGo, ["-f", link], { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" });
    wireguard.push(child);
    await until(`wireguard-go's ${link} in ${ns}`, () => sh(requireTool("ip"), ["netns", "exec", ns, "ip", "link", "show", link]).code === 0);
    inNs(
      ns,
      wg,
      "set",
      link,
      "private-key",
      own.file,
      "listen-port",
      String(WG_PORT),
      "peer",
      peer.publicKey,
      "allowed-ips",
      `${peerAddress}/32`,
      "endpoint",
      endpoint,
      "persistent-keepalive",
      "5",
    );
    inNs(ns, "ip", "addr", "add", `${address}/32`, "peer", `${peerAddress}/32`, "dev", link);
    inNs(ns, "ip", "link", "set", link, "up");
  }
  // A datagram into the tunnel starts the handshake; the link is up once both ends have completed one.
  const handshaken = (ns: string, link: string) => {
    sh(requireTool("ip"), ["netns", "exec", ns, "bash", "-c", `echo > /dev/udp/${ns === ops ? vpsVpn : opsVpn}/9`]);
    return /\t[1-9]\d*$/m.test(sh(requireTool("ip"), ["netns", "exec", ns, wg, "show", link, "latest-handshakes"]).stdout);
  };
  await until("a WireGuard handshake", () => handshaken(ops, `wg${id}o`) && handshaken(vps, `wg${id}v`), 20_000);
  return { ops, vps, minioAddress: `10.213.${id}.1`, opsVpn, vpsVpn, wireguard, rootEnd };
}

async function removeNetwork(net: Namespaces | undefined): Promise<void> {
  if (!net) return;
  await Promise.all(net.wireguard.map(stopChild));
  for (const ns of [net.ops, net.vps]) spawnSync(requireTool("ip"), ["netns", "delete", ns]);
  spawnSync(requireTool("ip"), ["link", "delete", net.rootEnd]);
}

interface NamespacedSSHD {
  readonly hostKeyFile: string;
  readonly hostPublicKey: string;
  readonly child: ChildProcess;
}

/** An sshd inside `ns` listening on `address` only, letting in exactly the keys of `authorizedKeys`. */
async function sshd(ns: string, address: string, dir: string, authorizedKeys: string): Promise<NamespacedSSHD> {
  mkdirSync(dir, { recursive: true });
  const hostKeyFile = join(dir, "host_key");
  must(requireTool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", `${ns}-host`, "-f", hostKeyFile]);
  await writeFile(join(dir, "authorized_keys"), authorizedKeys, { mode: 0o600 });
  if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { mode: 0o755 });
  await writeFile(
    join(dir, "sshd_config"),
    [
      "Port 22",
      `ListenAddress ${address}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "AuthenticationMethods publickey",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const child = spawnIn(ns, requireTool("sshd"), ["-D", "-e", "-f", join(dir, "sshd_config")]);
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  await until(`sshd in ${ns} on ${address}:22`, () => log.includes("Server listening") || child.exitCode !== null);
  if (child.exitCode !== null) throw new Error(`sshd in ${ns} exited: ${log}`);
  return { hostKeyFile, hostPublicKey: (await readFile(`${hostKeyFile}.pub`, "utf8")).trim(), child };
}

/** Every regular file below `dir`, with its content. */
async function filesBelow(dir: string): Promise<{ path: string; content: Buffer }[]> {
  const found: { path: string; content: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) found.push({ path, content: await readFile(path) });
  }
  return found;
}

describe("pulled backups over WireGuard (live: wireguard-go, sshd with rrsync -ro, PostgreSQL 15, restic, MinIO)", () => {
  let dir: string;
  let net: Namespaces;
  let minio: MinIO;
  let postgres: LocalPostgres;
  let heartbeat: Heartbeat;
  let vpsSSHD: NamespacedSSHD;
  let opsSSHD: NamespacedSSHD;
  let vpsDir: string;
  let job: BackupJob;
  let vpsPaths: JobPaths;
  let pull: PullJob;
  let opsPaths: PullPaths;
  let resticPassword: string;
  const timings: Record<string, number> = {};

  const dump = () =>
    sh(requireTool("bash"), ["-c", backupScript(job)], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, TMPDIR: dir, INFRA_BACKUP_ENV: vpsPaths.envFile, ...postgres.env },
    });
  const pullNow = () =>
    shAsync(requireTool("ip"), ["netns", "exec", net.ops, requireTool("bash"), "-c", pullScript(pull)], {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      TMPDIR: dir,
      INFRA_PULL_ENV: opsPaths.envFile,
    });
  const restic = (args: readonly string[], env: Record<string, string> = {}) =>
    sh(requireTool("restic"), ["--no-cache", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        RESTIC_REPOSITORY: pull.repository,
        RESTIC_PASSWORD: resticPassword,
        AWS_ACCESS_KEY_ID: minio.accessKeyId,
        AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
        AWS_DEFAULT_REGION: minio.region,
        ...env,
      },
    });
  const snapshots = () => JSON.parse(restic(["snapshots", "--json"]).stdout) as { id: string; hostname: string; paths: string[] }[];
  const metrics = async () => {
    const text = await readFile(join(opsPaths.textfileDir, pullTextfileName("main")), "utf8");
    return Object.fromEntries([...text.matchAll(/^(\w+)\{[^}]*\} (\d+)$/gm)].map((match) => [match[1]!, Number(match[2])]));
  };

  beforeAll(async () => {
    const started = Date.now();
    dir = await mkdtemp(join(tmpdir(), "pull-live-"));
    await chmod(dir, 0o755);
    net = await network(dir);
    timings.wireguardSeconds = (Date.now() - started) / 1000;
    [minio, postgres, heartbeat] = await Promise.all([startMinIO({ address: net.minioAddress }), startPostgres(), startHeartbeat(net.minioAddress)]);

    // The VPS: its job in pull mode, and an sshd on its VPN address that lets
    // the ops host's key run rrsync -ro on the export and nothing else.
    vpsDir = join(dir, "vps");
    mkdirSync(vpsDir);
    vpsPaths = {
      envFile: join(vpsDir, "backup.env"),
      stagingDir: join(vpsDir, "staging"),
      stateDir: join(vpsDir, "state"),
      textfileDir: join(vpsDir, "textfile"),
    };
    job = {
      server: "main",
      settings: BACKUP_DEFAULTS,
      repository: "",
      sources: [{ kind: "postgres", service: "postgres", access: { kind: "local" }, user: "postgres", databases: ["n8n"] }],
      export: { dir: join(vpsDir, "export") },
    };
    await writeFile(vpsPaths.envFile, exportEnvironmentFile(job, vpsPaths), { mode: 0o600 });
    const opsDir = join(dir, "ops");
    mkdirSync(opsDir);
    const pullKey = join(opsDir, "pull.key");
    must(requireTool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", "ops-pull", "-f", pullKey]);
    vpsSSHD = await sshd(net.vps, net.vpsVpn, join(vpsDir, "sshd"), pullAuthorizedKey(await readFile(`${pullKey}.pub`, "utf8"), net.opsVpn, job.export!.dir));

    // The ops host: the only holder of the repository's password and the storage keys.
    const adminKey = join(opsDir, "admin.key");
    must(requireTool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", "admin", "-f", adminKey]);
    opsSSHD = await sshd(net.ops, net.opsVpn, join(opsDir, "sshd"), await readFile(`${adminKey}.pub`, "utf8"));
    resticPassword = "ops-host-restic-password";
    opsPaths = {
      envFile: join(opsDir, "pull.env"),
      pullDir: join(opsDir, "pull"),
      stateDir: join(opsDir, "state"),
      textfileDir: join(opsDir, "textfile"),
      keyFile: pullKey,
      knownHostsFile: join(opsDir, "known_hosts"),
    };
    await writeFile(opsPaths.knownHostsFile, `${net.vpsVpn} ${vpsSSHD.hostPublicKey}\n`);
    for (const bucket of ["vpai-backups", "vpai-shared"])
      must(requireTool("curl"), [
        "--fail",
        "--silent",
        "--show-error",
        "--aws-sigv4",
        `aws:amz:${minio.region}:s3`,
        "--user",
        `${minio.accessKeyId}:${minio.secretAccessKey}`,
        "-X",
        "PUT",
        `${minio.endpoint}/${bucket}`,
      ]);
    pull = {
      server: "main",
      address: net.vpsVpn,
      sshPort: 22,
      account: "root",
      settings: BACKUP_DEFAULTS,
      repository: `s3:${minio.endpoint}/vpai-backups/restic/main`,
      seedDataUrl: `${minio.endpoint}/vpai-shared/seed-data/main`,
    };
    await writeFile(
      opsPaths.envFile,
      pullEnvironmentFile(
        pull,
        opsPaths,
        { resticPassword, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey, heartbeatUrl: heartbeat.url },
        minio.region,
      ),
      { mode: 0o600 },
    );

    postgres.psql("CREATE DATABASE n8n");
    postgres.psql(
      `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, ${ROWS}) i;`,
      "n8n",
    );
    timings.setupSeconds = (Date.now() - started) / 1000;
  }, 120_000);

  afterAll(async () => {
    process.stdout.write(`pull-live timings: ${JSON.stringify(timings)}\n`);
    await Promise.all([stopChild(vpsSSHD?.child), stopChild(opsSSHD?.child), minio?.stop(), postgres?.stop(), heartbeat?.stop()]);
    await removeNetwork(net);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the VPS's job writes the dumps into its export and holds no S3 key, no restic password and no heartbeat URL", async () => {
    const run = dump();
    timings.dumpSeconds = run.seconds;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("published the dumps");
    expect((await readFile(join(job.export!.dir, "current", "postgres", "postgres", "n8n.dump"))).subarray(0, 5).toString()).toBe("PGDMP");
    expect(await readFile(join(job.export!.dir, "current", "counts.tsv"), "utf8")).toContain(`postgres\tn8n/public.items\t${ROWS}\n`);
    const env = await readFile(vpsPaths.envFile, "utf8");
    expect(env).not.toMatch(/RESTIC_|AWS_|HEARTBEAT/);
    expect(backupScript(job)).not.toMatch(/\brestic\b (backup|forget|prune|init)/);
  });

  it("the ops host pulls over WireGuard with the pinned host key, snapshots into restic, copies the seed data and sends one heartbeat", async () => {
    const run = await pullNow();
    timings.firstPullSeconds = run.seconds;
    expect(run.code, run.stderr).toBe(0);
    expect(heartbeat.hits()).toBe(1);
    expect((await metrics())[LAST_EXIT_CODE_METRIC]).toBe(0);
    const list = snapshots();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ hostname: "main", paths: [opsPaths.pullDir] });
    // The seed data is in the shared bucket as plain files, readable with the ops host's key.
    const seeded = must(requireTool("curl"), [
      "--fail",
      "--silent",
      "--aws-sigv4",
      `aws:amz:${minio.region}:s3`,
      "--user",
      `${minio.accessKeyId}:${minio.secretAccessKey}`,
      `${minio.endpoint}/vpai-shared/seed-data/main/counts.tsv`,
    ]);
    expect(seeded).toContain(`postgres\tn8n/public.items\t${ROWS}\n`);
    // The SSH session went to the VPN address: the VPS's sshd listens nowhere else.
    expect(
      sh(requireTool("ip"), ["netns", "exec", net.vps, "ss", "-Hltn"])
        .stdout.trim()
        .split("\n")
        .filter((line) => line.includes(":22 ")),
    ).toEqual([expect.stringContaining(`${net.vpsVpn}:22`)]);
  });

  it("restores the pulled snapshot into a fresh database with 0 rows lost", async () => {
    const target = join(dir, "restore");
    const started = Date.now();
    const run = restic(["restore", "latest", "--target", target]);
    expect(run.code, run.stderr).toBe(0);
    const dumpFile = join(target, opsPaths.pullDir, "postgres", "postgres", "n8n.dump");
    postgres.psql("CREATE DATABASE n8n_restored");
    must(requireTool("pg_restore"), [
      "--host",
      "127.0.0.1",
      "--port",
      String(postgres.port),
      "--username",
      "postgres",
      "--dbname",
      "n8n_restored",
      "--no-owner",
      "--exit-on-error",
      dumpFile,
    ]);
    timings.restoreSeconds = (Date.now() - started) / 1000;
    const before = Number(postgres.psql("SELECT count(*) FROM items", "n8n"));
    const after = Number(postgres.psql("SELECT count(*) FROM items", "n8n_restored"));
    timings.rowsBefore = before;
    timings.rowsAfter = after;
    expect(before).toBe(ROWS);
    expect(after).toBe(before);
    expect(postgres.psql("SELECT md5(string_agg(id || name, ',' ORDER BY id)) FROM items", "n8n_restored")).toBe(
      postgres.psql("SELECT md5(string_agg(id || name, ',' ORDER BY id)) FROM items", "n8n"),
    );
  });

  it("a pull with no newer dump on the VPS fails, records the failure and sends no heartbeat", async () => {
    const run = await pullNow();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("its backup job did not run");
    expect(heartbeat.hits()).toBe(1);
    expect((await metrics())[LAST_EXIT_CODE_METRIC]).not.toBe(0);
    expect(snapshots()).toHaveLength(1);
  });

  it("with everything the VPS holds, no snapshot can be deleted or overwritten", async () => {
    // 1. No credential of the repository or the bucket is in any file the VPS holds.
    const secrets = [resticPassword, minio.accessKeyId, minio.secretAccessKey];
    const held = await filesBelow(vpsDir);
    expect(held.length).toBeGreaterThan(5);
    for (const file of held) for (const secret of secrets) expect(file.content.includes(secret), `${file.path} holds a repository credential`).toBe(false);

    // 2. Without credentials MinIO refuses to list or delete anything.
    const deleteAnonymously = sh(requireTool("curl"), [
      "--silent",
      "--output",
      "/dev/null",
      "--write-out",
      "%{http_code}",
      "-X",
      "DELETE",
      `${minio.endpoint}/vpai-backups/restic/main/config`,
    ]);
    expect(deleteAnonymously.stdout).toBe("403");
    const forget = restic(["forget", "--keep-last", "0", "latest"], { RESTIC_PASSWORD: "", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" });
    expect(forget.code).not.toBe(0);

    // 3. The VPS's own key (its host key is the only private key it has) does not get into the ops host.
    const vpsKeyLogin = sh(
      requireTool("ip"),
      [
        "netns",
        "exec",
        net.vps,
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        vpsSSHD.hostKeyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        `root@${net.opsVpn}`,
        "true",
      ],
      { env: { PATH: process.env.PATH ?? "", HOME: dir } },
    );
    expect(vpsKeyLogin.code).toBe(255);
    expect(vpsKeyLogin.stderr).toContain("Permission denied");

    // 4. The export is read-only even to the ops host's key: rrsync refuses a write, and any other command.
    const rsh = `ssh -F /dev/null -i ${opsPaths.keyFile} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${opsPaths.knownHostsFile}`;
    const poisoned = join(dir, "poisoned.dump");
    await writeFile(poisoned, "not a dump\n");
    const write = sh(
      requireTool("ip"),
      ["netns", "exec", net.ops, "rsync", `--rsh=${rsh}`, poisoned, `root@${net.vpsVpn}:current/postgres/postgres/n8n.dump`],
      { env: { PATH: process.env.PATH ?? "", HOME: dir } },
    );
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/read-only/);
    const shell = sh(requireTool("ip"), ["netns", "exec", net.ops, "ssh", ...rsh.split(" ").slice(1), `root@${net.vpsVpn}`, "rm -rf current"], {
      env: { PATH: process.env.PATH ?? "", HOME: dir },
    });
    expect(shell.code).not.toBe(0);
    expect((await stat(join(job.export!.dir, "current", "postgres", "postgres", "n8n.dump"))).size).toBeGreaterThan(100);
    // The key works from the ops host's VPN address only (from=).
    const elsewhere = sh(
      requireTool("ip"),
      ["netns", "exec", net.vps, "rsync", `--rsh=${rsh}`, `root@${net.vpsVpn}:current/counts.tsv`, join(dir, "stolen.tsv")],
      { env: { PATH: process.env.PATH ?? "", HOME: dir } },
    );
    expect(elsewhere.code).not.toBe(0);

    // 5. A taken-over VPS that publishes a destroyed database only adds a snapshot: the good one stays and restores.
    const good = snapshots()[0]!.id;
    postgres.psql("TRUNCATE items", "n8n");
    expect(dump().code).toBe(0);
    const afterAttack = await pullNow();
    expect(afterAttack.code, afterAttack.stderr).toBe(0);
    const list = snapshots();
    expect(list.map((snapshot) => snapshot.id)).toContain(good);
    expect(list).toHaveLength(2);
    const target = join(dir, "restore-good");
    expect(restic(["restore", good, "--target", target]).code).toBe(0);
    const counts = await readFile(join(target, opsPaths.pullDir, "counts.tsv"), "utf8");
    expect(counts).toContain(`postgres\tn8n/public.items\t${ROWS}\n`);
    expect((await metrics())[LAST_SUCCESS_METRIC]).toBeGreaterThan(0);
  });
});
