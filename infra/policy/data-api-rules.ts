import { parse } from "yaml";
import { secretFileTarget } from "../../components/container/secret-files";
import type { ConfigFile, EnvValue, SecretFileSpec, ServiceSpec } from "../../components/container/service-spec";
import { ingressAccess, probePaths, type IngressProxy } from "../../components/ingress/route-access";
import { isImage } from "./exposure-rules";
import type { Finding } from "./report";
import type { RoutedName } from "./route-rules";

/**
 * E3 and E4: a data API (PostgREST) turns HTTP requests into queries. E3: a
 * public route reaches it only through a key check, at a gateway in front of
 * it or in the API itself. E4: no database role it can act as (the one it
 * connects as, the anonymous one, and every role those are granted) is a
 * superuser. Judged on what the containers are given: PostgREST's
 * environment, the gateway's declarative configuration, the database's init
 * scripts; a declared `dataApi` is judged as well, never instead.
 */

/** A service as these rules read it: a ServiceSpec, or a registered container's values (plain strings once resolved). */
export interface DataService {
  readonly name: string;
  readonly image: { readonly repository: string };
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly files: readonly Pick<ConfigFile, "path" | "content">[];
  /** Its secret files (C15): a setting that names one (`@/run/secrets/db-uri`) is read from its content, placeholders marked. */
  readonly secretFiles?: readonly Pick<SecretFileSpec, "name" | "target" | "content">[];
  readonly dataApi?: ServiceSpec["dataApi"];
}

/** Images that are data APIs: PostgREST, as Supabase ships it too. */
export const DATA_API_IMAGES: readonly string[] = ["postgrest/postgrest", "supabase/postgrest"];

/** Gateways whose declarative configuration says which upstream asks for a key. */
export const GATEWAY_IMAGES: readonly string[] = ["kong", "kong/kong-gateway"];

/** Kong plugins that refuse a request without a credential. */
const KONG_AUTH_PLUGINS = ["key-auth", "key-auth-enc", "jwt", "basic-auth", "hmac-auth", "oauth2", "ldap-auth", "openid-connect", "mtls-auth"];

/** Roles that are superusers on the PostgreSQL images whatever their init scripts say: the default bootstrap user, and Supabase's. */
export const BUILTIN_SUPERUSERS: readonly string[] = ["postgres", "supabase_admin"];

/** A database role, as PostgreSQL folds an unquoted name. */
const roleName = (name: string) => (/^".*"$/.test(name) ? name.slice(1, -1) : name.toLowerCase());

export function isDataApi(service: Pick<DataService, "image" | "dataApi">): boolean {
  return service.dataApi !== undefined || DATA_API_IMAGES.some((name) => isImage(service.image.repository, name));
}

export function isPostgreSQL(service: Pick<DataService, "image" | "env">): boolean {
  return "POSTGRES_PASSWORD" in service.env || /(^|\/)(postgres|pgvector|postgis|timescaledb[\w-]*)$/.test(service.image.repository);
}

/** A value the rules can read: plain text, or a secret template with its placeholders marked; a whole secret is unreadable. */
function readable(value: EnvValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if ("secretTemplate" in value) return value.secretTemplate.replace(/\{\{[^}]*\}\}/g, "\u0000");
  return undefined;
}

const SECRET_MARK = "\u0000";

/** What a libpq connection string says: its users (a URI's user info and a `user` parameter may both be there) and host. */
export interface Connection {
  readonly users: readonly string[];
  readonly host?: string;
}

/**
 * A libpq connection string in either notation: a URI
 * (`postgres://user:pass@host/db?user=...`, `postgresql://`) or keywords
 * (`user=postgres host=db`, values quoted or not). A user that is (part of)
 * a secret is returned as the secret mark.
 */
export function parseConnection(text: string): Connection {
  const uri = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/[^?#]*)?(?:\?([^#]*))?/i.exec(text.trim());
  if (uri) {
    const userInfo = uri[1];
    const users: string[] = [];
    if (userInfo !== undefined) {
      const user = userInfo.split(":")[0]!;
      if (user !== "") users.push(safeDecode(user));
    }
    let host = uri[2]
      ? uri[2]
          .replace(/^\[|\]$/g, "")
          .replace(/:\d+$/, "")
          .split(",")[0]
      : undefined;
    for (const pair of (uri[3] ?? "").split("&")) {
      const [key, value = ""] = pair.split("=");
      if (key === "user") users.push(safeDecode(value));
      if (key === "host" && value) host = safeDecode(value);
    }
    return { users, ...(host ? { host } : {}) };
  }
  const users: string[] = [];
  let host: string | undefined;
  for (const match of text.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/g)) {
    const value = match[2]!.startsWith("'") ? match[2]!.slice(1, -1).replace(/\\(.)/g, "$1") : match[2]!;
    if (match[1] === "user") users.push(value);
    if (match[1] === "host") host = value;
  }
  return { users, ...(host ? { host } : {}) };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** What the database's init scripts make of roles: which are created, which as superusers, and who is granted what. */
export interface RoleFacts {
  readonly superusers: ReadonlySet<string>;
  readonly created: ReadonlySet<string>;
  /** Role -> the roles granted to it. */
  readonly grants: ReadonlyMap<string, readonly string[]>;
}

const ROLE = `("[^"]+"|[A-Za-z_][\\w$]*)`;

/** The roles a PostgreSQL service's init scripts create, make superusers and grant, on top of its bootstrap superuser. */
export function roleFacts(database: DataService | undefined): RoleFacts {
  const superusers = new Set(BUILTIN_SUPERUSERS);
  const created = new Set<string>();
  const grants = new Map<string, string[]>();
  if (!database) return { superusers, created, grants };
  const bootstrap = readable(database.env.POSTGRES_USER);
  superusers.add(bootstrap === undefined ? "postgres" : roleName(bootstrap));
  const scripts = database.files.filter((file) => file.path.startsWith("/docker-entrypoint-initdb.d/")).map((file) => file.content.replace(/--[^\n]*/g, ""));
  for (const script of scripts) {
    for (const match of script.matchAll(new RegExp(`\\bCREATE\\s+(?:ROLE|USER)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${ROLE}([^;]*)`, "gi"))) {
      const role = roleName(match[1]!);
      created.add(role);
      if (/(^|[^\w])SUPERUSER\b/i.test(match[2]!.replace(/\bNOSUPERUSER\b/gi, ""))) superusers.add(role);
    }
    for (const match of script.matchAll(new RegExp(`\\bALTER\\s+(?:ROLE|USER)\\s+${ROLE}([^;]*)`, "gi"))) {
      if (/(^|[^\w])SUPERUSER\b/i.test(match[2]!.replace(/\bNOSUPERUSER\b/gi, ""))) superusers.add(roleName(match[1]!));
    }
    // Role membership: GRANT a, b TO c (privileges on objects have an ON clause).
    for (const match of script.matchAll(/\bGRANT\s+([^;]*?)\s+TO\s+([^;]*?)(?:\s+WITH\s+[^;]*)?;/gi)) {
      if (/\bON\b/i.test(match[1]!)) continue;
      const granted = match[1]!.split(",").map((name) => roleName(name.trim()));
      for (const grantee of match[2]!.split(",").map((name) => roleName(name.trim()))) grants.set(grantee, [...(grants.get(grantee) ?? []), ...granted]);
    }
  }
  return { superusers, created, grants };
}

/** Every role `role` can become: itself and, through SET ROLE, what it is granted, transitively. */
export function reachableRoles(role: string, facts: RoleFacts): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const granted of facts.grants.get(name) ?? []) visit(granted);
  };
  visit(role);
  return [...seen];
}

/** What a data API's container says of itself: the roles it connects and serves anonymous requests as, and how it checks tokens. */
export interface DataApiFacts {
  /** The roles it connects as, or the secret mark / "" when it names none the policy can read. */
  readonly connectAs: readonly string[];
  readonly host?: string;
  readonly anonRole?: string;
  /** "secret": a token secret from the stack's secrets; "plain": one written in the open; "none". */
  readonly jwtSecret: "secret" | "plain" | "none";
  readonly problems: readonly string[];
}

/** PostgREST's settings (PGRST_DB_URI, PGUSER, PGRST_DB_ANON_ROLE, PGRST_JWT_SECRET) and the declared `dataApi`. */
export function dataApiFacts(service: DataService): DataApiFacts {
  const problems: string[] = [];
  const env = service.env;
  const postgrest = DATA_API_IMAGES.some((name) => isImage(service.image.repository, name));
  const connectAs: string[] = [];
  let host: string | undefined;
  if (postgrest) {
    let uri = env.PGRST_DB_URI === undefined ? "postgresql://" : readable(env.PGRST_DB_URI);
    if (uri?.startsWith("@")) {
      const path = uri.slice(1);
      const secretFile = (service.secretFiles ?? []).find((file) => secretFileTarget(file) === path);
      uri = secretFile ? readable(secretFile.content)?.trim() : service.files.find((file) => file.path === path)?.content.trim();
    }
    if (uri === undefined)
      problems.push(
        "PGRST_DB_URI is a secret or a file the policy cannot read, so the role it connects as is unknown; keep the user in plain text and only the password secret ({{key}})",
      );
    else {
      const connection = parseConnection(uri);
      host = connection.host;
      // libpq takes the user from PGUSER when the string names none.
      const users = connection.users.length > 0 ? connection.users : [readable(env.PGUSER) ?? ""];
      connectAs.push(...users);
    }
  }
  if (service.dataApi) connectAs.push(service.dataApi.role);
  const anonRole = postgrest ? readable(env.PGRST_DB_ANON_ROLE) : service.dataApi?.anonRole;
  const declaredAnon = service.dataApi?.anonRole;
  const secret = env.PGRST_JWT_SECRET;
  const jwtSecret: DataApiFacts["jwtSecret"] = postgrest
    ? secret === undefined || secret === ""
      ? "none"
      : typeof secret === "string" && !secret.startsWith("@")
        ? "plain"
        : "secret"
    : service.dataApi?.auth === "jwt"
      ? "secret"
      : "none";
  return {
    connectAs: [...new Set(connectAs.map((role) => (role.includes(SECRET_MARK) || role === "" ? role : roleName(role))))],
    ...(host ? { host } : {}),
    ...((anonRole ?? declaredAnon) ? { anonRole: roleName((anonRole ?? declaredAnon)!) } : {}),
    jwtSecret: service.dataApi?.auth === "none" ? "none" : jwtSecret,
    problems,
  };
}

/**
 * E4 on one data API: the role it connects as, its anonymous role, and the
 * roles those can switch to are no superusers. Where the database is one
 * of the platform's services, each of them must also be created by its init
 * scripts, the only place that says what a role may do.
 */
export function superuserFindings(api: DataService, services: readonly DataService[], resource: string): Finding[] {
  const facts = dataApiFacts(api);
  const database = services.find((service) => service.name === facts.host && isPostgreSQL(service));
  const roles = roleFacts(database);
  const findings: Finding[] = facts.problems.map((message) => ({ rule: "E4", resource, message }));
  const judge = (role: string, as: string) => {
    if (role === "" || role.includes(SECRET_MARK)) {
      findings.push({
        rule: "E4",
        resource,
        message: `${api.name} ${as} a role the policy cannot read (${role === "" ? "none is named: libpq would take the container's user" : "it is part of a secret"}); name it in plain text`,
      });
      return;
    }
    const superuser = reachableRoles(role, roles).find((reachable) => roles.superusers.has(reachable));
    if (superuser === role)
      findings.push({
        rule: "E4",
        resource,
        message: `${api.name} ${as} ${role}, a superuser of ${database?.name ?? "its database"}: any request it serves can read and change everything, and run programs on the database server`,
      });
    else if (superuser)
      findings.push({
        rule: "E4",
        resource,
        message: `${api.name} ${as} ${role}, which is granted the superuser ${superuser}: a token naming ${superuser} as its role gets everything`,
      });
    else if (database && !roles.created.has(role))
      findings.push({
        rule: "E4",
        resource,
        message: `${api.name} ${as} ${role}, a role ${database.name}'s init scripts do not create, so nothing says it is no superuser`,
      });
  };
  for (const role of facts.connectAs) judge(role, "connects as");
  if (facts.anonRole !== undefined) judge(facts.anonRole, "serves anonymous requests as");
  return findings;
}

/** A gateway's declarative configuration: which of its upstream hosts every route reaches only through an auth plugin. */
interface GatewayView {
  /** Upstream host -> whether every route to it checks a credential. */
  readonly upstreams: ReadonlyMap<string, boolean>;
  readonly readable: boolean;
}

/** Kong's declarative configuration (KONG_DECLARATIVE_CONFIG, or an uploaded file in its format). */
export function kongView(gateway: DataService): GatewayView {
  const path = readable(gateway.env.KONG_DECLARATIVE_CONFIG);
  const candidates = [
    ...gateway.files.filter((file) => file.path === path),
    ...gateway.files.filter((file) => /\.ya?ml$/.test(file.path) && file.path !== path),
  ];
  type Plugin = { name?: unknown; enabled?: unknown; service?: unknown; route?: unknown };
  type Document = {
    _format_version?: unknown;
    plugins?: Plugin[];
    services?: { name?: string; url?: string; host?: string; plugins?: Plugin[]; routes?: { name?: string; plugins?: Plugin[] }[] }[];
  };
  for (const file of candidates) {
    let document: Document;
    try {
      document = parse(file.content) as Document;
    } catch {
      continue;
    }
    if (!document || typeof document !== "object" || document._format_version === undefined) continue;
    const isAuth = (plugin: Plugin) => typeof plugin.name === "string" && KONG_AUTH_PLUGINS.includes(plugin.name) && plugin.enabled !== false;
    const global = (document.plugins ?? []).filter((plugin) => plugin.service === undefined && plugin.route === undefined).some(isAuth);
    const upstreams = new Map<string, boolean>();
    for (const service of document.services ?? []) {
      const host = service.host ?? (typeof service.url === "string" ? /^[a-z]+:\/\/([^/:]+)/i.exec(service.url)?.[1] : undefined);
      if (!host) continue;
      const serviceAuth = (service.plugins ?? []).some(isAuth) || (document.plugins ?? []).some((plugin) => plugin.service === service.name && isAuth(plugin));
      const routes = service.routes ?? [];
      const everyRoute = routes.every(
        (route) => (route.plugins ?? []).some(isAuth) || (document.plugins ?? []).some((plugin) => plugin.route === route.name && isAuth(plugin)),
      );
      const checked = global || serviceAuth || everyRoute;
      upstreams.set(host, (upstreams.get(host) ?? true) && checked);
    }
    return { upstreams, readable: true };
  }
  return { upstreams: new Map(), readable: false };
}

/**
 * E3: each public route that reaches a data API, itself or through a
 * gateway, meets a key check first: the gateway checks one on every route to
 * it, or the API itself refuses requests without a signed token (a token
 * secret, and no anonymous role). A token secret written in plain text is a
 * finding of its own: anyone who reads the stack can sign tokens with it.
 */
export function dataApiExposureFindings(
  routes: readonly RoutedName[],
  services: readonly DataService[],
  proxy: IngressProxy,
  ingressFiles: readonly Pick<ConfigFile, "path" | "content">[],
  resourceOf: (service: string) => string,
): Finding[] {
  const findings: Finding[] = [];
  const accesses = ingressAccess(proxy, ingressFiles);
  const apis = services.filter(isDataApi);
  for (const api of apis) {
    const facts = dataApiFacts(api);
    if (facts.jwtSecret === "plain")
      findings.push({
        rule: "E3",
        resource: resourceOf(api.name),
        message: `${api.name}'s token secret (PGRST_JWT_SECRET) is written in plain text: anyone who reads the stack can sign a token for any role`,
      });
    const refusesAnonymous = facts.jwtSecret !== "none" && facts.anonRole === undefined;
    for (const route of routes) {
      const access = accesses.get(route.hostname);
      if (!access || !probePaths(access).some((path) => access.verdict(path) === "open")) continue;
      const target = services.find((service) => service.name === route.service);
      if (!target) continue;
      let through: string | undefined;
      if (target.name === api.name) through = "directly";
      else if (GATEWAY_IMAGES.some((name) => isImage(target.image.repository, name))) {
        const gateway = kongView(target);
        if (!gateway.readable) through = `through ${target.name}, whose configuration the policy cannot read`;
        else if (gateway.upstreams.get(api.name) === false) through = `through ${target.name}, which checks no key on its way there`;
      }
      if (through === undefined || refusesAnonymous) continue;
      const why = facts.jwtSecret === "none" ? "it checks no token at all" : `it serves requests without a token as ${facts.anonRole}`;
      findings.push({
        rule: "E3",
        resource: `route ${route.hostname}`,
        unwaivable: true,
        message: `${route.hostname} reaches ${api.name} (${api.image.repository}) ${through}, and ${why}`,
      });
    }
  }
  return findings;
}
