import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../container/service";
import { routeProblems } from "./caddyfile";
import { CADDYFILE_PATH } from "./caddy-spec";
import { NGINX_CONF_PATH } from "./nginx-spec";
import { withPreviousType } from "../platform/moves";
import type { IngressKind, Route } from "./route";
import { TRAEFIK_DYNAMIC_PATH, TRAEFIK_STATIC_PATH } from "./traefik-config";

export interface IngressArgs extends ServiceArgs {
  /** The reverse proxy: Caddy (seed 002), nginx (seeds 001 and 004) or Traefik (seeds 000 and 003). */
  readonly kind: IngressKind;
  readonly routes: readonly Route[];
  /** Every service name on the host, to catch a route to nothing. */
  readonly knownServices: readonly string[];
}

/** The files each proxy's container must carry: its generated configuration. */
export const INGRESS_CONFIG_PATHS: Readonly<Record<IngressKind, readonly string[]>> = {
  caddy: [CADDYFILE_PATH],
  nginx: [NGINX_CONF_PATH],
  traefik: [TRAEFIK_STATIC_PATH, TRAEFIK_DYNAMIC_PATH],
};

/**
 * The type each proxy had when every proxy was a component of its own. A
 * deployed stack holds its ingress under that type; the alias lets this
 * component take it over, with the container inside, without a replacement.
 */
const PREVIOUS_TYPES: Readonly<Record<IngressKind, string>> = { caddy: "infra:ingress:Caddy", nginx: "infra:ingress:Nginx", traefik: "infra:ingress:Traefik" };

/**
 * What an ingress answers to besides its URN: the caller's aliases (its move
 * under the platform's tree), each also under the proxy's previous type, and
 * that type where the ingress is now.
 */
export function ingressAliases(kind: IngressKind, aliases: readonly pulumi.Input<string | pulumi.Alias>[] = []): pulumi.Input<string | pulumi.Alias>[] {
  return withPreviousType(aliases, PREVIOUS_TYPES[kind]);
}

/** The problems that keep an ingress from serving its routes: a bad route, a route to nothing, a missing configuration file. */
export function ingressProblems(args: Pick<IngressArgs, "kind" | "routes" | "knownServices" | "spec">): string[] {
  const problems = routeProblems(args.routes);
  for (const route of args.routes) {
    if (!args.knownServices.includes(route.service)) problems.push(`${route.hostname} routes to unknown service "${route.service}"`);
  }
  for (const path of INGRESS_CONFIG_PATHS[args.kind]) {
    if (!args.spec.files.some((file) => file.path === path)) problems.push(`the spec carries no ${path}`);
  }
  return problems;
}

/** The ingress: the reverse proxy's container serving its generated configuration; which proxy is data. */
export class Ingress extends pulumi.ComponentResource {
  public readonly service: Service;
  public readonly hostnames: readonly string[];

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = ingressProblems(args);
    if (problems.length > 0) throw new Error(`ingress ${name}: ${problems.join("; ")}`);
    super("infra:ingress:Ingress", name, {}, { ...opts, aliases: ingressAliases(args.kind, opts?.aliases) });

    const { kind: _kind, routes: _routes, knownServices: _known, ...service } = args;
    this.service = new Service(`${name}-service`, service, { parent: this });
    this.hostnames = args.routes.map((route) => route.hostname);
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
