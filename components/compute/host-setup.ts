import { registryCAPath, type ImageRegistry } from "../container/image-registry";
import { parse, stringify } from "yaml";
import { LOG_OPTIONS } from "../container/service-spec";
import type { HostFirewall } from "../network/firewall-rules";
import { ufwScript } from "../network/firewall-rules";
import { HARDENING_PACKAGES, hardeningFiles, type HostFile, type HostFileEffect } from "./host-hardening";

/**
 * Host preparation as data: the Docker daemon settings, the script that
 * prepares an existing VPS over SSH, and the cloud-init user-data of a Hetzner
 * server. Both paths install the same files (daemon.json and the hardening
 * baseline of host-hardening.ts), so a host looks the same whichever way it
 * was made.
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
  /** The registry the stack pulls from; its CA, if given, is what Docker trusts for it. */
  readonly imageRegistry?: ImageRegistry;
}

export const DAEMON_JSON_PATH = "/etc/docker/daemon.json";

/** Every file a host gets, Docker's settings first. */
export function hostFiles(options: HostSetupOptions): HostFile[] {
  return [
    { path: DAEMON_JSON_PATH, mode: "0644", content: `${JSON.stringify(dockerDaemonConfig(), null, 2)}\n`, effect: "restart-docker" },
    ...hardeningFiles(options),
    // Docker reads certs.d at every pull: no restart needed.
    ...(options.imageRegistry?.caCertificate
      ? [
          {
            path: registryCAPath(options.imageRegistry),
            mode: "0644",
            content: options.imageRegistry.caCertificate.endsWith("\n") ? options.imageRegistry.caCertificate : `${options.imageRegistry.caCertificate}\n`,
            effect: "none" as const,
          },
        ]
      : []),
  ];
}

/** Debian packages every host needs. */
export const HOST_PACKAGES = ["docker.io", ...HARDENING_PACKAGES] as const;

/** The heredoc delimiter the preparation script embeds files with; readFilesOfScript parses it back. */
const FILE_DELIMITER = "INFRA_FILE";

const EFFECT_COMMANDS: Record<HostFileEffect, string> = {
  "restart-docker": "systemctl restart docker",
  // A config sshd rejects is removed again, so a later restart cannot lock the admin out.
  "reload-ssh": `if ! sshd -t; then rm -f "$changed"; echo "sshd rejected $changed; removed it" >&2; exit 1; fi
  systemctl try-reload-or-restart ssh`,
  "restart-fail2ban": "systemctl restart fail2ban",
  "apply-sysctl": 'sysctl --quiet --load "$changed"',
  none: ":",
};

/**
 * Idempotent preparation of an existing Debian or Ubuntu host: the packages,
 * every file of hostFiles, and Docker access for the SSH user. A file is
 * written, and its service reloaded, only when its content differs from what
 * is on the host; the remote command itself re-runs only when this script
 * changes (its trigger is the script's hash).
 */
export function hostPrepareScript(options: HostSetupOptions): string {
  const files = hostFiles(options)
    .map(
      (file) => `changed=${file.path}
if put_file "$changed" ${file.mode} <<'${FILE_DELIMITER}'
${file.content}${FILE_DELIMITER}
then
  ${EFFECT_COMMANDS[file.effect]}
fi
`,
    )
    .join("\n");
  return `#!/usr/bin/env bash
# Prepares this host for the platform's containers and hardens it. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
for package in ${HOST_PACKAGES.join(" ")}; do
  # shellcheck disable=SC2016 # dpkg-query expands the format, not the shell
  [[ $(dpkg-query -W --showformat='\${db:Status-Status}' "$package" 2>/dev/null) == installed ]] || missing+=("$package")
done
if [[ \${#missing[@]} -gt 0 ]]; then
  apt-get update -q
  apt-get install -y -q "\${missing[@]}"
fi

# put_file PATH MODE < CONTENT: installs CONTENT at PATH and succeeds only if it changed.
put_file() {
  local desired
  desired=$(mktemp)
  cat > "$desired"
  if cmp -s "$desired" "$1"; then
    rm -f "$desired"
    return 1
  fi
  install -D -m "$2" "$desired" "$1"
  rm -f "$desired"
}

${files}
systemctl enable --now docker fail2ban unattended-upgrades apt-daily.timer apt-daily-upgrade.timer
id -nG ${options.sshUser} | grep -qw docker || usermod -aG docker ${options.sshUser}
docker info --format '{{.ServerVersion}}' >/dev/null
`;
}

/** The packages a preparation script installs, parsed back out of it. */
export function readPackagesOfScript(script: string): string[] {
  return /^for package in (.+); do$/m.exec(script)?.[1]?.split(/\s+/) ?? [];
}

/** The files a preparation script writes, parsed back out of it (the policy checks these). */
export function readFilesOfScript(script: string): Map<string, string> {
  const files = new Map<string, string>();
  const pattern = new RegExp(`^changed=(\\S+)\\nif put_file "\\$changed" \\d+ <<'${FILE_DELIMITER}'\\n([\\s\\S]*?)^${FILE_DELIMITER}$`, "gm");
  for (const match of script.matchAll(pattern)) files.set(match[1]!, match[2]!);
  return files;
}

export interface CloudInitOptions extends HostSetupOptions {
  readonly sshPublicKey: string;
  /** Linux device of an attached data volume; named Docker volumes live on it. */
  readonly dataVolumeDevice?: string;
  /**
   * Host firewall rules for UFW and DOCKER-USER (H6). The Hetzner cloud
   * firewall already filters in front of the server; UFW on the host is a
   * second layer for when that firewall is detached or edited by hand.
   */
  readonly firewall?: HostFirewall;
  /**
   * The host key pair the program made for this server (SSHHostKey), which
   * its SSH connections pin (H9). cloud-init deletes the image's host keys
   * and installs this one before sshd first starts; given keys, it generates
   * none, so the server offers exactly the pinned key.
   */
  readonly hostKey?: { readonly privateKey: string; readonly publicKey: string };
}

export const FIREWALL_SCRIPT_PATH = "/usr/local/sbin/infra-firewall";

/** cloud-init user-data for a Hetzner server, equivalent to hostPrepareScript. */
export function cloudInitUserData(options: CloudInitOptions): string {
  const volumesPath = "/var/lib/docker/volumes";
  const files = hostFiles(options);
  const document: Record<string, unknown> = {
    package_update: true,
    package_upgrade: true,
    packages: [...HOST_PACKAGES],
    ssh_pwauth: false,
    ...(options.hostKey ? { ssh_deletekeys: true, ssh_keys: { ed25519_private: options.hostKey.privateKey, ed25519_public: options.hostKey.publicKey } } : {}),
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
      ...files.map((file) => ({
        path: file.path,
        permissions: file.mode,
        content: file.content,
        // Files of packages installed later are written after the packages,
        // so no maintainer script sees, or replaces, them half-way.
        ...(file.path.startsWith("/etc/fail2ban/") || file.path.startsWith("/etc/apt/") ? { defer: true } : {}),
      })),
      ...(options.firewall
        ? [{ path: FIREWALL_SCRIPT_PATH, permissions: "0755", content: ufwScript(options.firewall.rules, options.firewall.peers), defer: true }]
        : []),
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
    ...(options.dataVolumeDevice ? { mounts: [[options.dataVolumeDevice, volumesPath, "ext4", "discard,nofail,x-systemd.device-timeout=180", "0", "2"]] } : {}),
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["sysctl", "--quiet", "--system"],
      ["sshd", "-t"],
      ["systemctl", "try-reload-or-restart", "ssh"],
      ["systemctl", "enable", "--now", "docker", "fail2ban", "unattended-upgrades", "apt-daily.timer", "apt-daily-upgrade.timer"],
      ["systemctl", "restart", "docker", "fail2ban"],
      ["usermod", "-aG", "docker", options.sshUser],
      ...(options.firewall ? [[FIREWALL_SCRIPT_PATH]] : []),
    ],
  };
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}

/** The files and packages cloud-init installs, parsed back out of the user-data (the policy checks these). */
export function readUserData(userData: string): { files: Map<string, string>; packages: string[] } {
  const document = parse(userData) as { write_files?: { path: string; content: string }[]; packages?: unknown[] } | null;
  return {
    files: new Map((document?.write_files ?? []).map((file) => [file.path, file.content])),
    packages: (document?.packages ?? []).filter((item): item is string => typeof item === "string"),
  };
}

/**
 * What readiness means on a host: cloud-init finished cleanly, the Docker
 * daemon answers, and the SSH user is in the docker group that the Docker
 * provider's own logins need. A host without cloud-init (an existing VPS)
 * skips the first check. cloud-init's exit code says how it ended (1 error,
 * 2 degraded: recoverable errors, since 23.4); a failed first boot fails the
 * deploy here, with cloud-init's own report, instead of surfacing later as a
 * half-prepared host. POSIX sh, since it is the account's login shell that
 * runs it.
 *
 * The group is read from the group database, not from this session: the
 * session may share a connection opened before cloud-init added the user to
 * the group, and keeps that connection's groups; the daemon is asked as root
 * for the same reason.
 */
export const HOST_READY_COMMAND = `set -eu
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
if command -v cloud-init >/dev/null 2>&1; then
  code=0
  report=$(as_root cloud-init status --wait --long 2>&1) || code=$?
  state=$(printf '%s\\n' "$report" | sed -n 's/^extended_status: *//p' | head -n 1)
  [ -n "$state" ] || state=$(printf '%s\\n' "$report" | sed -n 's/^status: *//p' | head -n 1)
  case "$code:$state" in
    0:done | 0:disabled) ;;
    *)
      printf 'cloud-init did not finish cleanly on this host (%s, exit code %s), so it is not ready. Its report:\\n%s\\nSee /var/log/cloud-init-output.log on the host.\\n' "\${state:-no status}" "$code" "$report" >&2
      exit 1
      ;;
  esac
fi
user=$(id -un)
if [ "$user" != root ] && ! id -nG "$user" | tr ' ' '\\n' | grep -qx docker; then
  echo "$user is not in the docker group, so the Docker provider, which logs in as $user, cannot reach the daemon" >&2
  exit 1
fi
as_root docker info --format '{{.ServerVersion}}'`;
