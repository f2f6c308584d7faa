import { CONFIG_DIR_PLACEHOLDER, LIVE_CONFIG_DIR } from "../container/live-config";
import { healthcheck, imageName, service, type ServiceSpec } from "../container/service-spec";
import { BASIC_AUTH_HASH_VARIABLE, caddyfile, hashVariableOf, type CaddyfileOptions, type CaddyRoute } from "./caddyfile";

export const CADDY_IMAGE = { repository: "caddy", tag: "2.8.4-alpine" } as const;
/** The Caddyfile is a live file: a route or header changes through Caddy's admin API (live-config.ts). */
export const CADDYFILE_PATH = `${LIVE_CONFIG_DIR}/Caddyfile`;

export interface CaddySpecOptions extends CaddyfileOptions {
  readonly networks: readonly string[];
  readonly memoryMb: number;
  readonly dependsOn: readonly string[];
  /** Secret config key of the password the basic_auth routes ask for; Caddy hashes it when it starts. */
  readonly basicAuthPasswordSecret?: string;
  /** Or the secret config key of its bcrypt hash, as nginx and Traefik take it (`adminAccess: ingress`); Caddy reads it as is. */
  readonly basicAuthPasswordHashSecret?: string;
}

const PASSWORD_VARIABLE = "INFRA_ADMIN_PASSWORD";

/** The ingress container: the only service that publishes on a public address (C11). */
export function caddyServiceSpec(routes: readonly CaddyRoute[], options: CaddySpecOptions): ServiceSpec {
  const authenticated = routes.some((route) => route.basicAuth && route.basicAuth.passwordHashSecret === undefined);
  if (authenticated && !options.basicAuthPasswordSecret === !options.basicAuthPasswordHashSecret) throw new Error("ingress: basic_auth routes need one of basicAuthPasswordSecret and basicAuthPasswordHashSecret");
  // A route's own credential (n8n's) is its bcrypt hash, read as it is from its own variable.
  const ownHashes = Object.fromEntries(routes.flatMap((route) => (route.basicAuth?.passwordHashSecret ? [[hashVariableOf(route.basicAuth.passwordHashSecret), { secret: route.basicAuth.passwordHashSecret }]] : [])));
  // The image's own command reads /etc/caddy/Caddyfile; the live file is elsewhere.
  const admin: Partial<Pick<ServiceSpec, "env" | "command">> = !authenticated
    ? { command: ["caddy", "run", "--config", CADDYFILE_PATH, "--adapter", "caddyfile"] }
    : options.basicAuthPasswordHashSecret
      ? { env: { [BASIC_AUTH_HASH_VARIABLE]: { secret: options.basicAuthPasswordHashSecret } }, command: ["caddy", "run", "--config", CADDYFILE_PATH, "--adapter", "caddyfile"] }
      : {
          env: { [PASSWORD_VARIABLE]: { secret: options.basicAuthPasswordSecret! } },
          // The image has no bcrypt-capable tool but caddy itself: hash the
          // password at start, drop the plain text, then run the image's command.
          command: [
            "sh",
            "-c",
            `${BASIC_AUTH_HASH_VARIABLE}="$(caddy hash-password --plaintext "$${PASSWORD_VARIABLE}")" && export ${BASIC_AUTH_HASH_VARIABLE} && unset ${PASSWORD_VARIABLE} && exec caddy run --config ${CADDYFILE_PATH} --adapter caddyfile`,
          ],
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
    ...admin,
    ...(Object.keys(ownHashes).length > 0 ? { env: { ...admin.env, ...ownHashes } } : {}),
    volumes: [
      { volume: "data", target: "/data" },
      { volume: "config", target: "/config" },
    ],
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", "http://127.0.0.1:2019/config/"], 10),
    memoryMb: options.memoryMb,
    capAdd: ["NET_BIND_SERVICE"],
    // Caddy writes its autosave and lock files outside its volumes (C6 waiver).
    readOnlyRootFilesystem: false,
    tmpfs: ["/tmp"],
    dependsOn: options.dependsOn,
    files: [{ path: CADDYFILE_PATH, content: caddyfile(routes, options), live: true }],
    liveReload: {
      // Syntax first, with Caddy's own message; `/load` then applies the
      // whole configuration or, refused, keeps the running one. Caddy adapts
      // it in its own process, whose environment holds the basic-auth hash;
      // the syntax check runs in a `docker exec`, which lacks it when it is
      // computed at start, so a stand-in value fills the place.
      check: ["env", `${BASIC_AUTH_HASH_VARIABLE}=syntax-check-only`, "caddy", "adapt", "--config", `${CONFIG_DIR_PLACEHOLDER}/Caddyfile`, "--adapter", "caddyfile"],
      apply: ["wget", "-q", "-O", "/dev/null", "--header", "Content-Type: text/caddyfile", "--post-file", `${CONFIG_DIR_PLACEHOLDER}/Caddyfile`, "http://127.0.0.1:2019/load"],
    },
  });
}
