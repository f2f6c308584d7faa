import type { ReleaseMode } from "../../components/container/release";
import { resolve } from "node:path";
import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import type { ServerConfig } from "../../components/compute/server-spec";
import { requiredSecrets } from "../../infra/config/validate";
import { opsHostReport, type OpsHostReport } from "../../components/ops-host/report";
import { behindCloudflare, UNMANAGED_DNS } from "../../infra/config/schema";
import { estimateCost, serverMonthlyEur, type CostEstimate } from "../../infra/cost-estimate";
import type { Exposure, FirewallRule } from "../../components/network/firewall-rules";
import { containerNameOf, type MemoryBudget, type PlatformModel } from "../../infra/platform-model";
import { imageName, publishAddress, type ServiceRole } from "../../components/container/service-spec";
import { evaluateGraph } from "../../infra/policy/graph-policy";
import { evaluateModel, ingressProxy } from "../../infra/policy/model-policy";
import { PolicyError, type PolicyReport } from "../../infra/policy/report";
import { monitoringReport, type MonitoringReport } from "../../components/monitoring/report";
import { backupReport, type BackupReport } from "../../components/backup/report";
import { runProgram, type RecordedResource } from "./mock-run";
import { applyOverrides, overlayOverrides, readStackFile, SECRET_PLACEHOLDER } from "./stack-file";

export { overlayOverrides };

export const PROJECT = "infra";

export interface PlanOptions {
  readonly projectDir: string;
  readonly stack: string;
  /** `key=value` config overrides, as `-c` on the command line. */
  readonly overrides?: readonly string[];
  /** `key=value` overrides marked secret (tests plant known secrets this way). */
  readonly secretOverrides?: readonly string[];
  /** Secret inputs in clear, for tests that read one (a Hetzner server's user-data); the plan command never sets it. */
  readonly revealSecrets?: boolean;
  /** Keys of the stack file left out, e.g. to plan a stack as it was before a key existed; the plan command never sets it. */
  readonly without?: readonly string[];
}

export interface HostReport {
  readonly server: string;
  readonly provider: string;
  /** What the server costs a month, its volume included: its lines of `cost`. */
  readonly monthlyCostEur: number;
  readonly address: string;
  /** The Docker networks on this server, in the blueprint's order. */
  readonly networks: { key: string; subnet: string; internal: boolean }[];
  readonly services: {
    name: string;
    role: ServiceRole;
    image: string;
    memoryMb: number;
    networks: string[];
    /** The services it talks to, by name on this server (a forwarder when the service runs on another). */
    dependsOn: string[];
    ports: string[];
    /** What a change to it does to what it serves (components/container/release.ts): "zero-downtime", "reload", "restart" or "stateful". */
    release: ReleaseMode;
    /** Why, in words. */
    releaseReason: string;
    /** The container it runs as: for a zero-downtime service, the current release's. */
    container: string;
  }[];
  /** The proxy that serves the routes on this server; absent where there is none. */
  readonly ingress?: string;
  readonly exposed: string[];
  /** The same ports as data: each port open to the internet and the service behind it. */
  readonly exposures: Exposure[];
  /** Services of other servers reached here through a forwarder of the same name, over the private network. */
  readonly links: { service: string; server: string; address: string }[];
  readonly firewall: FirewallRule[];
  /** What the other servers of the private network reach here, e.g. 6432/tcp (pgbouncer) on 10.0.1.2 from 10.0.0.0/16. */
  readonly peerAccess?: { address: string; from: string; ports: string[] };
  readonly budget: MemoryBudget;
}

export interface PlanResult {
  readonly project: string;
  readonly stack: string;
  readonly blueprint: string;
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
  readonly hosts: HostReport[];
  readonly routes: { hostname: string; service: string; port: number; server: string }[];
  /** `managed` is false when infra:dns is none: the operator points the name at `target`. */
  readonly dns: { hostname: string; managed: boolean; proxied: boolean; target: string }[];
  readonly cost: CostEstimate;
  /** "compact" when the seed's memory limits did not fit and the blueprint's smaller ones are used. */
  readonly memoryProfile: "seed" | "compact";
  readonly loadBalancer?: { type: string; location: string; privateIp: string; targets: string[]; ports: number[]; healthCheck: string };
  /** Secrets `pulumi up` needs that the plan could not read: missing, or encrypted in the stack file. */
  readonly secretsToSet: { key: string; purpose: string; state: "not set" | "encrypted" }[];
  /** Per server: what is backed up, when, where, how long it is kept, and the RPO. */
  readonly backups: BackupReport[];
  /** Seed 002's ops host, when infra:opsHost is set. */
  readonly opsHost?: OpsHostReport;
  /** What is scraped, what is probed, and every alert with its threshold; absent without a monitoring stack. */
  readonly monitoring?: MonitoringReport;
  /** The checklist policy: what is waived and why; a violation fails the plan before it gets here. */
  readonly policy: PolicyReport;
  readonly elapsedMs: number;
}

/** A service's release mode and container, from the model; a forwarder of another server's service restarts. */
function releaseOf(model: PlatformModel, service: string): { release: ReleaseMode; releaseReason: string; container: string } {
  const plan = model.releases.find((candidate) => candidate.service === service);
  return {
    release: plan?.mode ?? "restart",
    releaseReason: plan?.reason ?? "a forwarder to another server's service",
    container: containerNameOf(model, service),
  };
}

export async function buildPlan(options: PlanOptions): Promise<PlanResult> {
  const overrides = (options.overrides ?? []).flatMap((override) =>
    override.startsWith("@") ? overlayOverrides(resolve(options.projectDir, override.slice(1))) : [override],
  );
  const file = withoutKeys(applyOverrides(readStackFile(options.projectDir, options.stack), overrides, options.secretOverrides ?? []), options.without ?? []);
  const blueprint = file.values["infra:blueprint"];
  const secretsNeeded = requiredSecrets(
    blueprint,
    looseServers(file.values["infra:servers"]),
    BLUEPRINT_CATALOG,
    looseObject(file.values["infra:monitoring"]),
    file.values["infra:dns"] !== UNMANAGED_DNS,
    file.values["infra:opsHost"] !== undefined,
  );
  const secretsToSet: PlanResult["secretsToSet"] = [];
  const values = { ...file.values };
  const secretKeys = new Set(file.secretKeys);
  for (const secret of secretsNeeded) {
    if (!(secret.key in values)) {
      values[secret.key] = SECRET_PLACEHOLDER;
      secretKeys.add(secret.key);
      secretsToSet.push({ key: secret.key, purpose: secret.purpose, state: "not set" });
    } else if (file.encrypted.includes(secret.key)) {
      secretsToSet.push({ key: secret.key, purpose: secret.purpose, state: "encrypted" });
    }
  }

  const run = await runProgram({ project: PROJECT, stack: options.stack, values, secretKeys, ...(options.revealSecrets ? { revealSecrets: true } : {}) });
  const model = run.model;
  const addresses = (run.outputs.serverAddresses ?? {}) as Record<string, string>;
  const cost = estimateCost(model);
  const proxy = ingressProxy(model);
  const hosts: HostReport[] = model.hosts.map((host) => ({
    server: host.server.name,
    provider: host.server.provider === "hetzner" ? `hetzner ${host.server.serverType} in ${host.server.location}` : "existing VPS",
    monthlyCostEur: serverMonthlyEur(cost, host.server.name),
    address: addresses[host.server.name] ?? "(unknown until created)",
    networks: host.networks.map((network) => ({ key: network.key, subnet: network.subnet, internal: network.internal })),
    services: host.services.map((service) => ({
      name: service.name,
      role: service.role,
      image: imageName(service.image, model.config.registry),
      memoryMb: service.memoryMb,
      networks: [...service.networks],
      dependsOn: [...service.dependsOn],
      ports: service.ports.map((port) =>
        port.publish
          ? `${publishAddress(port)}:${port.publish.host}->${port.container}/${port.protocol ?? "tcp"}`
          : `${port.container}/${port.protocol ?? "tcp"}`,
      ),
      ...releaseOf(model, service.name),
    })),
    ...(host.services.some((service) => service.role === "ingress" && service.name === proxy) ? { ingress: proxy } : {}),
    exposed: host.exposed.map((exposure) => `${exposure.port}/${exposure.protocol} (${exposure.service})`),
    exposures: [...host.exposed],
    links: host.links.map((link) => ({ service: link.service, server: link.server, address: link.address })),
    firewall: [...host.firewall],
    ...(host.peerAccess
      ? {
          peerAccess: {
            address: host.peerAccess.address,
            from: host.peerAccess.sourceCidr,
            ports: host.peerAccess.ports.map((port) => `${port.port}/${port.protocol} (${port.service})`),
          },
        }
      : {}),
    budget: host.budget,
  }));
  const ingress = hosts.find((host) => host.ingress);
  return {
    project: PROJECT,
    stack: options.stack,
    blueprint: model.blueprint.name,
    resources: run.resources,
    outputs: run.outputs,
    hosts,
    routes: model.spec.routes.map((route, index) => ({
      hostname: model.hostnames[index]!,
      service: route.service,
      port: route.port,
      server: ingress?.server ?? "",
    })),
    dns: model.hostnames.map((hostname) => ({
      hostname,
      managed: model.config.dns.provider === "cloudflare",
      proxied: behindCloudflare(model.config.dns),
      target: String(run.outputs.ingressAddress ?? ingress?.address ?? ""),
    })),
    cost,
    memoryProfile: model.memoryProfile,
    ...(model.loadBalancer
      ? {
          loadBalancer: {
            type: model.loadBalancer.config.type,
            location: model.loadBalancer.config.location,
            privateIp: model.loadBalancer.config.privateIp,
            targets: [...model.loadBalancer.targets],
            ports: [...model.loadBalancer.ports],
            healthCheck: model.loadBalancer.healthCheck ? `:${model.loadBalancer.healthCheck.port}${model.loadBalancer.healthCheck.path}` : "none",
          },
        }
      : {}),
    ...(model.spec.monitoring ? { monitoring: monitoringReport(model.spec.monitoring) } : {}),
    secretsToSet,
    backups: model.hosts.flatMap((host) => (host.backup ? [backupReport(host.server, host.backup)] : [])),
    ...(model.opsHost ? { opsHost: opsHostReport(model.opsHost, serverMonthlyEur(cost, model.opsHost.server.name)) } : {}),
    policy: planPolicy(run),
    elapsedMs: run.elapsedMs,
  };
}

/** `infra:monitoring` as JSON, for the secrets its receivers need; validation proper comes later. */
function looseObject(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "null");
  } catch {
    return undefined;
  }
}

/** Just enough of the servers list to know whether Hetzner's token is needed; validation proper comes later. */
function looseServers(text: string | undefined): ServerConfig[] | undefined {
  try {
    const parsed = JSON.parse(text ?? "null") as unknown;
    return Array.isArray(parsed) ? (parsed as ServerConfig[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The model-level report (what deployPlatform enforced) joined with the
 * graph-level one over every recorded resource; any violation fails the plan.
 */
function planPolicy(run: Awaited<ReturnType<typeof runProgram>>): PolicyReport {
  const model = evaluateModel(run.model);
  const graph = evaluateGraph(run.resources, run.model);
  const violations = [...model.violations, ...graph.violations];
  if (violations.length > 0) throw new PolicyError(violations);
  // One entry per rule and resource, with everything it silences on the model and on the graph.
  const waivers = new Map<string, PolicyReport["waivers"][number]>();
  for (const waiver of [...model.waivers, ...graph.waivers]) {
    const key = `${waiver.rule} ${waiver.resource}`;
    const silences = waivers.get(key)?.silences ?? [];
    waivers.set(key, { ...waiver, silences: [...silences, ...waiver.silences.filter((message) => !silences.includes(message))] });
  }
  return {
    violations: [],
    waivers: [...waivers.values()].sort((a, b) => a.resource.localeCompare(b.resource) || a.rule.localeCompare(b.rule, "en", { numeric: true })),
    notApplicable: model.notApplicable,
  };
}

function withoutKeys(file: ReturnType<typeof applyOverrides>, keys: readonly string[]): ReturnType<typeof applyOverrides> {
  if (keys.length === 0) return file;
  const values = Object.fromEntries(Object.entries(file.values).filter(([key]) => !keys.includes(key)));
  return {
    values,
    secretKeys: new Set([...file.secretKeys].filter((key) => !keys.includes(key))),
    encrypted: file.encrypted.filter((key) => !keys.includes(key)),
  };
}
