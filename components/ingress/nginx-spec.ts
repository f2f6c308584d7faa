import { CONFIG_DIR_PLACEHOLDER, LIVE_CONFIG_DIR, type LiveReload } from "../container/live-config";
import { secretFileTarget } from "../container/secret-files";
import { healthcheck, imageName, service, type Placement, type ServiceSpec } from "../container/service-spec";
import { basicAuthSecretFiles, htpasswdFiles, htpasswdScript } from "./basic-auth";
import { NGINX_HTTP_PORT, NGINX_HTTPS_PORT, nginxConf, type NginxOptions } from "./nginx-conf";
import type { ProtectedRoute } from "./route";

export const NGINX_IMAGE = { repository: "nginx", tag: "1.27.3-alpine" } as const;
/** nginx.conf is a live file: a route or header changes by `nginx -t`, then `nginx -s reload` (live-config.ts). */
export const NGINX_CONF_PATH = `${LIVE_CONFIG_DIR}/nginx.conf`;
/** certbot with the Cloudflare DNS plugin: DNS-01 works behind Cloudflare's proxy and behind a load balancer alike. */
export const CERTBOT_IMAGE = { repository: "certbot/dns-cloudflare", tag: "v2.11.0" } as const;
export const LETSENCRYPT_DIR = "/etc/letsencrypt";
/** A new nginx.conf is checked by `nginx -t` in the running container, then applied by a graceful reload. */
export const NGINX_LIVE_RELOAD: LiveReload = {
  check: ["nginx", "-t", "-q", "-c", `${CONFIG_DIR_PLACEHOLDER}/nginx.conf`],
  apply: ["nginx", "-c", `${CONFIG_DIR_PLACEHOLDER}/nginx.conf`, "-s", "reload"],
};
/** The nginx image's unprivileged user; certificates are handed to it after each issue. */
const NGINX_UID = "101";
/**
 * The proxy cache's volume: disk, not tmpfs, since a tmpfs counts against
 * the container's memory limit and the cache is sized in GB. It is mounted on
 * the image's /var/tmp because Docker gives a new volume the owner and mode
 * of the directory it is mounted on: /var/tmp is 1777 in the alpine image,
 * so nginx's user can make the zones' directories in it, while
 * /var/cache/nginx is root's and 0755, and a path the image lacks would be too.
 */
export const NGINX_CACHE_VOLUME = { volume: "cache", target: "/var/tmp" } as const;
/** nginx makes only the last level of a cache path at start, so each zone's directory sits right in the volume. */
export const NGINX_CACHE_DIR = NGINX_CACHE_VOLUME.target;

export interface NginxSpecOptions extends Omit<NginxOptions, "certificateDir" | "cacheDirectory"> {
  readonly networks: readonly string[];
  readonly memoryMb: number;
  readonly dependsOn: readonly string[];
  /** Where certbot and nginx share the certificates on the host. */
  readonly certificateHostPath: string;
  readonly placement?: Placement;
}

/**
 * The ingress container. It runs as the image's `nginx` user: Docker lets
 * unprivileged processes bind 80/443 inside a container's own network
 * namespace (net.ipv4.ip_unprivileged_port_start=0 since Docker 20.10), so
 * it needs no capability at all. With basic auth on a route, the start script
 * first writes the htpasswd files from their secret files (basic-auth.ts),
 * as that same user, so nobody else in the container can read them.
 */
export function nginxServiceSpec(routes: readonly ProtectedRoute[], options: NginxSpecOptions): ServiceSpec {
  const { networks, memoryMb, dependsOn, certificateHostPath, placement, ...conf } = options;
  const htpasswd = htpasswdFiles(routes);
  const cached = (conf.proxyCache ?? []).length > 0;
  // nginx keeps serving the certificate it started with; a reload every
  // six hours picks up what certbot renewed.
  const serve = `(while :; do sleep 21600; nginx -c ${NGINX_CONF_PATH} -s reload; done) & exec nginx -c ${NGINX_CONF_PATH} -g 'daemon off;'`;
  return service({
    name: "nginx",
    description: `TLS reverse proxy with rate limiting (${imageName(NGINX_IMAGE)})`,
    role: "ingress",
    image: NGINX_IMAGE,
    networks,
    ports: [
      { container: NGINX_HTTP_PORT, publish: { host: NGINX_HTTP_PORT, address: "0.0.0.0" } },
      { container: NGINX_HTTPS_PORT, publish: { host: NGINX_HTTPS_PORT, address: "0.0.0.0" } },
    ],
    binds: [{ hostPath: certificateHostPath, target: LETSENCRYPT_DIR, readOnly: true }],
    ...(cached ? { volumes: [NGINX_CACHE_VOLUME] } : {}),
    user: NGINX_UID,
    tmpfs: ["/tmp"],
    secretFiles: basicAuthSecretFiles(htpasswd, Number(NGINX_UID)),
    command: ["sh", "-c", [...htpasswdScript(htpasswd), serve].join("\n")],
    files: [
      {
        path: NGINX_CONF_PATH,
        content: nginxConf(routes, { ...conf, certificateDir: `${LETSENCRYPT_DIR}/live`, ...(cached ? { cacheDirectory: NGINX_CACHE_DIR } : {}) }),
        live: true,
      },
    ],
    liveReload: NGINX_LIVE_RELOAD,
    // On the status port: behind a load balancer, 80 expects a PROXY header first.
    healthcheck: healthcheck(["CMD", "wget", "-q", "--spider", `http://127.0.0.1:${conf.statusPort}${conf.healthPath}`], 10),
    memoryMb,
    dependsOn,
    waivers: [{ rule: "C6", reason: "the image writes its cache and temporary files under /var/cache/nginx and /etc/nginx at start" }],
    ...(placement ? { placement } : {}),
  });
}

export interface CertbotSpecOptions {
  readonly hostnames: readonly string[];
  readonly certificateName: string;
  /** Secret key of a Cloudflare token that may edit DNS records of the zone (DNS-01). */
  readonly cloudflareTokenSecret: string;
  readonly networks: readonly string[];
  readonly certificateHostPath: string;
  readonly placement?: Placement;
}

/** Certbot's Cloudflare credentials, a secret file (C15) it reads as root. */
export const CLOUDFLARE_CREDENTIALS = "cloudflare.ini";

/** The certbot arguments shared by the first issue and every renewal. */
export function certbotIssueCommand(options: Pick<CertbotSpecOptions, "hostnames" | "certificateName">): string {
  const names = [...options.hostnames]
    .sort()
    .map((hostname) => `-d ${hostname}`)
    .join(" ");
  return [
    "certbot certonly --non-interactive --agree-tos --register-unsafely-without-email",
    `--dns-cloudflare --dns-cloudflare-credentials ${secretFileTarget({ name: CLOUDFLARE_CREDENTIALS })} --dns-cloudflare-propagation-seconds 30`,
    `--cert-name ${options.certificateName} --keep-until-expiring --expand ${names}`,
    `--deploy-hook 'chown -R ${NGINX_UID}:${NGINX_UID} ${LETSENCRYPT_DIR}/live ${LETSENCRYPT_DIR}/archive'`,
  ].join(" ");
}

/**
 * Let's Encrypt for nginx (seeds 001 and 004): one certificate for every
 * route, issued before nginx starts (nginx waits for this container to be
 * healthy, i.e. for the certificate to exist), renewed twice a day.
 */
export function certbotServiceSpec(options: CertbotSpecOptions): ServiceSpec {
  const fullchain = `${LETSENCRYPT_DIR}/live/${options.certificateName}/fullchain.pem`;
  const script = [
    "set -eu",
    "umask 077",
    certbotIssueCommand(options),
    "trap 'exit 0' TERM",
    "while :; do sleep 43200 & wait $!; certbot renew --non-interactive; done",
  ].join("\n");
  return service({
    name: "certbot",
    description: `Let's Encrypt certificate for ${options.hostnames.length} names, DNS-01 through Cloudflare (${imageName(CERTBOT_IMAGE)})`,
    role: "ingress",
    image: CERTBOT_IMAGE,
    networks: options.networks,
    // The token is in the credentials file only, never on the certificates volume.
    secretFiles: [{ name: CLOUDFLARE_CREDENTIALS, content: { secretTemplate: `dns_cloudflare_api_token = {{${options.cloudflareTokenSecret}}}\n` }, uid: 0 }],
    binds: [{ hostPath: options.certificateHostPath, target: LETSENCRYPT_DIR, readOnly: false }],
    // The image's entrypoint is certbot itself, which would take `sh -c` as its arguments.
    entrypoint: ["sh", "-c"],
    command: [script],
    readOnlyRootFilesystem: true,
    tmpfs: ["/tmp", "/var/lib/letsencrypt", "/var/log/letsencrypt"],
    // certbot writes its account and certificates as root, then hands them to nginx's user.
    capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
    healthcheck: healthcheck(["CMD", "test", "-s", fullchain], 120),
    memoryMb: 64,
    pidsLimit: 64,
    waivers: [{ rule: "C9", reason: "certbot writes /etc/letsencrypt as root and chowns the result to nginx's user; the image has no unprivileged user" }],
    ...(options.placement ? { placement: options.placement } : {}),
  });
}
