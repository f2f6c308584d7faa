import { createHash } from "node:crypto";
import type { ServiceSpec } from "./service-spec";

/**
 * What a change to a service does to what it serves:
 * - "zero-downtime": a stateless app behind the ingress. Each version of it
 *   is a container of its own, named by its release id. A new one starts
 *   beside the running one, passes its health gate, the ingress reloads
 *   onto it, and only then is the previous one stopped; a release that never
 *   gets healthy leaves the previous one serving.
 * - "reload": the ingress. Its routes change by a checked reload; only a new
 *   image or new container settings restart it.
 * - "restart": a container without data that cannot run twice at once (it
 *   publishes a host port, or nothing routes to it): the old one stops, the
 *   new one starts.
 * - "stateful": a container whose data the backup takes (a database, Redis,
 *   a vector store, a proxy's certificates). It is never started twice over
 *   the same data; replacing it stops it, and the backup job runs first.
 */
export type ReleaseMode = "zero-downtime" | "reload" | "restart" | "stateful";

/** Why a service releases the way it does, in words for the plan. */
export interface ReleasePlan {
  readonly service: string;
  readonly mode: ReleaseMode;
  /** For zero-downtime services: the id of the version the stack runs, part of its container's name and alias. */
  readonly releaseId?: string;
  readonly reason: string;
}

/**
 * A service's release plan. `routed`: the services an ingress route points at.
 * `stateless` means the backup takes nothing of it; two versions of it may
 * run at once only if it publishes no host port (both would bind it).
 */
export function releasePlan(spec: ServiceSpec, routed: ReadonlySet<string>): ReleasePlan {
  const base = { service: spec.name };
  if (spec.role === "ingress" && spec.liveReload) return { ...base, mode: "reload", reason: "routes change by a checked reload; a new image restarts it" };
  if (spec.backup !== undefined)
    return { ...base, mode: "stateful", reason: "holds data the backup takes: never run twice, the backup runs before a replacement" };
  if (spec.role !== "app") return { ...base, mode: "restart", reason: `the ${spec.role} role is not released beside itself` };
  if (!routed.has(spec.name)) return { ...base, mode: "restart", reason: "no route leads to it, so there is no upstream to switch" };
  if (spec.ports.some((port) => port.publish !== undefined))
    return { ...base, mode: "restart", reason: "it publishes a host port, which two versions cannot share" };
  return { ...base, mode: "zero-downtime", releaseId: releaseId(spec), reason: "the new version starts beside the old one and takes over once healthy" };
}

/** Keys in a stable order, so that equal specs always give the same text. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * The id of one version of a service: a fingerprint of everything the spec
 * says about its container (image, environment references, settings). Any
 * change makes a new release, which starts beside the running one; the same
 * spec always gives the same id, so an unchanged stack changes nothing.
 */
export function releaseId(spec: ServiceSpec): string {
  return createHash("sha256")
    .update(JSON.stringify(canonical(spec)))
    .digest("hex")
    .slice(0, RELEASE_ID_LENGTH);
}

/** Hex digits of a release id: 4 billion values, for a handful of releases kept on a host at a time. */
const RELEASE_ID_LENGTH = 8;
/** A release id as a regular expression, for whatever matches a service's containers by name (alerts, dashboards). */
export const RELEASE_ID_PATTERN = `[0-9a-f]{${RELEASE_ID_LENGTH}}`;

/** The network alias that reaches one release, and only it: what the ingress proxies to. */
export function releaseAlias(service: string, id: string): string {
  return `${service}-${id}`;
}

/** The upstream host of each zero-downtime service: its current release's alias. */
export function releaseUpstreams(plans: readonly ReleasePlan[]): Record<string, string> {
  return Object.fromEntries(plans.flatMap((plan) => (plan.mode === "zero-downtime" ? [[plan.service, releaseAlias(plan.service, plan.releaseId!)]] : [])));
}
