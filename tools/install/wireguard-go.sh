#!/usr/bin/env bash
# Installs wireguard-go, WireGuard in userspace over /dev/net/tun, for the
# live test of pulled backups: the ops host and the VPS talk over a real
# WireGuard link between two network namespaces. This machine's kernel has
# no wireguard module (`ip link add wg0 type wireguard` answers "Unknown
# device type"), so the kernel implementation the hosts use cannot run here;
# `wg` from Debian's wireguard-tools configures both alike.
#
# The module has no semver tags the proxy lists; this is the pseudo-version
# `go install golang.zx2c4.com/wireguard@latest` resolved to on 2026-12-07.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/go-tool.sh" golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446 wireguard
