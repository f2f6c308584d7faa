#!/usr/bin/env bash
# Debian packages the test suite runs as real validators and live servers.
# Installs only what is missing, so a warm machine spends no time here.
set -euo pipefail
# prometheus brings promtool, prometheus-alertmanager amtool, and
# prometheus-blackbox-exporter its --config.check: the monitoring tests run all three.
packages=(caddy shellcheck cloud-init openssh-server jq prometheus prometheus-alertmanager prometheus-blackbox-exporter nginx)
# apache2-utils brings htpasswd: the basic-auth tests hash with it, as an
# operator would, and prove nginx and Traefik accept its $2y$ bcrypt.
packages+=(apache2-utils)
# The backup tests run PostgreSQL 15 and Redis 7 as live servers, restic from
# Debian, and systemd-analyze on the timer's calendar.
packages+=(postgresql-15 redis-server restic systemd)
# The host tests: fail2ban-client -t on the sshd jail, and the live firewall
# probe, which runs the real ufw over iptables inside network namespaces.
packages+=(fail2ban ufw iptables iproute2)
# The testbed: Debian's Docker engine runs the local VPS, a system container
# whose root filesystem mmdebstrap builds from Debian's packages.
packages+=(docker.io mmdebstrap)
# The testbed's image registry: Debian's docker-registry over TLS from a CA
# that openssl makes per run; curl probes it.
packages+=(docker-registry openssl curl)
# The workflow tests run the deploy's own steps under strace, which records
# every program they start with its arguments: the deploy key must be in none.
packages+=(strace)
# The Docker socket proxy's HAProxy configuration is checked with haproxy -c,
# and run against a stand-in of the Docker socket to see what it lets through.
packages+=(haproxy)
# Pulled backups: rsync brings rrsync, the read-only export the ops host pulls
# from; wireguard-tools' wg configures the WireGuard link of the live pull test.
packages+=(rsync wireguard-tools)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
echo "installing Debian packages: ${missing[*]}" >&2
"${sudo_cmd[@]}" apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
# The packages are wanted for their tools and for servers the tests start
# privately; the daemons they start would use ports, and fail2ban would ban
# addresses on this machine, so they are stopped and disabled.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  "${sudo_cmd[@]}" systemctl disable --now prometheus prometheus-alertmanager prometheus-blackbox-exporter \
    redis-server postgresql fail2ban nginx caddy haproxy >/dev/null 2>&1 || true
fi
