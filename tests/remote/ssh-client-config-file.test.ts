import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { knownHostsPath } from "../../components/remote/known-hosts-file";
import { dockerProviderOptions } from "../../components/remote/ssh-arguments";
import { sshClientConfig, writePinnedSSHFiles } from "../../components/remote/ssh-client-config-file";
import { requireTool } from "../support/tools";

// The client config the program writes beside each server's pinned known_hosts
// file, which the deploy workflow's reach step hands to ssh (R5, H9). ssh
// itself reads it back (`ssh -G`), so what is checked is what ssh would do.

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL";
const home = mkdtempSync(join(tmpdir(), "ssh-client-config-"));

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** What ssh makes of `config` for any host name: its `ssh -G` settings. */
function resolved(config: string): Record<string, string> {
  const run = spawnSync(requireTool("ssh"), ["-F", config, "-G", "server"], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return Object.fromEntries(
    run.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]),
  );
}

describe("the Docker provider's ssh options", () => {
  test("stay what the provider was given before they came from named settings", () => {
    expect(dockerProviderOptions("~/.cache/infra/known_hosts/203.0.113.20-22")).toEqual([
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=~/.cache/infra/known_hosts/203.0.113.20-22",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "UpdateHostKeys=no",
      "-o",
      "ConnectTimeout=15",
    ]);
  });
});

describe("a server's client config", () => {
  test.each([
    { target: { host: "203.0.113.20", port: 22, user: "deploy" }, file: "203.0.113.20-22.conf" },
    { target: { host: "vps.Example.com", port: 2222, user: "admin" }, file: "vps.example.com-2222.conf" },
    { target: { host: "2001:db8::20", port: 22, user: "deploy" }, file: "2001_db8__20-22.conf" },
  ])("$target.user@$target.host:$target.port: ssh goes there as the provider would, pinned, never asking", ({ target, file }) => {
    const knownHosts = writePinnedSSHFiles(target, HOST_KEY, home);
    expect(knownHosts).toBe(knownHostsPath(target.host, target.port));
    const config = join(home, ".cache", "infra", "ssh", file);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, "..")).mode & 0o777).toBe(0o700);
    const absoluteKnownHosts = join(home, knownHosts.slice(2));
    expect(readFileSync(absoluteKnownHosts, "utf8")).toContain(HOST_KEY);
    expect(resolved(config)).toMatchObject({
      hostname: target.host.toLowerCase(),
      port: String(target.port),
      user: target.user,
      stricthostkeychecking: "true",
      userknownhostsfile: absoluteKnownHosts,
      globalknownhostsfile: "/dev/null",
      updatehostkeys: "false",
      connecttimeout: "15",
      batchmode: "yes",
    });
  });

  test("refuses a value ssh would split or read as a comment", () => {
    expect(() => sshClientConfig({ host: "203.0.113.20 -oProxyCommand=x", port: 22, user: "deploy" }, "/k")).toThrow(/HostName .* whitespace/);
    expect(() => sshClientConfig({ host: "203.0.113.20", port: 22, user: "deploy#x" }, "/k")).toThrow(/User .*#/);
    expect(() => sshClientConfig({ host: "203.0.113.20", port: 22, user: "deploy" }, "/my dir/k")).toThrow(/whitespace/);
  });
});
