#!/usr/bin/env bash
# Runs on the root filesystem before Debian's packages are installed
# (mmdebstrap --essential-hook), so that the accounts exist with the ids the
# official images use, and the packages' own `adduser --system` finds them.
# useradd is not installed yet at that point: the lines are written directly.
set -euo pipefail
root="$1"
# name uid gid home shell, from the official images:
#   postgres 70:70 (postgres:alpine), nginx 101:101 (nginx:alpine),
#   redis 999:999 (redis; its alpine variant has gid 1000, which app holds here),
#   grafana 472:0 (grafana/grafana), loki 10001:10001 (grafana/loki),
#   node 1000:1000 (n8nio/n8n and ghcr.io/openclaw/openclaw, from the node
#   images), then app 1000:1000 (the application slot's conventional first
#   user): the engine hands runc the numeric ids, and runc takes HOME from the
#   first entry with uid 1000, so node's /home/node is every uid-1000 HOME,
#   as n8n and OpenClaw need it,
#   alloy 473:473 (grafana/alloy: the image creates it but runs as root).
accounts=(
  "postgres 70 70 /var/lib/postgresql /bin/sh"
  "nginx 101 101 /var/cache/nginx /usr/sbin/nologin"
  "redis 999 999 /data /usr/sbin/nologin"
  "grafana 472 0 /usr/share/grafana /usr/sbin/nologin"
  "node 1000 1000 /home/node /bin/sh"
  "app 1000 1000 /app /usr/sbin/nologin"
  "loki 10001 10001 /loki /usr/sbin/nologin"
  "alloy 473 473 /home/alloy /bin/sh"
)
for account in "${accounts[@]}"; do
  read -r name uid gid home shell <<<"$account"
  if [[ $gid != 0 ]]; then echo "$name:x:$gid:" >>"$root/etc/group"; fi
  echo "$name:x:$uid:$gid:$name:$home:$shell" >>"$root/etc/passwd"
done
