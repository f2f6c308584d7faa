import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { NGINX_CACHE_DIR } from "../../components/ingress/nginx-spec";

/**
 * A generated nginx.conf with its proxy cache moved into `dir`, for a real
 * nginx run by a test: nginx makes the zones' directories at start (even
 * `nginx -t` does), and they belong in the test's directory, not in this
 * machine's /var/tmp. The directory stands in for the cache volume: empty,
 * and there before nginx starts.
 */
export function withLocalCache(conf: string, dir: string): string {
  const cache = join(dir, "cache");
  mkdirSync(cache, { recursive: true });
  return conf.replaceAll(` ${NGINX_CACHE_DIR}/`, ` ${cache}/`);
}
