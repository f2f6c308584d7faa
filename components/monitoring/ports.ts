import type { MonitoringDesign } from "./design";

/** Where each part of the monitoring stack listens: the images' defaults. */
export const PORTS = {
  victoriametrics: 8428,
  vmalert: 8880,
  prometheus: 9090,
  alertmanager: 9093,
  loki: 3100,
  grafana: 3000,
  promtail: 9080,
  node: 9100,
  cadvisor: 8080,
  postgres: 9187,
  redis: 9121,
  nginx: 9113,
  blackbox: 9115,
} as const;
export type Ports = { readonly [K in keyof typeof PORTS]: number };

/** The ports of a design: the defaults, with the ones its seed moved (seed 000: Grafana on 3001, cAdvisor on 8085). */
export function portsOf(design: MonitoringDesign): Ports {
  return { ...PORTS, ...design.ports };
}

/** The service that stores the metrics, and the port its API and UI answer on. */
export function storeService(design: MonitoringDesign): { name: string; port: number } {
  return design.store === "victoriametrics" ? { name: "victoriametrics", port: PORTS.victoriametrics } : { name: "prometheus", port: PORTS.prometheus };
}
