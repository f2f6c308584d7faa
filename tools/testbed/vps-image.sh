#!/usr/bin/env bash
# Builds the testbed's VPS: a Debian 12 root filesystem from Debian's packages
# (mmdebstrap), imported into the local Docker engine as a system container
# image that boots systemd, sshd and its own Docker engine, like a small VPS.
# It already holds the packages the host preparation installs, because the
# testbed's network reaches no package mirror; the preparation still runs in
# full and finds them installed, as on a VPS prepared before.
#
#   tools/testbed/vps-image.sh      prints the image reference; builds it once per recipe
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
docker_cli=/usr/bin/docker

packages=(
  systemd-sysv dbus openssh-server sudo ca-certificates iproute2 iptables procps less
  # The host preparation's packages (components/compute/host-setup.ts HOST_PACKAGES).
  docker.io fail2ban python3-systemd unattended-upgrades ufw
  # What the backup job runs on the host.
  restic curl jq
)
recipe="$(cat "$0" "$here/vps-setup.sh" | sha256sum | cut -c1-12)"
image="infra-testbed/vps:$recipe"
if "$docker_cli" image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "testbed: building $image with mmdebstrap (first build takes about a minute)" >&2
include=$(IFS=,; echo "${packages[*]}")
mmdebstrap --quiet --variant=minbase --include="$include" \
  --customize-hook="copy-in $here/vps-setup.sh /root" \
  --customize-hook='chroot "$1" bash /root/vps-setup.sh' \
  --customize-hook='rm -f "$1/root/vps-setup.sh"' \
  bookworm "$work/rootfs.tar" >&2
"$docker_cli" import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "testbed: built $image in $(( $(date +%s) - started ))s" >&2
echo "$image"
