import type { MonitoredServer, ServerPlacement } from "../../components/monitoring/placement";
import { serversTaking, type BlueprintEnvironment, type ServerLayout } from "./blueprint";

/**
 * Where a blueprint's services run, as its monitoring stack sees them: the
 * stack lives on the first server with the monitoring role, and reaches what
 * runs elsewhere at that server's private address. One server, `main`, when
 * the environment names none. Each server carries its entry in
 * `infra:servers`, for a problem its layout causes.
 */
export function monitoredServers(environment: BlueprintEnvironment): ServerPlacement {
  const servers = environment.servers ?? [];
  const monitored = (server: ServerLayout): MonitoredServer => ({ ...server, configPath: `infra:servers[${servers.indexOf(server)}]` });
  const home = serversTaking(servers, "monitoring")[0];
  const fallback = { name: "main" };
  return {
    home: home ? monitored(home) : fallback,
    serversOf: (service) => (servers.length === 0 ? [fallback] : serversTaking(servers, service.role, service.placement).map(monitored)),
  };
}
