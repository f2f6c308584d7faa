import { findServerType, LOAD_BALANCER_TYPES, OBJECT_STORAGE_BASE_MONTHLY_EUR, VOLUME_EUR_PER_GB_MONTH } from "../components/compute/server-types";
import type { PlatformModel } from "./platform-model";

export interface CostLine {
  readonly item: string;
  readonly monthlyEur: number;
  /** The server the line is billed for (the server itself, its volume); absent for the platform's shared lines. */
  readonly server?: string;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly totalMonthlyEur: number;
}

/** Monthly cost from Hetzner's list prices, the adopted servers' stated costs, and object storage. */
export function estimateCost(model: PlatformModel): CostEstimate {
  const lines: CostLine[] = [];
  for (const host of model.hosts) {
    const server = host.server;
    if (server.provider === "hetzner") {
      lines.push({
        item: `server ${server.name} (Hetzner ${server.serverType})`,
        monthlyEur: findServerType(server.serverType)?.monthlyEur ?? 0,
        server: server.name,
      });
      if (server.volumeGb)
        lines.push({
          item: `volume ${server.name}-data (${server.volumeGb} GB)`,
          monthlyEur: round2(server.volumeGb * VOLUME_EUR_PER_GB_MONTH),
          server: server.name,
        });
    } else {
      lines.push({ item: `server ${server.name} (existing VPS at ${server.address}, as configured)`, monthlyEur: server.monthlyCostEur, server: server.name });
    }
  }
  if (model.opsHost) {
    const ops = model.opsHost.server;
    lines.push({
      item: `server ${ops.name} (Hetzner ${ops.serverType}): VPN hub, uptime checks, backup pulls`,
      monthlyEur: findServerType(ops.serverType)?.monthlyEur ?? 0,
      server: ops.name,
    });
  }
  if (model.loadBalancer) {
    const type = model.loadBalancer.config.type;
    lines.push({
      item: `load balancer (Hetzner ${type}, ${model.loadBalancer.targets.length} targets)`,
      monthlyEur: LOAD_BALANCER_TYPES[type]?.monthlyEur ?? 0,
    });
  }
  // Hetzner does not bill private networks; the line says so, so the plan shows it was not forgotten.
  if (model.config.privateNetwork) lines.push({ item: `private network ${model.config.privateNetwork.subnet} (no charge)`, monthlyEur: 0 });
  if (model.spec.buckets.length > 0) {
    lines.push({ item: `object storage (${model.spec.buckets.length} buckets, billed per account)`, monthlyEur: OBJECT_STORAGE_BASE_MONTHLY_EUR });
  }
  return { lines, totalMonthlyEur: round2(lines.reduce((sum, line) => sum + line.monthlyEur, 0)) };
}

/** What one server costs a month: its lines of the estimate, the server and its volume. */
export function serverMonthlyEur(estimate: CostEstimate, server: string): number {
  return round2(estimate.lines.filter((line) => line.server === server).reduce((sum, line) => sum + line.monthlyEur, 0));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
