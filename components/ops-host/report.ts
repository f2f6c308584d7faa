import { describeRetention } from "../backup/retention";
import { forgetFlags } from "../backup/retention";
import { PULL_KEEP_LAST } from "../backup/pull";
import { alertNames } from "../monitoring/alert-rules";
import { WIREGUARD_INTERFACE } from "../vpn/wireguard-spec";
import type { OpsHostPlan } from "./ops-host-spec";

/** The ops host as the plan shows it: its server, firewall, VPN, break-glass path, pulls and checks. */
export interface OpsHostReport {
  readonly server: { readonly name: string; readonly type: string; readonly location: string; readonly image: string };
  readonly monthlyEur: number;
  readonly firewall: readonly { readonly description: string; readonly protocol: string; readonly port?: number; readonly sources: readonly string[] }[];
  readonly vpn: {
    readonly kind: string;
    readonly range: string;
    readonly port: number;
    readonly hub: string;
    readonly members: readonly { readonly name: string; readonly address: string; readonly key: string }[];
  };
  readonly adminAccess: string;
  readonly breakGlass: readonly { readonly server: string; readonly sources: readonly string[] }[];
  readonly pulls: readonly {
    readonly server: string;
    readonly from: string;
    readonly schedule: string;
    readonly to: string;
    readonly retention: string;
    readonly seedData?: string;
  }[];
  readonly checks: {
    readonly checker: string;
    readonly monitors: readonly { readonly kind: string; readonly target: string }[];
    readonly alerts: readonly string[];
  };
  readonly watchedBy: { readonly alerts: readonly string[]; readonly how: string };
}

export function opsHostReport(plan: OpsHostPlan, monthlyEur: number): OpsHostReport {
  return {
    server: { name: plan.server.name, type: plan.server.serverType, location: plan.server.location, image: plan.server.image },
    monthlyEur,
    firewall: plan.firewall.map((rule) => ({
      description: rule.description,
      protocol: rule.protocol,
      ...(rule.port === undefined ? {} : { port: rule.port }),
      sources: [...rule.sourceCidrs],
    })),
    vpn: {
      kind: `WireGuard (wg-quick@${WIREGUARD_INTERFACE}), the ops host as hub; keys made by the program as Pulumi secrets (Headscale, which seed 002 names, cannot be built here)`,
      range: plan.vpn.range,
      port: plan.vpn.port,
      hub: plan.vpn.hubAddress,
      members: plan.vpn.members.map((member) => ({
        name: member.name,
        address: member.address,
        key: member.kind === "server" ? "made by the program" : `given: ${member.publicKey}`,
      })),
    },
    adminAccess: `admin SSH and the admin UIs (SSH tunnels to their 127.0.0.1 ports) through the VPN range ${plan.adminRange}`,
    breakGlass: plan.breakGlass.map((entry) => ({ server: entry.server, sources: [...entry.sources] })),
    pulls: plan.pulls.map((pull) => ({
      server: pull.server,
      from: `${pull.account}@${pull.address}:${pull.sshPort} over the VPN, rrsync -ro of the export, host key pinned`,
      schedule: `daily at ${plan.pullSchedule} (after the server's dump)`,
      to: pull.repository,
      retention: `${describeRetention(pull.settings.retention)} and the last ${PULL_KEEP_LAST} (restic forget ${forgetFlags(pull.settings.retention).join(" ")} --keep-last ${PULL_KEEP_LAST}), then prune`,
      ...(pull.seedDataUrl ? { seedData: pull.seedDataUrl } : {}),
    })),
    checks: {
      checker:
        "Prometheus with the blackbox exporter (Debian packages); configuration generated from the routes and servers, checked by promtool (Uptime Kuma has no supported API for monitors)",
      monitors: plan.monitoring.monitors,
      alerts: alertNames(plan.monitoring.ruleGroups),
    },
    watchedBy: {
      alerts: alertNames([plan.watchRules]),
      how: "the ops host sends its status to each server every 2 minutes; each server's own alerting fires when it stops",
    },
  };
}

export function opsHostReportText(report: OpsHostReport): string[] {
  const out = [
    "",
    `Ops host ${report.server.name} (Hetzner ${report.server.type} in ${report.server.location}, ${report.server.image}): ${report.monthlyEur.toFixed(2)} EUR/month`,
  ];
  out.push("  firewall:");
  for (const rule of report.firewall)
    out.push(`    ${rule.protocol}${rule.port === undefined ? "" : `/${rule.port}`} from ${rule.sources.join(", ")}  (${rule.description})`);
  out.push(`  VPN:         ${report.vpn.kind}`);
  out.push(
    `               ${report.vpn.range}, udp/${report.vpn.port}, hub ${report.vpn.hub}; ${report.vpn.members.map((member) => `${member.name} ${member.address}`).join(", ")}`,
  );
  out.push(`  admin:       ${report.adminAccess}`);
  for (const entry of report.breakGlass)
    out.push(`  break-glass: SSH to ${entry.server} from ${entry.sources.join(", ")} outside the VPN, for when the VPN or the ops host is down`);
  for (const pull of report.pulls) {
    out.push(`  pull ${pull.server}: ${pull.schedule}`);
    out.push(`    from:      ${pull.from}`);
    out.push(`    to:        ${pull.to}`);
    out.push(`    retention: ${pull.retention}`);
    if (pull.seedData) out.push(`    seed data: ${pull.seedData} (database dumps and counts, for preprod)`);
  }
  out.push(`  checks:      ${report.checks.checker}`);
  for (const monitor of report.checks.monitors) out.push(`    ${monitor.kind}: ${monitor.target}`);
  out.push(`    alerts: ${report.checks.alerts.join(", ")}`);
  out.push(`  watched by:  ${report.watchedBy.how}: ${report.watchedBy.alerts.join(", ")}`);
  return out;
}
