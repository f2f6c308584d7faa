import type { ImageRef } from "../container/service-spec";

/** The admin UIs of every monitoring stack: Grafana, the metrics store, Alertmanager and Loki. */
export const ADMIN_UI_NAMES = ["grafana", "metrics", "alerts", "logs"] as const;
export type AdminUIName = (typeof ADMIN_UI_NAMES)[number];

/**
 * How a blueprint monitors itself, following its seed. Everything a stack may
 * change lives in MonitoringSettings instead; this is the architecture.
 */
export interface MonitoringDesign {
  /** Seed 002 stores metrics in VictoriaMetrics and evaluates rules with vmalert; the other seeds use Prometheus. */
  readonly store: "victoriametrics" | "prometheus";
  /**
   * `alloy`: one Grafana Alloy agent ships container logs to Loki, runs the
   * exporters as built-in components, scrapes everything and writes to the
   * store (seed 002). `exporters`: one container per exporter, scraped by
   * Prometheus, with Promtail shipping the logs (seeds 000 and 001).
   */
  readonly agent: "alloy" | "exporters";
  readonly networks: {
    /** Where the store, the rule evaluator, Loki and Alertmanager live. */
    readonly monitoring: string;
    /** Grafana's second network, the one the ingress reaches it on. */
    readonly frontend: string;
    /** The network with a route out: Alertmanager sends email and webhooks from it. */
    readonly egress: string;
    /** Extra networks of the Alloy agent, to reach what it scrapes and probes. */
    readonly agent: readonly string[];
  };
  readonly memoryMb: Readonly<Record<MonitoringPart, number>>;
  /** Image pins that differ from MONITORING_IMAGES. */
  readonly images?: Partial<Readonly<Record<MonitoringPart, ImageRef>>>;
  /**
   * The admin UIs the ingress may serve when the stack routes them
   * (`adminAccess` ingress or caddy); the others stay on 127.0.0.1, for an
   * SSH tunnel, whatever the stack asks. Every UI when absent.
   */
  readonly routableUIs?: readonly AdminUIName[];
  /** Ports a seed moved off the images' defaults (seed 000: Grafana on 3001, cAdvisor on 8085). */
  readonly ports?: { readonly grafana?: number; readonly cadvisor?: number };
}

export const MONITORING_PARTS = [
  "victoriametrics",
  "vmalert",
  "prometheus",
  "alertmanager",
  "loki",
  "alloy",
  "promtail",
  "grafana",
  "node-exporter",
  "cadvisor",
  "postgres-exporter",
  "redis-exporter",
  "nginx-exporter",
  "blackbox-exporter",
] as const;
export type MonitoringPart = (typeof MONITORING_PARTS)[number];

/** A design's limits: the parts it runs get one, the others none. */
export function memoryLimits(limits: Partial<Readonly<Record<MonitoringPart, number>>>): Readonly<Record<MonitoringPart, number>> {
  return Object.fromEntries(MONITORING_PARTS.map((part) => [part, limits[part] ?? 0])) as Record<MonitoringPart, number>;
}

/**
 * Version tags of every part. Alertmanager's config is checked by Debian's
 * amtool 0.25 in the tests; 0.27 reads every 0.25 config unchanged.
 */
export const MONITORING_IMAGES: Readonly<Record<MonitoringPart, ImageRef>> = {
  victoriametrics: { repository: "victoriametrics/victoria-metrics", tag: "v1.108.1" },
  vmalert: { repository: "victoriametrics/vmalert", tag: "v1.108.1" },
  prometheus: { repository: "prom/prometheus", tag: "v2.55.1" },
  alertmanager: { repository: "prom/alertmanager", tag: "v0.27.0" },
  loki: { repository: "grafana/loki", tag: "3.3.2" },
  alloy: { repository: "grafana/alloy", tag: "v1.5.1" },
  promtail: { repository: "grafana/promtail", tag: "3.3.2" },
  grafana: { repository: "grafana/grafana", tag: "11.4.0" },
  "node-exporter": { repository: "prom/node-exporter", tag: "v1.8.2" },
  cadvisor: { repository: "gcr.io/cadvisor/cadvisor", tag: "v0.49.1" },
  "postgres-exporter": { repository: "quay.io/prometheuscommunity/postgres-exporter", tag: "v0.16.0" },
  "redis-exporter": { repository: "oliver006/redis_exporter", tag: "v1.66.0" },
  "nginx-exporter": { repository: "nginx/nginx-prometheus-exporter", tag: "1.3.0" },
  "blackbox-exporter": { repository: "prom/blackbox-exporter", tag: "v0.25.0" },
};

/** The image a design runs `part` from: its own pin, or the shipped one. */
export function imageOf(design: Pick<MonitoringDesign, "images">, part: MonitoringPart): ImageRef {
  return design.images?.[part] ?? MONITORING_IMAGES[part];
}

/** Limits for a Prometheus-based stack on a small VPS (seed 001's table: Prometheus ~400 MB, exporters ~100 MB together). */
export const PROMETHEUS_STACK_MEMORY_MB: Readonly<Record<MonitoringPart, number>> = {
  victoriametrics: 0,
  vmalert: 0,
  prometheus: 384,
  alertmanager: 48,
  loki: 256,
  alloy: 0,
  promtail: 64,
  grafana: 192,
  "node-exporter": 32,
  cadvisor: 96,
  "postgres-exporter": 32,
  "redis-exporter": 24,
  "nginx-exporter": 16,
  "blackbox-exporter": 32,
};
