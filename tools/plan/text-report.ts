import type { ReleaseMode } from "../../components/container/release";
import { backupReportText } from "../../components/backup/report";
import { opsHostReportText } from "../../components/ops-host/report";
import { monitoringText } from "../../components/monitoring/report";
import { NEVER_WAIVED } from "../../infra/policy/waivers";
import type { PlanResult } from "./plan";

const RELEASE_MODE_MEANING: Readonly<Record<ReleaseMode, string>> = {
  "zero-downtime": "a new version starts beside the running one; the ingress switches once it is healthy; a failed one leaves the old serving",
  reload: "routes and headers change by a checked reload; only a new image restarts it",
  restart: "the container is stopped and started again",
  stateful: "holds data: never run twice; a replacement stops it, after the backup job ran",
};

/** The human-readable plan: tree, exposure and firewall, DNS, memory, cost, secrets to set. */
export function textReport(plan: PlanResult): string {
  const out: string[] = [];
  const customCount = plan.resources.filter((resource) => resource.custom).length;
  out.push(`Plan of stack ${plan.stack} (project ${plan.project}, blueprint ${plan.blueprint})`);
  out.push(`${plan.resources.length} resources: ${customCount} to create, ${plan.resources.length - customCount} components`, "");

  out.push("Resources");
  // Keyed by URN: two resources may share a name (a Docker network and the
  // monitoring component are both <prefix>-<server>-monitoring), never a URN.
  const children = new Map<string | null, PlanResult["resources"]>();
  for (const resource of plan.resources) children.set(resource.parentUrn, [...(children.get(resource.parentUrn) ?? []), resource]);
  const walk = (parentUrn: string | null, depth: number) => {
    for (const resource of children.get(parentUrn) ?? []) {
      const flags = [resource.protect ? "protected" : "", resource.dependsOn.length ? `after ${resource.dependsOn.join(", ")}` : ""].filter(Boolean);
      out.push(`${"  ".repeat(depth + 1)}${resource.custom ? "+" : "□"} ${resource.name} (${resource.type})${flags.length ? `  [${flags.join("; ")}]` : ""}`);
      walk(resource.urn, depth + 1);
    }
  };
  walk(null, 0);

  for (const host of plan.hosts) {
    out.push("", `Server ${host.server}: ${host.provider}, address ${host.address}`);
    out.push(`  exposes to the internet: ${host.exposed.length ? host.exposed.join(", ") : "nothing"}`);
    out.push("  firewall (inbound; everything else is dropped):");
    for (const rule of host.firewall) {
      const sources =
        rule.sourceCidrs.length > 4 ? `${rule.sourceCidrs.length} ranges (${rule.sourceCidrs.slice(0, 2).join(", ")}, ...)` : rule.sourceCidrs.join(", ");
      out.push(`    ${`${rule.protocol}${rule.port === undefined ? "" : `/${rule.port}`}`.padEnd(9)} from ${sources}  - ${rule.description}`);
    }
    if (host.peerAccess) out.push(`  private network: ${host.peerAccess.from} reaches ${host.peerAccess.address} on ${host.peerAccess.ports.join(", ")}`);
    out.push("  containers (release: what a change to it does to what it serves):");
    for (const service of host.services) {
      out.push(
        `    ${service.name.padEnd(16)} ${String(service.memoryMb).padStart(5)} MB  ${service.release.padEnd(13)}  ${service.image}  nets: ${service.networks.join(",") || "-"}  ports: ${service.ports.join(", ") || "-"}`,
      );
    }
    const modes = [...new Set(host.services.map((service) => service.release))];
    for (const mode of modes) out.push(`    ${mode}: ${RELEASE_MODE_MEANING[mode]}`);
    const budget = host.budget;
    out.push(
      `  memory budget: containers ${budget.containersMb} MB + system reserve ${budget.reserveMb} MB of ${budget.serverMb} MB -> ${budget.headroomMb >= 0 ? `${budget.headroomMb} MB headroom` : `OVER by ${-budget.headroomMb} MB`}`,
    );
  }

  if (plan.monitoring) out.push("", ...monitoringText(plan.monitoring));

  if (plan.memoryProfile === "compact") {
    out.push(
      "",
      `Memory profile: compact. The seed's limits do not fit these servers, so blueprint ${plan.blueprint} uses its smaller limits (seed limits apply on a server of the seed's size).`,
    );
  }
  if (plan.loadBalancer) {
    const balancer = plan.loadBalancer;
    out.push(
      "",
      `Load balancer ${balancer.type} in ${balancer.location} (private ${balancer.privateIp}): TCP ${balancer.ports.join(", ")} to ${balancer.targets.join(", ")}; health check HTTP ${balancer.healthCheck}`,
    );
  }

  out.push("", plan.dns.some((record) => record.managed) ? "DNS (Cloudflare)" : "DNS (not managed by this stack)");
  for (const record of plan.dns)
    out.push(`  ${record.hostname} -> ${record.target}${!record.managed ? " (point it there yourself)" : record.proxied ? " (proxied)" : " (DNS only)"}`);

  out.push("", "Estimated monthly cost");
  for (const line of plan.cost.lines) out.push(`  ${line.monthlyEur.toFixed(2).padStart(8)} EUR  ${line.item}`);
  out.push(`  ${plan.cost.totalMonthlyEur.toFixed(2).padStart(8)} EUR  total`);

  out.push("", `Security policy (checklist C, F, CF, S, H; exposure E): ${plan.policy.violations.length} violations, ${plan.policy.waivers.length} waivers`);
  for (const waiver of plan.policy.waivers) {
    out.push(`  waived ${waiver.rule.padEnd(4)} ${waiver.resource}: ${waiver.reason}`);
    for (const message of waiver.silences) out.push(`      silences: ${message}`);
  }
  out.push(`  never waived: ${NEVER_WAIVED.map((entry) => `${entry.rule} (${entry.what})`).join("; ")}`);
  for (const note of plan.policy.notApplicable) out.push(`  ${note.rule} not applicable: ${note.reason}`);

  out.push(...backupReportText(plan.backups));
  if (plan.opsHost) out.push(...opsHostReportText(plan.opsHost));

  if (plan.secretsToSet.length > 0) {
    out.push("", "Secrets to set before `pulumi up` (shown as [secret] in this plan):");
    for (const secret of plan.secretsToSet) {
      out.push(
        `  pulumi config set --secret ${secret.key} <value>   # ${secret.purpose}${secret.state === "encrypted" ? " (encrypted in the stack file; not readable offline)" : ""}`,
      );
    }
  }
  out.push("", `Planned offline under Pulumi's mock runtime in ${Math.round(plan.elapsedMs)} ms; no cloud account was used.`);
  return `${out.join("\n")}\n`;
}
