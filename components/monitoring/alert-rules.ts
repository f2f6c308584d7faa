import { RELEASE_ID_PATTERN } from "../container/release";
import { stringify } from "yaml";
import { LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC, staleAfterSeconds } from "../backup/metrics";
import type { AlertThresholds } from "./settings";
import type { Probe, ScrapeJob } from "./targets";

/**
 * Alert rules as data, generated per component of the platform: the host and
 * its containers always, the ingress and the APIs whose metrics count
 * responses by status code, PostgreSQL and Redis when an exporter watches
 * them, the database a service's own check reports on, the backup job, and
 * the routes the ingress serves. Thresholds come from the stack's
 * `infra:monitoring`.
 */

export type Severity = "warning" | "critical";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly forSeconds: number;
  readonly severity: Severity;
  /** A Go template, rendered by the evaluator with the series' labels and value. */
  readonly summary: string;
  /** The condition in words, with its threshold, for the plan. */
  readonly threshold: string;
  /** Labels beyond severity and group, where rules of one name must differ. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly intervalSeconds: number;
  readonly rules: readonly AlertRule[];
}

export interface AlertRuleInput {
  readonly thresholds: AlertThresholds;
  readonly evaluationIntervalSeconds: number;
  readonly jobs: readonly ScrapeJob[];
  readonly probes: readonly Probe[];
  /** Every service on the host with its Docker container name. */
  readonly containers: readonly { readonly service: string; readonly container: string; readonly released?: boolean }[];
  /** Response counters of scraped services, each giving a 5xx ratio (the ingress's, an API's own). */
  readonly httpCounters?: readonly HTTPCounter[];
  /**
   * Whether a backup job runs on the platform (some service declares a
   * backup); without one no host ever writes the job's metrics, and the
   * backup alerts would only ever say so. True when absent.
   */
  readonly backups?: boolean;
}

/**
 * A counter of HTTP responses that carries the status code as a label, in
 * the metrics of a scraped service. The 5xx alert is generated from it.
 */
export interface HTTPCounter {
  /** The service whose /metrics carries it; without a scrape job for it there is no alert. */
  readonly service: string;
  readonly metric: string;
  /** Label with the status code: `200`, or a class such as `5xx`; both match `5..`. */
  readonly codeLabel: string;
  /** Label the ratio is computed per: Caddy's server, Traefik's entry point, the job of an API. */
  readonly by: string;
  /** Matchers narrowing the counter, e.g. `entrypoint="websecure"`. */
  readonly matchers?: string;
}

/** Caddy's request histogram carries the status code (`servers { metrics }`, Caddy 2.6 to 2.9). */
export const CADDY_REQUESTS: Omit<HTTPCounter, "service"> = { metric: "caddy_http_request_duration_seconds_count", codeLabel: "code", by: "server" };
/** Traefik counts requests per entry point with the status code; websecure is where every public request arrives. */
export const TRAEFIK_REQUESTS: Omit<HTTPCounter, "service"> = {
  metric: "traefik_entrypoint_requests_total",
  codeLabel: "code",
  by: "entrypoint",
  matchers: 'entrypoint="websecure"',
};
/** prometheus-fastapi-instrumentator's counter; it groups status codes into classes (`2xx`, `5xx`) by default. */
export const FASTAPI_REQUESTS: Omit<HTTPCounter, "service"> = { metric: "http_requests_total", codeLabel: "status", by: "job" };

/** Filesystems that hold no data of their own; node-exporter reports them too. */
const PSEUDO_FILESYSTEMS = "tmpfs|devtmpfs|overlay|squashfs|nsfs|ramfs|fuse.lxcfs";
const FILESYSTEMS = `node_filesystem_avail_bytes{fstype!~"${PSEUDO_FILESYSTEMS}"}`;

export function alertRules(input: AlertRuleInput): RuleGroup[] {
  const t = input.thresholds;
  const minutes = (value: number) => value * 60;
  const group = (name: string, rules: AlertRule[]): RuleGroup => ({ name, intervalSeconds: input.evaluationIntervalSeconds, rules });
  const groups: RuleGroup[] = [];

  groups.push(
    group("host", [
      {
        alert: "HostDiskSpaceLow",
        expr: `${FILESYSTEMS} < ${t.diskFreeGb} * 1e9`,
        forSeconds: minutes(5),
        severity: "warning",
        summary: `{{ $labels.mountpoint }} has {{ $value | humanize }}B free, under ${t.diskFreeGb} GB`,
        threshold: `free disk < ${t.diskFreeGb} GB for 5m`,
      },
      {
        alert: "HostDiskFillingUp",
        expr: `predict_linear(${FILESYSTEMS}[6h], ${t.diskFullWithinHours} * 3600) < 0`,
        forSeconds: minutes(30),
        severity: "warning",
        summary: `{{ $labels.mountpoint }} fills up within ${t.diskFullWithinHours} h at the rate of the last 6 h`,
        threshold: `full within ${t.diskFullWithinHours} h (predict_linear over 6h) for 30m`,
      },
      {
        alert: "HostMemoryPressure",
        expr: `100 * node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < ${t.memoryAvailablePercent}`,
        forSeconds: minutes(5),
        severity: "warning",
        summary: `only {{ $value | printf "%.1f" }}% of memory is available, under ${t.memoryAvailablePercent}%`,
        threshold: `available memory < ${t.memoryAvailablePercent}% for 5m`,
      },
    ]),
  );

  const containers = [...input.containers].sort((a, b) => a.container.localeCompare(b.container));
  const containerPattern = containers.map((entry) => containerNamePattern(entry.container, entry.released === true)).join("|");
  const containerRules: AlertRule[] = [];
  if (containers.length > 0) {
    containerRules.push(
      {
        alert: "ContainerDown",
        // cAdvisor stops reporting a container that is gone; absent() names it,
        // and the service becomes the instance, as in the probe and scrape alerts.
        // A released service's containers carry a release id, matched by pattern; absent() then has no
        // name to give, so the alert names the service's container without one.
        expr: containers
          .map((entry) =>
            entry.released
              ? `label_replace(label_replace(absent(container_last_seen{name=~"${containerNamePattern(entry.container, true)}"}), "name", "${entry.container}", "", ""), "instance", "${entry.service}", "", "")`
              : `label_replace(absent(container_last_seen{name="${entry.container}"}), "instance", "${entry.service}", "", "")`,
          )
          .join(" or "),
        forSeconds: minutes(t.containerDownMinutes),
        severity: "critical",
        summary: "container {{ $labels.name }} is not running",
        threshold: `container missing for ${t.containerDownMinutes}m`,
      },
      {
        alert: "ContainerRestarting",
        expr: `changes(container_start_time_seconds{name=~"${containerPattern}"}[${t.restartWindowMinutes}m]) >= ${t.containerRestarts}`,
        forSeconds: 0,
        severity: "warning",
        summary: `container {{ $labels.name }} restarted {{ $value }} times in ${t.restartWindowMinutes} minutes`,
        threshold: `>= ${t.containerRestarts} restarts in ${t.restartWindowMinutes}m`,
      },
    );
  }
  if (input.probes.some((probe) => probe.job === "services")) {
    containerRules.push({
      alert: "ContainerUnhealthy",
      expr: `probe_success{job="services"} == 0`,
      forSeconds: minutes(t.containerDownMinutes),
      severity: "critical",
      summary: "{{ $labels.instance }} does not accept connections on its port",
      threshold: `port not answering for ${t.containerDownMinutes}m`,
    });
  }
  containerRules.push({
    alert: "ScrapeTargetDown",
    expr: "up == 0",
    forSeconds: minutes(t.containerDownMinutes),
    severity: "warning",
    summary: "metrics of {{ $labels.job }} ({{ $labels.instance }}) cannot be scraped",
    threshold: `scrape failing for ${t.containerDownMinutes}m`,
  });
  groups.push(group("containers", containerRules));

  // Counters read the same way become one rule over every service exporting
  // them, told apart by the scrape job (named after the service), so no two
  // rules carry the same name and labels.
  const scraped = (input.httpCounters ?? []).filter((counter) => input.jobs.some((job) => job.kind === "endpoint" && job.service === counter.service));
  const kinds = new Map<string, HTTPCounter[]>();
  for (const counter of scraped) {
    const key = [counter.metric, counter.codeLabel, counter.by, counter.matchers ?? ""].join("\u0000");
    kinds.set(key, [...(kinds.get(key) ?? []), counter]);
  }
  if (kinds.size > 0) {
    groups.push(
      group(
        "apps",
        [...kinds.values()].map((counters) => {
          const counter = counters[0]!;
          const services = counters.map((entry) => entry.service);
          const scope = [...(counter.matchers ? [counter.matchers] : []), ...(services.length > 1 ? [`job=~"${services.join("|")}"`] : [])];
          const selector = (code: boolean) => {
            const matchers = [...scope, ...(code ? [`${counter.codeLabel}=~"5.."`] : [])];
            return matchers.length > 0 ? `${counter.metric}{${matchers.join(",")}}` : counter.metric;
          };
          return {
            alert: "HTTP5xxRatioHigh",
            expr:
              `100 * sum by (${counter.by}) (rate(${selector(true)}[1m]))` + ` / sum by (${counter.by}) (rate(${selector(false)}[1m])) > ${t.http5xxPercent}`,
            forSeconds: minutes(t.http5xxForMinutes),
            severity: "critical",
            summary: `${services.length > 1 ? `{{ $labels.${counter.by} }}: ` : ""}{{ $value | printf "%.1f" }}% of responses are 5xx, over ${t.http5xxPercent}%`,
            threshold: `5xx > ${t.http5xxPercent}% of ${kinds.size > 1 || services.length > 1 ? `${services.join(" and ")}'s ` : ""}responses for ${t.http5xxForMinutes}m`,
            ...(kinds.size > 1 ? { labels: { source: services.join(",") } } : {}),
          };
        }),
      ),
    );
  }

  if (input.jobs.some((job) => job.exporter === "postgres")) {
    groups.push(
      group("postgres", [
        {
          alert: "PostgresDown",
          expr: "pg_up == 0",
          forSeconds: minutes(t.containerDownMinutes),
          severity: "critical",
          summary: "PostgreSQL does not answer its exporter",
          threshold: `pg_up == 0 for ${t.containerDownMinutes}m`,
        },
        {
          alert: "PostgresConnectionsHigh",
          expr: `100 * sum by (instance) (pg_stat_activity_count) / max by (instance) (pg_settings_max_connections) > ${t.postgresConnectionsPercent}`,
          forSeconds: minutes(5),
          severity: "warning",
          summary: `PostgreSQL uses {{ $value | printf "%.0f" }}% of max_connections, over ${t.postgresConnectionsPercent}%`,
          threshold: `connections > ${t.postgresConnectionsPercent}% of max_connections for 5m`,
        },
      ]),
    );
  }

  if (input.jobs.some((job) => job.exporter === "redis")) {
    groups.push(
      group("redis", [
        {
          alert: "RedisDown",
          expr: "redis_up == 0",
          forSeconds: minutes(t.containerDownMinutes),
          severity: "critical",
          summary: "Redis does not answer its exporter",
          threshold: `redis_up == 0 for ${t.containerDownMinutes}m`,
        },
        {
          alert: "RedisMemoryHigh",
          // maxmemory 0 means no limit, and then there is nothing to compare against.
          expr: `100 * redis_memory_used_bytes / redis_memory_max_bytes > ${t.redisMemoryPercent} and redis_memory_max_bytes > 0`,
          forSeconds: minutes(5),
          severity: "warning",
          summary: `Redis uses {{ $value | printf "%.0f" }}% of maxmemory, over ${t.redisMemoryPercent}%`,
          threshold: `used memory > ${t.redisMemoryPercent}% of maxmemory for 5m`,
        },
      ]),
    );
  }

  if (input.probes.some((probe) => probe.job === "database")) {
    groups.push(
      group("dependencies", [
        {
          alert: "DatabaseConnectionFailed",
          // A service that does not answer at all is ContainerUnhealthy's:
          // this one answers, and says it cannot reach its database.
          expr: `probe_success{job="database"} == 0 unless on (instance) probe_success{job="services"} == 0`,
          forSeconds: minutes(t.probeFailedMinutes),
          severity: "critical",
          summary: "{{ $labels.instance }} answers, but its database check fails: it cannot reach its database",
          threshold: `database check failing for ${t.probeFailedMinutes}m while the service answers`,
        },
      ]),
    );
  }

  const staleAfter = staleAfterSeconds(t.backupRPOHours * 3600);
  if (input.backups !== false) {
    groups.push(
      group("backups", [
        {
          alert: "BackupTooOld",
          expr: `time() - ${LAST_SUCCESS_METRIC} > ${staleAfter}`,
          forSeconds: 0,
          severity: "critical",
          summary: `the last good backup is {{ $value | humanizeDuration }} old, over 1.5 x the RPO of ${t.backupRPOHours} h`,
          threshold: `last good backup older than ${staleAfter / 3600} h (1.5 x RPO ${t.backupRPOHours} h)`,
        },
        {
          alert: "BackupNeverSucceeded",
          // A host whose job has never finished leaves no metric at all; absence
          // for as long as a stale backup would be tolerated is the same alarm.
          expr: `absent(${LAST_SUCCESS_METRIC})`,
          forSeconds: staleAfter,
          severity: "critical",
          summary: "no backup has succeeded on this host yet",
          threshold: `no success metric for ${staleAfter / 3600} h`,
        },
        {
          alert: "BackupFailed",
          expr: `${LAST_EXIT_CODE_METRIC} != 0`,
          forSeconds: 0,
          severity: "warning",
          summary: "the last backup run exited with code {{ $value }}",
          threshold: "last run's exit code != 0",
        },
      ]),
    );
  }

  if (input.probes.some((probe) => probe.job === "routes")) {
    groups.push(
      group("routes", [
        {
          alert: "RouteProbeFailed",
          expr: `probe_success{job="routes"} == 0`,
          forSeconds: minutes(t.probeFailedMinutes),
          severity: "critical",
          summary: "https://{{ $labels.instance }} fails its probe",
          threshold: `probe failing for ${t.probeFailedMinutes}m`,
        },
        {
          alert: "TLSCertificateExpiring",
          expr: `probe_ssl_earliest_cert_expiry{job="routes"} - time() < ${t.tlsExpiryDays} * 86400`,
          forSeconds: minutes(5),
          severity: "warning",
          summary: `the certificate of {{ $labels.instance }} expires in {{ $value | humanizeDuration }}, under ${t.tlsExpiryDays} days`,
          threshold: `certificate expires in < ${t.tlsExpiryDays} days`,
        },
      ]),
    );
  }
  return groups;
}

/**
 * A regular expression for a service's container names: the name itself, or,
 * for a service released with zero downtime, the name with any release id
 * (components/container/release.ts).
 */
export function containerNamePattern(container: string, released: boolean): string {
  return released ? `${escapeRegex(container)}-${RELEASE_ID_PATTERN}` : escapeRegex(container);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `90` → `1m30s`, `7200` → `2h`: the duration syntax of Prometheus and vmalert. */
export function duration(seconds: number): string {
  if (seconds === 0) return "0s";
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join("");
}

/** The rule file Prometheus, vmalert and `promtool check rules` read. */
export function ruleFile(groups: readonly RuleGroup[]): string {
  const document = {
    groups: groups.map((group) => ({
      name: group.name,
      interval: duration(group.intervalSeconds),
      rules: group.rules.map((rule) => ({
        alert: rule.alert,
        expr: rule.expr,
        ...(rule.forSeconds > 0 ? { for: duration(rule.forSeconds) } : {}),
        labels: { severity: rule.severity, group: group.name, ...rule.labels },
        annotations: { summary: rule.summary },
      })),
    })),
  };
  return stringify(document, { lineWidth: 0 });
}

export function alertNames(groups: readonly RuleGroup[]): string[] {
  return groups.flatMap((group) => group.rules.map((rule) => rule.alert));
}
