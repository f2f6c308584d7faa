/**
 * What a Hetzner load balancer forwards, as data. TCP passthrough keeps TLS
 * (and the Let's Encrypt certificates) with the ingress on each target, so
 * the balancer needs no certificate of its own; the health check asks the
 * ingress itself over plain HTTP on the private network.
 */
export interface BalancedService {
  readonly protocol: "tcp";
  readonly listenPort: number;
  readonly destinationPort: number;
  readonly proxyprotocol: boolean;
  readonly healthCheck: {
    readonly protocol: "http";
    readonly port: number;
    readonly interval: number;
    readonly timeout: number;
    readonly retries: number;
    readonly http: { readonly path: string; readonly statusCodes: readonly string[] };
  };
}

export interface HealthCheckTarget {
  readonly port: number;
  readonly path: string;
}

/**
 * One TCP service per port, each taking a target out after three failed
 * checks 15 s apart. With `proxyProtocol` every connection to a target
 * starts with a PROXY header naming the client: TCP passthrough alone hands
 * the target only the balancer's own address.
 */
export function balancedServices(ports: readonly number[], check: HealthCheckTarget, proxyProtocol: boolean): BalancedService[] {
  const problems: string[] = [];
  for (const port of [...ports, check.port]) if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${port} is out of range`);
  if (new Set(ports).size !== ports.length) problems.push(`ports ${ports.join(", ")} repeat`);
  if (!check.path.startsWith("/")) problems.push(`health check path "${check.path}" must start with /`);
  if (ports.length === 0) problems.push("no port to balance");
  if (problems.length > 0) throw new Error(`load balancer: ${problems.join("; ")}`);
  return [...ports]
    .sort((a, b) => a - b)
    .map((port) => ({
      protocol: "tcp",
      listenPort: port,
      destinationPort: port,
      proxyprotocol: proxyProtocol,
      healthCheck: { protocol: "http", port: check.port, interval: 15, timeout: 10, retries: 3, http: { path: check.path, statusCodes: ["200"] } },
    }));
}
