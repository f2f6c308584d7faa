import type { Finding, NotApplicable } from "./report";

/**
 * The retention window S3 compares NoncurrentDays against, in days. A
 * deleted or overwritten object in the repository must stay recoverable for
 * at least as long as the daily snapshots reach back. When the stack has no
 * backup settings, the default of seed 002's GFS policy applies: 7 dailies.
 */
export const DEFAULT_DAILY_RETENTION = 7;

export function retentionWindowDays(backup: { retention?: { daily?: number } } | undefined): number {
  return backup?.retention?.daily ?? DEFAULT_DAILY_RETENTION;
}

/**
 * The window of a whole platform: the stack's dailies, or more where a
 * host's job keeps more because a service promised it (seed 003's 30 days).
 */
export function platformRetentionWindowDays(
  backup: { retention?: { daily?: number } } | undefined,
  jobs: readonly ({ settings: { retention: { daily: number } } } | undefined)[],
): number {
  return Math.max(retentionWindowDays(backup), ...jobs.map((job) => job?.settings.retention.daily ?? 0));
}

/** S3 on one bucket's lifecycle. */
export function expiryFindings(resource: string, noncurrentDays: unknown, windowDays: number): Finding[] {
  if (typeof noncurrentDays === "number" && noncurrentDays >= windowDays) return [];
  return [{ rule: "S3", resource, message: `noncurrent versions expire after ${String(noncurrentDays)} days, inside the ${windowDays}-day retention window` }];
}

/**
 * S4, and why the AWS-only bucket rules have nothing to check here: Hetzner
 * Object Storage offers SSE-C only and no access logging, replication, KMS or
 * event notifications, so confidentiality comes from restic encrypting on the
 * client with a key that exists only as a Pulumi secret.
 */
export const S3_NOT_APPLICABLE: readonly NotApplicable[] = [
  {
    rule: "S4",
    reason:
      "AWS-only controls (server access logging, replication, KMS encryption, event notifications) do not exist on Hetzner Object Storage (SSE-C only); backups are encrypted by restic on the host, with the restic key held only as a Pulumi secret",
  },
];

/** S4: a backups bucket needs a restic key, and that key must be a declared secret. */
export function clientEncryptionFindings(resource: string, secretKeys: readonly string[]): Finding[] {
  return secretKeys.some((key) => /restic/i.test(key))
    ? []
    : [
        {
          rule: "S4",
          resource,
          message: "holds a restic repository but no restic key is declared as a secret: backups would not be encrypted with a key the stack controls",
        },
      ];
}
