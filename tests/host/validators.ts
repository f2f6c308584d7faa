import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "../support/tools";

export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Wall-clock milliseconds spent in each validator, for the timing summary. */
export const validatorTimes = new Map<string, { runs: number; ms: number }>();

/** Adds the time of one validator run (for validators that run through tests/support/validators.ts). */
export function timedRun<T>(tool: string, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    const entry = validatorTimes.get(tool) ?? { runs: 0, ms: 0 };
    validatorTimes.set(tool, { runs: entry.runs + 1, ms: entry.ms + performance.now() - started });
  }
}

/** Runs a real tool in a scratch directory populated by `prepare`, and times it. */
export function runTool(tool: string, prepare: (dir: string) => string[], env: Record<string, string> = {}): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), `${tool}-`));
  try {
    const args = prepare(dir);
    const started = performance.now();
    const result = spawnSync(requireTool(tool), args, {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...env },
      timeout: 30_000,
    });
    const entry = validatorTimes.get(tool) ?? { runs: 0, ms: 0 };
    validatorTimes.set(tool, { runs: entry.runs + 1, ms: entry.ms + performance.now() - started });
    if (result.error) throw result.error;
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hostKey(dir: string): string {
  const key = join(dir, "host_ed25519_key");
  const result = spawnSync(requireTool("ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-f", key], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return key;
}

/**
 * `sshd -t` (or `-T`, which prints the effective settings) on a main config
 * laid out as Ubuntu's: Include of sshd_config.d first, then the
 * distribution's own lines. `dropIns` are file name to content.
 */
export function sshd(mode: "-t" | "-T", dropIns: Record<string, string>, mainTail = ""): ToolResult {
  return runTool("sshd", (dir) => {
    mkdirSync(join(dir, "sshd_config.d"));
    for (const [name, content] of Object.entries(dropIns)) writeFileSync(join(dir, "sshd_config.d", name), content);
    writeFileSync(join(dir, "sshd_config"), `Include ${join(dir, "sshd_config.d")}/*.conf\n${mainTail}`);
    return [mode, "-f", join(dir, "sshd_config"), "-h", hostKey(dir)];
  });
}

/** sshd's effective settings as a map, from `sshd -T`. */
export function sshdEffective(dropIns: Record<string, string>, mainTail = ""): Map<string, string> {
  const result = sshd("-T", dropIns, mainTail);
  if (!result.ok) throw new Error(`sshd -T failed: ${result.output}`);
  return new Map(
    result.output
      .trim()
      .split("\n")
      .map((line) => [line.split(" ")[0]!, line.slice(line.indexOf(" ") + 1)]),
  );
}

/**
 * fail2ban's own configuration reader over a copy of the packaged
 * /etc/fail2ban with `jail` added to jail.d: `-t` tests it, `-d` dumps the
 * commands the server would receive (only enabled jails appear there).
 */
export function fail2ban(mode: "-t" | "-d", jailFile: string, jail: string): ToolResult {
  return runTool("fail2ban-client", (dir) => {
    const config = join(dir, "fail2ban");
    cpSync("/etc/fail2ban", config, { recursive: true });
    writeFileSync(join(config, "jail.d", jailFile), jail);
    return ["-c", config, mode];
  });
}

/** `caddy validate`: adapts the Caddyfile and provisions every module, without serving (its storage lands in the scratch HOME). */
export function caddyValidate(caddyfile: string, env: Record<string, string> = {}): ToolResult {
  return runTool(
    "caddy",
    (dir) => {
      writeFileSync(join(dir, "Caddyfile"), caddyfile);
      return ["validate", "--adapter", "caddyfile", "--config", join(dir, "Caddyfile")];
    },
    env,
  );
}

/** A bcrypt hash from caddy itself, as the container computes it at start. */
export function caddyPasswordHash(password: string): string {
  const result = spawnSync(requireTool("caddy"), ["hash-password", "--plaintext", password], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`caddy hash-password failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** `apt-config dump` with the file as an extra config: apt's own parser. */
export function aptConfig(content: string): ToolResult {
  return runTool("apt-config", (dir) => {
    writeFileSync(join(dir, "20auto-upgrades"), content);
    return ["-c", join(dir, "20auto-upgrades"), "dump"];
  });
}

export function timingSummary(): string {
  return [...validatorTimes.entries()]
    .map(([tool, { runs, ms }]) => `${tool}: ${runs} runs, ${ms.toFixed(0)} ms total, ${(ms / runs).toFixed(0)} ms each`)
    .join("\n");
}
