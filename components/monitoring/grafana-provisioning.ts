import { stringify } from "yaml";
import { LAST_DURATION_METRIC, LAST_EXIT_CODE_METRIC, LAST_SUCCESS_METRIC } from "../backup/metrics";

/**
 * Grafana's provisioning: the datasources (metrics store, Loki, Alertmanager)
 * and the dashboards, as files uploaded into the Grafana container. The
 * dashboards' queries are plain PromQL without Grafana variables, so the
 * tests can hand every one of them to promtool.
 */

export const GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning";
export const GRAFANA_DASHBOARDS_DIR = "/etc/grafana/dashboards";

export interface Datasource {
  readonly uid: string;
  readonly name: string;
  readonly type: "prometheus" | "loki" | "alertmanager";
  readonly url: string;
}

export interface Panel {
  readonly title: string;
  readonly kind: "timeseries" | "stat" | "logs";
  readonly datasource: string;
  readonly queries: readonly { readonly expr: string; readonly legend?: string }[];
  readonly unit?: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
}

export interface DashboardInput {
  /** uid of the metrics datasource and of the logs datasource. */
  readonly metrics: string;
  readonly logs: string;
  readonly postgres: boolean;
  readonly redis: boolean;
  readonly routes: boolean;
  /** Pattern of the platform's container names, for the container panels. */
  readonly containerPattern: string;
}

export function datasourcesFile(datasources: readonly Datasource[], scrapeIntervalSeconds: number): string {
  return stringify(
    {
      apiVersion: 1,
      datasources: datasources.map((source, index) => ({
        name: source.name,
        uid: source.uid,
        type: source.type,
        access: "proxy",
        url: source.url,
        isDefault: index === 0,
        editable: false,
        jsonData:
          source.type === "prometheus"
            ? { timeInterval: `${scrapeIntervalSeconds}s` }
            : source.type === "alertmanager"
              ? { implementation: "prometheus", handleGrafanaManagedAlerts: false }
              : {},
      })),
    },
    { lineWidth: 0 },
  );
}

export function dashboardProvidersFile(): string {
  return stringify({
    apiVersion: 1,
    providers: [
      { name: "platform", folder: "Platform", type: "file", disableDeletion: true, allowUiUpdates: false, options: { path: GRAFANA_DASHBOARDS_DIR } },
    ],
  });
}

export function dashboards(input: DashboardInput): Dashboard[] {
  const m = input.metrics;
  const containers = `name=~"${input.containerPattern}"`;
  const list: Dashboard[] = [
    {
      uid: "host",
      title: "Host",
      panels: [
        {
          title: "CPU busy",
          kind: "timeseries",
          datasource: m,
          unit: "percentunit",
          queries: [{ expr: '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: "busy" }],
        },
        {
          title: "Memory available",
          kind: "timeseries",
          datasource: m,
          unit: "bytes",
          queries: [
            { expr: "node_memory_MemAvailable_bytes", legend: "available" },
            { expr: "node_memory_MemTotal_bytes", legend: "total" },
          ],
        },
        {
          title: "Free disk",
          kind: "timeseries",
          datasource: m,
          unit: "bytes",
          queries: [{ expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|devtmpfs|overlay|squashfs|nsfs|ramfs"}', legend: "{{mountpoint}}" }],
        },
        { title: "Load", kind: "timeseries", datasource: m, queries: [{ expr: "node_load5", legend: "load5" }] },
        {
          title: "Network",
          kind: "timeseries",
          datasource: m,
          unit: "Bps",
          queries: [{ expr: 'sum by (device) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|br-.*|docker.*"}[5m]))', legend: "{{device}} in" }],
        },
      ],
    },
    {
      uid: "containers",
      title: "Containers",
      panels: [
        {
          title: "Memory",
          kind: "timeseries",
          datasource: m,
          unit: "bytes",
          queries: [{ expr: `container_memory_working_set_bytes{${containers}}`, legend: "{{name}}" }],
        },
        {
          title: "CPU",
          kind: "timeseries",
          datasource: m,
          unit: "percentunit",
          queries: [{ expr: `sum by (name) (rate(container_cpu_usage_seconds_total{${containers}}[5m]))`, legend: "{{name}}" }],
        },
        {
          title: "Restarts (1h)",
          kind: "stat",
          datasource: m,
          queries: [{ expr: `changes(container_start_time_seconds{${containers}}[1h])`, legend: "{{name}}" }],
        },
        { title: "Ports answering", kind: "stat", datasource: m, queries: [{ expr: 'probe_success{job="services"}', legend: "{{instance}}" }] },
        { title: "Scrape targets up", kind: "stat", datasource: m, queries: [{ expr: "up", legend: "{{job}}" }] },
        { title: "Logs", kind: "logs", datasource: input.logs, queries: [{ expr: '{container=~".+"}' }] },
      ],
    },
    {
      uid: "backups",
      title: "Backups",
      panels: [
        {
          title: "Age of the last good backup",
          kind: "stat",
          datasource: m,
          unit: "s",
          queries: [{ expr: `time() - ${LAST_SUCCESS_METRIC}`, legend: "{{instance}}" }],
        },
        { title: "Exit code of the last run", kind: "stat", datasource: m, queries: [{ expr: LAST_EXIT_CODE_METRIC, legend: "{{instance}}" }] },
        { title: "Duration of the last run", kind: "timeseries", datasource: m, unit: "s", queries: [{ expr: LAST_DURATION_METRIC, legend: "{{instance}}" }] },
      ],
    },
  ];
  if (input.postgres) {
    list.push({
      uid: "postgres",
      title: "PostgreSQL",
      panels: [
        { title: "Up", kind: "stat", datasource: m, queries: [{ expr: "pg_up", legend: "{{instance}}" }] },
        {
          title: "Connections / max_connections",
          kind: "timeseries",
          datasource: m,
          unit: "percentunit",
          queries: [{ expr: "sum by (instance) (pg_stat_activity_count) / max by (instance) (pg_settings_max_connections)", legend: "{{instance}}" }],
        },
        {
          title: "Transactions",
          kind: "timeseries",
          datasource: m,
          unit: "ops",
          queries: [{ expr: "sum by (datname) (rate(pg_stat_database_xact_commit[5m]))", legend: "{{datname}}" }],
        },
        { title: "Database size", kind: "timeseries", datasource: m, unit: "bytes", queries: [{ expr: "pg_database_size_bytes", legend: "{{datname}}" }] },
      ],
    });
  }
  if (input.redis) {
    list.push({
      uid: "redis",
      title: "Redis",
      panels: [
        {
          title: "Memory / maxmemory",
          kind: "timeseries",
          datasource: m,
          unit: "percentunit",
          queries: [{ expr: "redis_memory_used_bytes / redis_memory_max_bytes", legend: "{{instance}}" }],
        },
        { title: "Clients", kind: "timeseries", datasource: m, queries: [{ expr: "redis_connected_clients", legend: "{{instance}}" }] },
      ],
    });
  }
  if (input.routes) {
    list.push({
      uid: "routes",
      title: "Routes",
      panels: [
        { title: "Probe success", kind: "stat", datasource: m, queries: [{ expr: 'probe_success{job="routes"}', legend: "{{instance}}" }] },
        {
          title: "Certificate expires in",
          kind: "stat",
          datasource: m,
          unit: "s",
          queries: [{ expr: 'probe_ssl_earliest_cert_expiry{job="routes"} - time()', legend: "{{instance}}" }],
        },
        {
          title: "5xx share",
          kind: "timeseries",
          datasource: m,
          unit: "percentunit",
          queries: [
            {
              expr: 'sum(rate(caddy_http_request_duration_seconds_count{code=~"5.."}[5m])) / sum(rate(caddy_http_request_duration_seconds_count[5m]))',
              legend: "5xx",
            },
          ],
        },
      ],
    });
  }
  return list;
}

/** A dashboard in Grafana's JSON model: panels two to a row. */
export function dashboardJSON(dashboard: Dashboard, datasources: readonly Datasource[]): string {
  const typeOf = (uid: string) => datasources.find((source) => source.uid === uid)?.type ?? "prometheus";
  const panels = dashboard.panels.map((panel, index) => ({
    id: index + 1,
    title: panel.title,
    type: panel.kind,
    gridPos: { h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8 },
    datasource: { type: typeOf(panel.datasource), uid: panel.datasource },
    ...(panel.unit ? { fieldConfig: { defaults: { unit: panel.unit }, overrides: [] } } : {}),
    targets: panel.queries.map((query, queryIndex) => ({
      refId: String.fromCharCode(65 + queryIndex),
      datasource: { type: typeOf(panel.datasource), uid: panel.datasource },
      expr: query.expr,
      ...(query.legend ? { legendFormat: query.legend } : {}),
    })),
  }));
  return `${JSON.stringify({ uid: dashboard.uid, title: dashboard.title, tags: ["platform"], timezone: "utc", schemaVersion: 39, version: 1, refresh: "1m", time: { from: "now-6h", to: "now" }, panels }, null, 2)}\n`;
}
