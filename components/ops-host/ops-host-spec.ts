import { resticRepository, type BackupJob } from "../backup/job";
import { EXPORT_DIR, PULL_ACCOUNT, type PullJob } from "../backup/pull";
import type { BackupSettings } from "../backup/settings";
import type { HetznerServerConfig, ServerConfig } from "../compute/server-spec";
import { firewallRules, type Exposure, type FirewallRule } from "../network/firewall-rules";
import { cidrContainsCIDR } from "../network/ip-ranges";
import { vpnPlan, vpnProblems, WIREGUARD_PORT, type VpnPlan } from "../vpn/wireguard-spec";
import type { RuleGroup } from "../monitoring/alert-rules";
import { opsMonitoring, opsWatchRules, type OpsMonitoring, type OpsRoute } from "./ops-monitoring";

/**
 * Seed 002's second server ("Seko-VPN"): the hub of the admin VPN, the
 * uptime checks of the platform, and the pull of every server's backups, so
 * that the servers hold no key that can delete one. It runs no application
 * and publishes nothing but the VPN's port.
 */

/** The ops host's name in resource names, the plan and the VPN. */
export const OPS_HOST_NAME = "ops";

/** A hand-configured member of the VPN: an admin's laptop, or another stack's server (preprod's). */
export interface VpnPeerConfig {
  readonly name: string;
  readonly address: string;
  readonly publicKey: string;
}

/** `infra:opsHost`. */
export interface OpsHostConfig {
  readonly serverType: string;
  readonly location: string;
  readonly image: string;
  readonly sshUser: string;
  /** Public half of the admin key pair, as for the stack's Hetzner servers. */
  readonly sshPublicKey: string;
  /** The VPN range; one of infra:adminCidrs, so admin SSH is admitted from it. */
  readonly vpnRange: string;
  readonly vpnPort: number;
  readonly peers: readonly VpnPeerConfig[];
  /** The servers' backups are pulled by the ops host (true) or pushed by each server as before (false). */
  readonly pullBackups: boolean;
  /** When the pull starts, `HH:MM`, after the servers' dumps (seed 002: 02:55 dump, 03:00 pull). */
  readonly pullSchedule: string;
}

/** A server reached over SSH: where its admins come from besides the VPN (the break-glass path). */
export interface BreakGlass {
  readonly server: string;
  /** infra:adminCidrs outside the VPN range: SSH from there still works when the VPN or the ops host is down. */
  readonly sources: readonly string[];
}

export interface OpsHostPlan {
  readonly server: HetznerServerConfig;
  /** What it publishes: the VPN's UDP port, nothing else. */
  readonly exposed: readonly Exposure[];
  /** SSH from the admin networks, the VPN port from anywhere (members dial in from changing addresses), ICMP. */
  readonly firewall: readonly FirewallRule[];
  readonly vpn: VpnPlan;
  /** Where admin SSH and the admin UIs (through SSH tunnels) are reached from: the VPN range. */
  readonly adminRange: string;
  readonly breakGlass: readonly BreakGlass[];
  /** One pull per server with a backup job, when pullBackups is on. */
  readonly pulls: readonly PullJob[];
  readonly pullSchedule: string;
  /** The uptime checks and the push monitor of each pull, as the ops host's Prometheus runs them. */
  readonly monitoring: OpsMonitoring;
  /** The rules each server's own alerting adds about the ops host (the monitor of the monitor). */
  readonly watchRules: RuleGroup;
}

export interface OpsHostInput {
  readonly config: OpsHostConfig;
  readonly adminCidrs: readonly string[];
  readonly servers: readonly ServerConfig[];
  /** Each server's backup job, already in pull mode when pullBackups is on. */
  readonly backups: readonly BackupJob[];
  readonly backupSettings: BackupSettings;
  readonly storage: { readonly endpoint: string; readonly bucketPrefix: string };
  /** Whether the blueprint has the `shared` bucket the seed data goes to. */
  readonly sharedBucket: boolean;
  readonly environment: string;
  /** Every public route, by its full name, with whether it asks for a password. */
  readonly routes: readonly OpsRoute[];
  readonly rpoSeconds: number;
  readonly evaluationIntervalSeconds: number;
}

/** The ops host's plan; problems are thrown by the caller with their config paths (opsHostProblems). */
export function planOpsHost(input: OpsHostInput): OpsHostPlan {
  const { config } = input;
  const server: HetznerServerConfig = {
    provider: "hetzner",
    name: OPS_HOST_NAME,
    roles: [],
    sshUser: config.sshUser,
    serverType: config.serverType,
    location: config.location,
    image: config.image,
    sshPublicKey: config.sshPublicKey,
  };
  const exposed: Exposure[] = [{ port: config.vpnPort, protocol: "udp", service: "wireguard" }];
  const vpn = vpnPlan(
    config.vpnRange,
    input.servers.map((candidate) => candidate.name),
    config.peers,
    config.vpnPort,
  );
  const outside = input.adminCidrs.filter((cidr) => !cidrContainsCIDR(config.vpnRange, cidr));
  const endpoint = input.storage.endpoint.replace(/\/+$/, "");
  const pulls: PullJob[] = config.pullBackups
    ? input.backups.map((job) => ({
        server: job.server,
        address: vpn.members.find((member) => member.name === job.server)!.address,
        sshPort: sshPortOfServer(input.servers, job.server),
        account: PULL_ACCOUNT,
        settings: job.settings,
        repository: resticRepository(input.storage.endpoint, `${input.storage.bucketPrefix}-backups`, job.server),
        ...(input.sharedBucket ? { seedDataUrl: `${endpoint}/${input.storage.bucketPrefix}-shared/seed-data/${job.server}` } : {}),
      }))
    : [];
  const sshPorts = Object.fromEntries(input.servers.map((candidate) => [candidate.name, sshPortOfServer(input.servers, candidate.name)]));
  const monitoring = opsMonitoring({
    environment: input.environment,
    routes: input.routes,
    vpn,
    sshPorts,
    pulls,
    rpoSeconds: input.rpoSeconds,
    scrapeIntervalSeconds: 60,
  });
  return {
    monitoring,
    watchRules: opsWatchRules(pulls, input.rpoSeconds, input.evaluationIntervalSeconds),
    server,
    exposed,
    firewall: firewallRules(exposed, { adminCidrs: input.adminCidrs, behindCloudflare: false, sshPort: 22 }),
    vpn,
    adminRange: config.vpnRange,
    breakGlass: input.servers.map((candidate) => ({ server: candidate.name, sources: outside })),
    pulls,
    pullSchedule: config.pullSchedule,
  };
}

function sshPortOfServer(servers: readonly ServerConfig[], name: string): number {
  const server = servers.find((candidate) => candidate.name === name);
  return server?.provider === "existing" ? server.sshPort : 22;
}

/** What the ops host cannot do as configured, each with its config path. */
export function opsHostProblems(input: OpsHostInput): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const { config } = input;
  if (!input.adminCidrs.some((cidr) => cidr === config.vpnRange)) {
    problems.push({ path: "infra:opsHost.vpnRange", message: `${config.vpnRange} must also be one of infra:adminCidrs: admin SSH is reached through the VPN` });
  }
  if (input.adminCidrs.every((cidr) => cidrContainsCIDR(config.vpnRange, cidr))) {
    problems.push({
      path: "infra:adminCidrs",
      message: `every admin CIDR is inside the VPN range ${config.vpnRange}: list an admin address outside it as the break-glass path, or a VPN outage locks every admin out`,
    });
  }
  if (config.peers.some((peer) => peer.name === OPS_HOST_NAME)) {
    problems.push({ path: "infra:opsHost.peers", message: `"${OPS_HOST_NAME}" is the ops host's name; give the peer another` });
  }
  if (input.servers.some((server) => server.name === OPS_HOST_NAME)) {
    problems.push({ path: "infra:servers", message: `"${OPS_HOST_NAME}" is the ops host's name; give the server another` });
  }
  const plan = vpnPlan(
    config.vpnRange,
    input.servers.map((server) => server.name),
    config.peers,
    config.vpnPort,
  );
  for (const problem of vpnProblems(plan)) problems.push({ path: "infra:opsHost.peers", message: problem });
  if (config.pullBackups && config.pullSchedule <= input.backupSettings.schedule) {
    problems.push({
      path: "infra:opsHost.pullSchedule",
      message: `${config.pullSchedule} is not after the servers' dumps at ${input.backupSettings.schedule} (infra:backup.schedule): the pull would take yesterday's`,
    });
  }
  return problems;
}

/** The server's backup job in pull mode: dumps into the export, read-only to the ops host's account. */
export function inPullMode(job: BackupJob): BackupJob {
  return { ...job, export: { dir: EXPORT_DIR, group: PULL_ACCOUNT } };
}

export const OPS_HOST_DEFAULTS = { image: "ubuntu-24.04", vpnPort: WIREGUARD_PORT, pullBackups: true, pullSchedule: "03:00" } as const;
