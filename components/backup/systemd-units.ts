import { BACKUP_SCRIPT_PATH, HOST_PATHS, UNIT_NAME } from "./job";
import type { BackupSettings } from "./settings";

/** systemd's OnCalendar for a daily `HH:MM`. */
export function onCalendar(schedule: string): string {
  return `*-*-* ${schedule}:00`;
}

/** The oneshot service that runs the job; a non-zero exit marks the unit failed in the journal. */
export function backupServiceUnit(): string {
  return `[Unit]
Description=Platform backup: consistent dumps into restic, GFS retention, partial check
Wants=network-online.target docker.service
After=network-online.target docker.service

[Service]
Type=oneshot
Environment=INFRA_BACKUP_ENV=${HOST_PATHS.envFile}
ExecStart=${BACKUP_SCRIPT_PATH}
# Dumps and uploads yield to the services they back up.
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
TimeoutStartSec=6h
`;
}

/** The daily timer; Persistent catches up on a run missed while the server was off. */
export function backupTimerUnit(settings: BackupSettings): string {
  return `[Unit]
Description=Daily platform backup at ${settings.schedule}

[Timer]
OnCalendar=${onCalendar(settings.schedule)}
Persistent=true
AccuracySec=1min
Unit=${UNIT_NAME}.service

[Install]
WantedBy=timers.target
`;
}
