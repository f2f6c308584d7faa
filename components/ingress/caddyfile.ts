import { upstreamHost, type Route } from "./route";

export interface CaddyfileOptions {
  /** Contact for the ACME account (expiry warnings); optional for Let's Encrypt. */
  readonly acmeEmail?: string;
  /** Port of a plain-HTTP listener serving Prometheus metrics, with request metrics per status code. */
  readonly metricsPort?: number;
}

/** A route that asks for a password before anything reaches the service (admin UIs). */
export interface CaddyRoute extends Route {
  readonly basicAuth?: { readonly user: string };
}

/**
 * The environment variable holding the bcrypt hash of the admin password.
 * Caddy substitutes `{$VAR}` when it reads the Caddyfile, so the hash is in
 * no file: it is computed in the container at start from the password
 * secret, or comes as is from a secret holding the hash (caddy-spec.ts).
 */
export const BASIC_AUTH_HASH_VARIABLE = "INFRA_ADMIN_PASSWORD_HASH";

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
  for (const route of routes) if (route.basicAuth && !/^[A-Za-z0-9_.-]+$/.test(route.basicAuth.user)) problems.push(`${route.hostname}: "${route.basicAuth.user}" is not a user name`);
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

function site(route: CaddyRoute): string {
  const own = (route.headers ?? []).map(([name, value]) => `\theader ${name} "${value}"`);
  if (!route.basicAuth) return [`${route.hostname} {`, "\timport security_headers", ...own, "\tencode zstd gzip", `\treverse_proxy ${upstreamHost(route)}:${route.port}`, "}"].join("\n");
  return [
    `${route.hostname} {`,
    "\timport security_headers",
    ...own,
    "\tencode zstd gzip",
    // `basicauth` rather than `basic_auth`: the 2.8 image takes both, the
    // Caddy the tests validate with (Debian's 2.6) only the former.
    "\tbasicauth {",
    `\t\t${route.basicAuth.user} {$${BASIC_AUTH_HASH_VARIABLE}}`,
    "\t}",
    // The admin UI has its own login, which would read Caddy's credentials as its own.
    `\treverse_proxy ${upstreamHost(route)}:${route.port} {`,
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
    if (route.upstream !== undefined && !/^[a-z0-9][a-z0-9_.-]*$/.test(route.upstream)) problems.push(`${route.hostname}: "${route.upstream}" is not an upstream host`);
    if (!Number.isInteger(route.port) || route.port < 1 || route.port > 65535) problems.push(`${route.hostname}: port ${route.port} is out of range`);
  }
  return problems;
}
