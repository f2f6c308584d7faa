import { buildPlan, type PlanOptions, type PlanResult } from "../../tools/plan/plan";
import { LOOPBACK_PUBLISHING_NETWORK } from "../../components/container/network-spec";
import { PROJECT_DIR } from "./stack-config";

const cache = new Map<string, Promise<PlanResult>>();

/** The offline plan of a shipped stack (cached per test file; the program is deterministic). */
export function planOf(stack: string, options: Omit<PlanOptions, "projectDir" | "stack"> = {}): Promise<PlanResult> {
  const key = JSON.stringify([stack, options]);
  if (!cache.has(key)) cache.set(key, buildPlan({ projectDir: PROJECT_DIR, stack, ...options }));
  return cache.get(key)!;
}

export type PlannedResource = PlanResult["resources"][number];

export function resourcesOf(plan: PlanResult, type: string): PlannedResource[] {
  return plan.resources.filter((resource) => resource.type === type);
}

/** The container registered for a VPAI service, by its explicit container name. */
export function container(plan: PlanResult, service: string): PlannedResource {
  const found = resourcesOf(plan, "docker:index/container:Container").find((resource) => resource.inputs.name === `vpai-${service}`);
  if (!found) throw new Error(`no container vpai-${service}`);
  return found;
}

/** The container registered under an explicit container name, e.g. `galion-postgres`. */
export function containerNamed(plan: PlanResult, containerName: string): PlannedResource {
  const found = resourcesOf(plan, "docker:index/container:Container").find((resource) => resource.inputs.name === containerName);
  if (!found) throw new Error(`no container ${containerName}`);
  return found;
}

/** The content of a file uploaded into a container before it starts. */
export function uploadOf(plan: PlanResult, containerName: string, path: string): string {
  const file = (containerNamed(plan, containerName).inputs.uploads as { file: string; content: string }[]).find((candidate) => candidate.file === path);
  if (!file) throw new Error(`${containerName} uploads no ${path}`);
  return file.content;
}

/** A container's published ports as `address:host->container`. */
export const publishedPorts = (resource: PlannedResource): string[] =>
  ((resource.inputs.ports ?? []) as { ip: string; external: number; internal: number }[]).map((port) => `${port.ip}:${port.external}->${port.internal}`);

/**
 * A container's networks as its blueprint declares them, without the bridge
 * the platform adds to carry loopback ports (LOOPBACK_PUBLISHING_NETWORK);
 * tests/components/network-spec.test.ts covers that bridge.
 */
export const declaredNetworks = (networks: unknown): unknown =>
  (networks as { name: string }[]).filter((network) => !network.name.endsWith(`-${LOOPBACK_PUBLISHING_NETWORK.key}`));

/** The plan's Docker networks as the blueprint declares them, without the loopback publishing bridge. */
export const declaredNetworkResources = (plan: PlanResult): PlannedResource[] =>
  resourcesOf(plan, "docker:index/network:Network").filter((network) => !String(network.inputs.name).endsWith(`-${LOOPBACK_PUBLISHING_NETWORK.key}`));

/** The host command that writes a container's secret files: a child of the same Service. */
export function secretsCommandOf(plan: PlanResult, containerResource: PlannedResource): PlannedResource {
  const found = plan.resources.find((resource) => resource.type === "pulumi-nodejs:dynamic/remote:SSHCommand" && resource.name.endsWith("-secrets") && resource.parent === containerResource.parent);
  if (!found) throw new Error(`no -secrets command beside ${containerResource.name}`);
  return found;
}
