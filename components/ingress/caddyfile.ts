import { blockedPathPattern, blockedPathsOf, pathProblems, upstreamHost, type Route } from "./route";

export interface CaddyfileOptions {
  /** Contact for the ACME account (expiry warnings); optional for Let's Encrypt. */
  readonly acmeEmail?: string;
  /** Port of a plain-HTTP listener serving Prometheus metrics, with request metrics per status code. */
  readonly metricsPort?: number;
}

/** A route that asks for a password before anything reaches the service (admin UIs). */
export interface CaddyRoute extends Route {
  /**
   * The user, and the secret holding the bcrypt hash of its password when
   * the route has a credential of its own (n8n's); without one, the
   * stack's admin password (BASIC_AUTH_HASH_VARIABLE).
   */
  readonly basicAuth?: { readonly user: string; readonly passwordHashSecret?: string };
  /** With basic auth: path prefixes, each ending in `/`, served without the password (ProtectedRoute). */
  readonly publicPaths?: readonly string[];
}

/**
 * The environment variable holding the bcrypt hash of the admin password.
 * Caddy substitutes `{$VAR}` when it reads the Caddyfile, so the hash is in
 * no file: it is computed in the container at start from the password
 * secret, or comes as is from a secret holding the hash (caddy-spec.ts).
 */
export const BASIC_AUTH_HASH_VARIABLE = "INFRA_ADMIN_PASSWORD_HASH";

/** The variable holding the bcrypt hash of a route's own credential: `infra:n8nPasswordHash` is INFRA_BCRYPT_N8N_PASSWORD_HASH. */
export function hashVariableOf(secret: string): string {
  const name = secret
    .slice(secret.indexOf(":") + 1)
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]/g, "_")
    .toUpperCase();
  return `INFRA_BCRYPT_${name}`;
}

/**
 * Headers on every response. HSTS is sent here as well as at Cloudflare's
 * edge, so a name that is ever served unproxied is still covered.
 */
export const CADDY_SECURITY_HEADERS: readonly [string, string][] = [
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["Permissions-Policy", "camera=(), microphone=(), geolocation=()"],
];

/**
 * The Caddyfile for a set of routes. Caddy obtains and renews certificates
 * itself (automatic HTTPS) and redirects HTTP to HTTPS; its admin API stays on
 * localhost inside the container, where the healthcheck reads it.
 */
export function caddyfile(routes: readonly CaddyRoute[], options: CaddyfileOptions = {}): string {
  const problems = routeProblems(routes);
  for (const route of routes) {
    if (route.basicAuth && !/^[A-Za-z0-9_.-]+$/.test(route.basicAuth.user)) problems.push(`${route.hostname}: "${route.basicAuth.user}" is not a user name`);
    if (route.basicAuth?.passwordHashSecret !== undefined && !/^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/.test(route.basicAuth.passwordHashSecret))
      problems.push(`${route.hostname}: "${route.basicAuth.passwordHashSecret}" is not a secret config key`);
    problems.push(...pathProblems(route));
  }
  if (problems.length > 0) throw new Error(`ingress routes: ${problems.join("; ")}`);
  const global = [
    "{",
    "\tadmin localhost:2019",
    ...(options.acmeEmail ? [`\temail ${options.acmeEmail}`] : []),
    ...(options.metricsPort ? ["\tservers {", "\t\tmetrics", "\t}"] : []),
    "}",
  ];
  const headers = ["(security_headers) {", "\theader {", ...CADDY_SECURITY_HEADERS.map(([name, value]) => `\t\t${name} "${value}"`), "\t\t-Server", "\t}", "}"];
  const metrics = options.metricsPort ? [`http://:${options.metricsPort} {\n\tmetrics /metrics\n}`] : [];
  const sites = [...routes].sort((a, b) => a.hostname.localeCompare(b.hostname)).map(site);
  return `${[global.join("\n"), headers.join("\n"), ...metrics, ...sites].join("\n\n")}\n`;
}

/**
 * One site. Caddy runs a site's directives in its own fixed order, whatever
 * their order here: basicauth, then request_header, then respond, then
 * reverse_proxy. So a blocked path is answered before the proxy (after the
 * password where there is one), and public paths are the ones the
 * `@protected` matcher leaves out. Its path matchers see the path decoded,
 * cleaned and lower-cased, so no spelling slips past them.
 */
function site(route: CaddyRoute): string {
  const own = (route.headers ?? []).map(([name, value]) => `\theader ${name} "${value}"`);
  const lines = [`${route.hostname} {`, "\timport security_headers", ...own, "\tencode zstd gzip"];
  // path_regexp, not path: a path matcher would let /metrics;x through.
  lines.push(
    ...blockedPathsOf(route).flatMap((path, index) => [`\t@blocked${index} path_regexp (?i)${blockedPathPattern(path)}`, `\trespond @blocked${index} 404`]),
  );
  const upstream = `${upstreamHost(route)}:${route.port}`;
  if (!route.basicAuth) return [...lines, `\treverse_proxy ${upstream}`, "}"].join("\n");
  const hash = route.basicAuth.passwordHashSecret ? hashVariableOf(route.basicAuth.passwordHashSecret) : BASIC_AUTH_HASH_VARIABLE;
  const credential = [`\t\t${route.basicAuth.user} {$${hash}}`, "\t}"];
  const publicPaths = route.publicPaths ?? [];
  if (publicPaths.length > 0) {
    return [
      ...lines,
      `\t@protected not path ${publicPaths.map((path) => `${path}*`).join(" ")}`,
      "\tbasicauth @protected {",
      ...credential,
      // n8n's own login would read Caddy's credentials as its own; a public webhook keeps its caller's.
      "\trequest_header @protected -Authorization",
      `\treverse_proxy ${upstream}`,
      "}",
    ].join("\n");
  }
  return [
    ...lines,
    // `basicauth` rather than `basic_auth`: the 2.8 image takes both, the
    // Caddy the tests validate with (Debian's 2.6) only the former.
    "\tbasicauth {",
    ...credential,
    // The admin UI has its own login, which would read Caddy's credentials as its own.
    `\treverse_proxy ${upstream} {`,
    "\t\theader_up -Authorization",
    "\t}",
    "}",
  ].join("\n");
}

export function routeProblems(routes: readonly Route[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.hostname)) problems.push(`${route.hostname} is routed twice`);
    seen.add(route.hostname);
    if (!/^[a-z0-9.-]+$/.test(route.hostname)) problems.push(`"${route.hostname}" is not a host name`);
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(route.service)) problems.push(`"${route.service}" is not a service name`);
    if (route.upstream !== undefined && !/^[a-z0-9][a-z0-9_.-]*$/.test(route.upstream))
      problems.push(`${route.hostname}: "${route.upstream}" is not an upstream host`);
    if (!Number.isInteger(route.port) || route.port < 1 || route.port > 65535) problems.push(`${route.hostname}: port ${route.port} is out of range`);
  }
  return problems;
}
