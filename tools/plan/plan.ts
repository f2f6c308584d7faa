import { BLUEPRINT_CATALOG } from "../../infra/blueprints";
import type { ServerConfig } from "../../components/compute/server-spec";
import { requiredSecrets } from "../../infra/config/validate";
import { estimateCost, type CostEstimate } from "../../infra/cost-estimate";
import type { FirewallRule } from "../../components/network/firewall-rules";
import type { MemoryBudget } from "../../infra/platform-model";
import { publishAddress } from "../../components/container/service-spec";
import { runProgram, type RecordedResource } from "./mock-run";
import { applyOverrides, readStackFile, SECRET_PLACEHOLDER } from "./stack-file";

export const PROJECT = "infra";

export interface PlanOptions {
  readonly projectDir: string;
  readonly stack: string;
  /** `key=value` config overrides, as `-c` on the command line. */
  readonly overrides?: readonly string[];
  /** `key=value` overrides marked secret (tests plant known secrets this way). */
  readonly secretOverrides?: readonly string[];
}

export interface HostReport {
  readonly server: string;
  readonly provider: string;
  readonly address: string;
  readonly services: { name: string; image: string; memoryMb: number; networks: string[]; ports: string[] }[];
  readonly exposed: string[];
  readonly firewall: FirewallRule[];
  readonly budget: MemoryBudget;
}

export interface PlanResult {
  readonly project: string;
  readonly stack: string;
  readonly blueprint: string;
  readonly resources: Omit<RecordedResource, "parentUrn">[];
  readonly outputs: Record<string, unknown>;
  readonly hosts: HostReport[];
  readonly routes: { hostname: string; service: string; port: number; server: string }[];
  readonly dns: { hostname: string; proxied: boolean; target: string }[];
  readonly cost: CostEstimate;
  /** Secrets `pulumi up` needs that the plan could not read: missing, or encrypted in the stack file. */
  readonly secretsToSet: { key: string; purpose: string; state: "not set" | "encrypted" }[];
  readonly elapsedMs: number;
}

export async function buildPlan(options: PlanOptions): Promise<PlanResult> {
  const file = applyOverrides(readStackFile(options.projectDir, options.stack), options.overrides ?? [], options.secretOverrides ?? []);
  const blueprint = file.values["infra:blueprint"];
  const secretsNeeded = requiredSecrets(blueprint, looseServers(file.values["infra:servers"]), BLUEPRINT_CATALOG);
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

  const run = await runProgram({ project: PROJECT, stack: options.stack, values, secretKeys });
  const model = run.model;
  const addresses = (run.outputs.serverAddresses ?? {}) as Record<string, string>;
  const hosts: HostReport[] = model.hosts.map((host) => ({
    server: host.server.name,
    provider: host.server.provider === "hetzner" ? `hetzner ${host.server.serverType} in ${host.server.location}` : "existing VPS",
    address: addresses[host.server.name] ?? "(unknown until created)",
    services: host.services.map((service) => ({
      name: service.name,
      image: `${service.image.repository}:${service.image.tag}`,
      memoryMb: service.memoryMb,
      networks: [...service.networks],
      ports: service.ports.map((port) => (port.publish ? `${publishAddress(port)}:${port.publish.host}->${port.container}/${port.protocol ?? "tcp"}` : `${port.container}/${port.protocol ?? "tcp"}`)),
    })),
    exposed: host.exposed.map((exposure) => `${exposure.port}/${exposure.protocol} (${exposure.service})`),
    firewall: [...host.firewall],
    budget: host.budget,
  }));
  const ingress = hosts.find((host) => model.hosts.find((plan) => plan.server.name === host.server)?.services.some((service) => service.role === "ingress"));
  return {
    project: PROJECT,
    stack: options.stack,
    blueprint: model.blueprint.name,
    resources: run.resources.map(({ parentUrn: _parentUrn, ...resource }) => resource),
    outputs: run.outputs,
    hosts,
    routes: model.spec.routes.map((route) => ({
      hostname: `${route.subdomain}.${model.config.domain}`,
      service: route.service,
      port: route.port,
      server: ingress?.server ?? "",
    })),
    dns: model.hostnames.map((hostname) => ({ hostname, proxied: model.config.dns.proxied, target: ingress?.address ?? "" })),
    cost: estimateCost(model),
    secretsToSet,
    elapsedMs: run.elapsedMs,
  };
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
