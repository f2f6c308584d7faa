import type { ConfigFile } from "../container/service-spec";
import { ingressAccess, probePaths, type IngressProxy } from "./route-access";

export type { IngressProxy };

/**
 * The host names an ingress asks a password for, read back from the
 * configuration uploaded into its container (route-access.ts), the same
 * question for Caddy, nginx and Traefik. A name counts only when everything
 * served under it is behind basic auth (or answered by the proxy itself):
 * every site block, server block or router of that name, and every path in
 * them.
 */
export function hostnamesBehindBasicAuth(proxy: IngressProxy, files: readonly Pick<ConfigFile, "path" | "content">[]): Set<string> {
  const guarded = [...ingressAccess(proxy, files).values()].filter(
    (access) => !access.openBeyondNamed && probePaths(access).every((path) => access.verdict(path) !== "open"),
  );
  return new Set(guarded.map((access) => access.hostname));
}
