import { UNIT_NAME } from "./job";
import { shellQuote } from "./shell";

/**
 * The host command (root) that runs before a stateful container is replaced:
 * the host's backup job, the same unit the timer starts, so the data the old
 * container holds is in a snapshot before it stops. A failed backup fails the
 * deploy before anything is replaced. It skips, and says so, when there is
 * nothing to back up yet: the container does not exist (a first deploy), or
 * the job is not installed yet (it is installed after the containers).
 */
export function backupBeforeReplaceScript(container: string): string {
  return [
    "set -euo pipefail",
    `container=${shellQuote(container)}`,
    'if ! docker inspect "$container" >/dev/null 2>&1; then',
    '  echo "$container does not exist yet: nothing to back up before it starts"',
    "  exit 0",
    "fi",
    `if ! systemctl cat ${UNIT_NAME}.service >/dev/null 2>&1; then`,
    `  echo "the backup job (${UNIT_NAME}.service) is not installed yet: $container is replaced without a fresh backup"`,
    "  exit 0",
    "fi",
    `echo "backing up before $container is replaced: systemctl start ${UNIT_NAME}.service"`,
    `if ! systemctl start ${UNIT_NAME}.service; then`,
    `  journalctl -u ${UNIT_NAME}.service --no-pager -n 20 -o cat || true`,
    '  echo "the backup before replacing $container failed; $container was not replaced"',
    "  exit 1",
    "fi",
    `echo "backup done ($(systemctl show -p ExecMainExitTimestamp --value ${UNIT_NAME}.service)); $container may be replaced"`,
    "",
  ].join("\n");
}
