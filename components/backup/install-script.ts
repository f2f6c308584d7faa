import { backupScript } from "./backup-script";
import { BACKUP_SCRIPT_PATH, HOST_PATHS, RESTORE_SCRIPT_PATH, UNIT_NAME, type BackupJob } from "./job";
import { restoreScript } from "./restore-script";
import { shellQuote } from "./shell";
import { backupServiceUnit, backupTimerUnit } from "./systemd-units";
import { PITR_RESTORE_SCRIPT_PATH, SHIP_SCRIPT_PATH, SHIP_UNIT_NAME } from "./pitr";
import { pitrRestoreScript, pitrSources, walShipScript, walShipServiceUnit, walShipTimerUnit } from "./pitr-scripts";

/** Tools the scripts call on the host; Docker comes with the host preparation. */
export const HOST_PACKAGES = ["restic", "jq", "curl"] as const;

function writeFile(path: string, mode: string, content: string): string {
  const delimiter = "INFRA_BACKUP_FILE_END";
  if (content.includes(delimiter)) throw new Error(`${path} contains the here-document delimiter ${delimiter}`);
  return `cat >"${path}.new" <<'${delimiter}'
${content.replace(/\n$/, "")}
${delimiter}
chmod ${mode} "${path}.new"
mv -f "${path}.new" "${path}"`;
}

/**
 * Installs or updates the job on a host: packages, both scripts, the service
 * and its timer. It holds no secret (the environment file is written apart),
 * so its content hash can show in the plan and decide when it runs again.
 */
export function installScript(job: BackupJob): string {
  return `#!/usr/bin/env bash
# Installs the backup job of server ${job.server}. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
for tool in ${HOST_PACKAGES.join(" ")}; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ \${#missing[@]} -gt 0 ]]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "\${missing[@]}"
fi

${pullClientImages(job)}install -d -m 0700 ${HOST_PATHS.stagingDir} ${HOST_PATHS.stateDir}
install -d -m 0755 ${HOST_PATHS.textfileDir}
${writeFile(BACKUP_SCRIPT_PATH, "0750", backupScript(job))}
${writeFile(RESTORE_SCRIPT_PATH, "0750", restoreScript(job))}
${writeFile(`/etc/systemd/system/${UNIT_NAME}.service`, "0644", backupServiceUnit())}
${writeFile(`/etc/systemd/system/${UNIT_NAME}.timer`, "0644", backupTimerUnit(job.settings))}
${pitrInstall(job)}
systemctl daemon-reload
systemctl enable --now ${UNIT_NAME}.timer
systemctl is-active --quiet ${UNIT_NAME}.timer
${pitrSources(job).length > 0 ? `systemctl enable --now ${SHIP_UNIT_NAME}.timer\nsystemctl is-active --quiet ${SHIP_UNIT_NAME}.timer\n` : ""}`;
}

/**
 * The client images the job runs (a managed database's pg_dump), pulled at
 * install so that the nightly run does not wait on, or fail with, the
 * registry; a pull that fails fails the deploy, where it is seen at once.
 * Empty when the job runs no image.
 */
function pullClientImages(job: BackupJob): string {
  const images = [...new Set(job.sources.flatMap((source) => (source.access.kind === "image" ? [source.access.image] : [])))];
  return images.map((image) => `docker pull --quiet ${shellQuote(image)} >/dev/null\n`).join("");
}

/**
 * WAL shipping and the point-in-time restore when PITR is on. When it is off
 * they are removed, except for segments still waiting in the archive volume,
 * which a later shipping run or an operator can still use.
 */
function pitrInstall(job: BackupJob): string {
  if (pitrSources(job).length === 0) {
    return `systemctl disable --now ${SHIP_UNIT_NAME}.timer 2>/dev/null || true
rm -f /etc/systemd/system/${SHIP_UNIT_NAME}.service /etc/systemd/system/${SHIP_UNIT_NAME}.timer ${SHIP_SCRIPT_PATH} ${PITR_RESTORE_SCRIPT_PATH}`;
  }
  return `${writeFile(SHIP_SCRIPT_PATH, "0750", walShipScript(job))}
${writeFile(PITR_RESTORE_SCRIPT_PATH, "0750", pitrRestoreScript(job))}
${writeFile(`/etc/systemd/system/${SHIP_UNIT_NAME}.service`, "0644", walShipServiceUnit())}
${writeFile(`/etc/systemd/system/${SHIP_UNIT_NAME}.timer`, "0644", walShipTimerUnit())}`;
}

/** Writes the environment file from stdin, replacing it in one rename. */
export const WRITE_ENVIRONMENT_COMMAND = `sudo sh -c 'umask 077 && mkdir -p ${HOST_PATHS.envFile.replace(/\/[^/]+$/, "")} && cat >${HOST_PATHS.envFile}.new && mv -f ${HOST_PATHS.envFile}.new ${HOST_PATHS.envFile}'`;

/** What a destroy leaves: the repository and the state directory, the data of record. */
export const UNINSTALL_COMMAND = `sudo sh -c 'systemctl disable --now ${UNIT_NAME}.timer ${SHIP_UNIT_NAME}.timer 2>/dev/null || true; rm -f /etc/systemd/system/${UNIT_NAME}.service /etc/systemd/system/${UNIT_NAME}.timer /etc/systemd/system/${SHIP_UNIT_NAME}.service /etc/systemd/system/${SHIP_UNIT_NAME}.timer ${BACKUP_SCRIPT_PATH} ${RESTORE_SCRIPT_PATH} ${SHIP_SCRIPT_PATH} ${PITR_RESTORE_SCRIPT_PATH}; systemctl daemon-reload'`;

export const REMOVE_ENVIRONMENT_COMMAND = `sudo rm -f ${HOST_PATHS.envFile}`;
