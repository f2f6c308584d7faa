import { stringify } from "yaml";
import { LOG_OPTIONS } from "../container/service-spec";

/**
 * Host preparation as data: the Docker daemon settings, the script that
 * prepares an existing VPS over SSH, and the cloud-init user-data of a Hetzner
 * server. Both paths install the same daemon.json, so a host looks the same
 * whichever way it was made.
 */

/** Docker daemon settings for every host (H5, C12). */
export function dockerDaemonConfig(): Record<string, unknown> {
  return {
    "log-driver": "json-file",
    "log-opts": { ...LOG_OPTIONS },
    // Containers keep running while the daemon restarts for an upgrade.
    "live-restore": true,
    "no-new-privileges": true,
    // Published ports are handled by iptables alone, no docker-proxy per port.
    "userland-proxy": false,
  };
}

export interface HostSetupOptions {
  /** The account that runs Docker commands over SSH. */
  readonly sshUser: string;
}

const DAEMON_JSON_PATH = "/etc/docker/daemon.json";

/**
 * Idempotent preparation of an existing Debian or Ubuntu host: Docker from the
 * distribution, the daemon settings, and Docker access for the SSH user.
 * Docker restarts only when daemon.json actually changed.
 */
export function hostPrepareScript(options: HostSetupOptions): string {
  const daemonJson = JSON.stringify(dockerDaemonConfig(), null, 2);
  return `#!/usr/bin/env bash
# Prepares this host for the platform's containers. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v docker >/dev/null; then
  apt-get update -q
  apt-get install -y -q docker.io
fi

install -d -m 0755 /etc/docker
desired=$(mktemp)
cat > "$desired" <<'DAEMON_JSON'
${daemonJson}
DAEMON_JSON
if ! cmp -s "$desired" ${DAEMON_JSON_PATH}; then
  install -m 0644 "$desired" ${DAEMON_JSON_PATH}
  systemctl restart docker
fi
rm -f "$desired"

systemctl enable --now docker
id -nG ${options.sshUser} | grep -qw docker || usermod -aG docker ${options.sshUser}
docker info --format '{{.ServerVersion}}' >/dev/null
`;
}

export interface CloudInitOptions extends HostSetupOptions {
  readonly sshPublicKey: string;
  /** Linux device of an attached data volume; named Docker volumes live on it. */
  readonly dataVolumeDevice?: string;
}

/** cloud-init user-data for a Hetzner server, equivalent to hostPrepareScript. */
export function cloudInitUserData(options: CloudInitOptions): string {
  const volumesPath = "/var/lib/docker/volumes";
  const document: Record<string, unknown> = {
    package_update: true,
    package_upgrade: true,
    packages: ["docker.io"],
    users: [
      {
        name: options.sshUser,
        groups: ["sudo"],
        shell: "/bin/bash",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        lock_passwd: true,
        ssh_authorized_keys: [options.sshPublicKey],
      },
    ],
    write_files: [
      { path: DAEMON_JSON_PATH, permissions: "0644", content: `${JSON.stringify(dockerDaemonConfig(), null, 2)}\n` },
      ...(options.dataVolumeDevice
        ? [
            {
              // Docker must not start before the data volume is mounted, or
              // the named volumes would silently land on the root disk.
              path: "/etc/systemd/system/docker.service.d/data-volume.conf",
              permissions: "0644",
              content: `[Unit]\nRequiresMountsFor=${volumesPath}\n`,
            },
          ]
        : []),
    ],
    ...(options.dataVolumeDevice
      ? { mounts: [[options.dataVolumeDevice, volumesPath, "ext4", "discard,nofail,x-systemd.device-timeout=180", "0", "2"]] }
      : {}),
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "docker"],
      ["systemctl", "restart", "docker"],
      ["usermod", "-aG", "docker", options.sshUser],
    ],
  };
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}

/** What readiness means on either kind of host: cloud-init finished and Docker answers. */
export const HOST_READY_COMMAND = "sudo cloud-init status --wait >/dev/null 2>&1 || true; docker info --format '{{.ServerVersion}}'";
