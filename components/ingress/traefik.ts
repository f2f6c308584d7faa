import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../container/service";
import { routeProblems } from "./caddyfile";
import { TRAEFIK_DYNAMIC_PATH, TRAEFIK_STATIC_PATH } from "./traefik-config";
import type { Route } from "./route";

export interface TraefikArgs extends ServiceArgs {
  readonly routes: readonly Route[];
  /** Every service name on the host, to catch a route to nothing. */
  readonly knownServices: readonly string[];
}

/** The ingress of seeds 000 and 003: a Traefik container with generated static and dynamic configuration. */
export class Traefik extends pulumi.ComponentResource {
  public readonly service: Service;
  public readonly hostnames: readonly string[];

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:ingress:Traefik", name, {}, opts);
    const problems = routeProblems(args.routes);
    for (const route of args.routes) {
      if (!args.knownServices.includes(route.service)) problems.push(`${route.hostname} routes to unknown service "${route.service}"`);
    }
    for (const path of [TRAEFIK_STATIC_PATH, TRAEFIK_DYNAMIC_PATH]) {
      if (!args.spec.files.some((file) => file.path === path)) problems.push(`the spec carries no ${path}`);
    }
    if (problems.length > 0) throw new Error(`ingress ${name}: ${problems.join("; ")}`);

    this.service = new Service(`${name}-service`, args, { parent: this });
    this.hostnames = args.routes.map((route) => route.hostname);
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
