import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { hostFileName, writeKnownHostsFile } from "./known-hosts-file";
import { dockerProviderSettings, type SSHTarget } from "./ssh-arguments";

/**
 * An OpenSSH client config per server, beside its pinned known_hosts file:
 * `ssh -F <file> server` goes where the Docker provider goes, the same way
 * (account, port, pinned host key, timeout, and the key from the SSH agent).
 * So a shell can check the way before `pulumi up` takes it: the deploy
 * workflow's "Reach every server" step runs it for each file here
 * (docs/delivery.md).
 *
 * Written with the known_hosts file, on every preview and up. One server per
 * file, so it applies to whatever name ssh is given; the known_hosts path in
 * it is absolute, since it is only read on the machine that wrote it.
 */
export const SSH_CLIENT_CONFIG_DIRECTORY = "~/.cache/infra/ssh";

/** The config that reaches `target` with the pinned host key in `knownHostsFile`, as ssh reads it. */
export function sshClientConfig(target: SSHTarget, knownHostsFile: string): string {
  const settings: [string, string][] = [
    ["HostName", target.host],
    ["Port", String(target.port)],
    ["User", target.user],
    ...dockerProviderSettings(knownHostsFile),
    // A check never waits for a password or a passphrase.
    ["BatchMode", "yes"],
  ];
  for (const [name, value] of settings) {
    if (value === "" || /[\s"'\\#]/.test(value)) throw new Error(`ssh config ${name} "${value}": empty, or contains whitespace, a quote, a backslash or #`);
  }
  return [
    `# How the infra program's Docker provider reaches ${target.user}@${target.host}:${target.port}; rewritten on every preview and up.`,
    "Host *",
    ...settings.map(([name, value]) => `  ${name} ${value}`),
    "",
  ].join("\n");
}

/**
 * Writes the config of `target` (atomically, 0600 in a 0700 directory) under
 * `home`, with `knownHostsFile` (the `~/` path writeKnownHostsFile returns)
 * resolved against the same home; returns the file's absolute path.
 */
export function writeSSHClientConfigFile(target: SSHTarget, knownHostsFile: string, home = userInfo().homedir): string {
  const knownHosts = knownHostsFile.startsWith("~/") ? join(home, knownHostsFile.slice(2)) : knownHostsFile;
  const text = sshClientConfig(target, knownHosts);
  const file = join(home, SSH_CLIENT_CONFIG_DIRECTORY.slice(2), `${hostFileName(target.host, target.port)}.conf`);
  const dir = join(file, "..");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const next = `${file}.${process.pid}.new`;
  writeFileSync(next, text, { mode: 0o600 });
  renameSync(next, file);
  return file;
}

/**
 * What the Server component writes for each server before the Docker provider
 * connects: the pinned known_hosts file, then the client config that uses it.
 * Returns the known_hosts path as ssh is given it (`~/...`), for the provider.
 */
export function writePinnedSSHFiles(target: SSHTarget, hostKey: string, home = userInfo().homedir): string {
  const knownHosts = writeKnownHostsFile(target.host, target.port, hostKey, home);
  writeSSHClientConfigFile(target, knownHosts, home);
  return knownHosts;
}
