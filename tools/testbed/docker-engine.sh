#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine, for the testbed: starts
# Debian's dockerd in the background when none runs (machines of this kind boot
# without systemd, so nothing else starts it). Its log is /var/log/infra-dockerd.log.
set -euo pipefail
docker_cli=/usr/bin/docker
if "$docker_cli" info >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  echo "docker-engine: no Docker engine answers, and starting one needs root" >&2
  exit 1
fi
echo "docker-engine: starting dockerd" >&2
nohup /usr/sbin/dockerd >>/var/log/infra-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if "$docker_cli" info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
echo "docker-engine: dockerd did not answer within 30 s; the end of /var/log/infra-dockerd.log:" >&2
tail -n 20 /var/log/infra-dockerd.log >&2
exit 1
