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
#   app 1000:1000 (the application slot's conventional first user).
accounts=(
  "postgres 70 70 /var/lib/postgresql /bin/sh"
  "nginx 101 101 /var/cache/nginx /usr/sbin/nologin"
  "redis 999 999 /data /usr/sbin/nologin"
  "grafana 472 0 /usr/share/grafana /usr/sbin/nologin"
  "app 1000 1000 /app /usr/sbin/nologin"
  "loki 10001 10001 /loki /usr/sbin/nologin"
)
for account in "${accounts[@]}"; do
  read -r name uid gid home shell <<<"$account"
  if [[ $gid != 0 ]]; then echo "$name:x:$gid:" >>"$root/etc/group"; fi
  echo "$name:x:$uid:$gid:$name:$home:$shell" >>"$root/etc/passwd"
done
