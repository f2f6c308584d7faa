/** Which reverse proxy serves the routes; each has its own ingress component. */
export type IngressKind = "caddy" | "nginx" | "traefik";

/** A public name served by the ingress, proxied to one service's port. */
export interface Route {
  /** Fully qualified host name, e.g. n8n.example.com. */
  readonly hostname: string;
  /** Service name, which is also its DNS alias on the shared network. */
  readonly service: string;
  readonly port: number;
  /**
   * The host the proxy sends to: the alias of the service's current release
   * when it releases with zero downtime (components/container/release.ts),
   * so that a reload switches versions. The service name when absent.
   */
  readonly upstream?: string;
  /** Response headers of the stack's own, beside the ingress's security headers. */
  readonly headers?: ResponseHeaders;
}

/** The host a route's requests go to. */
export function upstreamHost(route: Route): string {
  return route.upstream ?? route.service;
}

/**
 * Who may pass a route's basic auth: one user, whose password is checked
 * against a bcrypt hash ($2y$, $2b$ or $2a$) held in a Pulumi secret. nginx
 * and Traefik read it from an htpasswd file the container writes when it
 * starts (components/ingress/basic-auth.ts); the hash is never in a config file.
 */
export interface RouteCredential {
  readonly user: string;
  /** Secret config key whose value is the bcrypt hash, e.g. `infra:monitoringAdminPasswordHash`. */
  readonly passwordHashSecret: string;
}

/** A route that asks for a password before anything reaches the service (admin UIs), as nginx and Traefik serve it. */
export interface ProtectedRoute extends Route {
  readonly basicAuth?: RouteCredential;
}

/**
 * A route's response headers of the stack's own (`infra:ingress.headers`),
 * sent beside the ones the ingress always sets.
 */
export type ResponseHeaders = readonly (readonly [string, string])[];
