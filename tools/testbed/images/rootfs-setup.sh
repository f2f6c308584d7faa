#!/usr/bin/env bash
# Runs inside the testbed images' root filesystem while it is built
# (tools/testbed/images/build.sh): lays out the paths, owners and modes the
# official images have, over Debian's packages.
set -euo pipefail

# PostgreSQL: Debian's postinst created a 15/main cluster; the postgres image
# initialises its own data directory on first start instead.
rm -rf /etc/postgresql/15 /var/lib/postgresql/15
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
# The image keeps /run/postgresql (build.sh skips mmdebstrap's emptying of
# /run), so a server started without a tmpfs there still has its socket
# directory; nothing else of the build stays in /run.
find /run -mindepth 1 -maxdepth 1 ! -name postgresql -exec rm -rf {} +
install -d -o postgres -g postgres -m 3777 /run/postgresql
install -d -m 0755 /docker-entrypoint-initdb.d
# As the postgres image does: a new cluster listens on every address.
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample
grep -q "^listen_addresses = '\*'" /usr/share/postgresql/15/postgresql.conf.sample

# /data is the volume of three images: redis (owned by redis), caddy (its
# data under /data/caddy, root's) and crazymax/diun (root's, where it keeps
# diun.db). One root filesystem cannot give it both owners, so it is redis's
# and writable by all: redis, and root without CAP_DAC_OVERRIDE as the
# program runs DIUN, can both write it (README.md: shared paths).
install -d -o redis -g redis -m 0777 /data
install -d -m 0755 /data/caddy

# The prom/* images' binary names and paths; Debian prefixes its binaries.
ln -s prometheus-alertmanager /usr/bin/alertmanager
ln -s prometheus-node-exporter /usr/bin/node_exporter
ln -s prometheus-blackbox-exporter /usr/bin/blackbox_exporter
ln -s prometheus-postgres-exporter /usr/bin/postgres_exporter
# Debian's postinst gives the blackbox exporter CAP_NET_RAW as a file
# capability, for ICMP probes; the official binary has none, and a file
# capability the container's bounding set lacks makes exec fail.
setcap -r /usr/bin/prometheus-blackbox-exporter 2>/dev/null || true
install -d -o nobody -g nogroup /prometheus /alertmanager
install -d /etc/alertmanager /etc/blackbox_exporter
cp /etc/prometheus/alertmanager.yml /etc/alertmanager/alertmanager.yml
cp /etc/prometheus/blackbox.yml /etc/blackbox_exporter/config.yml
chown -R nobody:nogroup /etc/prometheus

# nginx: the nginx image's layout (conf.d, not sites-enabled), logs to the
# container's output, and temp paths its unprivileged user can write.
rm -f /etc/nginx/sites-enabled/default
install -d -o nginx -g nginx /var/cache/nginx
chown -R nginx:nginx /var/lib/nginx
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log
install -d -m 0755 /usr/share/nginx/html
echo '<!DOCTYPE html><title>Welcome to nginx!</title><h1>Welcome to nginx!</h1>' >/usr/share/nginx/html/index.html

# Caddy: the caddy image's layout (XDG_CONFIG_HOME=/config, XDG_DATA_HOME=/data,
# site root /usr/share/caddy, working directory /srv) and its binary's file
# capability, which lets a non-root caddy bind 80 and 443. Debian's
# /etc/caddy/Caddyfile is the same default site as the image's.
install -d -m 0755 /config/caddy /srv /usr/share/caddy
setcap cap_net_bind_service=+ep /usr/bin/caddy
# Alpine's wget, for the images built on Alpine whose health checks call it:
# busybox's `wget --spider` sends GET where GNU wget sends HEAD, which Caddy's
# admin API answers with 405. Those images put this directory first on PATH.
install -d -m 0755 /usr/local/lib/testbed/busybox
ln -s /bin/busybox /usr/local/lib/testbed/busybox/wget

# VictoriaMetrics and vmalert: the real binaries (tools/install/victoriametrics.sh),
# at the images' paths.
chmod 0755 /victoria-metrics-prod /vmalert-prod

# The stand-ins' data directories, owned as in the images they stand in for.
install -d -o loki -g loki /loki
install -d -o grafana -g root /var/lib/grafana /usr/share/grafana
install -d /etc/grafana/provisioning/datasources /etc/grafana/provisioning/dashboards /etc/grafana/dashboards
install -d /var/lib/promtail
# qdrant/qdrant: its working directory, with the config/ directory it reads
# config.yaml, <RUN_MODE>.yaml and local.yaml from (standin.py: qdrant_settings).
install -d /qdrant/storage /qdrant/snapshots /qdrant/config
install -d /etc/letsencrypt /var/lib/letsencrypt /var/log/letsencrypt /opt/certbot
# n8nio/n8n: node's home with its .n8n (the image makes it, so a volume there is node's).
install -d -o node -g node -m 0755 /home/node /home/node/.n8n
# ghcr.io/openclaw/openclaw: its code in /app; the image has no
# /home/node/.openclaw, so a volume mounted there is root's.
# grafana/alloy: /var/lib/alloy and its data directory owned by alloy, 0770,
# while the image runs as root.
install -d -o alloy -g alloy -m 0770 /var/lib/alloy /var/lib/alloy/data
install -d -o alloy -g alloy -m 0755 /etc/alloy /home/alloy
chown alloy:alloy /etc/alloy/config.alloy
# The stand-ins' commands, named as the real ones, so `docker exec … n8n
# export:workflow` and `pgrep diun` find them: standin.py reads its name.
for command in n8n litellm diun; do ln -s ../lib/testbed/standin.py "/usr/local/bin/$command"; done
ln -s /usr/local/lib/testbed/standin.py /bin/alloy

# haproxy: the official image's account (uid and gid 99, where Debian's
# postinst picked a free system id) and its configuration directory, with
# Debian's default configuration standing for the image's example.
groupmod --gid 99 haproxy
usermod --uid 99 --gid 99 haproxy
install -d -o haproxy -g haproxy /var/lib/haproxy
install -d /usr/local/etc/haproxy
cp /etc/haproxy/haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg

# The application slot: code owned by root, its log directory by the app user.
install -d -o app -g app /app/logs
python3 -m py_compile /app/main.py /usr/local/lib/testbed/standin.py
node --check /app/openclaw.mjs
