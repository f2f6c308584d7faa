import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BACKUP_BEFORE_REPLACE_SCRIPT, backupBeforeReplaceCommand } from "../../components/backup/before-replace";
import { outputTail } from "../../components/remote/command-failure";
import { shellcheck } from "../support/validators";

interface Host {
  /** Whether `docker inspect` finds the container. */
  readonly container: boolean;
  /** Whether `systemctl cat` finds the backup unit. */
  readonly unit: boolean;
  /** Whether `systemctl start` of the unit succeeds. */
  readonly backupSucceeds: boolean;
}

/**
 * Runs the step as the host's shell gets it (the command line, the script on
 * stdin) with `sudo`, `docker`, `systemctl` and `journalctl` on PATH that
 * answer as `host` says and record what they were asked.
 */
function runStep(host: Host, container = "fastapi-main-postgres") {
  const dir = mkdtempSync(join(tmpdir(), "infra-backup-first-"));
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/bash\necho "${name} $*" >> "${dir}/calls"\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool("sudo", '"$@"');
  tool("docker", host.container ? "exit 0" : 'echo "Error: No such object: $2" >&2; exit 1');
  tool(
    "systemctl",
    `case "$1" in
  cat) ${host.unit ? "exit 0" : "echo 'No files found for infra-backup.service.' >&2; exit 1"} ;;
  start) ${host.backupSucceeds ? "exit 0" : "exit 1"} ;;
  show) echo "Mon 2026-12-07 05:27:32 UTC" ;;
esac`,
  );
  tool("journalctl", 'echo "infra-backup [error] restic: repository is locked"');
  const run = spawnSync("bash", ["-c", backupBeforeReplaceCommand(container)], {
    input: BACKUP_BEFORE_REPLACE_SCRIPT,
    encoding: "utf8",
    env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
    timeout: 30_000,
  });
  const calls = spawnSync("cat", [join(dir, "calls")], { encoding: "utf8" }).stdout;
  return { code: run.status, output: run.stdout + run.stderr, calls };
}

describe("the backup a stateful container gets before it is replaced", () => {
  it("is a script shellcheck accepts", () => {
    const result = shellcheck(BACKUP_BEFORE_REPLACE_SCRIPT);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("runs the host's backup unit when the container exists and the job is installed", () => {
    const step = runStep({ container: true, unit: true, backupSucceeds: true });
    expect(step.code).toBe(0);
    expect(step.calls).toContain("systemctl start infra-backup.service");
    expect(step.output).toContain("backup done (Mon 2026-12-07 05:27:32 UTC); fastapi-main-postgres may be replaced");
  });

  it("skips on a first deploy, when there is no container and so no data yet", () => {
    const step = runStep({ container: false, unit: true, backupSucceeds: true });
    expect(step.code).toBe(0);
    expect(step.calls).not.toContain("systemctl start");
    expect(step.output).toContain("fastapi-main-postgres does not exist yet");
  });

  it("fails, and the replacement with it, when the backup fails; the error shown names the container", () => {
    const step = runStep({ container: true, unit: true, backupSucceeds: false });
    expect(step.code).toBe(1);
    // What `pulumi up` shows is the tail with every line of stdin taken out: the name must survive it.
    const tail = outputTail(step.output, BACKUP_BEFORE_REPLACE_SCRIPT);
    expect(tail).toContain("infra-backup [error] restic: repository is locked");
    expect(tail.at(-1)).toBe("the backup before replacing fastapi-main-postgres failed; fastapi-main-postgres was not replaced");
  });

  it("fails when the job is not installed instead of replacing without a backup", () => {
    const step = runStep({ container: true, unit: false, backupSucceeds: true });
    expect(step.code).toBe(1);
    expect(step.calls).not.toContain("systemctl start");
    expect(outputTail(step.output, BACKUP_BEFORE_REPLACE_SCRIPT).at(-1)).toBe(
      "the backup job (infra-backup.service) is not installed, so no backup can be taken; fastapi-main-postgres was not replaced",
    );
  });

  it("passes a container name to the host as one quoted word", () => {
    const step = runStep({ container: false, unit: true, backupSucceeds: true }, "x$(touch /tmp/owned);y");
    expect(step.code).toBe(0);
    expect(step.calls).toContain("docker inspect x$(touch /tmp/owned);y");
    expect(step.output).toContain("x$(touch /tmp/owned);y does not exist yet");
  });
});
