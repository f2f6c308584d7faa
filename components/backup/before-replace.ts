import { UNIT_NAME } from "./job";
import { shellQuote } from "./shell";

/**
 * The host command (root) that runs before a stateful container is replaced:
 * the host's backup job, the same unit the timer starts, so the data the old
 * container holds is in a snapshot before it stops. A failed backup fails the
 * deploy before anything is replaced, and so does a job that is not
 * installed (the program installs it first). It skips, and says so, when
 * there is nothing to back up yet: the container does not exist (a first
 * deploy).
 *
 * The container's name is the script's argument, not part of it: a failed
 * command's output is shown with every line of its stdin taken out, and the
 * name must stay readable there.
 */
export const BACKUP_BEFORE_REPLACE_SCRIPT = [
  "set -euo pipefail",
  'container="$1"',
  'if ! docker inspect "$container" >/dev/null 2>&1; then',
  '  echo "$container does not exist yet: nothing to back up before it starts"',
  "  exit 0",
  "fi",
  `if ! systemctl cat ${UNIT_NAME}.service >/dev/null 2>&1; then`,
  `  echo "the backup job (${UNIT_NAME}.service) is not installed, so no backup can be taken; $container was not replaced"`,
  "  exit 1",
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

/** The command that runs BACKUP_BEFORE_REPLACE_SCRIPT (its stdin) for one container. */
export function backupBeforeReplaceCommand(container: string): string {
  return `sudo bash -s -- ${shellQuote(container)}`;
}
