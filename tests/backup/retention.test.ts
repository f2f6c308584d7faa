import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupScript, SNAPSHOT_TAG } from "../../components/backup/backup-script";
import { hostBackupJob } from "../../components/backup/job";
import { forgetFlags } from "../../components/backup/retention";
import { BACKUP_DEFAULTS, type RetentionPolicy } from "../../components/backup/settings";
import { nextmavens } from "../../infra/blueprints/nextmavens";
import { requireTool } from "../support/tools";
import { runScript } from "./local-job";

/**
 * B1: the GFS policy, run by restic itself on a synthetic series of snapshots
 * spanning three years, keeps exactly the set computed here from first
 * principles: for each rule, the newest snapshot of each of the newest N
 * calendar days, ISO weeks, months and years.
 */

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 23, 2, 55);

/**
 * Nightly runs for the last 40 days, twice on some nights; before that one
 * every 9 days back to 3 years ago, so some weeks have none (restic's weekly
 * rule then reaches further back, and so must the expectation).
 */
function series(): Date[] {
  const times: Date[] = [];
  for (let day = 0; day < 40; day++) {
    times.push(new Date(NOW - day * DAY));
    if (day % 11 === 3) times.push(new Date(NOW - day * DAY - 3_600_000));
  }
  for (let day = 40; day <= 3 * 366; day += 9) times.push(new Date(NOW - day * DAY + (day % 7) * 60_000));
  return times.sort((a, b) => a.getTime() - b.getTime());
}

/** ISO 8601 week: the week belongs to the year of its Thursday. */
function isoWeek(date: Date): string {
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - ((date.getUTCDay() + 6) % 7) + 3));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / DAY / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

function expectedKept(times: readonly Date[], policy: RetentionPolicy): Set<number> {
  const periods: [number, (date: Date) => string][] = [
    [policy.daily, (date) => date.toISOString().slice(0, 10)],
    [policy.weekly, isoWeek],
    [policy.monthly, (date) => date.toISOString().slice(0, 7)],
    [policy.yearly, (date) => date.toISOString().slice(0, 4)],
  ];
  const kept = new Set<number>();
  for (const [count, period] of periods) {
    const newestOfPeriod = new Map<string, number>();
    for (const time of times) {
      const key = period(time);
      newestOfPeriod.set(key, Math.max(newestOfPeriod.get(key) ?? 0, time.getTime()));
    }
    [...newestOfPeriod.entries()]
      .sort(([a], [b]) => b.localeCompare(a))
      .slice(0, count)
      .forEach(([, time]) => kept.add(time));
  }
  return kept;
}

/** restic wants local time without a zone; the test runs restic with TZ=UTC. */
const resticTime = (date: Date) => date.toISOString().slice(0, 19).replace("T", " ");

describe("GFS retention on three years of snapshots (live: restic)", () => {
  let dir: string;
  const env = () => ({ RESTIC_REPOSITORY: join(dir, "repo"), RESTIC_PASSWORD: "retention", TZ: "UTC" });
  const restic = (...args: string[]) => runScript(requireTool("restic"), args, env());
  const times = series();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "retention-"));
    await writeFile(join(dir, "data"), "the same small file in every snapshot\n");
    expect((await restic("init")).code).toBe(0);
    // Two at a time: restic's backup takes a shared lock, and the machine has two cores.
    for (let index = 0; index < times.length; index += 2) {
      const runs = await Promise.all(
        times
          .slice(index, index + 2)
          .map((time) => restic("backup", "--quiet", "--host", "main", "--tag", SNAPSHOT_TAG, "--time", resticTime(time), join(dir, "data"))),
      );
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
    }
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the job's forget command is the policy's, grouped by host and tag", () => {
    const script = backupScript({ server: "main", settings: BACKUP_DEFAULTS, repository: "s3:http://x/b", sources: [] });
    expect(forgetFlags(BACKUP_DEFAULTS.retention)).toEqual(["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6", "--keep-yearly", "2"]);
    expect(script).toContain(
      `restic forget --host "$host" --tag "$tag" --group-by host,tags --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --keep-yearly 2\n`,
    );
    expect(script.indexOf("restic forget")).toBeLessThan(script.indexOf("restic prune"));
    expect(script.indexOf("restic prune")).toBeLessThan(script.indexOf("restic check"));
  });

  it.each([
    ["the default 7 daily / 4 weekly / 6 monthly / 2 yearly (seed 002)", BACKUP_DEFAULTS.retention],
    ["a stack's own 14 / 8 / 12 / 3", { daily: 14, weekly: 8, monthly: 12, yearly: 3 }],
    ["daily only", { daily: 7, weekly: 0, monthly: 0, yearly: 0 }],
  ])("keeps exactly the expected snapshots with %s", async (_label, policy: RetentionPolicy) => {
    const run = await restic("forget", "--dry-run", "--json", "--host", "main", "--tag", SNAPSHOT_TAG, "--group-by", "host,tags", ...forgetFlags(policy));
    expect(run.code, run.stderr).toBe(0);
    const groups = JSON.parse(run.stdout) as { keep: { time: string }[]; remove: { time: string }[] | null }[];
    expect(groups).toHaveLength(1);
    const kept = new Set(groups[0]!.keep.map((snapshot) => new Date(snapshot.time).getTime()));
    const expected = expectedKept(times, policy);
    expect([...kept].sort()).toEqual([...expected].sort());
    expect(kept.size + (groups[0]!.remove?.length ?? 0)).toBe(times.length);
    // The newest snapshot is always kept, and nothing older than the yearly reach.
    expect(kept.has(times[times.length - 1]!.getTime())).toBe(true);
  });

  it("keeps every night of the last 30 days for NextMavens (seed 003), with the stack's weekly, monthly and yearly on top", async () => {
    const job = hostBackupJob({
      server: "main",
      services: nextmavens.build({ domain: "vpai.example.com", environment: "prod" }).services,
      settings: BACKUP_DEFAULTS,
      repository: "s3:http://x/b",
      containerName: (name) => `nextmavens-${name}`,
    });
    const policy = job.settings.retention;
    expect(policy).toEqual({ daily: 30, weekly: 4, monthly: 6, yearly: 2 });
    const run = await restic("forget", "--dry-run", "--json", "--host", "main", "--tag", SNAPSHOT_TAG, "--group-by", "host,tags", ...forgetFlags(policy));
    expect(run.code, run.stderr).toBe(0);
    const kept = new Set((JSON.parse(run.stdout) as { keep: { time: string }[] }[])[0]!.keep.map((snapshot) => new Date(snapshot.time).getTime()));
    expect([...kept].sort()).toEqual([...expectedKept(times, policy)].sort());
    // The newest snapshot of each of the last 30 nights.
    for (let day = 0; day < 30; day++) {
      const night = new Date(NOW - day * DAY).toISOString().slice(0, 10);
      const newest = Math.max(...times.filter((time) => time.toISOString().startsWith(night)).map((time) => time.getTime()));
      expect(kept.has(newest), night).toBe(true);
    }
    // The stack's default alone would have dropped most of them.
    expect([...expectedKept(times, BACKUP_DEFAULTS.retention)].filter((time) => time > NOW - 30 * DAY).length).toBeLessThan(15);
  });

  it("forget then prune really removes the rest, and the repository checks clean", async () => {
    const flags = forgetFlags(BACKUP_DEFAULTS.retention);
    expect((await restic("forget", "--host", "main", "--tag", SNAPSHOT_TAG, "--group-by", "host,tags", ...flags)).code).toBe(0);
    expect((await restic("prune")).code).toBe(0);
    const left = JSON.parse((await restic("snapshots", "--json")).stdout) as { time: string }[];
    expect(new Set(left.map((snapshot) => new Date(snapshot.time).getTime()))).toEqual(expectedKept(times, BACKUP_DEFAULTS.retention));
    const check = await restic("check", "--read-data-subset=1/1");
    expect(check.code, check.stderr).toBe(0);
  });
});
