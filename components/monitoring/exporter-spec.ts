/**
 * A service without a Prometheus endpoint of its own, watched through the
 * standard exporter for its kind. The blueprint declares it next to the
 * service; the monitoring stack derives the exporter, its scrape job and its
 * alerts from the declaration.
 */
export type ExporterSpec =
  /** postgres_exporter, connecting as `user` to `database` with the password in `passwordSecret`. */
  | { readonly kind: "postgres"; readonly user: string; readonly database: string; readonly passwordSecret: string }
  /** redis_exporter; `passwordSecret` holds requirepass, if any. */
  | { readonly kind: "redis"; readonly passwordSecret?: string }
  /** nginx-prometheus-exporter, reading stub_status at `statusPort` and `statusPath`. */
  | { readonly kind: "nginx"; readonly statusPort: number; readonly statusPath: string };

export type ExporterKind = ExporterSpec["kind"];
