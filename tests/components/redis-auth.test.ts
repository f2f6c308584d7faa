import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REDIS_AUTH_CONFIG, REDIS_PASSWORD_FILE, REDIS_PASSWORD_PATH, redisAuthFiles, redisHealthcheck } from "../../components/container/redis-auth";
import { renderSecretContent } from "../../components/container/secret-files";
import { redisCliWords } from "../../components/backup/job";
import { freePort, stopProcess } from "../support/processes";
import { requireTool } from "../support/tools";

/**
 * Redis's password as files, against the real redis-server and redis-cli:
 * the configuration file names requirepass however the password is made,
 * and the health check and the backup job's redis-cli authenticate from the
 * plain password file, with the password in no argument.
 */

const PASSWORDS = ["plain-Password-123", 'q"uo\\te', "sp ace+/=:@#%$(x)`y`", "é unicode ✓", "new\nline", "'single'"];

describe.each(PASSWORDS)("Redis with the password %j", (password) => {
  it("starts from the configuration file, and redis-cli authenticates from the password file", async () => {
    const server = requireTool("redis-server");
    const client = requireTool("redis-cli");
    const dir = mkdtempSync(join(tmpdir(), "redis-auth-"));
    const values = { "infra:redisPassword": password };
    const [config, plain] = redisAuthFiles("infra:redisPassword", 999);
    expect([config!.name, plain!.name]).toEqual([REDIS_AUTH_CONFIG, REDIS_PASSWORD_FILE]);
    writeFileSync(join(dir, config!.name), renderSecretContent(config!.content, values), { mode: 0o400 });
    writeFileSync(join(dir, plain!.name), renderSecretContent(plain!.content, values), { mode: 0o400 });
    const port = await freePort();
    // As the blueprints start it: the configuration file first, options after.
    const child = spawn(server, [join(dir, config!.name), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const localize = (text: string) => text.replaceAll(REDIS_PASSWORD_PATH, join(dir, plain!.name));
    try {
      const ping = (args: string[], env: Record<string, string> = {}) =>
        spawnSync(args[0]!, args.slice(1), { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
      let answered = "";
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && answered !== "PONG"; await new Promise((resolve) => setTimeout(resolve, 50))) {
        answered = ping([client, "-p", String(port), "PING"], { REDISCLI_AUTH: password }).stdout.trim();
      }
      expect(answered).toBe("PONG");
      // requirepass is on: without the password, no answer.
      expect(ping([client, "-p", String(port), "PING"]).stdout).toMatch(/NOAUTH/);
      // The health check, as Docker runs it: `sh -c` with the file at its path.
      const check = redisHealthcheck().test;
      expect(check[0]).toBe("CMD-SHELL");
      expect(ping(["sh", "-c", localize(check[1]!).replace("redis-cli ping", `${client} -p ${port} ping`)]).status).toBe(0);
      // The backup job's client, as it runs inside the container.
      const words = redisCliWords({
        kind: "redis",
        service: "redis",
        access: { kind: "docker", container: "vpai-redis" },
        cliArgs: ["-p", String(port)],
        restorePort: 6380,
        passwordFile: REDIS_PASSWORD_PATH,
      });
      const job = ping(
        words
          .map(localize)
          .map((word) => (word === "redis-cli" ? client : word))
          .concat("PING"),
      );
      expect(job.stdout.trim(), job.stderr).toBe("PONG");
      expect(words.join(" ")).not.toContain(password);
    } finally {
      await stopProcess(child, exited);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
