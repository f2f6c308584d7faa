import { healthcheck, peerPort, service, type ServiceSpec } from "../container/service-spec";

/**
 * A service that runs on another server, made reachable under its own name.
 *
 * Docker's DNS only spans one host, so when seed 004 moves PostgreSQL,
 * PgBouncer and Redis to a database server (phase 3), the applications would
 * need new host names in every connection string. Instead, each app server
 * runs a small TCP forwarder named like the remote service: `pgbouncer:6432`
 * keeps working, and the forwarder sends the bytes to the database server's
 * private address, where the real service publishes its port. The remote end
 * is never published on a public address (C11).
 */

export const LINK_IMAGE = { repository: "nginx", tag: "1.27.3-alpine" } as const;
/** Written by the container itself at start, so its root filesystem can stay read-only (no upload). */
export const LINK_CONFIG_PATH = "/tmp/nginx.conf";

export interface LinkTarget {
  /** The remote service, as its blueprint declares it. */
  readonly dependency: ServiceSpec;
  /** The server it runs on, and that server's private address. */
  readonly server: string;
  readonly address: string;
  /** Networks the forwarder joins: where its clients are, plus one with a route off the host. */
  readonly networks: readonly string[];
}

/** One listener of a forwarder: the port its clients use, and the remote server's port for it. */
export interface ForwardedPort {
  readonly listen: number;
  readonly remote: number;
}

/** nginx's stream proxy, one listener per port of the remote service. */
export function linkConfig(ports: readonly ForwardedPort[], address: string): string {
  const servers = ports.map((port) =>
    [`  server {`, `    listen ${port.listen};`, `    proxy_pass ${address}:${port.remote};`, `    proxy_connect_timeout 5s;`, `  }`].join("\n"),
  );
  return [
    "worker_processes 1;",
    "error_log stderr warn;",
    // nginx runs unprivileged; /tmp is the tmpfs it may write.
    "pid /tmp/nginx.pid;",
    "events {",
    "  worker_connections 1024;",
    "}",
    "stream {",
    ...servers,
    "}",
    "",
  ].join("\n");
}

export function linkServiceSpec(target: LinkTarget): ServiceSpec {
  const ports = [...new Set(target.dependency.ports.filter((port) => (port.protocol ?? "tcp") === "tcp").map((port) => port.container))];
  // Clients keep the container port they always used; the remote server
  // publishes it for peers on the service's own host port (peerPort).
  const forwarded = ports.map((port) => ({ listen: port, remote: peerPort(target.dependency, port) }));
  return service({
    name: target.dependency.name,
    description: `forwards ${target.dependency.name} to ${target.server} (${target.address}) over the private network`,
    role: target.dependency.role,
    image: LINK_IMAGE,
    networks: target.networks,
    ports: ports.map((port) => ({ container: port })),
    // The remote ports are above 1024, so the forwarder needs no capability and no root.
    user: "nginx",
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    env: { LINK_CONFIG: linkConfig(forwarded, target.address) },
    command: ["sh", "-c", `printf '%s' "$LINK_CONFIG" > ${LINK_CONFIG_PATH} && exec nginx -c ${LINK_CONFIG_PATH} -g 'daemon off;'`],
    // The forwarder's container has the same name as the service it stands
    // for (on another host), and the policy knows containers by name, so it
    // carries exactly that service's waivers: whichever is read last, the
    // real service keeps its own.
    waivers: target.dependency.waivers,
    healthcheck: healthcheck(["CMD-SHELL", 'kill -0 "$(cat /tmp/nginx.pid)"'], 5),
    memoryMb: 16,
    pidsLimit: 32,
  });
}
