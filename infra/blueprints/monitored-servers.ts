import type { ServerPlacement } from "../../components/monitoring/observability";
import { serversTaking, type BlueprintEnvironment } from "./blueprint";

/**
 * Where a blueprint's services run, as its monitoring stack sees them: the
 * stack lives on the first server with the monitoring role, and reaches what
 * runs elsewhere at that server's private address. One server, `main`, when
 * the environment names none.
 */
export function monitoredServers(environment: BlueprintEnvironment): ServerPlacement {
  const servers = environment.servers ?? [];
  const home = serversTaking(servers, "monitoring")[0] ?? { name: "main" };
  return {
    home,
    serversOf: (service) => (servers.length === 0 ? [home] : serversTaking(servers, service.role, service.placement)),
  };
}
