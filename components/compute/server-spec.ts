/** Servers as the stack configuration declares them. */

/** What a server hosts; each blueprint service declares one, servers list the ones they take. */
export const ROLES = ["ingress", "app", "data", "monitoring", "replica"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Roles a server takes when its entry lists none. `replica` is left out: a
 * read replica on the same machine as its primary protects nothing, so a
 * server takes it only when the config says so (seed 004, phase 5).
 */
export const DEFAULT_ROLES: readonly Role[] = ["ingress", "app", "data", "monitoring"];

export const SERVER_PROVIDERS = ["hetzner", "existing"] as const;
export type ServerProvider = (typeof SERVER_PROVIDERS)[number];

interface ServerCommon {
  /** Logical name, used in resource names and the container host's labels. */
  readonly name: string;
  /** Roles this server hosts; a single server usually takes them all. */
  readonly roles: readonly Role[];
  /** The account services and Docker are reached with over SSH. */
  readonly sshUser: string;
}

/** A server that the program provisions on Hetzner Cloud. */
export interface HetznerServerConfig extends ServerCommon {
  readonly provider: "hetzner";
  readonly serverType: string;
  readonly location: string;
  readonly image: string;
  /** Public half of the admin key pair; the private half is the secret `infra:sshPrivateKey`. */
  readonly sshPublicKey: string;
  /** Optional block volume for Docker's data, in GB. */
  readonly volumeGb?: number;
  /** Fixed address on `infra:privateNetwork`; other servers reach this one's services there. */
  readonly privateIp?: string;
}

/** A VPS that already exists at another provider (OVH, Vultr, ...) and is adopted by address. */
export interface ExistingServerConfig extends ServerCommon {
  readonly provider: "existing";
  readonly address: string;
  readonly sshPort: number;
  /**
   * The server's public SSH host key, "<type> <base64>": the only key the
   * program's SSH commands and the Docker provider accept from it (H9).
   */
  readonly hostKey: string;
  /** RAM of the machine; the budget cannot ask the provider for it. */
  readonly memoryMb: number;
  /** What the provider bills, for the cost estimate. */
  readonly monthlyCostEur: number;
}

export type ServerConfig = HetznerServerConfig | ExistingServerConfig;

/** sshd's port on a server the program provisions: Ubuntu's default, which the cloud image keeps. */
export const DEFAULT_SSH_PORT = 22;

/**
 * The port the server's sshd listens on: an existing host's configured
 * sshPort, 22 on a Hetzner server. Every firewall layer, the SSH commands
 * and the Docker provider read it here (H10).
 */
export function sshPortOf(server: ServerConfig): number {
  return server.provider === "existing" ? server.sshPort : DEFAULT_SSH_PORT;
}
