// The OpenSSH command lines of the program: the SSH command provider's
// (./ssh-command.ts) and the options the Docker provider passes to its own ssh.
// Pulumi serializes the provider with every function it reaches, so this
// module has no imports.

/** Where a command runs: the host (an IP address or a DNS name), its SSH port and the account. */
export interface SSHTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/**
 * A host as a URL's authority takes it: an IPv6 address in brackets (RFC
 * 3986), anything else as it is. Unbracketed, `ssh://deploy@2001:db8::20:2222`
 * reads as host "2001:db8:" and port 20. ssh's own arguments take the host
 * bare, after `--` (sshArguments); in brackets there, ssh would look up the
 * name "[2001:db8::20]".
 */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The files one ssh call reads: the private key, the pinned known_hosts, and the shared connection's socket. */
export interface SSHFiles {
  readonly identity: string;
  readonly knownHosts: string;
  readonly controlPath: string;
}

/**
 * How long a shared connection stays open after its last command. A deploy
 * runs a server's commands within a few minutes of each other, mostly in
 * dependency order, so they reuse one connection; a minute later it is gone.
 */
export const CONTROL_PERSIST_SECONDS = 60;

/** ssh's first connection attempt gives up after this many seconds. */
export const CONNECT_TIMEOUT_SECONDS = 15;

/**
 * Settings that make ssh accept exactly the pinned host key and nothing else
 * (H9): no trust on first use, no key from ~/.ssh/known_hosts or the system
 * file, and ssh never rewrites the pinned file with keys the server offers.
 * As name and value pairs, so that command-line options and a client config
 * file say the same thing.
 */
export function pinnedHostKeySettings(knownHostsFile: string): [string, string][] {
  return [
    ["StrictHostKeyChecking", "yes"],
    ["UserKnownHostsFile", configPath(knownHostsFile)],
    ["GlobalKnownHostsFile", "/dev/null"],
    ["UpdateHostKeys", "no"],
  ];
}

/** pinnedHostKeySettings as ssh's `-o` options. */
export function pinnedHostKeyOptions(knownHostsFile: string): string[] {
  return asOptions(pinnedHostKeySettings(knownHostsFile));
}

/**
 * What the Docker provider's ssh is told: the pinned host key, and a first
 * connection that gives up like the program's own.
 */
export function dockerProviderSettings(knownHostsFile: string): [string, string][] {
  return [...pinnedHostKeySettings(knownHostsFile), ["ConnectTimeout", String(CONNECT_TIMEOUT_SECONDS)]];
}

/** dockerProviderSettings as ssh's `-o` options, the provider's `sshOpts`. */
export function dockerProviderOptions(knownHostsFile: string): string[] {
  return asOptions(dockerProviderSettings(knownHostsFile));
}

function asOptions(settings: [string, string][]): string[] {
  return settings.flatMap(([name, value]) => ["-o", `${name}=${value}`]);
}

/**
 * ssh's arguments to run `command` on the target with its stdin passed on.
 * No secret is ever among them: the key is a file, and secret material
 * reaches the command through stdin. The host comes after `--`, so it can
 * never be read as an option, and an IPv6 address needs no brackets there.
 */
export function sshArguments(target: SSHTarget, files: SSHFiles, command: string): string[] {
  return [
    // Neither ~/.ssh/config nor /etc/ssh/ssh_config can loosen what follows.
    "-F",
    "/dev/null",
    "-i",
    files.identity,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    ...pinnedHostKeyOptions(files.knownHosts),
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${configPath(files.controlPath)}`,
    "-o",
    `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
    "-o",
    `ConnectTimeout=${CONNECT_TIMEOUT_SECONDS}`,
    // A host that stops answering mid-script fails the command within a minute.
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=4",
    "-T",
    "-p",
    String(target.port),
    "-l",
    target.user,
    "--",
    target.host,
    command,
  ];
}

/** ssh's arguments to ask the shared connection at `controlPath` to `check` or `exit`. */
export function controlArguments(target: SSHTarget, controlPath: string, operation: "check" | "exit"): string[] {
  return ["-F", "/dev/null", "-o", `ControlPath=${configPath(controlPath)}`, "-O", operation, "-p", String(target.port), "-l", target.user, "--", target.host];
}

/**
 * A path as an ssh option value: ssh expands `%` tokens in these options, and
 * splits a value at whitespace into several files, so a path with either
 * would name another file.
 */
function configPath(path: string): string {
  if (/[\s"'\\]/.test(path)) throw new Error(`ssh cannot be given the path "${path}": it contains whitespace, a quote or a backslash`);
  return path.replace(/%/g, "%%");
}
