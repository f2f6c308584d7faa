/**
 * A container as plain data: what a blueprint declares, what the policy and the
 * plan read, and what the Service component registers. Nothing here is an
 * Input, because ports, networks and sizes decide the shape of the graph.
 */
import { mirroredReference, type ImageRegistry } from "./image-registry";
import type { LiveReload } from "./live-config";
import type { BackupDeclaration } from "../backup/declaration";
import type { DockerReadEndpoint } from "./docker-api-proxy-config";
import type { Role } from "../compute/server-spec";
import type { ExporterSpec } from "../monitoring/exporter-spec";

export type ServiceRole = Role;

export interface ImageRef {
  readonly repository: string;
  /** A version tag; `latest` and empty tags are refused (C10). */
  readonly tag: string;
  readonly digest?: string;
}

export interface PortSpec {
  readonly container: number;
  readonly protocol?: "tcp" | "udp";
  /**
   * Publishing on the host. The address defaults to 127.0.0.1 (reachable over
   * an SSH tunnel only); only the ingress may publish on a public address (C11).
   */
  readonly publish?: { readonly host: number; readonly address?: string };
}

/**
 * An environment value: plain text, a secret config key, or a template with
 * `{{key}}` placeholders for secrets (a connection URL that embeds a password).
 */
export type EnvValue = string | { readonly secret: string } | { readonly secretTemplate: string };

/**
 * How the values of a file template's placeholders are written: `url`
 * percent-encodes them (the default for a template that starts with a
 * scheme), `json` writes a JSON string with its quotes (valid in YAML too),
 * `redis` a double-quoted Redis configuration argument, `pgpass` a field of a
 * libpq password file, `userlist` a quoted field of PgBouncer's auth file;
 * `none` leaves them as they are.
 */
export type SecretEncoding = "none" | "url" | "json" | "redis" | "pgpass" | "userlist";

/** What a secret file holds: one secret's value, or a template with `{{key}}` placeholders. */
export type SecretContent = { readonly secret: string } | { readonly secretTemplate: string; readonly encoding?: SecretEncoding };

/**
 * A secret delivered as a file, not an environment variable (C15). The host
 * keeps it at /etc/infra/secrets/<container>/<name>, mode 0400, owned by
 * `uid`, and the container mounts it read-only at `target`
 * (/run/secrets/<name> by default), so `docker inspect` shows its path only.
 */
export interface SecretFileSpec {
  /** The file's name on the host and, by default, under /run/secrets. */
  readonly name: string;
  readonly content: SecretContent;
  /**
   * The uid of the process that reads the file: the container's user, or 0
   * where the image's entrypoint reads it as root before dropping privileges
   * (postgres's POSTGRES_PASSWORD_FILE). Nobody else in the container can.
   */
  readonly uid: number;
  /** The environment variable the image takes the file's path from, e.g. POSTGRES_PASSWORD_FILE; absent when a command or configuration names the path. */
  readonly variable?: string;
  /** Where the container sees it, when the image expects a fixed path (a configuration file). */
  readonly target?: string;
}

export interface VolumeMount {
  readonly volume: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface BindMount {
  readonly hostPath: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface HealthcheckSpec {
  readonly test: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

export interface ConfigFile {
  readonly path: string;
  readonly content: string;
  readonly executable?: boolean;
  /**
   * The running container takes a new version by a reload, not a restart:
   * the file is written on the host under live-config.ts's directory, not
   * uploaded, and the spec's `liveReload` applies it. Its path is then
   * `LIVE_CONFIG_DIR/<name>`.
   */
  readonly live?: boolean;
}

/**
 * An HTTP endpoint where a service reports whether it reaches something it
 * depends on, answering 2xx while it does (seed 003's `/api/health/db`).
 */
export interface DependencyCheck {
  readonly dependency: "database";
  readonly port: number;
  readonly path: string;
}

/** An explicit, reasoned exception to one checklist rule for one service. */
export interface Waiver {
  readonly rule: string;
  readonly reason: string;
}

export interface DataApiSpec {
  readonly auth: "jwt" | "none";
  readonly role: string;
  readonly anonRole?: string;
}

/**
 * "first": the first server that takes the service's role. "each": every
 * server that takes it (app replicas behind a load balancer, seed 004 phase
 * 4). "host": every server, whatever its roles (per-host agents such as
 * node-exporter and cAdvisor).
 */
export type Placement = "first" | "each" | "host";

export interface ServiceSpec {
  /** Logical name; also the container's DNS alias on its networks. */
  readonly name: string;
  readonly description: string;
  readonly role: ServiceRole;
  readonly image: ImageRef;
  /** Keys of the blueprint's networks, in attachment order. */
  readonly networks: readonly string[];
  readonly ports: readonly PortSpec[];
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly volumes: readonly VolumeMount[];
  readonly binds: readonly BindMount[];
  /**
   * The read endpoints of the Docker Engine API it calls. It reaches them at
   * DOCKER_API_URL, through the socket proxy the platform adds to its host,
   * and never mounts the socket itself (C14).
   */
  readonly dockerAPI?: readonly DockerReadEndpoint[];
  readonly healthcheck: HealthcheckSpec;
  readonly memoryMb: number;
  readonly pidsLimit: number;
  readonly restart: "unless-stopped" | "on-failure";
  readonly user?: string;
  readonly readOnlyRootFilesystem: boolean;
  readonly tmpfs: readonly string[];
  /** Capabilities added back after dropping ALL (C5). */
  readonly capAdd: readonly string[];
  readonly command?: readonly string[];
  /** Replaces the image's entrypoint: for images whose entrypoint is a program that would take `command` as its arguments. */
  readonly entrypoint?: readonly string[];
  /** Services that must be up first (startup order). */
  readonly dependsOn: readonly string[];
  readonly files: readonly ConfigFile[];
  /** How the running container checks and applies new versions of its live files (the ingress's routes). */
  readonly liveReload?: LiveReload;
  /** A Prometheus endpoint, scraped by the monitoring stack over the Docker networks; never served by the ingress (E2). */
  readonly metrics?: { readonly port: number; readonly path: string };
  /**
   * Its owner (admin) account goes to whoever completes its setup first
   * (n8n's owner setup): until someone has, anyone who reaches `paths` can
   * claim the service. A public route keeps them behind the ingress's
   * password (E1). The whole service when `paths` is absent.
   */
  readonly firstVisitorSetup?: { readonly paths?: readonly string[] };
  /**
   * It turns HTTP requests into queries on a database (PostgREST): `auth` is
   * how it checks its callers (`jwt`: a token signed with a secret; `none`),
   * `role` the database role it connects as, `anonRole` the role a request
   * without a token runs as, if any. A public route reaches it only through a
   * key check (E3), and no role it can act as is a superuser (E4).
   */
  readonly dataApi?: DataApiSpec;
  /** A database or proxy without an endpoint of its own, watched through its standard exporter. */
  readonly exporter?: ExporterSpec;
  /** Secrets the service reads from files (C15), written on its host before it starts. */
  readonly secretFiles: readonly SecretFileSpec[];
  /**
   * Endpoints reporting whether the service reaches what it depends on. The
   * monitoring stack probes each over the Docker networks and alerts when
   * one fails while the service itself answers: a container can be up and
   * healthy while its (managed) database is out of reach.
   */
  readonly dependencyChecks?: readonly DependencyCheck[];
  readonly waivers: readonly Waiver[];
  /** Which servers run it; "first" when absent. */
  readonly placement?: Placement;
  /**
   * Also publish its ports on the server's private-network address, so other
   * servers reach it (Prometheus scraping a remote node-exporter, a replica
   * streaming from its primary). Never a public address (C11).
   */
  readonly reachableFromPeers?: boolean;
  /** What the nightly backup takes of this service; absent means it holds nothing worth restoring. */
  readonly backup?: BackupDeclaration;
}

/** Defaults every service gets unless its blueprint says otherwise. */
export function service(
  spec: Partial<ServiceSpec> & Pick<ServiceSpec, "name" | "description" | "role" | "image" | "networks" | "healthcheck" | "memoryMb">,
): ServiceSpec {
  return {
    ports: [],
    env: {},
    volumes: [],
    binds: [],
    pidsLimit: 256,
    restart: "unless-stopped",
    readOnlyRootFilesystem: false,
    tmpfs: [],
    capAdd: [],
    dependsOn: [],
    files: [],
    secretFiles: [],
    waivers: [],
    ...spec,
  };
}

export const LOOPBACK_ADDRESS = "127.0.0.1";

/** Where a published port listens on the host. */
export function publishAddress(port: PortSpec): string | undefined {
  return port.publish ? (port.publish.address ?? LOOPBACK_ADDRESS) : undefined;
}

/** The reference Docker pulls: the image's own, or its copy in `registry` when the stack pulls through one. */
export function imageName(image: ImageRef, registry?: ImageRegistry): string {
  const reference = `${image.repository}:${image.tag}${image.digest ? `@${image.digest}` : ""}`;
  return registry ? mirroredReference(registry.host, reference) : reference;
}

/**
 * A secret template with its placeholders filled. In a URL (a template that
 * starts with a scheme, `postgresql://user:{{key}}@host/db`) each secret is
 * percent-encoded (V4): a password holding `/`, `+`, `@`, `:`, `#` or `%`
 * would otherwise end the user info early or change the host, and
 * `openssl rand -base64` makes such passwords often. Elsewhere (an htpasswd
 * line `user:{{hash}}`) the value goes in as it is, unless `encoding` names
 * the syntax of the file the template is (SecretEncoding).
 */
export function renderSecretTemplate(template: string, values: Readonly<Record<string, string>>, encoding?: SecretEncoding): string {
  const encode = SECRET_ENCODERS[encoding ?? (/^[a-z][a-z0-9+.-]*:\/\//i.test(template) ? "url" : "none")];
  return template.replace(/\{\{([a-zA-Z0-9:_-]+)\}\}/g, (placeholder, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`secret template: no value for ${placeholder}`);
    return encode(value, key);
  });
}

const SECRET_ENCODERS: Readonly<Record<SecretEncoding, (value: string, key: string) => string>> = {
  none: (value) => value,
  url: encodeURIComponent,
  json: (value) => JSON.stringify(value),
  // Redis splits a configuration line with sdssplitargs, which reads \\, \"
  // and \xHH inside double quotes; control and non-ASCII bytes go as \xHH.
  redis: (value) =>
    `"${[...Buffer.from(value, "utf8")].map((byte) => (byte === 0x5c ? "\\\\" : byte === 0x22 ? '\\"' : byte < 0x20 || byte >= 0x7f ? `\\x${byte.toString(16).padStart(2, "0")}` : String.fromCharCode(byte))).join("")}"`,
  // libpq's password file: `\` and `:` are escaped with a backslash; a line break cannot be written at all.
  pgpass: (value, key) => {
    if (/[\r\n]/.test(value)) throw new Error(`secret template: ${key} holds a line break, which a password file cannot carry`);
    return value.replace(/[\\:]/g, (character) => `\\${character}`);
  },
  // PgBouncer's auth_file: a field in double quotes, a double quote in it doubled.
  userlist: (value) => `"${value.replace(/"/g, '""')}"`,
};

/** Secret config keys a value refers to, in order of appearance. */
export function secretKeysOf(value: EnvValue | SecretContent): string[] {
  if (typeof value === "string") return [];
  if ("secret" in value) return [value.secret];
  return [...value.secretTemplate.matchAll(/\{\{([a-zA-Z0-9:_-]+)\}\}/g)].map((match) => match[1] as string);
}

/** Docker's json-file rotation for every container (C12). */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" } as const;

export function healthcheck(test: readonly string[], startPeriodSeconds = 30): HealthcheckSpec {
  return { test, intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds };
}

/**
 * The host port other servers reach a container port on, at the server's
 * private address. It is the port the service already publishes that
 * container port on, when it does: GALION's two APIs both listen on 8000
 * inside their containers, and only their distinct host ports (8001, 8003)
 * let both be published on the same private address. Otherwise the
 * container port itself.
 */
export function peerPort(spec: ServiceSpec, containerPort: number): number {
  return spec.ports.find((port) => port.container === containerPort && port.publish)?.publish!.host ?? containerPort;
}
