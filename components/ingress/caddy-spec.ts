import { healthcheck, imageName, service, type ServiceSpec } from "../container/service-spec";
import { caddyfile, type CaddyfileOptions } from "./caddyfile";
import type { Route } from "./route";

export const CADDY_IMAGE = { repository: "caddy", tag: "2.8.4-alpine" } as const;
export const CADDYFILE_PATH = "/etc/caddy/Caddyfile";

export interface CaddySpecOptions extends CaddyfileOptions {
  readonly networks: readonly string[];
  readonly memoryMb: number;
  readonly dependsOn: readonly string[];
}

/** The ingress container: the only service that publishes on a public address (C11). */
export function caddyServiceSpec(routes: readonly Route[], options: CaddySpecOptions): ServiceSpec {
  return service({
    name: "caddy",
    description: `TLS reverse proxy (${imageName(CADDY_IMAGE)})`,
    role: "ingress",
    image: CADDY_IMAGE,
    networks: options.networks,
    ports: [
      { container: 80, publish: { host: 80, address: "0.0.0.0" } },
      { container: 443, publish: { host: 443, address: "0.0.0.0" } },
    ],
    volumes: [
      { volume: "data", target: "/data" },
      { volume: "config", target: "/config" },
    ],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:2019/config/"], 10),
    memoryMb: options.memoryMb,
    capAdd: ["NET_BIND_SERVICE"],
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp"],
    dependsOn: options.dependsOn,
    files: [{ path: CADDYFILE_PATH, content: caddyfile(routes, options) }],
  });
}
