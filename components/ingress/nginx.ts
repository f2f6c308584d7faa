import * as pulumi from "@pulumi/pulumi";
import { Service, type ServiceArgs } from "../container/service";
import { routeProblems } from "./caddyfile";
import { NGINX_CONF_PATH } from "./nginx-spec";
import type { Route } from "./route";

export interface NginxArgs extends ServiceArgs {
  readonly routes: readonly Route[];
  /** Every service name on the host, to catch a route to nothing. */
  readonly knownServices: readonly string[];
}

/** The ingress of seeds 001 and 004: an nginx container serving the generated nginx.conf. */
export class Nginx extends pulumi.ComponentResource {
  public readonly service: Service;
  public readonly hostnames: readonly string[];

  constructor(name: string, args: NginxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:ingress:Nginx", name, {}, opts);
    const problems = routeProblems(args.routes);
    for (const route of args.routes) {
      if (!args.knownServices.includes(route.service)) problems.push(`${route.hostname} routes to unknown service "${route.service}"`);
    }
    if (!args.spec.files.some((file) => file.path === NGINX_CONF_PATH)) problems.push(`the spec carries no ${NGINX_CONF_PATH}`);
    if (problems.length > 0) throw new Error(`ingress ${name}: ${problems.join("; ")}`);

    this.service = new Service(`${name}-service`, args, { parent: this });
    this.hostnames = args.routes.map((route) => route.hostname);
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
