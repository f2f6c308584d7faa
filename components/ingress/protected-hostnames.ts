import { parse } from "yaml";
import type { ConfigFile } from "../container/service-spec";
import { CADDYFILE_PATH } from "./caddy-spec";
import { NGINX_CONF_PATH } from "./nginx-spec";
import { TRAEFIK_DYNAMIC_PATH } from "./traefik-config";

/**
 * The host names an ingress asks a password for, read back from the
 * configuration uploaded into its container: what the proxy will do, not
 * what a blueprint meant, and the same question for Caddy, nginx and
 * Traefik. A name counts only when everything served under it is behind
 * basic auth: every site block, server block or router of that name, and
 * every location in them.
 */

export type IngressProxy = "caddy" | "nginx" | "traefik";

export function hostnamesBehindBasicAuth(proxy: IngressProxy, files: readonly Pick<ConfigFile, "path" | "content">[]): Set<string> {
  const file = (path: string) => files.find((candidate) => candidate.path === path)?.content ?? "";
  const verdicts = proxy === "caddy" ? caddyVerdicts(file(CADDYFILE_PATH)) : proxy === "nginx" ? nginxVerdicts(file(NGINX_CONF_PATH)) : traefikVerdicts(file(TRAEFIK_DYNAMIC_PATH));
  const open = new Set(verdicts.filter((verdict) => !verdict.protected).map((verdict) => verdict.hostname));
  return new Set(verdicts.filter((verdict) => verdict.protected && !open.has(verdict.hostname)).map((verdict) => verdict.hostname));
}

interface Verdict {
  readonly hostname: string;
  readonly protected: boolean;
}

interface Block {
  readonly head: string;
  readonly directives: string[];
  readonly blocks: Block[];
}

/** Caddyfile sites: a `basicauth` (or `basic_auth`) block without a matcher, directly in the site, covers all of it. */
function caddyVerdicts(text: string): Verdict[] {
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
      const guarded = site.blocks.some((block) => /^basic_?auth(\s+\*)?$/.test(block.head) && block.directives.length > 0);
      return site.head
        .split(/[\s,]+/)
        .map((address) => address.replace(/^https?:\/\//, "").replace(/:\d+$/, ""))
        .filter((hostname) => /^[a-z0-9.-]+$/.test(hostname))
        .map((hostname) => ({ hostname, protected: guarded }));
    });
}

/** nginx server blocks: every location must end up with auth_basic on and a user file, set there or inherited. */
function nginxVerdicts(text: string): Verdict[] {
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
    const guarded = nginxGuarded(server, { on: false, userFile: false });
    return names.filter((name) => /^[a-z0-9.-]+$/.test(name)).map((hostname) => ({ hostname, protected: guarded }));
  });
}

function nginxGuarded(block: Block, inherited: { on: boolean; userFile: boolean }): boolean {
  const value = (name: string) => block.directives.find((directive) => directive.split(/\s+/)[0] === name)?.slice(name.length).trim();
  const realm = value("auth_basic");
  const effective = {
    on: realm === undefined ? inherited.on : realm !== "off",
    userFile: value("auth_basic_user_file") === undefined ? inherited.userFile : true,
  };
  const locations = block.blocks.filter((child) => /^location\s/.test(child.head));
  if (locations.length === 0) return effective.on && effective.userFile;
  return locations.every((location) => nginxGuarded(location, effective));
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
      if (statement.trim()) stack[stack.length - 1]!.directives.push(statement.trim().replace(/\s+/g, " ").replace(/^(\S+) (["'])(.*)\2$/, "$1 $3"));
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

/** Traefik routers: a router is guarded when one of its middlewares is a basicAuth with users or a users file. */
function traefikVerdicts(text: string): Verdict[] {
  const document = (text.trim() ? parse(text) : {}) as { http?: { routers?: Record<string, { rule?: unknown; middlewares?: unknown }>; middlewares?: Record<string, { basicAuth?: { users?: unknown; usersFile?: unknown } }> } };
  const middlewares = document.http?.middlewares ?? {};
  const isBasicAuth = (name: string) => {
    const basicAuth = middlewares[name.replace(/@file$/, "")]?.basicAuth;
    return basicAuth !== undefined && ((Array.isArray(basicAuth.users) && basicAuth.users.length > 0) || (typeof basicAuth.usersFile === "string" && basicAuth.usersFile !== ""));
  };
  return Object.values(document.http?.routers ?? {}).flatMap((router) => {
    const rule = typeof router.rule === "string" ? router.rule : "";
    const guarded = Array.isArray(router.middlewares) && router.middlewares.some((name) => typeof name === "string" && isBasicAuth(name));
    const hostnames = [...rule.matchAll(/Host\(([^)]*)\)/g)].flatMap((match) => [...match[1]!.matchAll(/`([^`]+)`/g)].map((name) => name[1]!));
    return hostnames.map((hostname) => ({ hostname, protected: guarded }));
  });
}
