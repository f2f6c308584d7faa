#!/usr/bin/env bash
# Builds the testbed's stand-ins for the images the program deploys, from
# Debian's packages: one Debian 12 root filesystem (mmdebstrap) holding every
# server the images need, with VictoriaMetrics and vmalert built from the Go
# module proxy copied in, imported once, and one image per reference that
# only adds the official image's entrypoint, command, user, environment and
# working directory. All of them share the one layer, so a VPS pulls it once.
# README.md beside this file says what each image really is and what it does
# not reproduce.
#
#   tools/testbed/images/build.sh   prints "<reference> <local image>" per line; builds once per recipe
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
docker_cli=/usr/bin/docker

packages=(
  postgresql-15 nginx redis-server caddy
  prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter prometheus-postgres-exporter
  haproxy python3 python3-psycopg2 python3-yaml nodejs
  openssl wget ca-certificates procps libcap2-bin busybox tini
)

# VictoriaMetrics and vmalert, built from the Go module proxy once per version
# and cached with the other tools (tools/install/victoriametrics.sh).
go_bin="$(bash "$here/../../install/victoriametrics.sh")"

# The recipe is every file here but the README, and the Go binaries' build
# stamps: a change to any of them rebuilds.
recipe="$(cd "$here" && find . -type f ! -name README.md ! -path '*/__pycache__/*' -print0 | sort -z |
  xargs -0 stat -c '%n %a' | cat - <(find . -type f ! -name README.md ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 cat) \
    "$go_bin/.victoria-metrics.version" "$go_bin/.vmalert.version" | sha256sum | cut -c1-12)"
base="infra-testbed/images-rootfs:$recipe"
label="infra-testbed.recipe"

# reference, then the Dockerfile lines that make the official image's contract.
declare -a references=()
declare -A instructions=()
image() {
  local reference="$1"
  shift
  references+=("$reference")
  instructions[$reference]="$(printf '%s\n' "$@")"
}

postgres_path=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
image postgres:16.6-alpine \
  "ENV PATH=$postgres_path LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data" \
  'VOLUME /var/lib/postgresql/data' \
  'ENTRYPOINT ["/usr/local/lib/testbed/postgres-entrypoint.sh"]' \
  'STOPSIGNAL SIGINT' \
  'EXPOSE 5432' \
  'CMD ["postgres"]'
image redis:7.4.1-alpine \
  'VOLUME /data' \
  'WORKDIR /data' \
  'ENTRYPOINT ["/usr/local/lib/testbed/redis-entrypoint.sh"]' \
  'EXPOSE 6379' \
  'CMD ["redis-server"]'
image nginx:1.27.3-alpine \
  'ENTRYPOINT ["/usr/local/lib/testbed/nginx-entrypoint.sh"]' \
  'EXPOSE 80' \
  'STOPSIGNAL SIGQUIT' \
  'CMD ["nginx", "-g", "daemon off;"]'
image prom/prometheus:v2.55.1 \
  'USER nobody' \
  'VOLUME /prometheus' \
  'WORKDIR /prometheus' \
  'EXPOSE 9090' \
  'ENTRYPOINT ["/bin/prometheus"]' \
  'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
image prom/alertmanager:v0.27.0 \
  'USER nobody' \
  'VOLUME /alertmanager' \
  'WORKDIR /alertmanager' \
  'EXPOSE 9093' \
  'ENTRYPOINT ["/bin/alertmanager"]' \
  'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]'
image prom/node-exporter:v1.8.2 \
  'USER nobody' \
  'EXPOSE 9100' \
  'ENTRYPOINT ["/bin/node_exporter"]'
image prom/blackbox-exporter:v0.25.0 \
  'EXPOSE 9115' \
  'ENTRYPOINT ["/bin/blackbox_exporter"]' \
  'CMD ["--config.file=/etc/blackbox_exporter/config.yml"]'
image quay.io/prometheuscommunity/postgres-exporter:v0.16.0 \
  'USER nobody' \
  'EXPOSE 9187' \
  'ENTRYPOINT ["/bin/postgres_exporter"]'
image grafana/grafana:11.4.0 \
  'ENV GF_PATHS_DATA=/var/lib/grafana GF_PATHS_PROVISIONING=/etc/grafana/provisioning GF_PATHS_HOME=/usr/share/grafana' \
  'USER grafana' \
  'WORKDIR /usr/share/grafana' \
  'EXPOSE 3000' \
  'ENTRYPOINT ["/usr/local/lib/testbed/standin.py", "grafana"]'
image grafana/loki:3.3.2 \
  'USER 10001' \
  'EXPOSE 3100' \
  'ENTRYPOINT ["/usr/local/lib/testbed/standin.py", "loki"]' \
  'CMD ["-config.file=/etc/loki/local-config.yaml"]'
image grafana/promtail:3.3.2 \
  'ENTRYPOINT ["/usr/local/lib/testbed/standin.py", "promtail"]' \
  'CMD ["-config.file=/etc/promtail/config.yml"]'
image gcr.io/cadvisor/cadvisor:v0.49.1 \
  'EXPOSE 8080' \
  'ENTRYPOINT ["/usr/local/lib/testbed/standin.py", "cadvisor", "-logtostderr"]'
image qdrant/qdrant:v1.12.5 \
  'ENV TZ=Etc/UTC RUN_MODE=production' \
  'WORKDIR /qdrant' \
  'EXPOSE 6333' \
  'CMD ["/usr/local/lib/testbed/standin.py", "qdrant"]'
image certbot/dns-cloudflare:v2.11.0 \
  'VOLUME /etc/letsencrypt /var/lib/letsencrypt' \
  'WORKDIR /opt/certbot' \
  'EXPOSE 80 443' \
  'ENTRYPOINT ["certbot"]'
# vpai's images. The Alpine-based ones run busybox's wget, as their health checks expect.
alpine_path=/usr/local/lib/testbed/busybox:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
image caddy:2.8.4-alpine \
  "ENV PATH=$alpine_path XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data CADDY_VERSION=v2.8.4" \
  'WORKDIR /srv' \
  'EXPOSE 80 443 443/udp 2019' \
  'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]'
image victoriametrics/victoria-metrics:v1.108.1 \
  "ENV PATH=$alpine_path" \
  'EXPOSE 8428' \
  'ENTRYPOINT ["/victoria-metrics-prod"]'
image victoriametrics/vmalert:v1.108.1 \
  "ENV PATH=$alpine_path" \
  'EXPOSE 8880' \
  'ENTRYPOINT ["/vmalert-prod"]'
image n8nio/n8n:1.72.1 \
  "ENV PATH=$alpine_path NODE_ENV=production N8N_RELEASE_TYPE=stable" \
  'USER node' \
  'WORKDIR /home/node' \
  'EXPOSE 5678/tcp' \
  'ENTRYPOINT ["tini", "--", "/docker-entrypoint.sh"]'
image ghcr.io/berriai/litellm:main-v1.55.8 \
  'WORKDIR /app' \
  'EXPOSE 4000/tcp' \
  'ENTRYPOINT ["docker/prod_entrypoint.sh"]' \
  'CMD ["--port", "4000"]'
image ghcr.io/openclaw/openclaw:2026.1.30 \
  'ENV NODE_ENV=production' \
  'USER node' \
  'WORKDIR /app' \
  'CMD ["node", "openclaw.mjs", "gateway", "--allow-unconfigured"]'
image crazymax/diun:4.29.0 \
  "ENV PATH=$alpine_path PROFILER_PATH=/profiler DIUN_DB_PATH=/data/diun.db" \
  'VOLUME /data' \
  'ENTRYPOINT ["diun"]' \
  'CMD ["serve"]'
image grafana/alloy:v1.5.1 \
  'ENV ALLOY_DEPLOY_MODE=docker' \
  'EXPOSE 12345' \
  'ENTRYPOINT ["/bin/alloy"]' \
  'CMD ["run", "/etc/alloy/config.alloy", "--storage.path=/var/lib/alloy/data"]'
# The socket proxy (C14): Debian's HAProxy in the official image's layout.
image haproxy:3.0.5 \
  'STOPSIGNAL SIGUSR1' \
  'ENTRYPOINT ["/usr/local/lib/testbed/haproxy-entrypoint.sh"]' \
  'USER haproxy' \
  'WORKDIR /var/lib/haproxy' \
  'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
image ghcr.io/fastapi-app/backend:1.0.0 \
  'ENV RELEASE=1.0.0 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1' \
  'USER app' \
  'WORKDIR /app' \
  'EXPOSE 8000' \
  'CMD ["python3", "/app/main.py"]'

# The local name of a reference: under infra-testbed/, with Docker Hub's
# implicit library/ spelled out, as in the registry (tests/testbed/registry.ts).
local_name() {
  if [[ $1 == */* ]]; then echo "infra-testbed/$1"; else echo "infra-testbed/library/$1"; fi
}

print_images() {
  for reference in "${references[@]}"; do echo "$reference $(local_name "$reference")"; done
}

built_with_recipe() {
  local names=()
  for reference in "${references[@]}"; do names+=("$(local_name "$reference")"); done
  local labels
  labels="$("$docker_cli" image inspect --format "{{index .Config.Labels \"$label\"}}" "${names[@]}" 2>/dev/null)" || return 1
  ! grep -qvx "$recipe" <<<"$labels"
}

if built_with_recipe; then
  echo "testbed images: ${#references[@]} images of recipe $recipe are built" >&2
  print_images
  exit 0
fi

started=$(date +%s)
if ! "$docker_cli" image inspect "$base" >/dev/null 2>&1; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "testbed images: building $base with mmdebstrap (about two minutes)" >&2
  include=$(IFS=,; echo "${packages[*]}")
  # Left out, to keep the one layer small: documentation and translations;
  # moment-timezone's 212 MB of data files (Prometheus's classic UI loads
  # only the bundled .min.js); LLVM and Z3, which only PostgreSQL's JIT
  # loads: without llvmjit.so PostgreSQL runs its queries without JIT.
  # The hooks' "$1" is the root directory, expanded by mmdebstrap's shell.
  # shellcheck disable=SC2016
  mmdebstrap --quiet --variant=minbase --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/javascript/moment-timezone/data/*' \
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libLLVM-*' --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libz3.so.*' \
    --dpkgopt='path-exclude=/usr/lib/postgresql/15/lib/llvmjit*' --dpkgopt='path-exclude=/usr/lib/postgresql/15/lib/bitcode/*' \
    --skip=cleanup/run \
    --essential-hook="bash '$here/users.sh' \"\$1\"" \
    --customize-hook="sync-in '$here/rootfs' /" \
    --customize-hook="upload '$go_bin/victoria-metrics' /victoria-metrics-prod" \
    --customize-hook="upload '$go_bin/vmalert' /vmalert-prod" \
    --customize-hook="copy-in '$here/rootfs-setup.sh' /root" \
    --customize-hook='chroot "$1" bash /root/rootfs-setup.sh' \
    --customize-hook='rm -f "$1/root/rootfs-setup.sh"' \
    bookworm "$work/rootfs.tar" >&2
  "$docker_cli" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL $label=$recipe" \
    "$work/rootfs.tar" "$base" >/dev/null
  echo "testbed images: imported $base ($(( $(date +%s) - started ))s)" >&2
fi

# Each image is the base plus metadata only: no layer of its own.
for reference in "${references[@]}"; do
  printf 'FROM %s\n%s\nLABEL %s=%s\n' "$base" "${instructions[$reference]}" "$label" "$recipe" |
    DOCKER_BUILDKIT=0 "$docker_cli" build --quiet --tag "$(local_name "$reference")" - >/dev/null
  echo "testbed images: built $(local_name "$reference") for $reference" >&2
done
# Earlier recipes' images: untag the old roots, then drop what no tag holds.
"$docker_cli" image ls --format '{{.Repository}}:{{.Tag}}' "${base%:*}" | grep -vx "$base" | xargs -r "$docker_cli" image rm >/dev/null
"$docker_cli" image prune --force --filter "label=$label" >/dev/null
echo "testbed images: ${#references[@]} images built in $(( $(date +%s) - started ))s" >&2
print_images
