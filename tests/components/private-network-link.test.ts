import { describe, expect, it } from "vitest";
import { healthcheck, service } from "../../components/container/service-spec";
import { LINK_CONFIG_PATH, LINK_IMAGE, linkConfig, linkServiceSpec } from "../../components/network/private-network-link";

/**
 * The forwarder that stands in for a service on another server (seed 004,
 * phase 3): same name, same ports, bytes sent to the peer's private address.
 */
describe("linkConfig", () => {
  it("listens on each port and forwards it to the peer's port for it at the peer's address", () => {
    expect(
      linkConfig(
        [
          { listen: 6432, remote: 6432 },
          { listen: 8000, remote: 8003 },
        ],
        "10.0.1.2",
      ),
    ).toBe(
      [
        "worker_processes 1;",
        "error_log stderr warn;",
        "pid /tmp/nginx.pid;",
        "events {",
        "  worker_connections 1024;",
        "}",
        "stream {",
        "  server {",
        "    listen 6432;",
        "    proxy_pass 10.0.1.2:6432;",
        "    proxy_connect_timeout 5s;",
        "  }",
        "  server {",
        "    listen 8000;",
        "    proxy_pass 10.0.1.2:8003;",
        "    proxy_connect_timeout 5s;",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
  });
});

describe("linkServiceSpec", () => {
  const pgbouncer = service({
    name: "pgbouncer",
    description: "PgBouncer",
    role: "data",
    image: { repository: "edoburu/pgbouncer", tag: "v1.23.1-p2" },
    networks: ["data"],
    ports: [
      { container: 6432, publish: { host: 6432, address: "127.0.0.1" } },
      { container: 5353, protocol: "udp" },
    ],
    healthcheck: healthcheck(["CMD", "true"]),
    memoryMb: 128,
    waivers: [{ rule: "C6", reason: "writes its config at start" }],
  });
  const link = linkServiceSpec({ dependency: pgbouncer, server: "main", address: "10.0.1.2", networks: ["data", "egress"] });

  it("takes the remote service's name and role, so clients keep their connection strings", () => {
    expect(link).toMatchObject({ name: "pgbouncer", role: "data", networks: ["data", "egress"] });
    expect(link.description).toBe("forwards pgbouncer to main (10.0.1.2) over the private network");
  });

  it("listens on the remote service's TCP ports inside Docker only: never published, UDP left out (C11)", () => {
    expect(link.ports).toEqual([{ container: 6432 }]);
    expect(link.env).toEqual({ LINK_CONFIG: linkConfig([{ listen: 6432, remote: 6432 }], "10.0.1.2") });
  });

  it("forwards to the host port the remote service publishes for peers, where it differs from the container port", () => {
    const api = service({
      name: "studio-api",
      description: "an API listening on 8000, published on 8003 beside another API on 8000",
      role: "app",
      image: { repository: "ghcr.io/galion-app/studio-api", tag: "1.0.0" },
      networks: ["web"],
      ports: [{ container: 8000, publish: { host: 8003, address: "127.0.0.1" } }],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 256,
    });
    const forwarder = linkServiceSpec({ dependency: api, server: "app-1", address: "10.0.1.11", networks: ["web"] });
    expect(forwarder.ports).toEqual([{ container: 8000 }]);
    expect(forwarder.env.LINK_CONFIG).toContain("    listen 8000;\n    proxy_pass 10.0.1.11:8003;\n");
  });

  it("runs a pinned nginx unprivileged on a read-only root, writing its config to the tmpfs", () => {
    expect(link.image).toEqual(LINK_IMAGE);
    expect(link.image.tag).not.toBe("latest");
    expect(link).toMatchObject({ user: "nginx", readOnlyRootFilesystem: true, tmpfs: ["/tmp"], capAdd: [], memoryMb: 16, pidsLimit: 32 });
    expect(link.command).toEqual(["sh", "-c", `printf '%s' "$LINK_CONFIG" > ${LINK_CONFIG_PATH} && exec nginx -c ${LINK_CONFIG_PATH} -g 'daemon off;'`]);
    expect(link.files).toEqual([]);
  });

  it("carries the remote service's waivers, since the policy knows containers by name", () => {
    expect(link.waivers).toEqual(pgbouncer.waivers);
  });

  it("declares no backup: the data stays with the remote service", () => {
    expect(link.backup).toBeUndefined();
    expect(link.volumes).toEqual([]);
  });
});
