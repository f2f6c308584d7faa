import { stringify } from "yaml";
import type { ProbeModule } from "./targets";

/** blackbox_exporter's modules, one per route, one TCP check shared by the service ports, and one plain GET shared by the dependency checks. */
export function blackboxConfig(modules: readonly ProbeModule[]): string {
  const entries = modules.map((module) => {
    if (module.prober === "tcp") return [module.name, { prober: "tcp", timeout: "5s" }] as const;
    // Inside the Docker networks, over plain HTTP; any status but 2xx, or no answer within 5 s, fails.
    if (module.prober === "dependency") return [module.name, { prober: "http", timeout: "5s", http: { method: "GET", preferred_ip_protocol: "ip4" } }] as const;
    return [
      module.name,
      {
        prober: "http",
        timeout: "10s",
        http: {
          method: "GET",
          // The ingress picks the site by Host and the certificate by SNI.
          headers: { Host: module.hostname },
          ...(module.validStatusCodes.length > 0 ? { valid_status_codes: [...module.validStatusCodes] } : {}),
          fail_if_not_ssl: true,
          preferred_ip_protocol: "ip4",
          tls_config: { server_name: module.hostname },
        },
      },
    ] as const;
  });
  return stringify({ modules: Object.fromEntries(entries) }, { lineWidth: 0 });
}
