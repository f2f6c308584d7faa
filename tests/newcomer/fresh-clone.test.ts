import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// The README's first command, as a newcomer runs it: a fresh clone, an empty
// npm cache, `npm run plan -- --stack prod`. These tests clone the committed
// HEAD, so they judge what a pull request would ship, not the working tree.
const root = resolve(__dirname, "../..");
const guard = join(root, "tools/newcomer/fresh-clone-plan.sh");
const scratch = mkdtempSync(join(tmpdir(), "infra-newcomer-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runGuard(repository: string) {
  return spawnSync("bash", [guard, repository], { encoding: "utf8", timeout: 240_000 });
}

/** A copy of HEAD whose lock lists rollup's native package for this platform only, as a lock written from one machine's node_modules does. */
function repositoryWithSinglePlatformLock(): string {
  const copy = join(scratch, "single-platform-lock");
  execFileSync("git", ["clone", "--quiet", root, copy]);
  const lockPath = join(copy, "package-lock.json");
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as { packages: Record<string, unknown> };
  const native = Object.keys(lock.packages).filter((key) => key.startsWith("node_modules/@rollup/rollup-"));
  expect(native.length).toBeGreaterThan(2);
  for (const key of native) if (!key.endsWith("rollup-linux-x64-gnu")) delete lock.packages[key];
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  const git = (...args: string[]) => execFileSync("git", ["-C", copy, "-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args]);
  git("commit", "--quiet", "-am", "a lock written from one machine's node_modules");
  return copy;
}

describe("a newcomer's first command on a fresh clone", () => {
  it("plans prod with an empty npm cache and leaves git status clean", () => {
    const run = runGuard(root);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/plan of prod exited 0 in \d+ ms .* git status clean/);
  }, 300_000);

  it("fails loudly when the lock lists the native packages of one platform only", () => {
    const run = runGuard(repositoryWithSinglePlatformLock());
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("npm ci failed");
    expect(run.stderr).toContain("npm install --package-lock-only");
  }, 300_000);
});
