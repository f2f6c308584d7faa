import { CADDY_SECURITY_HEADERS } from "./caddyfile";
import { NGINX_SECURITY_HEADERS } from "./nginx-conf";
import { TRAEFIK_SECURITY_HEADER_NAMES } from "./traefik-config";

/**
 * Lower-case names of the headers any of the ingresses sets on every route
 * itself. A stack's own header of one of these names would send the field
 * twice, with two values, so the configuration refuses it.
 */
export const INGRESS_HEADERS: readonly string[] = [
  ...new Set([...NGINX_SECURITY_HEADERS, ...CADDY_SECURITY_HEADERS].map(([name]) => name.toLowerCase()).concat(TRAEFIK_SECURITY_HEADER_NAMES)),
].sort();
