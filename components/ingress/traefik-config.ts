import { LIVE_CONFIG_DIR } from "../container/live-config";
import { stringify } from "yaml";
import { basicAuthProblems, BASIC_AUTH_REALM, credentialName, htpasswdPath } from "./basic-auth";
import { routeProblems } from "./caddyfile";
import { blockedPathPattern, blockedPathsOf, pathProblems, upstreamHost, type ProtectedRoute, type Route, type RouteCredential } from "./route";

/**
 * Traefik as the ingress of seeds 000 and 003: entry points `web` and
 * `websecure`, Let's Encrypt through a resolver named `letsencrypt` (seed
 * 003's labels), and the routes as a file-provider dynamic configuration, so
 * Traefik needs no Docker socket (C3) to learn them.
 */
export interface TraefikOptions {
  /** Requests per minute per client, averaged; Traefik answers 429 above it. */
  readonly rateLimitPerMinute: number;
  readonly burst: number;
  /** Header carrying the client address when DNS is proxied, e.g. CF-Connecting-IP. */
  readonly clientIpHeader?: string;
  /** Proxies whose X-Forwarded-* headers Traefik trusts (Cloudflare's ranges when proxied). */
  readonly trustedIPs: readonly string[];
  /** ACME directory; Let's Encrypt's production one unless a test points it elsewhere. */
  readonly caServer?: string;
  readonly acmeEmail?: string;
}

/** The routes are a live file, which Traefik's file provider watches: a change needs no restart (live-config.ts). */
export const TRAEFIK_DYNAMIC_PATH = `${LIVE_CONFIG_DIR}/dynamic.yml`;
export const TRAEFIK_STATIC_PATH = "/etc/traefik/traefik.yml";
export const TRAEFIK_ACME_STORAGE = "/data/acme.json";
export const TRAEFIK_PING_PORT = 8081;
export const TRAEFIK_METRICS_PORT = 8082;
export const CERT_RESOLVER = "letsencrypt";
export const MIDDLEWARES = ["security-headers", "rate-limit", "compress"] as const;
/**
 * Traefik's own service that answers every request itself (418), for the
 * routers of blocked paths, and their priority, above any router of the same
 * name (by default a router's priority is its rule's length).
 */
export const BLOCKING_SERVICE = "noop@internal";
export const BLOCKED_PRIORITY = 100_000;

/** Router and service names are keys; Traefik refuses `@` and `.` in them. */
export function routerName(route: Pick<Route, "hostname">): string {
  return route.hostname.replace(/[^a-z0-9-]/g, "-");
}

export function traefikServiceName(route: Pick<Route, "service" | "port">): string {
  return `${route.service}-${route.port}`;
}

/** The basicAuth middleware of one credential; routes sharing the credential share it. */
export function basicAuthMiddlewareName(credential: Pick<RouteCredential, "passwordHashSecret">): string {
  return `basic-auth-${credentialName(credential)}`;
}

/**
 * A route's middlewares, in the order Traefik applies them: headers first,
 * so a 401 carries them too; the rate limit before the password check, so
 * guessing is limited as well.
 */
export function routerMiddlewares(route: ProtectedRoute): string[] {
  const [headers, rateLimit, compress] = MIDDLEWARES;
  // The stack's own headers come right after the security headers.
  const own = route.headers?.length ? [ownHeadersName(route)] : [];
  return route.basicAuth ? [headers, ...own, rateLimit, basicAuthMiddlewareName(route.basicAuth), compress] : [headers, ...own, rateLimit, compress];
}

export function traefikOptionsProblems(routes: readonly ProtectedRoute[], options: TraefikOptions): string[] {
  const problems = [...routeProblems(routes), ...basicAuthProblems(routes), ...routes.flatMap(pathProblems)];
  if (!Number.isInteger(options.rateLimitPerMinute) || options.rateLimitPerMinute < 1)
    problems.push(`rate limit ${options.rateLimitPerMinute}/min must be a positive integer`);
  if (!Number.isInteger(options.burst) || options.burst < 1) problems.push(`burst ${options.burst} must be a positive integer`);
  return problems;
}

/** Lower-case names of the response headers the security-headers middleware sets (ingress-headers.ts). */
export const TRAEFIK_SECURITY_HEADER_NAMES = [
  "strict-transport-security",
  "x-content-type-options",
  "x-frame-options",
  "referrer-policy",
  "permissions-policy",
] as const;

/** Traefik's install (static) configuration. */
export function traefikStaticConfig(
  options: TraefikOptions,
  ports: { readonly http: number; readonly https: number } = { http: 80, https: 443 },
): Record<string, unknown> {
  const forwardedHeaders = options.trustedIPs.length > 0 ? { forwardedHeaders: { trustedIPs: [...options.trustedIPs] } } : {};
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    log: { level: "INFO" },
    accessLog: {},
    entryPoints: {
      web: {
        address: `:${ports.http}`,
        ...forwardedHeaders,
        // Traefik answers ACME HTTP-01 challenges on `web` before this redirect applies.
        http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } },
      },
      websecure: { address: `:${ports.https}`, ...forwardedHeaders, http: { tls: { certResolver: CERT_RESOLVER } } },
      ping: { address: `:${TRAEFIK_PING_PORT}` },
      metrics: { address: `:${TRAEFIK_METRICS_PORT}` },
    },
    ping: { entryPoint: "ping" },
    metrics: { prometheus: { entryPoint: "metrics" } },
    providers: { file: { filename: TRAEFIK_DYNAMIC_PATH, watch: true } },
    certificatesResolvers: {
      [CERT_RESOLVER]: {
        acme: {
          storage: TRAEFIK_ACME_STORAGE,
          httpChallenge: { entryPoint: "web" },
          ...(options.acmeEmail ? { email: options.acmeEmail } : {}),
          ...(options.caServer ? { caServer: options.caServer } : {}),
        },
      },
    },
  };
}

/** The middleware with a route's own response headers (infra:ingress.headers). */
function ownHeadersName(route: Route): string {
  return `${routerName(route)}-headers`;
}

/** The routes as Traefik's dynamic configuration: one router and one service per route. */
export function traefikDynamicConfig(routes: readonly ProtectedRoute[], options: TraefikOptions): Record<string, unknown> {
  const problems = traefikOptionsProblems(routes, options);
  if (problems.length > 0) throw new Error(`traefik routes: ${problems.join("; ")}`);
  const sorted = [...routes].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const routers = Object.fromEntries(sorted.flatMap((route) => Object.entries(routersOf(route))));
  const services = Object.fromEntries(
    sorted.map((route) => [
      traefikServiceName(route),
      { loadBalancer: { servers: [{ url: `http://${upstreamHost(route)}:${route.port}` }], passHostHeader: true } },
    ]),
  );
  const credentials = new Map(sorted.flatMap((route) => (route.basicAuth ? [[route.basicAuth.passwordHashSecret, route.basicAuth] as const] : [])));
  const basicAuth = Object.fromEntries(
    [...credentials.values()].map((credential) => [
      basicAuthMiddlewareName(credential),
      // The file, never `users`: the hash stays out of this uploaded file.
      // removeHeader: an admin UI with a login of its own (Grafana) would take Traefik's credentials for its own.
      { basicAuth: { usersFile: htpasswdPath(credential), realm: BASIC_AUTH_REALM, removeHeader: true } },
    ]),
  );
  return {
    http: {
      routers,
      services,
      middlewares: {
        // HSTS also comes from Cloudflare's edge; sent here too so an unproxied name is covered.
        "security-headers": {
          headers: {
            stsSeconds: 31536000,
            stsIncludeSubdomains: true,
            contentTypeNosniff: true,
            customFrameOptionsValue: "SAMEORIGIN",
            referrerPolicy: "strict-origin-when-cross-origin",
            permissionsPolicy: "camera=(), microphone=(), geolocation=()",
          },
        },
        // Seed 000's audit: "implement rate limiting at proxy level".
        "rate-limit": {
          rateLimit: {
            average: options.rateLimitPerMinute,
            period: "1m",
            burst: options.burst,
            ...(options.clientIpHeader ? { sourceCriterion: { requestHeaderName: options.clientIpHeader } } : {}),
          },
        },
        compress: { compress: {} },
        ...basicAuth,
        ...Object.fromEntries(
          sorted
            .filter((route) => route.headers?.length)
            .map((route) => [ownHeadersName(route), { headers: { customResponseHeaders: Object.fromEntries(route.headers!) } }]),
        ),
      },
    },
  };
}

/**
 * A route's routers: the name itself; each public path, without the
 * password, its longer rule outranking the name's; and each blocked path,
 * outranking both. Traefik matches the path decoded and cleaned but leaves
 * `%2F` encoded, which the blocked pattern covers; `(?i)` makes it
 * case-insensitive (E2).
 */
export function routersOf(route: ProtectedRoute): Record<string, Record<string, unknown>> {
  const host = `Host(\`${route.hostname}\`)`;
  // A fresh object per router, so the YAML holds no anchors.
  const tls = () => ({ certResolver: CERT_RESOLVER });
  const name = routerName(route);
  const [headers, rateLimit, compress] = MIDDLEWARES;
  return {
    [name]: { rule: host, entryPoints: ["websecure"], service: traefikServiceName(route), middlewares: routerMiddlewares(route), tls: tls() },
    ...Object.fromEntries(
      (route.publicPaths ?? []).map((path, index) => [
        `${name}-public-${index}`,
        {
          rule: `${host} && PathPrefix(\`${path}\`)`,
          entryPoints: ["websecure"],
          service: traefikServiceName(route),
          middlewares: [headers, ...(route.headers?.length ? [ownHeadersName(route)] : []), rateLimit, compress],
          tls: tls(),
        },
      ]),
    ),
    ...Object.fromEntries(
      blockedPathsOf(route).map((path, index) => [
        `${name}-blocked-${index}`,
        {
          rule: `${host} && PathRegexp(\`(?i)${blockedPathPattern(path)}\`)`,
          entryPoints: ["websecure"],
          service: BLOCKING_SERVICE,
          priority: BLOCKED_PRIORITY,
          middlewares: [headers, rateLimit, compress],
          tls: tls(),
        },
      ]),
    ),
  };
}

export function traefikYAML(document: Record<string, unknown>): string {
  return stringify(document, { lineWidth: 0 });
}
