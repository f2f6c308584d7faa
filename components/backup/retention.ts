import type { RetentionPolicy } from "./settings";

/** The policy as restic's forget flags; a zero keeps none of that kind, so its flag is left out. */
export function forgetFlags(policy: RetentionPolicy): string[] {
  const flags: [keyof RetentionPolicy, string][] = [
    ["daily", "--keep-daily"],
    ["weekly", "--keep-weekly"],
    ["monthly", "--keep-monthly"],
    ["yearly", "--keep-yearly"],
  ];
  return flags.filter(([key]) => policy[key] > 0).flatMap(([key, flag]) => [flag, String(policy[key])]);
}

/** "7 daily, 4 weekly, 6 monthly, 2 yearly" for the plan. */
export function describeRetention(policy: RetentionPolicy): string {
  return (["daily", "weekly", "monthly", "yearly"] as const)
    .filter((key) => policy[key] > 0)
    .map((key) => `${policy[key]} ${key}`)
    .join(", ");
}

/** How far back the oldest kept snapshot reaches, roughly, once the series is full. */
export function retentionWindowDays(policy: RetentionPolicy): number {
  return Math.max(policy.daily, policy.weekly * 7, policy.monthly * 31, policy.yearly * 366);
}

/**
 * The policy with at least `daily` daily snapshots; the other counts stay as
 * they are. restic's --keep-daily counts days that have a snapshot, so a
 * missed night makes the window longer, never shorter.
 */
export function withMinimumDaily(policy: RetentionPolicy, daily: number): RetentionPolicy {
  return policy.daily >= daily ? policy : { ...policy, daily };
}
