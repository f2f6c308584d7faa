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

# Redis: the redis image's working directory and volume.
install -d -o redis -g redis -m 0755 /data

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

# The stand-ins' data directories, owned as in the images they stand in for.
install -d -o loki -g loki /loki
install -d -o grafana -g root /var/lib/grafana /usr/share/grafana
install -d /etc/grafana/provisioning/datasources /etc/grafana/provisioning/dashboards /etc/grafana/dashboards
install -d /var/lib/promtail
install -d /qdrant/storage /qdrant/snapshots
install -d /etc/letsencrypt /var/lib/letsencrypt /var/log/letsencrypt /opt/certbot

# The application slot: code owned by root, its log directory by the app user.
install -d -o app -g app /app/logs
python3 -m py_compile /app/main.py /usr/local/lib/testbed/standin.py
