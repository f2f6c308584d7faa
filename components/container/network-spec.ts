/** A Docker network as plain data. */
export interface NetworkSpec {
  /** Key the services refer to, e.g. `backend`. */
  readonly key: string;
  readonly subnet: string;
  /** Internal networks have no route out of the host. */
  readonly internal: boolean;
  readonly purpose: string;
  /** Docker driver options of the bridge (com.docker.network.bridge.*). */
  readonly options?: Readonly<Record<string, string>>;
}

/**
 * Docker publishes no port of a container whose networks are all internal:
 * `ports` is accepted and silently ignored, so an admin UI meant for
 * `ssh -L` to 127.0.0.1 is unreachable, and the provider sees the missing
 * binding as a change on every deploy. Such a container also joins this
 * bridge, which exists only to carry loopback publishing: it is not internal
 * (so Docker publishes), but it masquerades nothing (no route out to the
 * internet) and forbids traffic between its containers (no new path between
 * services that were kept apart).
 */
export const LOOPBACK_PUBLISHING_NETWORK: NetworkSpec = {
  key: "loopback-publish",
  subnet: "172.31.254.0/24",
  internal: false,
  purpose: "carries ports published on 127.0.0.1 for containers whose other networks are all internal; no egress, no traffic between its members",
  options: { "com.docker.network.bridge.enable_ip_masquerade": "false", "com.docker.network.bridge.enable_icc": "false" },
};

/** Whether Docker would publish nothing for a service on these networks, though it asks for host ports. */
export function needsLoopbackPublishing(
  service: { readonly networks: readonly string[]; readonly ports: readonly { readonly publish?: unknown }[] },
  networks: readonly NetworkSpec[],
): boolean {
  const publishes = service.ports.some((port) => port.publish !== undefined);
  const reachable = service.networks.some((key) => networks.find((network) => network.key === key)?.internal === false);
  return publishes && !reachable;
}
