import { CONFIG_DIR_PLACEHOLDER, LIVE_CONFIG_DIR } from "../container/live-config";
import { secretFileTarget } from "../container/secret-files";
import { healthcheck, imageName, service, type SecretFileSpec, type ServiceSpec } from "../container/service-spec";
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

/** The secret files of the two ways to give Caddy its login: the password, or its bcrypt hash. */
const PASSWORD_FILE = "admin-password";
const HASH_FILE = "admin-password-hash";
/** The image's own command reads /etc/caddy/Caddyfile; the live file is elsewhere. */
const RUN = ["caddy", "run", "--config", CADDYFILE_PATH, "--adapter", "caddyfile"];

/** The secret file of a route's own bcrypt hash, named after the variable Caddy reads it from: INFRA_BCRYPT_N8N_PASSWORD_HASH is infra-bcrypt-n8n-password-hash. */
function ownHashFile(secret: string): string {
  return hashVariableOf(secret).toLowerCase().replace(/_/g, "-");
}

/** The ingress container: the only service that publishes on a public address (C11). */
export function caddyServiceSpec(routes: readonly CaddyRoute[], options: CaddySpecOptions): ServiceSpec {
  const authenticated = routes.some((route) => route.basicAuth && route.basicAuth.passwordHashSecret === undefined);
  if (authenticated && !options.basicAuthPasswordSecret === !options.basicAuthPasswordHashSecret)
    throw new Error("ingress: basic_auth routes need one of basicAuthPasswordSecret and basicAuthPasswordHashSecret");
  // The Caddyfile reads each bcrypt hash from Caddy's own environment ({$...}):
  // the admin password's, and a route's own credential's (n8n's). The start
  // script puts them there from secret files (C15), so they are in neither
  // the container's environment nor an argument. Caddy runs as root (C9).
  const hashes: { variable: string; file: SecretFileSpec; value: string }[] = [];
  if (authenticated && options.basicAuthPasswordHashSecret) {
    hashes.push({
      variable: BASIC_AUTH_HASH_VARIABLE,
      file: { name: HASH_FILE, content: { secret: options.basicAuthPasswordHashSecret }, uid: 0 },
      value: `$(cat ${secretFileTarget({ name: HASH_FILE })})`,
    });
  } else if (authenticated) {
    // The image has no bcrypt-capable tool but caddy itself, which reads the
    // password as one line on stdin: hash it at start.
    hashes.push({
      variable: BASIC_AUTH_HASH_VARIABLE,
      file: { name: PASSWORD_FILE, content: { secret: options.basicAuthPasswordSecret! }, uid: 0 },
      value: `$({ cat ${secretFileTarget({ name: PASSWORD_FILE })}; echo; } | caddy hash-password)`,
    });
  }
  const ownSecrets = [...new Set(routes.flatMap((route) => (route.basicAuth?.passwordHashSecret ? [route.basicAuth.passwordHashSecret] : [])))];
  for (const secret of ownSecrets) {
    const name = ownHashFile(secret);
    hashes.push({ variable: hashVariableOf(secret), file: { name, content: { secret }, uid: 0 }, value: `$(cat ${secretFileTarget({ name })})` });
  }
  const credential: Pick<ServiceSpec, "secretFiles" | "command"> =
    hashes.length === 0
      ? { secretFiles: [], command: RUN }
      : {
          secretFiles: hashes.map((hash) => hash.file),
          command: ["sh", "-c", [...hashes.map((hash) => `${hash.variable}="${hash.value}" && export ${hash.variable}`), `exec ${RUN.join(" ")}`].join(" && ")],
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
    // Caddy writes its autosave and lock files outside its volumes (C6 waiver).
    readOnlyRootFilesystem: false,
    tmpfs: ["/tmp"],
    dependsOn: options.dependsOn,
    files: [{ path: CADDYFILE_PATH, content: caddyfile(routes, options), live: true }],
    liveReload: {
      // Syntax first, with Caddy's own message; `/load` then applies the
      // whole configuration or, refused, keeps the running one. Caddy adapts
      // it in its own process, whose environment holds the basic-auth hashes
      // its start script read from their files; the syntax check runs in a
      // `docker exec`, which lacks them, so stand-in values fill their place.
      check: [
        "env",
        ...[...new Set([BASIC_AUTH_HASH_VARIABLE, ...hashes.map((hash) => hash.variable)])].map((variable) => `${variable}=syntax-check-only`),
        "caddy",
        "adapt",
        "--config",
        `${CONFIG_DIR_PLACEHOLDER}/Caddyfile`,
        "--adapter",
        "caddyfile",
      ],
      apply: [
        "wget",
        "-q",
        "-O",
        "/dev/null",
        "--header",
        "Content-Type: text/caddyfile",
        "--post-file",
        `${CONFIG_DIR_PLACEHOLDER}/Caddyfile`,
        "http://127.0.0.1:2019/load",
      ],
    },
  });
}
