import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FAIL2BAN_JAIL_PATH, hardeningFiles, SSHD_DROP_IN_PATH } from "../../components/compute/host-hardening";
import {
  cloudInitUserData,
  DAEMON_JSON_PATH,
  dockerDaemonConfig,
  FIREWALL_SCRIPT_PATH,
  HOST_PACKAGES,
  HOST_READY_COMMAND,
  hostFiles,
  hostPrepareScript,
  readFilesOfScript,
  readPackagesOfScript,
  readUserData,
} from "../../components/compute/host-setup";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { cloudInitSchema, shellcheck, validateFile } from "../support/validators";
import { requireTool } from "../support/tools";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL admin@infra";

describe("host setup", () => {
  it("daemon.json rotates logs and hardens the daemon (H5, C12)", () => {
    expect(dockerDaemonConfig()).toEqual({
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
      "live-restore": true,
      "no-new-privileges": true,
      "userland-proxy": false,
    });
  });

  it("the existing-host script passes shellcheck and installs every host file, byte for byte", () => {
    const script = hostPrepareScript({ sshUser: "deploy" });
    expect(shellcheck(script)).toEqual({ ok: true, output: "" });
    expect(readFilesOfScript(script)).toEqual(new Map(hostFiles({ sshUser: "deploy" }).map((file) => [file.path, file.content])));
    expect(JSON.parse(readFilesOfScript(script).get(DAEMON_JSON_PATH)!)).toEqual(dockerDaemonConfig());
    expect(readPackagesOfScript(script)).toEqual([...HOST_PACKAGES]);
  });

  it("cloud-init and the SSH script give a host the same files", () => {
    const fromCloudInit = readUserData(cloudInitUserData({ sshUser: "deploy", sshPublicKey: key })).files;
    const fromScript = readFilesOfScript(hostPrepareScript({ sshUser: "deploy" }));
    expect(fromCloudInit).toEqual(fromScript);
  });

  it("an admin that is root keeps key logins; any other admin locks root out (H1)", () => {
    const root = readFilesOfScript(hostPrepareScript({ sshUser: "root" })).get(SSHD_DROP_IN_PATH)!;
    const deploy = readFilesOfScript(hostPrepareScript({ sshUser: "deploy" })).get(SSHD_DROP_IN_PATH)!;
    expect(root).toMatch(/^PermitRootLogin prohibit-password$/m);
    expect(deploy).toMatch(/^PermitRootLogin no$/m);
  });

  it("shellcheck does fail on a broken script, so the checks above mean something", () => {
    expect(shellcheck("#!/usr/bin/env bash\necho $undefined_var\nif [ 1 = 1 ]\n").ok).toBe(false);
  });

  it.each([
    ["without a data volume or firewall", {}],
    ["with a data volume", { dataVolumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_1234" }],
    [
      "with the host firewall",
      {
        firewall: {
          rules: firewallRules([{ port: 443, protocol: "tcp", service: "caddy" }], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: true, sshPort: 22 }),
        },
      },
    ],
    [
      "with the host firewall and private-network peers",
      {
        firewall: {
          rules: firewallRules([], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: true, sshPort: 22 }),
          peers: { address: "10.0.1.2", sourceCidr: "10.0.0.0/16", ports: [{ port: 6432, protocol: "tcp" as const, service: "pgbouncer" }] },
        },
      },
    ],
  ])("cloud-init user-data %s passes `cloud-init schema`", (_case, extra) => {
    const userData = cloudInitUserData({ sshUser: "deploy", sshPublicKey: key, ...extra });
    const result = cloudInitSchema(userData);
    expect(result.output).toContain("Valid");
    expect(result.ok).toBe(true);
    const document = parse(userData);
    expect(document.users[0]).toMatchObject({ name: "deploy", lock_passwd: true, ssh_authorized_keys: [key] });
    expect(document.ssh_pwauth).toBe(false);
    expect(document.packages).toEqual([...HOST_PACKAGES]);
    const commands: string[][] = document.runcmd;
    // sshd checks its configuration before it is reloaded with it.
    expect(commands.findIndex((command) => command.join(" ") === "sshd -t")).toBeLessThan(
      commands.findIndex((command) => command.join(" ") === "systemctl try-reload-or-restart ssh"),
    );
    if ("dataVolumeDevice" in extra) expect(document.mounts[0].slice(0, 2)).toEqual([extra.dataVolumeDevice, "/var/lib/docker/volumes"]);
    if ("firewall" in extra) {
      expect(readUserData(userData).files.get(FIREWALL_SCRIPT_PATH)).toBe(
        ufwScript(extra.firewall.rules, "peers" in extra.firewall ? extra.firewall.peers : undefined),
      );
      expect(commands.at(-1)).toEqual([FIREWALL_SCRIPT_PATH]);
    } else {
      expect(readUserData(userData).files.has(FIREWALL_SCRIPT_PATH)).toBe(false);
    }
  });

  it("cloud-init schema rejects invalid user-data, so the check above can fail", () => {
    expect(cloudInitSchema("#cloud-config\nusers: 42\npackages: {a: 1}\n").ok).toBe(false);
  });
});

/**
 * The file-writing part of the real preparation script, run with bash over a
 * scratch root. systemctl, sshd and sysctl are shell functions that record
 * their calls, so what the script would restart can be read back.
 */
function runFileSteps(script: string, root: string): string[] {
  const start = script.indexOf("put_file() {");
  const end = script.indexOf("systemctl enable --now docker");
  expect(start).toBeGreaterThan(0);
  const steps = script.slice(start, end).replace(/^changed=\//gm, 'changed="$ROOT"/');
  const log = join(root, "calls.log");
  writeFileSync(log, "");
  const stubs = ["systemctl", "sshd", "sysctl"].map((tool) => `${tool}() { echo "${tool} $*" >> "$LOG"; }`).join("\n");
  const result = spawnSync(requireTool("bash"), ["--norc", "--noprofile", "-euo", "pipefail", "-c", `${stubs}\n${steps}`], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ROOT: root, LOG: log },
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return readFileSync(log, "utf8").split("\n").filter(Boolean);
}

describe("the preparation script's file steps, run by bash", () => {
  it("write each file and restart its service once, then change nothing on a second run", () => {
    const root = mkdtempSync(join(tmpdir(), "host-root-"));
    try {
      const script = hostPrepareScript({ sshUser: "deploy" });
      expect(runFileSteps(script, root)).toEqual([
        "systemctl restart docker",
        "sshd -t",
        "systemctl try-reload-or-restart ssh",
        "systemctl restart fail2ban",
        expect.stringMatching(/^sysctl --quiet --load .*\/etc\/sysctl\.d\/60-infra\.conf$/),
      ]);
      for (const file of hostFiles({ sshUser: "deploy" })) expect(readFileSync(join(root, file.path), "utf8"), file.path).toBe(file.content);
      expect(runFileSteps(script, root)).toEqual([]);

      // A file edited on the host is put back, and only its service restarts.
      writeFileSync(join(root, FAIL2BAN_JAIL_PATH), "[sshd]\nenabled = false\n");
      expect(runFileSteps(script, root)).toEqual(["systemctl restart fail2ban"]);
      expect(readFileSync(join(root, FAIL2BAN_JAIL_PATH), "utf8")).toBe(
        hardeningFiles({ sshUser: "deploy" }).find((file) => file.path === FAIL2BAN_JAIL_PATH)!.content,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("removes an sshd drop-in that sshd rejects, so a later restart cannot lock the admin out", () => {
    const root = mkdtempSync(join(tmpdir(), "host-root-"));
    try {
      const failingSshd = hostPrepareScript({ sshUser: "deploy" }).replace("put_file() {", 'sshd() { echo "sshd $*" >> "$LOG"; return 1; }\nput_file() {');
      const start = failingSshd.indexOf("sshd() {");
      const steps = failingSshd.slice(start, failingSshd.indexOf("systemctl enable --now docker")).replace(/^changed=\//gm, 'changed="$ROOT"/');
      const log = join(root, "calls.log");
      const result = spawnSync(
        requireTool("bash"),
        ["--norc", "--noprofile", "-euo", "pipefail", "-c", `systemctl() { echo "systemctl $*" >> "$LOG"; }\n${steps}`],
        { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ROOT: root, LOG: log } },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("sshd rejected");
      expect(spawnSync("test", ["-e", join(root, SSHD_DROP_IN_PATH)]).status).not.toBe(0);
      expect(readFileSync(log, "utf8")).not.toContain("try-reload-or-restart ssh");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

interface ReadyHost {
  /** What `cloud-init status --wait --long` prints and exits with; no cloud-init on the host when absent. */
  readonly cloudInit?: { readonly report: string; readonly code: number };
  readonly uid?: number;
  readonly groups?: string;
  readonly dockerAnswers?: boolean;
}

/**
 * Runs the readiness check with sh on a stand-in host: cloud-init, sudo, id
 * and docker are stubs on a PATH that holds nothing else but the few real
 * tools the check pipes through (and cat, for the stubs), so "no cloud-init"
 * means none at all.
 */
function runReadiness(host: ReadyHost): { status: number | null; stdout: string; stderr: string; calls: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "host-ready-"));
  try {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const tool of ["sed", "head", "tr", "grep", "cat"]) symlinkSync(requireTool(tool), join(bin, tool));
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!${requireTool("sh")}\necho "${name} $*" >> "$CALLS"\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    if (host.cloudInit) stub("cloud-init", `cat <<'REPORT'\n${host.cloudInit.report}\nREPORT\nexit ${host.cloudInit.code}`);
    stub("sudo", '[ "$1" = -n ] && shift\nexec "$@"');
    stub(
      "id",
      `case "$*" in -u) echo ${host.uid ?? 1000} ;; -un) echo deploy ;; "-nG deploy") echo "${host.groups ?? "deploy sudo docker"}" ;; *) exit 1 ;; esac`,
    );
    stub("docker", host.dockerAnswers === false ? 'echo "Cannot connect to the Docker daemon" >&2\nexit 1' : "echo 27.5.1");
    const calls = join(dir, "calls");
    writeFileSync(calls, "");
    const result = spawnSync(requireTool("sh"), ["-c", HOST_READY_COMMAND], { encoding: "utf8", env: { PATH: bin, CALLS: calls } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: readFileSync(calls, "utf8").split("\n").filter(Boolean) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the readiness check, run by sh with a stub cloud-init", () => {
  const done = {
    report: "status: done\nextended_status: done\nboot_status_code: enabled-by-generator\ndetail: DataSourceHetzner\nerrors: []\nrecoverable_errors: {}",
    code: 0,
  };

  it("passes shellcheck as POSIX sh", () => {
    expect(validateFile("shellcheck", (file) => ["--shell=sh", "--severity=style", file], HOST_READY_COMMAND, "ready.sh")).toEqual({ ok: true, output: "" });
  });

  it("waits for cloud-init as root, then asks the daemon its version", () => {
    const result = runReadiness({ cloudInit: done });
    expect(result).toMatchObject({ status: 0, stdout: "27.5.1\n", stderr: "" });
    expect(result.calls).toEqual([
      "id -u",
      "sudo -n cloud-init status --wait --long",
      "cloud-init status --wait --long",
      "id -un",
      "id -nG deploy",
      "id -u",
      "sudo -n docker info --format {{.ServerVersion}}",
      "docker info --format {{.ServerVersion}}",
    ]);
  });

  it("is fine on a host without cloud-init (an existing VPS), or with cloud-init disabled", () => {
    expect(runReadiness({})).toMatchObject({ status: 0, stdout: "27.5.1\n" });
    expect(runReadiness({ cloudInit: { report: "status: disabled", code: 0 } })).toMatchObject({ status: 0, stdout: "27.5.1\n" });
  });

  it.each([
    [
      "failed (status error, exit code 1)",
      {
        report:
          "status: error\nextended_status: error - done\nerrors:\n\t- ('scripts_user', RuntimeError('Runparts: 1 failures (runcmd) in 1 attempted commands'))",
        code: 1,
      },
      "(error - done, exit code 1)",
    ],
    [
      "degraded (recoverable errors, exit code 2)",
      { report: "status: done\nextended_status: degraded done\nrecoverable_errors:\nWARNING:\n\t- Failed to write ssh_keys", code: 2 },
      "(degraded done, exit code 2)",
    ],
    [
      "failed, from a cloud-init older than 23.4",
      { report: "status: error\ntime: Thu, 05 Dec 2024 10:00:00 +0000\ndetail:\n('scripts_user', RuntimeError('Runparts: 1 failures'))", code: 1 },
      "(error, exit code 1)",
    ],
    ["failed, though it exited 0", { report: "status: error", code: 0 }, "(error, exit code 0)"],
  ])("fails when cloud-init %s, with its report, and never asks Docker", (_case, cloudInit, summary) => {
    const result = runReadiness({ cloudInit });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`cloud-init did not finish cleanly on this host ${summary}, so it is not ready. Its report:\n${cloudInit.report}\n`);
    expect(result.stderr).toContain("/var/log/cloud-init-output.log");
    expect(result.calls.filter((call) => call.startsWith("docker"))).toEqual([]);
  });

  it("fails when the SSH user is not in the docker group the Docker provider needs", () => {
    const result = runReadiness({ cloudInit: done, groups: "deploy sudo" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("deploy is not in the docker group");
  });

  it("fails when the daemon does not answer", () => {
    const result = runReadiness({ cloudInit: done, dockerAnswers: false });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Cannot connect to the Docker daemon");
  });

  it("runs cloud-init and docker without sudo as root", () => {
    const result = runReadiness({ cloudInit: done, uid: 0 });
    expect(result.status).toBe(0);
    expect(result.calls.filter((call) => call.startsWith("sudo"))).toEqual([]);
  });
});
