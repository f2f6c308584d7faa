import { isCIDR, isIPAddress } from "../network/ip-ranges";
import { basicAuthProblems, BASIC_AUTH_REALM, htpasswdPath } from "./basic-auth";
import { routeProblems } from "./caddyfile";
import { blockedPathPattern, blockedPathsOf, pathProblems, upstreamHost, type ProtectedRoute, type Route } from "./route";

/**
 * nginx as the ingress of seeds 001 and 004: TLS with Let's Encrypt
 * certificates, HTTP to HTTPS redirect, per-client rate limiting, gzip,
 * security headers and keepalive connections to the upstreams.
 */
export interface NginxOptions {
  /** Directory certbot keeps the certificate in: `<certificateDir>/<certificateName>/fullchain.pem`. */
  readonly certificateDir: string;
  readonly certificateName: string;
  /** Requests per minute per client address; seed 004 allows 100-200. */
  readonly rateLimitPerMinute: number;
  /** Requests allowed above the rate before nginx answers 429. */
  readonly burst: number;
  /**
   * Proxies whose client-address header is trusted: Cloudflare's ranges when
   * DNS is proxied, the private network behind a load balancer.
   */
  readonly realIpFrom: readonly string[];
  /** Header carrying the client address from those proxies, e.g. CF-Connecting-IP. */
  readonly realIpHeader?: string;
  /**
   * A load balancer in front, which speaks the PROXY protocol on every
   * connection (seed 004, phases 4-5). It filters nothing itself, so nginx
   * admits through it only clients inside `admits` (Cloudflare's ranges when
   * DNS is proxied: F3), and trusts the client address of the PROXY header
   * from the balancer's own address alone.
   */
  readonly loadBalancer?: BalancerInFront;
  readonly clientMaxBodyMb: number;
  /** Answered on port 80 for load-balancer health checks, before the HTTPS redirect. */
  readonly healthPath: string;
  /** stub_status for nginx-prometheus-exporter, on a port that is never published. */
  readonly statusPort: number;
  readonly statusPath: string;
  /**
   * Services nginx may start before, or see replaced under it (the monitoring
   * stack, which is registered apart from the ingress): their names are
   * resolved per request through Docker's DNS. An upstream block resolves
   * once, at start, and nginx refuses to start on a name that is not there yet.
   */
  readonly resolvePerRequest?: readonly string[];
  /**
   * The proxy cache (seed 004): the routes of each zone's services keep
   * responses on disk under `cacheDirectory`. Absent: nothing is cached.
   */
  readonly proxyCache?: readonly ProxyCacheZone[];
  /** Where the zones' directories are made; required with `proxyCache`. */
  readonly cacheDirectory?: string;
}

/**
 * A zone of nginx's proxy cache. A response is stored only when its upstream
 * allows it (Cache-Control max-age or s-maxage, or Expires), for as long as
 * it says, and never when it sets a cookie, says private, no-cache or
 * no-store, or answers a request that carries credentials (Authorization or
 * a cookie): those are always passed to the upstream. A response without any
 * such header is not stored at all, so an application that says nothing is
 * never served stale.
 */
export interface ProxyCacheZone {
  /** The zone's name, also its directory under the cache directory. */
  readonly name: string;
  /** Services whose routes keep their responses here. */
  readonly services: readonly string[];
  /** Disk the zone may fill; nginx's cache manager removes the least recently used beyond it. */
  readonly maxSizeMb: number;
  /** Shared memory for the keys, about 8,000 of them a megabyte; it counts against the container's memory limit. */
  readonly keysMb: number;
  /** An entry nobody asked for in this long is removed, however long its upstream allowed. */
  readonly inactiveMinutes: number;
}

export interface BalancerInFront {
  /** The balancer's private address: the only peer whose PROXY header names the client. */
  readonly address: string;
  /** Who may reach the targets through it. */
  readonly admits: readonly string[];
}

export const NGINX_HTTP_PORT = 80;
export const NGINX_HTTPS_PORT = 443;
export const NGINX_TEMP_DIR = "/tmp";
/** Docker's embedded DNS server, inside every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/**
 * Headers on every proxied response. HSTS is sent here as well as at
 * Cloudflare's edge (seed 004 lists HSTS, CSP and X-Frame), so a name that is
 * ever served unproxied is still covered. The CSP only forbids framing and
 * plugins: the applications set their own script policies.
 */
export const NGINX_SECURITY_HEADERS: readonly [string, string][] = [
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["Content-Security-Policy", "frame-ancestors 'self'; object-src 'none'; base-uri 'self'"],
  ["Permissions-Policy", "camera=(), microphone=(), geolocation=()"],
];

/** Content types worth compressing; nginx always compresses text/html. */
const GZIP_TYPES = ["text/plain", "text/css", "text/javascript", "application/javascript", "application/json", "application/xml", "image/svg+xml"];

export function upstreamName(route: Pick<Route, "service" | "port">): string {
  return `${route.service.replace(/[^a-z0-9]/g, "_")}_${route.port}`;
}

export function nginxConfProblems(routes: readonly ProtectedRoute[], options: NginxOptions): string[] {
  const problems = [...routeProblems(routes), ...basicAuthProblems(routes), ...routes.flatMap(pathProblems)];
  if (!Number.isInteger(options.rateLimitPerMinute) || options.rateLimitPerMinute < 1)
    problems.push(`rate limit ${options.rateLimitPerMinute}/min must be a positive integer`);
  if (!Number.isInteger(options.burst) || options.burst < 0) problems.push(`burst ${options.burst} must be a non-negative integer`);
  if (!options.healthPath.startsWith("/")) problems.push(`health path "${options.healthPath}" must start with /`);
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(options.certificateName)) problems.push(`certificate name "${options.certificateName}" is not a file name`);
  if ([NGINX_HTTP_PORT, NGINX_HTTPS_PORT].includes(options.statusPort)) problems.push(`status port ${options.statusPort} collides with 80/443`);
  const balancer = options.loadBalancer;
  if (balancer && !isIPAddress(balancer.address)) problems.push(`load balancer address "${balancer.address}" is not an IP address`);
  for (const cidr of balancer?.admits ?? []) if (!isCIDR(cidr)) problems.push(`"${cidr}", admitted through the load balancer, is not a CIDR`);
  if (options.realIpHeader !== undefined && !/^[A-Za-z0-9-]+$/.test(options.realIpHeader)) problems.push(`"${options.realIpHeader}" is not a header name`);
  if (options.realIpHeader !== undefined && options.realIpFrom.length === 0)
    problems.push(`${options.realIpHeader} would be trusted from nobody; list the proxies in realIpFrom`);
  problems.push(...proxyCacheProblems(routes, options));
  return problems;
}

/** What would make the proxy cache store what it must not, or fail to start. */
export function proxyCacheProblems(routes: readonly ProtectedRoute[], options: Pick<NginxOptions, "proxyCache" | "cacheDirectory">): string[] {
  const zones = options.proxyCache ?? [];
  const problems: string[] = [];
  if (zones.length > 0 && !options.cacheDirectory?.startsWith("/")) problems.push("a proxy cache needs an absolute cache directory");
  const owner = new Map<string, string>();
  for (const zone of zones) {
    if (!/^[a-z][a-z0-9_]*$/.test(zone.name)) problems.push(`cache zone "${zone.name}" is not a name nginx takes (lower-case letters, digits, _)`);
    if (zones.filter((other) => other.name === zone.name).length > 1) problems.push(`cache zone "${zone.name}" is declared twice`);
    for (const [field, value] of [
      ["maxSizeMb", zone.maxSizeMb],
      ["keysMb", zone.keysMb],
      ["inactiveMinutes", zone.inactiveMinutes],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) problems.push(`cache zone ${zone.name}: ${field} ${value} must be a positive integer`);
    }
    for (const service of zone.services) {
      if (owner.has(service)) problems.push(`${service} is cached in zones ${owner.get(service)} and ${zone.name}; one zone a service`);
      owner.set(service, zone.name);
      const served = routes.filter((route) => route.service === service);
      if (served.length === 0) problems.push(`cache zone ${zone.name} caches ${service}, which no route serves`);
      // A password-protected route serves each user their own view: nothing of it is shared.
      for (const route of served.filter((candidate) => candidate.basicAuth))
        problems.push(`route ${route.hostname} asks for a password, and a route behind a password is never cached (cache zone ${zone.name})`);
    }
  }
  return problems;
}

/** `10080` → `7d`, `60` → `60m`: nginx's time units. */
function nginxMinutes(minutes: number): string {
  return minutes % 1440 === 0 ? `${minutes / 1440}d` : `${minutes}m`;
}

/** The whole nginx.conf, for a container that runs nginx as its only process. */
export function nginxConf(routes: readonly ProtectedRoute[], options: NginxOptions): string {
  const problems = nginxConfProblems(routes, options);
  if (problems.length > 0) throw new Error(`nginx routes: ${problems.join("; ")}`);
  const sorted = [...routes].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const certificate = `${options.certificateDir}/${options.certificateName}`;
  const late = new Set(options.resolvePerRequest ?? []);
  const resolvedLate = (route: Route) => late.has(route.service);
  const upstreams = [...new Map(sorted.filter((route) => !resolvedLate(route)).map((route) => [upstreamName(route), route])).values()].map((route) =>
    block(`upstream ${upstreamName(route)}`, [`server ${upstreamHost(route)}:${route.port};`, "keepalive 16;"]),
  );
  const balancer = options.loadBalancer;
  const realIp = balancer ? clientFromBalancer(balancer, options) : clientFromHeader(options);
  // Every listener on 80/443 of a target behind the balancer takes the PROXY header first.
  const proxied = balancer ? " proxy_protocol" : "";
  const admittedOnly = balancer ? block("if ($admitted = 0)", ["return 403;"]) : [];
  const clientKey = balancer ? "$client_address" : "$binary_remote_addr";
  const healthLocation = block(`location = ${options.healthPath}`, ["access_log off;", "default_type text/plain;", 'return 200 "ok\\n";']);
  const headers = NGINX_SECURITY_HEADERS.map(([name, value]) => `add_header ${name} "${value}" always;`);

  const zoneOf = (route: ProtectedRoute) => (options.proxyCache ?? []).find((zone) => zone.services.includes(route.service));
  // Credentials in the request mean a user's own answer: passed to the
  // upstream, never stored. nginx already refuses to store a response that
  // sets a cookie; the explicit $upstream_http_set_cookie keeps it so
  // should anyone add proxy_ignore_headers later.
  const cacheLines = (zone: ProxyCacheZone) => [
    `proxy_cache ${zone.name};`,
    "proxy_cache_key $scheme$host$request_uri;",
    "proxy_cache_bypass $http_authorization $http_cookie;",
    "proxy_no_cache $http_authorization $http_cookie $upstream_http_set_cookie;",
    // One request fills a missing entry while the others wait for it, and an expired one is revalidated with its ETag.
    "proxy_cache_lock on;",
    "proxy_cache_revalidate on;",
  ];
  const proxyLines = (route: ProtectedRoute, { keepAuthorization }: { keepAuthorization: boolean }) => [
    `limit_req zone=per_client burst=${options.burst} nodelay;`,
    ...(resolvedLate(route)
      ? [`set $late_upstream http://${upstreamHost(route)}:${route.port};`, "proxy_pass $late_upstream;"]
      : [`proxy_pass http://${upstreamName(route)};`]),
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    `proxy_set_header X-Real-IP ${balancer ? "$client_address" : "$remote_addr"};`,
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto https;",
    // WebSocket upgrades (seed 004's Socket.IO realtime service).
    "proxy_set_header Upgrade $http_upgrade;",
    "proxy_set_header Connection $connection_upgrade;",
    // An admin UI with a login of its own (Grafana) would take nginx's credentials for its own.
    ...(keepAuthorization ? [] : ['proxy_set_header Authorization "";']),
    "proxy_read_timeout 120s;",
  ];
  // Public paths belong to routes behind a password, which are never cached (proxyCacheProblems): only `location /` is.
  const rootLines = (route: ProtectedRoute) => {
    const zone = zoneOf(route);
    return [...proxyLines(route, { keepAuthorization: !route.basicAuth }), ...(zone ? cacheLines(zone) : [])];
  };

  const http = [
    "include /etc/nginx/mime.types;",
    "default_type application/octet-stream;",
    "server_tokens off;",
    ...(balancer ? [CLIENT_LOG_FORMAT] : []),
    `access_log /dev/stdout ${balancer ? "client" : "combined"};`,
    "sendfile on;",
    "tcp_nopush on;",
    "keepalive_timeout 65s;",
    `client_max_body_size ${options.clientMaxBodyMb}m;`,
    // Every buffer nginx spills goes to the tmpfs at /tmp, the only place it may write.
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `${kind}_temp_path ${NGINX_TEMP_DIR}/${kind};`),
    "",
    "gzip on;",
    "gzip_comp_level 5;",
    "gzip_min_length 1024;",
    "gzip_proxied any;",
    "gzip_vary on;",
    `gzip_types ${GZIP_TYPES.join(" ")};`,
    "",
    ...realIp,
    ...(sorted.some(resolvedLate) ? [`resolver ${DOCKER_DNS} valid=10s ipv6=off;`, "resolver_timeout 5s;", ""] : []),
    // Keyed on the client's address once the trusted proxies are peeled off.
    `limit_req_zone ${clientKey} zone=per_client:10m rate=${options.rateLimitPerMinute}r/m;`,
    "limit_req_status 429;",
    `limit_conn_zone ${clientKey} zone=connections:10m;`,
    "",
    "ssl_protocols TLSv1.2 TLSv1.3;",
    "ssl_prefer_server_ciphers off;",
    "ssl_session_cache shared:TLS:10m;",
    "ssl_session_timeout 1d;",
    "ssl_session_tickets off;",
    "",
    ...block("map $http_upgrade $connection_upgrade", ["default upgrade;", "'' close;"]),
    "",
    // Cache files are written in the zone's own directory, on the cache volume, never through /tmp.
    ...(options.proxyCache ?? []).map(
      (zone) =>
        `proxy_cache_path ${options.cacheDirectory}/${zone.name} levels=1:2 keys_zone=${zone.name}:${zone.keysMb}m max_size=${zone.maxSizeMb}m inactive=${nginxMinutes(zone.inactiveMinutes)} use_temp_path=off;`,
    ),
    ...((options.proxyCache ?? []).length > 0 ? [""] : []),
    ...upstreams.flatMap((lines) => [...lines, ""]),
    ...block("server", [
      `listen ${NGINX_HTTP_PORT} default_server${proxied};`,
      `listen [::]:${NGINX_HTTP_PORT} default_server${proxied};`,
      "server_name _;",
      // The balancer's health check asks here, from the balancer itself.
      ...healthLocation,
      ...block("location /", [...admittedOnly, "return 301 https://$host$request_uri;"]),
    ]),
    "",
    // Names nobody configured get no certificate at all, instead of another site's.
    ...block("server", [
      `listen ${NGINX_HTTPS_PORT} ssl default_server${proxied};`,
      `listen [::]:${NGINX_HTTPS_PORT} ssl default_server${proxied};`,
      "ssl_reject_handshake on;",
    ]),
    "",
    ...sorted.flatMap((route) => [
      ...block("server", [
        // `listen ... http2` is what both Debian's nginx 1.22 (the test
        // validator) and the 1.27 image accept; 1.25+ only warns about it.
        `listen ${NGINX_HTTPS_PORT} ssl http2${proxied};`,
        `listen [::]:${NGINX_HTTPS_PORT} ssl http2${proxied};`,
        `server_name ${route.hostname};`,
        // F3 behind the balancer: only the clients it may pass on (server rewrite phase, before limit_req).
        ...admittedOnly,
        `ssl_certificate ${certificate}/fullchain.pem;`,
        `ssl_certificate_key ${certificate}/privkey.pem;`,
        ...headers,
        ...(route.headers ?? []).map(([name, value]) => `add_header ${name} "${value}" always;`),
        "limit_conn connections 50;",
        // For the whole server, so no location added later slips past it;
        // limit_req runs in an earlier phase, so guessing is rate-limited too.
        ...(route.basicAuth ? [`auth_basic "${BASIC_AUTH_REALM}";`, `auth_basic_user_file ${htpasswdPath(route.basicAuth)};`] : []),
        // Regular expressions win over every prefix location but `=` and
        // `^~` (none here), and match the URI nginx has decoded and cleaned:
        // blocked paths are answered here, before the password (E2).
        ...blockedPathsOf(route).flatMap((path) => block(`location ~* "${blockedPathPattern(path)}"`, ["return 404;"])),
        ...(route.publicPaths ?? []).flatMap((path) => block(`location ${path}`, ["auth_basic off;", ...proxyLines(route, { keepAuthorization: true })])),
        ...block("location /", rootLines(route)),
      ]),
      "",
    ]),
    ...block("server", [
      `listen ${options.statusPort};`,
      // The container's own healthcheck: 80 may expect a PROXY header first.
      ...healthLocation,
      ...block(`location = ${options.statusPath}`, [
        "stub_status;",
        "access_log off;",
        ...["127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((cidr) => `allow ${cidr};`),
        "deny all;",
      ]),
    ]),
  ];

  const top = [
    "worker_processes auto;",
    `pid ${NGINX_TEMP_DIR}/nginx.pid;`,
    "error_log stderr warn;",
    "",
    ...block("events", ["worker_connections 1024;"]),
    "",
    ...block("http", http),
  ];
  return `${top.join("\n")}\n`;
}

/** Proxies that name the client in a header (Cloudflare's CF-Connecting-IP), trusted by their own address. */
function clientFromHeader(options: NginxOptions): string[] {
  if (!options.realIpHeader) return [];
  return [...options.realIpFrom.map((cidr) => `set_real_ip_from ${cidr};`), `real_ip_header ${options.realIpHeader};`, "real_ip_recursive on;"];
}

/** The access log behind the balancer: the client the rate limit keys on, then the address nginx saw it as. */
const CLIENT_LOG_FORMAT = `log_format client '$client_address via $remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';`;

/**
 * The client behind a load balancer. realip takes the address of the PROXY
 * header, and only from the balancer; a connection from anywhere else keeps
 * its own address, whatever header it sends. That address is a Cloudflare
 * edge when DNS is proxied, so the client is then the edge's header, which
 * Cloudflare sets itself; realip cannot peel a second hop of another kind,
 * hence the geo and maps. $client_address keys the rate limit and the log,
 * $admitted says whether the balancer may pass this client on at all (F3).
 */
function clientFromBalancer(balancer: BalancerInFront, options: NginxOptions): string[] {
  const header = options.realIpHeader ? `$http_${options.realIpHeader.toLowerCase().replace(/-/g, "_")}` : undefined;
  return [
    `set_real_ip_from ${balancer.address};`,
    "real_ip_header proxy_protocol;",
    ...block("geo $remote_addr $via_trusted_proxy", ["default 0;", ...options.realIpFrom.map((cidr) => `${cidr} 1;`)]),
    // An edge that sent no header is keyed on its own address, never on "".
    ...(header ? block(`map ${header} $named_client`, ['"" $remote_addr;', `default ${header};`]) : []),
    ...block("map $via_trusted_proxy $client_address", [`1 ${header ? "$named_client" : "$remote_addr"};`, "default $remote_addr;"]),
    ...block("geo $remote_addr $admitted", ["default 0;", ...balancer.admits.map((cidr) => `${cidr} 1;`)]),
  ];
}

function block(head: string, body: readonly string[]): string[] {
  return [`${head} {`, ...body.map((line) => (line === "" ? "" : `  ${line}`)), "}"];
}
