import type { Route } from "./route";

export interface CaddyfileOptions {
  /** Contact for the ACME account (expiry warnings); optional for Let's Encrypt. */
  readonly acmeEmail?: string;
}

/**
 * Headers on every response. HSTS is sent here as well as at Cloudflare's
 * edge, so a name that is ever served unproxied is still covered.
 */
const SECURITY_HEADERS: readonly [string, string][] = [
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
export function caddyfile(routes: readonly Route[], options: CaddyfileOptions = {}): string {
  const problems = routeProblems(routes);
  if (problems.length > 0) throw new Error(`ingress routes: ${problems.join("; ")}`);
  const global = ["{", "\tadmin localhost:2019", ...(options.acmeEmail ? [`\temail ${options.acmeEmail}`] : []), "}"];
  const headers = ["(security_headers) {", "\theader {", ...SECURITY_HEADERS.map(([name, value]) => `\t\t${name} "${value}"`), "\t\t-Server", "\t}", "}"];
  const sites = [...routes]
    .sort((a, b) => a.hostname.localeCompare(b.hostname))
    .map((route) => [`${route.hostname} {`, "\timport security_headers", "\tencode zstd gzip", `\treverse_proxy ${route.service}:${route.port}`, "}"].join("\n"));
  return `${[global.join("\n"), headers.join("\n"), ...sites].join("\n\n")}\n`;
}

export function routeProblems(routes: readonly Route[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.hostname)) problems.push(`${route.hostname} is routed twice`);
    seen.add(route.hostname);
    if (!/^[a-z0-9.-]+$/.test(route.hostname)) problems.push(`"${route.hostname}" is not a host name`);
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(route.service)) problems.push(`"${route.service}" is not a service name`);
    if (!Number.isInteger(route.port) || route.port < 1 || route.port > 65535) problems.push(`${route.hostname}: port ${route.port} is out of range`);
  }
  return problems;
}
