import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { knownHostsLine, requireHostKey } from "./host-key";

/**
 * The pinned known_hosts file of a server, for ssh processes the program does
 * not start itself: the Docker provider runs `ssh` with the options it is
 * given, so the pin has to be a file on the deploying machine.
 *
 * Where: ~/.cache/infra/known_hosts/<host>-<port>, beside the tools cache
 * (~/.cache/infra-tools). The path is written with `~`, which ssh expands
 * from the account's passwd entry, as userInfo() reads it here; so the
 * provider's options are the same text on every machine, and the golden
 * graph does not change with the checkout's or the temp directory's path. A
 * path in the checkout would differ per clone; one under the shared /tmp could
 * be planted by another local user.
 *
 * When: the program writes it on every run (preview and up) from the pinned
 * key, before the Docker provider is configured, since the provider's options
 * resolve only once the file is written. `pulumi refresh` and `pulumi destroy`
 * run no program, so on a machine where the program has not run yet, run
 * `pulumi preview` first; without the file, ssh refuses the host (it never
 * falls back to trusting it).
 *
 * Named by host and port, not by stack: two stacks that reach the same
 * server pin the same key, and a rotated key rewrites the same file, so the
 * provider's options stay the same.
 */
export const KNOWN_HOSTS_DIRECTORY = "~/.cache/infra/known_hosts";

/** The file's path as ssh is given it. */
export function knownHostsPath(host: string, port: number): string {
  return `${KNOWN_HOSTS_DIRECTORY}/${hostFileName(host, port)}`;
}

/** The name of a server's files on the deploying machine: `<host>-<port>`, safe as a file name. */
export function hostFileName(host: string, port: number): string {
  return `${host.toLowerCase().replace(/[^a-z0-9.-]/g, "_")}-${port}`;
}

/**
 * Writes the file that pins `hostKey` for this host and port (atomically,
 * 0600 in a 0700 directory) under `home`; returns its path as ssh is given it.
 */
export function writeKnownHostsFile(host: string, port: number, hostKey: string, home = userInfo().homedir): string {
  const line = knownHostsLine(host, port, requireHostKey(hostKey, `the host key of ${host}`));
  const path = knownHostsPath(host, port);
  const file = join(home, path.slice(2));
  const dir = join(file, "..");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const next = `${file}.${process.pid}.new`;
  writeFileSync(next, line, { mode: 0o600 });
  renameSync(next, file);
  return path;
}
