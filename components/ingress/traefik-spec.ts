import { healthcheck, imageName, service, type ServiceSpec } from "../container/service-spec";
import { basicAuthSecretFiles, htpasswdFiles, htpasswdScript } from "./basic-auth";
import {
  TRAEFIK_DYNAMIC_PATH,
  TRAEFIK_METRICS_PORT,
  TRAEFIK_STATIC_PATH,
  traefikDynamicConfig,
  traefikStaticConfig,
  traefikYAML,
  type TraefikOptions,
} from "./traefik-config";
import type { ProtectedRoute } from "./route";

/** The same release the tests build from the Go module proxy and run as the config's validator. */
export const TRAEFIK_VERSION = "v3.6.12";
export const TRAEFIK_IMAGE = { repository: "traefik", tag: TRAEFIK_VERSION } as const;

export interface TraefikSpecOptions extends TraefikOptions {
  readonly networks: readonly string[];
  readonly memoryMb: number;
  readonly dependsOn: readonly string[];
}

/**
 * The ingress container of seeds 000 and 003, configured from files only (no
 * Docker socket). With basic auth on a route, a start script writes the
 * htpasswd files from their secret files first (basic-auth.ts); the image's
 * entrypoint runs anything that is not a Traefik subcommand as given.
 */
export function traefikServiceSpec(routes: readonly ProtectedRoute[], options: TraefikSpecOptions): ServiceSpec {
  const { networks, memoryMb, dependsOn, ...traefik } = options;
  const htpasswd = htpasswdFiles(routes);
  const run = `--configFile=${TRAEFIK_STATIC_PATH}`;
  return service({
    name: "traefik",
    description: `TLS reverse proxy with Let's Encrypt (${imageName(TRAEFIK_IMAGE)})`,
    role: "ingress",
    image: TRAEFIK_IMAGE,
    networks,
    ports: [
      { container: 80, publish: { host: 80, address: "0.0.0.0" } },
      { container: 443, publish: { host: 443, address: "0.0.0.0" } },
    ],
    volumes: [{ volume: "acme", target: "/data" }],
    // Traefik runs as root (C9 below), so root owns its secret files.
    ...(htpasswd.length > 0
      ? { secretFiles: basicAuthSecretFiles(htpasswd, 0), command: ["sh", "-c", [...htpasswdScript(htpasswd), `exec traefik ${run}`].join("\n")] }
      : { command: [run] }),
    files: [
      { path: TRAEFIK_STATIC_PATH, content: traefikYAML(traefikStaticConfig(traefik)) },
      { path: TRAEFIK_DYNAMIC_PATH, content: traefikYAML(traefikDynamicConfig(routes, traefik)), live: true },
    ],
    // Traefik's file provider picks up the new file itself. A file it cannot
    // read is logged and the running routes stay; the program's own tests run
    // each generated file through the real Traefik before it ships.
    liveReload: {},
    healthcheck: healthcheck(["CMD", "traefik", "healthcheck", `--configFile=${TRAEFIK_STATIC_PATH}`], 10),
    memoryMb,
    capAdd: ["NET_BIND_SERVICE"],
    tmpfs: ["/tmp"],
    dependsOn,
    metrics: { port: TRAEFIK_METRICS_PORT, path: "/metrics" },
    waivers: [
      { rule: "C6", reason: "traefik.yml is uploaded into /etc/traefik before start, and Docker refuses uploads into a read-only root filesystem" },
      {
        rule: "C9",
        reason:
          "Traefik keeps its ACME account and certificates in /data/acme.json, which must be 0600 and is created root-owned on a fresh volume; it runs as root with every capability but NET_BIND_SERVICE dropped",
      },
    ],
  });
}
