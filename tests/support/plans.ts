import { liveFilesInstalled } from "../../components/container/live-config";
import { RELEASE_ID_PATTERN } from "../../components/container/release";
import { buildPlan, type PlanOptions, type PlanResult } from "../../tools/plan/plan";
import { DOCKER_API_NETWORK_PREFIX } from "../../components/container/docker-api-proxy-spec";
import { LOOPBACK_PUBLISHING_NETWORK } from "../../components/container/network-spec";
import { PROJECT_DIR } from "./stack-config";

const cache = new Map<string, Promise<PlanResult>>();

/**
 * The offline plan of a shipped stack, made once per worker: the unit tier
 * shares its module graph between test files (vitest.unit.config.ts), and
 * the program is deterministic. No override and an empty list are one plan.
 */
export function planOf(stack: string, options: Omit<PlanOptions, "projectDir" | "stack"> = {}): Promise<PlanResult> {
  const { overrides = [], ...rest } = options;
  const key = JSON.stringify([stack, overrides, rest]);
  if (!cache.has(key)) cache.set(key, buildPlan({ projectDir: PROJECT_DIR, stack, ...options }));
  return cache.get(key)!;
}

export type PlannedResource = PlanResult["resources"][number];

export function resourcesOf(plan: PlanResult, type: string): PlannedResource[] {
  return plan.resources.filter((resource) => resource.type === type);
}

/** The container registered for a VPAI service, by its explicit container name. */
export function container(plan: PlanResult, service: string): PlannedResource {
  return containerNamed(plan, `vpai-${service}`);
}

/** Whether a registered container name is the service's: itself, or, for a zero-downtime service, with its current release id. */
export function isServiceContainer(name: unknown, containerName: string): boolean {
  return name === containerName || (typeof name === "string" && new RegExp(`^${containerName}-${RELEASE_ID_PATTERN}$`).test(name));
}

/** The container registered under an explicit container name, e.g. `galion-postgres` (`fastapi-backend-<release id>` for a release). */
export function containerNamed(plan: PlanResult, containerName: string): PlannedResource {
  const found = resourcesOf(plan, "docker:index/container:Container").find((resource) => isServiceContainer(resource.inputs.name, containerName));
  if (!found) throw new Error(`no container ${containerName}`);
  return found;
}

/**
 * The content of a file a container gets before it starts: uploaded into it,
 * or, for a live file (the ingress's routes), installed on the host by its
 * config command.
 */
export function uploadOf(plan: PlanResult, containerName: string, path: string): string {
  const uploads = (containerNamed(plan, containerName).inputs.uploads ?? []) as { file: string; content: string }[];
  const live = plan.resources
    .flatMap((resource) => liveFilesInstalled(resource.inputs.triggers, containerName))
    .map((file) => ({ file: file.path, content: file.content }));
  const file = [...uploads, ...live].find((candidate) => candidate.file === path);
  if (!file) throw new Error(`${containerName} gets no ${path}`);
  return file.content;
}

/** A container's published ports as `address:host->container`. */
export const publishedPorts = (resource: PlannedResource): string[] =>
  ((resource.inputs.ports ?? []) as { ip: string; external: number; internal: number }[]).map((port) => `${port.ip}:${port.external}->${port.internal}`);

/**
 * Whether a Docker network is one the platform adds rather than the
 * blueprint: the bridge that carries loopback ports (LOOPBACK_PUBLISHING_NETWORK,
 * covered by tests/components/network-spec.test.ts) and each Docker API
 * consumer's network with the socket proxy (covered by
 * tests/components/docker-api-proxy.test.ts and the vpai and fastapi tests).
 */
const addedByPlatform = (name: string): boolean => name.endsWith(`-${LOOPBACK_PUBLISHING_NETWORK.key}`) || name.includes(`-${DOCKER_API_NETWORK_PREFIX}`);

/** A container's networks as its blueprint declares them, without those the platform adds. */
export const declaredNetworks = (networks: unknown): unknown => (networks as { name: string }[]).filter((network) => !addedByPlatform(network.name));

/** The plan's Docker networks as the blueprint declares them, without those the platform adds. */
export const declaredNetworkResources = (plan: PlanResult): PlannedResource[] =>
  resourcesOf(plan, "docker:index/network:Network").filter((network) => !addedByPlatform(String(network.inputs.name)));

/** A registered container's name without the release id a zero-downtime service's carries. */
export function withoutRelease(name: string): string {
  return name.replace(new RegExp(`-${RELEASE_ID_PATTERN}$`), "");
}

/** The network aliases the program gives a service's container: its name, and for a release the release's alias too. */
export function serviceAliases(resource: PlannedResource, service: string): string[] {
  const id = String(resource.inputs.name).match(new RegExp(`-(${RELEASE_ID_PATTERN})$`))?.[1];
  return id === undefined ? [service] : [service, `${service}-${id}`];
}

/** The host command that writes a container's secret files: a child of the same Service. */
export function secretsCommandOf(plan: PlanResult, containerResource: PlannedResource): PlannedResource {
  const found = plan.resources.find(
    (resource) =>
      resource.type === "pulumi-nodejs:dynamic/remote:SSHCommand" && resource.name.endsWith("-secrets") && resource.parentUrn === containerResource.parentUrn,
  );
  if (!found) throw new Error(`no -secrets command beside ${containerResource.name}`);
  return found;
}
