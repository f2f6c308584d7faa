/** A public name served by the ingress, proxied to one service's port. */
export interface Route {
  /** Fully qualified host name, e.g. n8n.example.com. */
  readonly hostname: string;
  /** Service name, which is also its DNS alias on the shared network. */
  readonly service: string;
  readonly port: number;
}
