import { secretFileTarget } from "../container/secret-files";
import { healthcheck, imageName, service, type ServiceSpec } from "../container/service-spec";
import { BASIC_AUTH_HASH_VARIABLE, caddyfile, type CaddyfileOptions, type CaddyRoute } from "./caddyfile";

export const CADDY_IMAGE = { repository: "caddy", tag: "2.8.4-alpine" } as const;
export const CADDYFILE_PATH = "/etc/caddy/Caddyfile";

export interface CaddySpecOptions extends CaddyfileOptions {
  readonly networks: readonly string[];
  readonly memoryMb: number;
  readonly dependsOn: readonly string[];
  /** Secret config key of the password the basic_auth routes ask for; Caddy hashes it when it starts. */
  readonly basicAuthPasswordSecret?: string;
  /** Or the secret config key of its bcrypt hash, as nginx and Traefik take it (`adminAccess: ingress`); Caddy reads it as is. */
  readonly basicAuthPasswordHashSecret?: string;
}

/** The secret files of the two ways to give Caddy its login: the password, or its bcrypt hash. */
const PASSWORD_FILE = "admin-password";
const HASH_FILE = "admin-password-hash";
const RUN = `exec caddy run --config ${CADDYFILE_PATH} --adapter caddyfile`;

/** The ingress container: the only service that publishes on a public address (C11). */
export function caddyServiceSpec(routes: readonly CaddyRoute[], options: CaddySpecOptions): ServiceSpec {
  const authenticated = routes.some((route) => route.basicAuth);
  if (authenticated && !options.basicAuthPasswordSecret === !options.basicAuthPasswordHashSecret) throw new Error("ingress: basic_auth routes need one of basicAuthPasswordSecret and basicAuthPasswordHashSecret");
  // The Caddyfile reads the hash from Caddy's own environment ({$...}); the
  // start script puts it there from a secret file (C15), so it is in neither
  // the container's environment nor an argument. Caddy runs as root (C9).
  const credential: Partial<Pick<ServiceSpec, "secretFiles" | "command">> = !authenticated
    ? {}
    : options.basicAuthPasswordHashSecret
      ? {
          secretFiles: [{ name: HASH_FILE, content: { secret: options.basicAuthPasswordHashSecret }, uid: 0 }],
          command: ["sh", "-c", `${BASIC_AUTH_HASH_VARIABLE}="$(cat ${secretFileTarget({ name: HASH_FILE })})" && export ${BASIC_AUTH_HASH_VARIABLE} && ${RUN}`],
        }
      : {
          secretFiles: [{ name: PASSWORD_FILE, content: { secret: options.basicAuthPasswordSecret! }, uid: 0 }],
          // The image has no bcrypt-capable tool but caddy itself, which
          // reads the password as one line on stdin: hash it at start, then
          // run the image's command.
          command: ["sh", "-c", `${BASIC_AUTH_HASH_VARIABLE}="$({ cat ${secretFileTarget({ name: PASSWORD_FILE })}; echo; } | caddy hash-password)" && export ${BASIC_AUTH_HASH_VARIABLE} && ${RUN}`],
        };
  return service({
    name: "caddy",
    description: `TLS reverse proxy (${imageName(CADDY_IMAGE)})`,
    role: "ingress",
    image: CADDY_IMAGE,
    networks: options.networks,
    ports: [
      { container: 80, publish: { host: 80, address: "0.0.0.0" } },
      { container: 443, publish: { host: 443, address: "0.0.0.0" } },
      ...(options.metricsPort ? [{ container: options.metricsPort }] : []),
    ],
    ...(options.metricsPort ? { metrics: { port: options.metricsPort, path: "/metrics" } } : {}),
    ...credential,
    volumes: [
      { volume: "data", target: "/data" },
      { volume: "config", target: "/config" },
    ],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:2019/config/"], 10),
    memoryMb: options.memoryMb,
    capAdd: ["NET_BIND_SERVICE"],
    // The Caddyfile is uploaded into /etc/caddy before the container starts,
    // and Docker refuses uploads into a read-only root filesystem (C6 waiver).
    readOnlyRootFilesystem: false,
    tmpfs: ["/tmp"],
    dependsOn: options.dependsOn,
    files: [{ path: CADDYFILE_PATH, content: caddyfile(routes, options) }],
  });
}
