/**
 * The checklist rules the policy enforces (docs: shared security checklist),
 * each with the fix a violation message offers. IDs are the checklist's, so a
 * failed run names the same rule a reviewer would. The E rules (exposure)
 * are the project's own: the checklist has no rule for what a public route
 * lets anyone do once it reaches a service.
 */
export interface PolicyRule {
  readonly id: string;
  readonly statement: string;
  readonly fix: string;
  /**
   * Container rules can be waived next to the service, with a reason; the
   * others cannot, nor can C1 and C2, and some findings of waivable rules
   * are never waived either (NEVER_WAIVED in waivers.ts).
   */
  readonly waivable: boolean;
}

const container = (id: string, statement: string, fix: string): PolicyRule => ({ id, statement, fix, waivable: true });
const neverWaived = (id: string, statement: string, fix: string): PolicyRule => ({ id, statement, fix, waivable: false });
const platform = (id: string, statement: string, fix: string): PolicyRule => ({ id, statement, fix, waivable: false });

export const POLICY_RULES: readonly PolicyRule[] = [
  neverWaived("C1", "not privileged", "remove `privileged`; add back the one capability the service needs instead"),
  neverWaived(
    "C2",
    "no host network, pid, ipc, user or cgroup namespace",
    "attach the service to the blueprint's Docker networks and drop network_mode/pid_mode/ipc_mode/userns_mode/cgroupns_mode host",
  ),
  container(
    "C3",
    "no runtime socket read-write, and none but the Docker socket; no sensitive host directory",
    "mount a named volume instead; a service that reads the Docker API declares dockerAPI (C14)",
  ),
  container("C4", "no-new-privileges:true", "set security_opts no-new-privileges:true (container-settings.ts does it for every Service)"),
  container(
    "C5",
    "capabilities dropped (ALL), only needed ones added back",
    "drop ALL and add back only reviewed capabilities, or waive C5 next to the service with the reason",
  ),
  container(
    "C6",
    "read-only root filesystem where the image allows it",
    "set readOnlyRootFilesystem with tmpfs for scratch paths, or waive C6 next to the service with the reason",
  ),
  container("C7", "memory limit and pids limit set", "set memoryMb and pidsLimit on the service"),
  container("C8", "healthcheck defined", "give the service a healthcheck that tests it is serving"),
  container(
    "C9",
    "runs as a non-root user where the image supports it",
    "set `user` to the image's unprivileged user, or waive C9 next to the service with the reason",
  ),
  container("C10", "image pinned to a version tag, digest where given", "pin a version tag such as 1.2.3 (never latest); a digest must be sha256:<64 hex>"),
  container(
    "C11",
    "published ports bind to loopback or a private address, except the ingress's 80/443; a public route reaches an admin UI without a login only behind basic auth",
    "drop the publish (services talk over Docker networks) or bind it to 127.0.0.1; give an admin UI's route basicAuth (RouteSpec) or no route (adminAccess: tunnel)",
  ),
  container("C12", "json-file logs rotate (max-size and max-file)", "use the json-file driver with max-size and max-file (LOG_OPTIONS)"),
  container("C13", "restart policy unless-stopped or on-failure:N", "set restart to unless-stopped, or on-failure with a retry count"),
  neverWaived(
    "C14",
    "only the socket proxy mounts docker.sock (read-only, never published, on networks only its consumers join); no other container reaches a runtime socket through any bind, since a read-only bind still grants the whole API",
    "declare the read endpoints the service calls (dockerAPI) and point it at DOCKER_API_URL, the socket proxy; hide a socket under a bound directory with a tmpfs, or bind a narrower path",
  ),
  container(
    "C15",
    "secrets reach containers as files readable by the service, not environment variables, where the image supports it",
    "deliver the secret as a file (ServiceSpec.secretFiles, with the image's *_FILE variable or a path in its command), or waive C15 next to the service with the reason its image reads the value from its environment only",
  ),
  container(
    "C16",
    "no field weakens isolation: seccomp, AppArmor, SELinux and masked system paths stay on; no host devices, GPUs or device cgroup rules; a reviewed runtime; namespaced sysctls only",
    "remove the field (security_opts unconfined, devices, gpus, device_cgroup_rules, runtime, a host-wide sysctl), or waive C16 next to the service with the reason where it may be waived",
  ),
  platform(
    "F1",
    "SSH only from the configured admin CIDRs, judged by what the sources cover once parsed (any spelling, summed over the list, IPv4-mapped IPv6 counted as IPv4): at most a /8 of IPv4 and a /32 of IPv6 together (SSH_SOURCE_LIMIT), and every source readable one way only",
    "list admin addresses or a VPN range in infra:adminCidrs, each written plainly (203.0.113.10/32, 2001:db8::/48)",
  ),
  platform(
    "F2",
    "no inbound rule for database, cache, vector DB, monitoring or Docker API ports",
    "remove the exposure; reach the service over a Docker network or an SSH tunnel",
  ),
  platform(
    "F3",
    "with Cloudflare proxying, 80/443 admit only what Cloudflare's ranges cover: on each server's firewall, and through a load balancer, which filters nothing, by the PROXY protocol and an ingress that admits only Cloudflare's edge through it",
    "keep infra:dns.proxied and the web sources to components/network/cloudflare-ranges.ts; behind infra:loadBalancer, keep proxyprotocol on its services and nginx's loadBalancer option (BalancerInFront)",
  ),
  platform(
    "F4",
    "every server has a firewall; unless the stack is declared disposable, its servers have delete and rebuild protection and its volumes and buckets are protected",
    "attach the firewall at creation and leave infra:protect at its default (true); only a stack whose data may be lost sets infra:disposable: true",
  ),
  neverWaived(
    "E1",
    "a public route to a service whose owner account goes to its first visitor (n8n's owner setup) keeps the setup behind the ingress's password",
    "give the route basicAuth (a RouteSpec credential of its own), with only the paths callers need, such as /webhook/, in publicPaths; or set the owner up before the route exists",
  ),
  neverWaived(
    "E2",
    "no metrics endpoint is served by a public route, in any spelling (case, trailing slash, encoded or doubled slashes, a path below)",
    "keep the path in the proxy's blocked paths (PROXY_BLOCKED_PATHS, or the route's blockedPaths) so the proxy answers it itself; the monitoring stack scrapes over the Docker networks",
  ),
  neverWaived(
    "E3",
    "a public route reaches a data API (PostgREST) only through a key check: the gateway in front checks a key on every route to it, or the API refuses requests without a token signed with a secret",
    "add key-auth to the gateway's routes to the API (Supabase's Kong), or drop the API's anonymous role; keep PGRST_JWT_SECRET a Pulumi secret",
  ),
  neverWaived(
    "E4",
    "a data API connects as, and serves anonymous requests as, roles that are no superusers and can become none, created by the database's init scripts",
    "connect as an authenticator role (LOGIN NOINHERIT NOSUPERUSER) and serve anonymous requests as a NOLOGIN role, both created by an init script of the database, granted only non-superuser roles",
  ),
  platform("CF1", "zone SSL mode strict", "set the zone's ssl setting to strict"),
  platform("CF2", "minimum TLS 1.2 and always use HTTPS", "set min_tls_version 1.2 (or higher) and always_use_https on"),
  platform("CF3", "HSTS on for prod: max-age >= 31536000, includeSubDomains, nosniff", "set infra:dns.hsts: true for prod"),
  platform("CF4", "web records proxied; an unproxied record needs a reason", "set infra:dns.proxied: true"),
  platform("S1", "bucket ACL private; no policy grants *", "manage the bucket with components/storage/bucket.ts, which keeps it private"),
  platform("S2", "versioning on", "manage the bucket with components/storage/bucket.ts, which turns versioning on"),
  platform(
    "S3",
    "noncurrent versions expire no sooner than the retention window",
    "raise infra:storage.noncurrentVersionExpiryDays to at least the retention window",
  ),
  platform(
    "S4",
    "client-side encryption: the restic key is a Pulumi secret",
    "declare the restic key as a blueprint secret and set it with pulumi config set --secret",
  ),
  platform("H1", "PermitRootLogin no or prohibit-password", "keep components/compute/host-hardening.ts's sshd drop-in on every host"),
  platform(
    "H2",
    "password, empty-password and keyboard-interactive logins off; public keys on",
    "keep components/compute/host-hardening.ts's sshd drop-in on every host",
  ),
  platform("H3", "MaxAuthTries <= 3; no agent, TCP or X11 forwarding", "keep components/compute/host-hardening.ts's sshd drop-in on every host"),
  platform("H4", "ip_forward stays on for Docker, on purpose", "keep net.ipv4.ip_forward = 1 in the host's sysctl file"),
  platform("H5", "daemon.json: log rotation, live-restore, no-new-privileges, userland-proxy false", "install dockerDaemonConfig() as /etc/docker/daemon.json"),
  platform(
    "H6",
    "host firewall denies by default, SSH restricted, DOCKER-USER filters published ports",
    "apply ufwScript(firewallRules(...)) on the host, or attach a cloud firewall in front of it",
  ),
  platform("H7", "fail2ban sshd jail enabled", "install the fail2ban jail of components/compute/host-hardening.ts"),
  platform("H8", "unattended-upgrades enabled", 'install unattended-upgrades and 20auto-upgrades with Unattended-Upgrade "1"'),
  platform(
    "H10",
    "every firewall layer (cloud firewall, UFW, fail2ban, the sshd drop-in) uses the server's real SSH port, and still admits the admins there",
    "set infra:servers[].sshPort to the port sshd listens on: firewallRules admits the admins there, the UFW script stops when nothing listens on it, and the fail2ban jail bans on every port",
  ),
  platform(
    "H9",
    "SSH host keys are pinned before the first connection; no trust on first use (StrictHostKeyChecking=yes)",
    "run host commands with components/remote/ssh-command.ts and the server's host key, and give the Docker provider pinnedHostKeyOptions() with the known_hosts file the Server component writes",
  ),
];

export function ruleNamed(id: string): PolicyRule | undefined {
  return POLICY_RULES.find((rule) => rule.id === id);
}
