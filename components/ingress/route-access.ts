import { parse } from "yaml";
import type { ConfigFile } from "../container/service-spec";
import { CADDYFILE_PATH } from "./caddy-spec";
import { NGINX_CONF_PATH } from "./nginx-spec";
import { TRAEFIK_DYNAMIC_PATH } from "./traefik-config";

/**
 * What an ingress does with a request for each path of each name it serves,
 * read back from the configuration uploaded into its container: what the
 * proxy will do, not what a blueprint meant, and the same question for
 * Caddy, nginx and Traefik. Each reader follows its proxy's own rules for
 * picking what handles a path (Caddy's directive order and matchers, nginx's
 * location selection, Traefik's router priorities). Whatever a reader does
 * not recognise counts as served openly, never as protected or blocked.
 */

export type IngressProxy = "caddy" | "nginx" | "traefik";

/** What a request for a path meets: the proxy's own answer (blocked), a password, or the service itself. */
export type PathVerdict = "blocked" | "password" | "open";

export interface HostAccess {
  readonly hostname: string;
  /** The verdict on a request for `path`, as the proxy sees it once it has decoded and cleaned it. */
  verdict(path: string): PathVerdict;
  /** The paths the configuration names for this host (prefixes, exact paths): where a request may be treated apart from its neighbours. */
  readonly namedPaths: readonly string[];
  /** Some paths are served openly by something no named path stands for (an open regular expression, a rule the reader does not know). */
  readonly openBeyondNamed: boolean;
}

const RANK: Readonly<Record<PathVerdict, number>> = { blocked: 0, password: 1, open: 2 };
const worst = (verdicts: readonly PathVerdict[]): PathVerdict => verdicts.reduce<PathVerdict>((a, b) => (RANK[b] > RANK[a] ? b : a), "blocked");

/** Every name the ingress serves, with what it does for each path; a name served twice gets the more open answer of the two. */
export function ingressAccess(proxy: IngressProxy, files: readonly Pick<ConfigFile, "path" | "content">[]): Map<string, HostAccess> {
  const file = (path: string) => files.find((candidate) => candidate.path === path)?.content ?? "";
  const read =
    proxy === "caddy" ? caddyAccess(file(CADDYFILE_PATH)) : proxy === "nginx" ? nginxAccess(file(NGINX_CONF_PATH)) : traefikAccess(file(TRAEFIK_DYNAMIC_PATH));
  const byName = new Map<string, HostAccess[]>();
  for (const access of read) byName.set(access.hostname, [...(byName.get(access.hostname) ?? []), access]);
  return new Map(
    [...byName].map(([hostname, accesses]) => [
      hostname,
      {
        hostname,
        verdict: (path: string) => worst(accesses.map((access) => access.verdict(path))),
        namedPaths: [...new Set(accesses.flatMap((access) => access.namedPaths))],
        openBeyondNamed: accesses.some((access) => access.openBeyondNamed),
      },
    ]),
  );
}

/**
 * Paths to ask about for a whole name: the root, a path below it, and each
 * named path with a path below it. A name is behind its password only when
 * none of them is served openly and nothing is open beyond them.
 */
export function probePaths(access: HostAccess): string[] {
  return [...new Set(["/", "/x", ...access.namedPaths.flatMap((path) => [path, `${path.replace(/\/$/, "")}/x`])])];
}

/** A Go (RE2) or PCRE pattern as a JavaScript one, or undefined when it holds syntax the two do not share. */
function patternOf(source: string, caseInsensitive = false): RegExp | undefined {
  let text = source;
  let flags = caseInsensitive ? "i" : "";
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(text);
  if (inline) {
    if (!/^i+$/.test(inline[1]!)) return undefined;
    flags = "i";
    text = text.slice(inline[0].length);
  }
  if (/\(\?[a-zA-Z]|\\[AzZQE]|\[\[:/.test(text)) return undefined;
  try {
    return new RegExp(text.replace(/\(\?P</g, "(?<"), flags);
  } catch {
    return undefined;
  }
}

/** A path as proxies clean it before matching: doubled slashes merged, `.` and `..` segments resolved, a trailing slash kept. */
export function cleanPath(path: string): string {
  const trailing = path.endsWith("/") && path !== "/";
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const cleaned = `/${segments.join("/")}`;
  return trailing && cleaned !== "/" ? `${cleaned}/` : cleaned;
}

interface Block {
  readonly head: string;
  readonly directives: string[];
  readonly blocks: Block[];
}

// ---------------------------------------------------------------- Caddy

/** What a site's directives hold that the reader understands; anything else makes the site opaque. */
const CADDY_KNOWN = /^(import|encode|header|request_header|respond|basicauth|basic_auth|reverse_proxy|log|tls)$/;

type CaddyMatcher = (path: string) => boolean;

/**
 * Caddyfile sites. Caddy runs a site's handlers in its fixed directive order
 * (basicauth before request_header, respond and reverse_proxy), so a path is
 * asked for a password when a basicauth's matcher takes it, is answered by
 * the proxy when a `respond` takes it, and reaches the service when a
 * reverse_proxy does. Path matchers see the path decoded, cleaned and (for
 * `path`) lower-cased.
 */
function caddyAccess(text: string): HostAccess[] {
  const root: Block = { head: "", directives: [], blocks: [] };
  const stack: Block[] = [root];
  // Line by line: `{$VAR}` placeholders hold braces, so a block opens only at a line's end.
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") continue;
    if (line === "}") {
      if (stack.length > 1) stack.pop();
    } else if (line.endsWith("{")) {
      const block: Block = { head: line.slice(0, -1).trim(), directives: [], blocks: [] };
      stack[stack.length - 1]!.blocks.push(block);
      stack.push(block);
    } else {
      stack[stack.length - 1]!.directives.push(line);
    }
  }
  return root.blocks
    .filter((site) => site.head !== "" && !site.head.startsWith("("))
    .flatMap((site) => {
      const access = caddySite(site);
      return site.head
        .split(/[\s,]+/)
        .map((address) => address.replace(/^https?:\/\//, "").replace(/:\d+$/, ""))
        .filter((hostname) => /^[a-z0-9.-]+$/.test(hostname))
        .map((hostname) => ({ ...access, hostname }));
    });
}

function caddySite(site: Block): Omit<HostAccess, "hostname"> {
  const matchers = new Map<string, CaddyMatcher | undefined>();
  const namedPaths: string[] = [];
  const statements = [
    ...site.directives.map((line) => ({ line, block: undefined as Block | undefined })),
    ...site.blocks.map((block) => ({ line: block.head, block })),
  ];
  let opaque = false;
  for (const { line, block } of statements) {
    const named = /^@(\S+)\s+(.*)$/.exec(line);
    if (named && !block) {
      const [, name, definition] = named;
      matchers.set(name!, caddyMatcher(definition!, namedPaths));
    } else if (named && block) {
      // A matcher set in a block: what it takes is not read here.
      matchers.set(named[1]!, undefined);
    }
  }
  const matcherOf = (token: string | undefined): CaddyMatcher | undefined | "all" => {
    if (token === undefined || token === "*") return "all";
    if (token.startsWith("@")) return matchers.get(token.slice(1));
    if (token.startsWith("/")) return caddyMatcher(`path ${token}`, namedPaths);
    return "all";
  };
  const guards: CaddyMatcher[] = [];
  const blocks: CaddyMatcher[] = [];
  for (const { line, block } of statements) {
    if (line.startsWith("@")) continue;
    const [directive, first] = line.split(/\s+/);
    if (!CADDY_KNOWN.test(directive!)) {
      opaque = true;
      continue;
    }
    const target = first === undefined || !/^[@*/]/.test(first) ? undefined : first;
    const matcher = matcherOf(target);
    const applies: CaddyMatcher = matcher === "all" ? () => true : (matcher ?? (() => false));
    if (/^basic_?auth$/.test(directive!)) {
      // A basicauth with no user in it lets nobody through, and guards nothing either.
      if (block && block.directives.length > 0) guards.push(matcher === undefined ? () => false : applies);
    } else if (directive === "respond") {
      blocks.push(matcher === undefined ? () => false : applies);
    }
  }
  return {
    namedPaths,
    openBeyondNamed: opaque,
    verdict: (raw) => {
      const path = cleanPath(raw);
      if (opaque) return "open";
      if (guards.some((guard) => guard(path))) return "password";
      // A site that handles a path with nothing known (a broken or unusual
      // one) may still serve something there: open, never assumed safe.
      return blocks.some((blocked) => blocked(path)) ? "blocked" : "open";
    },
  };
}

/** A Caddy matcher definition (`path ...`, `not path ...`, `path_regexp [name] re`), or undefined when it is not one of those. */
function caddyMatcher(definition: string, namedPaths: string[]): CaddyMatcher | undefined {
  const [kind, ...rest] = definition.trim().split(/\s+/);
  if (kind === "not") {
    const inner = caddyMatcher(rest.join(" "), namedPaths);
    return inner && ((path) => !inner(path));
  }
  if (kind === "path") {
    for (const pattern of rest) namedPaths.push(pattern.replace(/\*+$/, ""));
    return (path) => rest.some((pattern) => caddyGlob(pattern.toLowerCase(), path.toLowerCase()));
  }
  if (kind === "path_regexp") {
    const pattern = patternOf(rest[rest.length - 1] ?? "");
    return pattern && ((path) => pattern.test(path));
  }
  return undefined;
}

/** Caddy's path patterns: exact, `prefix*`, `*suffix`, `*inner*`, or a glob. */
function caddyGlob(pattern: string, path: string): boolean {
  if (pattern === "*") return true;
  const stars = (pattern.match(/\*/g) ?? []).length;
  if (stars === 2 && pattern.startsWith("*") && pattern.endsWith("*")) return path.includes(pattern.slice(1, -1));
  if (stars === 1 && pattern.startsWith("*")) return path.endsWith(pattern.slice(1));
  if (stars === 1 && pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  const glob = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")}$`,
  );
  return glob.test(path);
}

// ---------------------------------------------------------------- nginx

interface Location {
  readonly modifier: "=" | "^~" | "~" | "~*" | "";
  readonly match: string;
  readonly pattern?: RegExp;
  readonly block: Block;
}

/**
 * nginx server blocks. A request goes to one location, chosen as nginx
 * does: an exact `=` match; else the longest prefix, unless a regular
 * expression (in order) matches and that prefix is not `^~`. The location
 * answers itself (`return`, `deny all`), asks for a password (`auth_basic`
 * on with a user file, set there or inherited), or proxies; one that does
 * none of these serves files, which counts as open.
 */
function nginxAccess(text: string): HostAccess[] {
  const servers: Block[] = [];
  const collect = (block: Block) => {
    for (const child of block.blocks) {
      if (child.head === "server") servers.push(child);
      collect(child);
    }
  };
  collect(nginxBlocks(text));
  return servers.flatMap((server) => {
    const names = server.directives.filter((directive) => /^server_name\s/.test(directive)).flatMap((directive) => directive.split(/\s+/).slice(1));
    const access = nginxServer(server);
    return names.filter((name) => /^[a-z0-9.-]+$/.test(name)).map((hostname) => ({ ...access, hostname }));
  });
}

interface Auth {
  readonly on: boolean;
  readonly userFile: boolean;
}

function directiveValue(block: Block, name: string): string | undefined {
  return block.directives
    .find((directive) => directive.split(/\s+/)[0] === name)
    ?.slice(name.length)
    .trim();
}

function authOf(block: Block, inherited: Auth): Auth {
  const realm = directiveValue(block, "auth_basic");
  return {
    on: realm === undefined ? inherited.on : realm !== "off",
    userFile: directiveValue(block, "auth_basic_user_file") === undefined ? inherited.userFile : true,
  };
}

function locationsOf(block: Block): Location[] {
  return block.blocks.flatMap((child) => {
    const head = /^location\s+(=|\^~|~\*|~)?\s*(.+)$/.exec(child.head);
    if (!head) return [];
    const modifier = (head[1] ?? "") as Location["modifier"];
    const match = head[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
    if (match.startsWith("@")) return [];
    const pattern = modifier === "~" || modifier === "~*" ? patternOf(match, modifier === "~*") : undefined;
    return [{ modifier, match, block: child, ...(pattern ? { pattern } : {}) }];
  });
}

/** The location nginx picks for a path among a block's locations, or undefined when none matches. */
function selectLocation(locations: readonly Location[], path: string): Location | undefined {
  const exact = locations.find((location) => location.modifier === "=" && location.match === path);
  if (exact) return exact;
  const prefix = locations
    .filter((location) => (location.modifier === "" || location.modifier === "^~") && path.startsWith(location.match))
    .sort((a, b) => b.match.length - a.match.length)[0];
  if (prefix?.modifier === "^~") return prefix;
  // A regular expression nginx accepts but this reader cannot (an unknown pattern) counts as matching every path.
  const regex = locations.find(
    (location) => (location.modifier === "~" || location.modifier === "~*") && (location.pattern === undefined || location.pattern.test(path)),
  );
  return regex ?? prefix;
}

function nginxServer(server: Block): Omit<HostAccess, "hostname"> {
  const serverAuth = authOf(server, { on: false, userFile: false });
  const answersItself = (block: Block) => block.directives.some((directive) => /^return\s/.test(directive) || directive === "deny all");
  const namedPaths: string[] = [];
  let openBeyondNamed = false;
  const visit = (block: Block, auth: Auth) => {
    for (const location of locationsOf(block)) {
      if (location.modifier === "" || location.modifier === "^~" || location.modifier === "=") namedPaths.push(location.match);
      const inner = authOf(location.block, auth);
      if ((location.modifier === "~" || location.modifier === "~*") && !answersItself(location.block) && !(inner.on && inner.userFile)) openBeyondNamed = true;
      visit(location.block, inner);
    }
  };
  visit(server, serverAuth);
  const verdictIn = (block: Block, auth: Auth, path: string): PathVerdict => {
    if (answersItself(block)) return "blocked";
    const location = selectLocation(locationsOf(block), path);
    if (!location) {
      // The server block itself: nginx serves files from its root there.
      return block === server ? "open" : auth.on && auth.userFile ? "password" : "open";
    }
    const inner = authOf(location.block, auth);
    if (answersItself(location.block)) return "blocked";
    if (locationsOf(location.block).length > 0) return verdictIn(location.block, inner, path);
    return inner.on && inner.userFile ? "password" : "open";
  };
  return { namedPaths, openBeyondNamed, verdict: (raw) => verdictIn(server, serverAuth, cleanPath(raw)) };
}

/** nginx's syntax: statements end at `;`, blocks at `{ }`; quotes and comments hide both. */
function nginxBlocks(text: string): Block {
  const root: Block = { head: "", directives: [], blocks: [] };
  const stack: Block[] = [root];
  let statement = "";
  let quote: string | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quote) {
      if (char === "\\") {
        statement += char + (text[index + 1] ?? "");
        index += 1;
        continue;
      }
      if (char === quote) quote = undefined;
      statement += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      statement += char;
    } else if (char === "#") {
      while (index < text.length && text[index] !== "\n") index += 1;
    } else if (char === ";") {
      // nginx drops the quotes of an argument before reading it: `auth_basic "off"` is off.
      if (statement.trim())
        stack[stack.length - 1]!.directives.push(
          statement
            .trim()
            .replace(/\s+/g, " ")
            .replace(/^(\S+) (["'])(.*)\2$/, "$1 $3"),
        );
      statement = "";
    } else if (char === "{") {
      const block: Block = { head: statement.trim().replace(/\s+/g, " "), directives: [], blocks: [] };
      stack[stack.length - 1]!.blocks.push(block);
      stack.push(block);
      statement = "";
    } else if (char === "}") {
      if (stack.length > 1) stack.pop();
      statement = "";
    } else {
      statement += char;
    }
  }
  return root;
}

// ---------------------------------------------------------------- Traefik

interface Router {
  readonly hostnames: readonly string[];
  readonly priority: number;
  /** Whether the router takes the path, or undefined for a rule this reader does not know. */
  readonly takes: ((path: string) => boolean) | undefined;
  readonly verdict: PathVerdict;
  readonly namedPaths: readonly string[];
}

/**
 * Traefik routers. Of the routers whose rule takes a request, the one with
 * the highest priority (its own, or its rule's length) handles it: Traefik's
 * noop@internal answers itself, a basicAuth middleware with users asks for a
 * password, anything else reaches the service. A rule the reader does not
 * know takes every path when its router is open, and none when it blocks.
 */
function traefikAccess(text: string): HostAccess[] {
  type Document = {
    http?: {
      routers?: Record<string, { rule?: unknown; middlewares?: unknown; service?: unknown; priority?: unknown }>;
      middlewares?: Record<string, { basicAuth?: { users?: unknown; usersFile?: unknown } }>;
    };
  };
  const document = (text.trim() ? parse(text) : {}) as Document;
  const middlewares = document.http?.middlewares ?? {};
  const isBasicAuth = (name: string) => {
    const basicAuth = middlewares[name.replace(/@file$/, "")]?.basicAuth;
    return (
      basicAuth !== undefined &&
      ((Array.isArray(basicAuth.users) && basicAuth.users.length > 0) || (typeof basicAuth.usersFile === "string" && basicAuth.usersFile !== ""))
    );
  };
  const routers: Router[] = Object.values(document.http?.routers ?? {}).map((router) => {
    const rule = typeof router.rule === "string" ? router.rule : "";
    const guarded = Array.isArray(router.middlewares) && router.middlewares.some((name) => typeof name === "string" && isBasicAuth(name));
    const verdict: PathVerdict = router.service === "noop@internal" ? "blocked" : guarded ? "password" : "open";
    const hostnames = [...rule.matchAll(/Host\(([^)]*)\)/g)].flatMap((match) => [...match[1]!.matchAll(/`([^`]+)`/g)].map((name) => name[1]!.toLowerCase()));
    const priority = typeof router.priority === "number" && router.priority > 0 ? router.priority : rule.length;
    return { hostnames, priority, verdict, ...traefikRule(rule) };
  });
  const names = [...new Set(routers.flatMap((router) => router.hostnames))];
  return names.map((hostname) => {
    const own = routers.filter((router) => router.hostnames.includes(hostname));
    const takes = (router: Router, path: string) => (router.takes ? router.takes(path) : router.verdict === "open");
    return {
      hostname,
      namedPaths: own.flatMap((router) => router.namedPaths),
      openBeyondNamed: own.some(
        (router) => router.verdict === "open" && (router.takes === undefined || (router.namedPaths.length === 0 && !router.takes("/"))),
      ),
      verdict: (raw) => {
        const path = cleanPath(raw);
        const taking = own.filter((router) => takes(router, path));
        if (taking.length === 0) return "blocked";
        const top = Math.max(...taking.map((router) => router.priority));
        return worst(taking.filter((router) => router.priority === top).map((router) => router.verdict));
      },
    };
  });
}

/** A rule of `&&`-joined Host, Path, PathPrefix and PathRegexp matchers; anything else is not read. */
function traefikRule(rule: string): Pick<Router, "takes" | "namedPaths"> {
  if (/\|\||!|^\s*\(/.test(rule)) return { takes: undefined, namedPaths: [] };
  const tests: ((path: string) => boolean)[] = [];
  const namedPaths: string[] = [];
  for (const term of rule.split("&&").map((part) => part.trim())) {
    const matcher = /^(\w+)\(`([^`]*)`\)$/.exec(term);
    if (!matcher) return { takes: undefined, namedPaths: [] };
    const [, kind, value] = matcher as unknown as [string, string, string];
    if (kind === "Host") continue;
    if (kind === "PathPrefix") {
      namedPaths.push(value);
      tests.push((path) => path.startsWith(value));
    } else if (kind === "Path") {
      namedPaths.push(value);
      tests.push((path) => path === value);
    } else if (kind === "PathRegexp") {
      const pattern = patternOf(value);
      if (!pattern) return { takes: undefined, namedPaths: [] };
      tests.push((path) => pattern.test(path));
    } else return { takes: undefined, namedPaths: [] };
  }
  return { takes: (path) => tests.every((test) => test(path)), namedPaths };
}
