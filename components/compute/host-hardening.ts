/**
 * The host baseline as data: every file a platform host gets besides Docker's
 * own settings, with the service that must pick up a change. host-setup.ts
 * renders the same list into cloud-init user-data (Hetzner) and into the
 * preparation script run over SSH (existing hosts), so both kinds of host end
 * up with identical files. The policy (infra/policy) reads them back out of
 * the rendered artifacts and checks them against H1-H8.
 */

/** What has to happen on the host after a file changed, so the change takes effect. */
export type HostFileEffect = "restart-docker" | "reload-ssh" | "restart-fail2ban" | "apply-sysctl" | "none";

export interface HostFile {
  readonly path: string;
  /** Octal mode, as install(1) and cloud-init take it. */
  readonly mode: string;
  readonly content: string;
  readonly effect: HostFileEffect;
}

export interface HardeningOptions {
  /** The admin account; decides whether root may still log in with a key (H1). */
  readonly sshUser: string;
}

/** Debian packages the baseline needs; python3-systemd lets fail2ban read sshd's journal. */
export const HARDENING_PACKAGES = ["fail2ban", "python3-systemd", "unattended-upgrades", "ufw"] as const;

// "10-" sorts before cloud-init's 50-cloud-init.conf. sshd keeps the first
// value it reads for a keyword, and Ubuntu includes sshd_config.d/*.conf at the
// top of sshd_config, so these settings win over both of those files.
export const SSHD_DROP_IN_PATH = "/etc/ssh/sshd_config.d/10-infra-hardening.conf";
export const FAIL2BAN_JAIL_PATH = "/etc/fail2ban/jail.d/10-infra-sshd.local";
export const AUTO_UPGRADES_PATH = "/etc/apt/apt.conf.d/20auto-upgrades";
export const SYSCTL_PATH = "/etc/sysctl.d/60-infra.conf";

/**
 * sshd settings: keys only, few tries, no forwarding (H1-H3, dev-sec
 * ssh-baseline). No `Port`: sshd keeps the port the host's own sshd_config
 * gives (infra:servers[].sshPort says which), since Port lines add up rather
 * than override, and moving sshd over the connection it serves would cut it.
 */
export function sshdDropIn(options: HardeningOptions): string {
  return [
    "# Managed by infra: key-only SSH with no forwarding (checklist H1-H3).",
    // An admin account that is root itself still needs its key to work.
    `PermitRootLogin ${options.sshUser === "root" ? "prohibit-password" : "no"}`,
    "PubkeyAuthentication yes",
    "AuthenticationMethods publickey",
    "PasswordAuthentication no",
    "PermitEmptyPasswords no",
    "KbdInteractiveAuthentication no",
    "MaxAuthTries 3",
    "LoginGraceTime 30",
    // The Docker provider and remote commands use plain exec sessions
    // (`docker system dial-stdio`), so no kind of forwarding is needed.
    "AllowAgentForwarding no",
    "AllowTcpForwarding no",
    "AllowStreamLocalForwarding no",
    "X11Forwarding no",
    "PermitTunnel no",
    "ClientAliveInterval 300",
    "ClientAliveCountMax 2",
    "",
  ].join("\n");
}

/** fail2ban's sshd jail (H7, seed 004). */
export function fail2banJail(): string {
  return [
    "# Managed by infra: ban addresses that keep failing SSH logins (checklist H7).",
    "[sshd]",
    "enabled = true",
    // Ubuntu 24.04 logs sshd to the journal only unless rsyslog is added.
    "backend = systemd",
    // Every port, so the ban holds whatever port sshd listens on.
    "port = 0:65535",
    "maxretry = 5",
    "findtime = 10m",
    "bantime = 1h",
    "",
  ].join("\n");
}

/** Daily package lists and security upgrades (H8). */
export function autoUpgradesConfig(): string {
  return ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::AutocleanInterval "7";', ""].join("\n");
}

/** Kernel settings the baseline changes (H4). */
export function sysctlConfig(): string {
  return [
    "# Managed by infra (checklist H4).",
    // dev-sec's linux-baseline turns forwarding off; Docker routes every
    // published port and every container's egress through it, so it stays on
    // on purpose (dev-sec/linux-baseline#213). DOCKER-USER filters what is
    // forwarded instead (H6).
    "net.ipv4.ip_forward = 1",
    "net.ipv4.conf.all.accept_redirects = 0",
    "net.ipv4.conf.default.accept_redirects = 0",
    "net.ipv4.conf.all.send_redirects = 0",
    "net.ipv4.conf.all.accept_source_route = 0",
    "net.ipv4.conf.all.log_martians = 1",
    "net.ipv4.tcp_syncookies = 1",
    "net.ipv6.conf.all.accept_redirects = 0",
    "",
  ].join("\n");
}

/** Every baseline file, in the order they are written. */
export function hardeningFiles(options: HardeningOptions): HostFile[] {
  return [
    { path: SSHD_DROP_IN_PATH, mode: "0644", content: sshdDropIn(options), effect: "reload-ssh" },
    { path: FAIL2BAN_JAIL_PATH, mode: "0644", content: fail2banJail(), effect: "restart-fail2ban" },
    { path: AUTO_UPGRADES_PATH, mode: "0644", content: autoUpgradesConfig(), effect: "none" },
    { path: SYSCTL_PATH, mode: "0644", content: sysctlConfig(), effect: "apply-sysctl" },
  ];
}
