#!/usr/bin/env bash
# Runs inside the VPS root filesystem while it is built (tools/testbed/vps-image.sh).
set -euo pipefail
# A VPS boots with no host keys baked into its image: the testbed writes the
# pinned key before boot, so a key generated here would only be replaced.
rm -f /etc/ssh/ssh_host_*
# Services a container cannot run, or that would wait for hardware.
systemctl mask systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount getty.target \
  console-getty.service systemd-logind.service >/dev/null 2>&1
systemctl enable ssh.service docker.service >/dev/null 2>&1
# The deploy user the program logs in as; it runs `sudo bash -s` for host scripts.
useradd --create-home --shell /bin/bash --groups sudo,docker deploy
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
echo testbed-vps > /etc/hostname
