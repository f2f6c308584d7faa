import { stringify } from "yaml";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC, staleAfterSeconds } from "../backup/metrics";
import { pullTextfileName, type PullJob } from "../backup/pull";
import { duration, ruleFile, type AlertRule, type RuleGroup } from "../monitoring/alert-rules";
import type { VpnPlan } from "../vpn/wireguard-spec";

/**
 * The uptime checks of the ops host, as code. Seed 002 names Uptime Kuma,
 * whose monitors have no supported API (uptime-kuma#118, open since 2021):
 * kept as code they would be written into its SQLite database behind its
 * back. So the checks are Prometheus with the blackbox exporter, whose whole
 * configuration is files that `promtool check config` and `promtool test
 * rules` read, generated from the same declarations as the routes and the
 * servers. The push monitor of each backup pull is the pull's own metric
 * (node-exporter's textfile collector), judged by its age: a Pushgateway
 * would keep serving the last value it was pushed after the job died,
 * which is exactly what a dead-man switch must not do.
 */

/** Where the ops host's daemons listen: loopback only; nothing outside the ops host reads them (the servers get a status push instead). */
export const OPS_PROMETHEUS_PORT = 9090;
export const OPS_NODE_EXPORTER_PORT = 9100;
/** The blackbox exporter is only Prometheus's: loopback. */
export const OPS_BLACKBOX_ADDRESS = "127.0.0.1:9115";
/** TLS certificates alert this long before they expire. */
export const TLS_WARNING_DAYS = 14;

export interface OpsRoute {
  readonly hostname: string;
  /** Admin routes behind basic auth answer 401 to a probe without credentials, and that is them working. */
  readonly basicAuth: boolean;
}

export interface OpsMonitoringInput {
  readonly environment: string;
  readonly routes: readonly OpsRoute[];
  readonly vpn: VpnPlan;
  /** Each server's SSH port, probed over the VPN. */
  readonly sshPorts: Readonly<Record<string, number>>;
  readonly pulls: readonly PullJob[];
  /** The RPO of the nightly backups; a pull older than 1.5 times it is an alert (B9). */
  readonly rpoSeconds: number;
  readonly scrapeIntervalSeconds: number;
}

export interface OpsMonitoring {
  readonly input: OpsMonitoringInput;
  readonly prometheus: string;
  readonly blackbox: string;
  readonly rules: string;
  readonly ruleGroups: readonly RuleGroup[];
  /** What is checked, for the plan. */
  readonly monitors: readonly { readonly kind: string; readonly target: string }[];
}

export function routeModule(hostname: string): string {
  return `route_${hostname.replace(/[^a-z0-9]/g, "_")}`;
}

export function opsMonitoring(input: OpsMonitoringInput): OpsMonitoring {
  const routes = [...input.routes].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const modules: Record<string, unknown> = {
    tcp_connect: { prober: "tcp", timeout: "5s" },
  };
  for (const route of routes) {
    modules[routeModule(route.hostname)] = {
      prober: "http",
      timeout: "10s",
      http: {
        method: "GET",
        valid_status_codes: route.basicAuth ? [401] : [],
        fail_if_not_ssl: true,
        preferred_ip_protocol: "ip4",
        ip_protocol_fallback: true,
      },
    };
  }
  const relabel = [
    { source_labels: ["__address__"], target_label: "__param_target" },
    { source_labels: ["__address__"], target_label: "instance" },
    { target_label: "__address__", replacement: OPS_BLACKBOX_ADDRESS },
  ];
  const members = input.vpn.members.filter((member) => member.kind === "server");
  const scrapeConfigs: Record<string, unknown>[] = [
    { job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${OPS_PROMETHEUS_PORT}`] }] },
    // The pulls' metrics: node-exporter's textfile collector reads what each pull writes.
    { job_name: "node", static_configs: [{ targets: [`127.0.0.1:${OPS_NODE_EXPORTER_PORT}`] }] },
  ];
  if (routes.length > 0) {
    scrapeConfigs.push({
      job_name: "routes",
      metrics_path: "/probe",
      static_configs: routes.map((route) => ({ targets: [`https://${route.hostname}/`], labels: { __param_module: routeModule(route.hostname) } })),
      relabel_configs: relabel,
    });
  }
  if (members.length > 0) {
    scrapeConfigs.push({
      job_name: "vpn",
      metrics_path: "/probe",
      params: { module: ["tcp_connect"] },
      static_configs: members.map((member) => ({ targets: [`${member.address}:${input.sshPorts[member.name] ?? 22}`], labels: { server: member.name } })),
      relabel_configs: relabel,
    });
  }
  const prometheus = stringify(
    {
      global: {
        scrape_interval: duration(input.scrapeIntervalSeconds),
        evaluation_interval: duration(input.scrapeIntervalSeconds),
        external_labels: { environment: input.environment, monitor: "ops-host" },
      },
      rule_files: ["/etc/prometheus/ops-rules.yml"],
      scrape_configs: scrapeConfigs,
    },
    { lineWidth: 0 },
  );
  const ruleGroups = opsRuleGroups(input, routes.length > 0, members.length > 0);
  return {
    input,
    prometheus,
    blackbox: stringify({ modules }, { lineWidth: 0 }),
    rules: ruleFile(ruleGroups),
    ruleGroups,
    monitors: [
      ...routes.map((route) => ({ kind: "https route, TLS expiry", target: `https://${route.hostname}/${route.basicAuth ? " (401 expected)" : ""}` })),
      ...members.map((member) => ({ kind: "server over the VPN (ssh port)", target: `${member.name} ${member.address}:${input.sshPorts[member.name] ?? 22}` })),
      ...input.pulls.map((pull) => ({ kind: "push monitor (dead-man switch)", target: `backup pull of ${pull.server}` })),
    ],
  };
}

function opsRuleGroups(input: OpsMonitoringInput, hasRoutes: boolean, hasMembers: boolean): RuleGroup[] {
  const interval = input.scrapeIntervalSeconds;
  const staleAfter = staleAfterSeconds(input.rpoSeconds);
  const uptime: AlertRule[] = [];
  if (hasRoutes) {
    uptime.push(
      {
        alert: "RouteDown",
        expr: 'probe_success{job="routes"} == 0',
        forSeconds: 120,
        severity: "critical",
        summary: "{{ $labels.instance }} does not answer as expected from outside",
        threshold: "probe failing for 2m",
      },
      {
        alert: "TLSCertificateExpiresSoon",
        expr: `probe_ssl_earliest_cert_expiry{job="routes"} - time() < ${TLS_WARNING_DAYS * 86400}`,
        forSeconds: 0,
        severity: "warning",
        summary: "the certificate of {{ $labels.instance }} expires in {{ $value | humanizeDuration }}",
        threshold: `certificate expires within ${TLS_WARNING_DAYS} days`,
      },
    );
  }
  if (hasMembers) {
    uptime.push({
      alert: "ServerUnreachableOverVPN",
      expr: 'probe_success{job="vpn"} == 0',
      forSeconds: 300,
      severity: "critical",
      summary: "{{ $labels.server }} does not answer on its SSH port over the VPN",
      threshold: "VPN probe failing for 5m",
    });
  }
  const pulls: AlertRule[] = input.pulls.flatMap((pull) => {
    const series = `${LAST_SUCCESS_METRIC}{mode="pull",server="${pull.server}"}`;
    return [
      {
        alert: "BackupPullMissing",
        // The dead-man switch: no pull has reported, or the last good one is too old.
        expr: `absent(${series}) or (time() - ${series} > ${staleAfter})`,
        forSeconds: 0,
        severity: "critical",
        summary: `no good pull of ${pull.server}'s backups for over ${staleAfter / 3600} h`,
        threshold: `last good pull older than ${staleAfter / 3600} h (1.5 x RPO), or none`,
        labels: { server: pull.server },
      },
      {
        alert: "BackupPullFailed",
        expr: `${LAST_EXIT_CODE_METRIC}{mode="pull",server="${pull.server}"} != 0`,
        forSeconds: 0,
        severity: "warning",
        summary: `the last pull of ${pull.server}'s backups exited with code {{ $value }}`,
        threshold: "last pull's exit code != 0",
        labels: { server: pull.server },
      },
    ];
  });
  return [
    ...(uptime.length > 0 ? [{ name: "ops-uptime", intervalSeconds: interval, rules: uptime }] : []),
    ...(pulls.length > 0 ? [{ name: "ops-backup-pulls", intervalSeconds: interval, rules: pulls }] : []),
  ];
}

function fileStep(path: string, content: string): string {
  const delimiter = "INFRA_OPS_FILE_END";
  if (content.includes(delimiter)) throw new Error(`${path} contains the here-document delimiter ${delimiter}`);
  return `cat >"${path}.new" <<'${delimiter}'\n${content.replace(/\n$/, "")}\n${delimiter}\nchmod 0644 "${path}.new"\nmv -f "${path}.new" "${path}"`;
}

/**
 * Installs the checks on the ops host from Debian's packages: Prometheus,
 * node-exporter and the blackbox exporter, all on loopback; each configuration is checked by the daemon's own tool before
 * it replaces the running one.
 */
export function opsMonitoringInstallScript(monitoring: OpsMonitoring): string {
  return `#!/usr/bin/env bash
# Installs the ops host's uptime checks. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
for package in prometheus prometheus-blackbox-exporter prometheus-node-exporter jq curl; do
  dpkg-query -W -f='\${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ \${#missing[@]} -gt 0 ]]; then apt-get update -q && apt-get install -y -q --no-install-recommends "\${missing[@]}"; fi
${fileStep("/etc/prometheus/prometheus.yml", monitoring.prometheus)}
${fileStep("/etc/prometheus/ops-rules.yml", monitoring.rules)}
${fileStep("/etc/prometheus/blackbox.yml", monitoring.blackbox)}
promtool check config /etc/prometheus/prometheus.yml
prometheus-blackbox-exporter --config.check --config.file=/etc/prometheus/blackbox.yml
${fileStep("/etc/default/prometheus", `ARGS="--web.listen-address=127.0.0.1:${OPS_PROMETHEUS_PORT} --storage.tsdb.retention.time=30d"\n`)}
${fileStep("/etc/default/prometheus-blackbox-exporter", `ARGS="--config.file=/etc/prometheus/blackbox.yml --web.listen-address=${OPS_BLACKBOX_ADDRESS}"\n`)}
${fileStep("/etc/default/prometheus-node-exporter", `ARGS="--web.listen-address=127.0.0.1:${OPS_NODE_EXPORTER_PORT} --collector.textfile.directory=/var/lib/prometheus/node-exporter"\n`)}
systemctl restart prometheus-blackbox-exporter prometheus-node-exporter prometheus
systemctl is-active --quiet prometheus prometheus-blackbox-exporter prometheus-node-exporter
`;
}

/** What each server's own alerting knows of the ops host, in its node-exporter's textfile directory. */
export const OPS_STATUS_TEXTFILE = "infra_ops_status.prom";
/** Where the receiver writes; owned by the pull account, linked from the textfile directory. */
export const OPS_STATUS_DIR = "/var/lib/infra-ops-status";
export const OPS_STATUS_RECEIVER = "/usr/local/sbin/infra-ops-status-receive";
export const OPS_LAST_SEEN_METRIC = "infra_ops_host_last_seen_timestamp_seconds";
export const OPS_RULES_EVALUATED_METRIC = "infra_ops_checks_last_evaluation_timestamp_seconds";
export const OPS_PULL_METRIC = "infra_ops_backup_pull_last_success_timestamp_seconds";
export const OPS_ALERT_METRIC = "infra_ops_alert_firing";
export const OPS_STATUS_UNIT = "infra-ops-status";
export const OPS_STATUS_INTERVAL_SECONDS = 120;
/** The ops host's key for the status push (0600, root). */
export const OPS_STATUS_KEY_FILE = "/etc/infra-backup/status.key";

/**
 * The monitor of the monitor. Every two minutes the ops host sends each
 * server what its checks and pulls look like: when its rules were last
 * evaluated, each pull's last success, and which of its alerts fire. The
 * server stamps the time it received them, and its own alert rules
 * (opsWatchRules) fire when that time gets old: an ops host that is down,
 * cut off or whose timer died says nothing, and silence is the alarm. The
 * server holds no key to the ops host: it only receives, through a forced
 * command that accepts these metrics and nothing else.
 */
export function opsStatusScript(
  members: readonly { readonly name: string; readonly address: string; readonly sshPort: number }[],
  pulls: readonly PullJob[],
  account: string,
): string {
  return `#!/usr/bin/env bash
# Sends the ops host's status to every server; generated by components/ops-host/ops-monitoring.ts.
set -uo pipefail
readonly prometheus="http://127.0.0.1:${OPS_PROMETHEUS_PORT}"
query() { curl --fail --silent --show-error --max-time 10 --get --data-urlencode "query=$1" "$prometheus/api/v1/query"; }
status=$(
  if evaluated=$(query 'max(prometheus_rule_group_last_evaluation_timestamp_seconds)' | jq -er '.data.result[0].value[1] | tonumber | floor'); then
    printf '${OPS_RULES_EVALUATED_METRIC} %s\\n' "$evaluated"
  fi
${pulls
  .map(
    (pull) => `  if value=$(query '${LAST_SUCCESS_METRIC}{mode="pull",server="${pull.server}"}' | jq -er '.data.result[0].value[1] | tonumber | floor'); then
    printf '${OPS_PULL_METRIC}{server="${pull.server}"} %s\\n' "$value"
  fi`,
  )
  .join("\n")}
  query 'ALERTS{alertstate="firing"}' | jq -r '.data.result[].metric.alertname' | sort -u | while read -r name; do
    printf '${OPS_ALERT_METRIC}{check="%s"} 1\\n' "$name"
  done
)
failed=0
${members.map((member) => `printf '%s\\n' "$status" | ssh -F /dev/null -i ${OPS_STATUS_KEY_FILE} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/infra-backup/pull-${member.name}.known_hosts -o ConnectTimeout=20 -p ${member.sshPort} ${account}@${member.address} status || failed=1`).join("\n")}
exit "$failed"
`;
}

/**
 * The forced command of the status key on a server: reads at most 64 KiB,
 * keeps only the ops host's own metrics, each line whole and well formed,
 * stamps the time of receipt, and replaces the textfile in one rename.
 */
export function opsStatusReceiver(dir = OPS_STATUS_DIR): string {
  return `#!/usr/bin/env bash
# Receives the ops host's status; generated by components/ops-host/ops-monitoring.ts.
set -euo pipefail
umask 022
readonly dir=${dir}
tmp=$(mktemp "$dir/.${OPS_STATUS_TEXTFILE}.XXXXXX")
trap 'rm -f "$tmp"' EXIT
head -c 65536 | grep -E '^infra_ops_(checks_last_evaluation_timestamp_seconds|backup_pull_last_success_timestamp_seconds\\{server="[a-z0-9-]{1,63}"\\}|alert_firing\\{check="[A-Za-z_][A-Za-z0-9_]{0,127}"\\}) [0-9]{1,12}$' >"$tmp" || true
printf '${OPS_LAST_SEEN_METRIC} %s\\n' "$(date +%s)" >>"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/${OPS_STATUS_TEXTFILE}"
trap - EXIT
`;
}

/**
 * The server's alert rules about the ops host: no status for ten minutes
 * (the ops host is down, cut off, or stopped sending), its checks no longer
 * evaluated, a pull without success for 1.5 times the RPO whatever the ops
 * host's own alerting says, and each of its own alerts, passed on.
 */
export function opsWatchRules(pulls: readonly PullJob[], rpoSeconds: number, intervalSeconds: number): RuleGroup {
  const staleAfter = staleAfterSeconds(rpoSeconds);
  const rules: AlertRule[] = [
    {
      alert: "OpsHostSilent",
      expr: `absent(${OPS_LAST_SEEN_METRIC}) or (time() - ${OPS_LAST_SEEN_METRIC} > 600)`,
      forSeconds: 0,
      severity: "critical",
      summary: "no status from the ops host for over 10 minutes: its uptime checks and backup pulls are not known to run",
      threshold: "no status received for 10m",
    },
    {
      alert: "OpsHostChecksStopped",
      expr: `time() - ${OPS_RULES_EVALUATED_METRIC} > 600 or (${OPS_LAST_SEEN_METRIC} unless on () ${OPS_RULES_EVALUATED_METRIC})`,
      forSeconds: 0,
      severity: "critical",
      summary: "the ops host answers, but its checks are not evaluated",
      threshold: "no rule evaluation on the ops host for 10m",
    },
    {
      alert: "OpsHostAlertFiring",
      expr: `${OPS_ALERT_METRIC} == 1`,
      forSeconds: 0,
      severity: "critical",
      // The ops host's alert name travels as `check`: an alert's own name would overwrite an `alertname` label.
      summary: "the ops host's check {{ $labels.check }} is firing",
      threshold: "any alert firing on the ops host",
    },
    ...pulls.map((pull): AlertRule => ({
      alert: "OpsHostPullStale",
      expr: `(${OPS_LAST_SEEN_METRIC} unless on () ${OPS_PULL_METRIC}{server="${pull.server}"}) or (time() - ${OPS_PULL_METRIC}{server="${pull.server}"} > ${staleAfter})`,
      forSeconds: 0,
      severity: "critical",
      summary: `the ops host reports no good pull of ${pull.server}'s backups for over ${staleAfter / 3600} h`,
      threshold: `last good pull older than ${staleAfter / 3600} h, or none, as the ops host reports it`,
      labels: { server: pull.server },
    })),
  ];
  return { name: "ops-host-watch", intervalSeconds, rules };
}

/** The receiving side on a server: the receiver and its directory, linked into node-exporter's textfile directory. */
export function opsStatusReceiverInstallScript(account: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
install -d -m 0755 -o ${account} -g ${account} ${OPS_STATUS_DIR}
install -d -m 0755 /var/lib/prometheus/node-exporter
${fileStep(OPS_STATUS_RECEIVER, opsStatusReceiver())}
chmod 0755 ${OPS_STATUS_RECEIVER}
ln -sfn ${OPS_STATUS_DIR}/${OPS_STATUS_TEXTFILE} /var/lib/prometheus/node-exporter/${OPS_STATUS_TEXTFILE}
`;
}

/** The sending side on the ops host: the script and its two-minute timer. */
export function opsStatusInstallScript(script: string, knownHosts: readonly string[]): string {
  return `#!/usr/bin/env bash
set -euo pipefail
install -d -m 0700 /etc/infra-backup
${knownHosts.join("\n")}
${fileStep(`/usr/local/sbin/${OPS_STATUS_UNIT}`, script)}
chmod 0750 /usr/local/sbin/${OPS_STATUS_UNIT}
${fileStep(`/etc/systemd/system/${OPS_STATUS_UNIT}.service`, `[Unit]\nDescription=Send the ops host's status to every server over the VPN\nAfter=wg-quick@wg0.service prometheus.service\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/${OPS_STATUS_UNIT}\n`)}
${fileStep(`/etc/systemd/system/${OPS_STATUS_UNIT}.timer`, `[Unit]\nDescription=Send the ops host's status every ${OPS_STATUS_INTERVAL_SECONDS / 60} minutes\n\n[Timer]\nOnBootSec=2min\nOnUnitActiveSec=${OPS_STATUS_INTERVAL_SECONDS}s\n\n[Install]\nWantedBy=timers.target\n`)}
systemctl daemon-reload
systemctl enable --now ${OPS_STATUS_UNIT}.timer
`;
}

/** The pulls' textfile names on the ops host, for the plan. */
export function pullMetricFiles(pulls: readonly PullJob[]): string[] {
  return pulls.map((pull) => pullTextfileName(pull.server));
}
