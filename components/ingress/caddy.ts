import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../container/service";
import { routeProblems } from "./caddyfile";
import { CADDYFILE_PATH } from "./caddy-spec";
import type { Route } from "./route";

export interface CaddyArgs extends ServiceArgs {
  readonly routes: readonly Route[];
  /** Every service name on the host, to catch a route to nothing. */
  readonly knownServices: readonly string[];
}

/** The ingress: a Caddy container serving the generated Caddyfile. */
export class Caddy extends pulumi.ComponentResource {
  public readonly service: Service;
  public readonly hostnames: readonly string[];

  constructor(name: string, args: CaddyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:ingress:Caddy", name, {}, opts);
    const problems = routeProblems(args.routes);
    for (const route of args.routes) {
      if (!args.knownServices.includes(route.service)) problems.push(`${route.hostname} routes to unknown service "${route.service}"`);
    }
    if (!args.spec.files.some((file) => file.path === CADDYFILE_PATH)) problems.push(`the spec carries no ${CADDYFILE_PATH}`);
    if (problems.length > 0) throw new Error(`ingress ${name}: ${problems.join("; ")}`);

    this.service = new Service(`${name}-service`, args, { parent: this });
    this.hostnames = args.routes.map((route) => route.hostname);
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
