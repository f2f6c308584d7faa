import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sysctlConfig } from "../../components/compute/host-hardening";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { modelOf } from "../policy/models";
import type { StackConfig } from "../../infra/config/schema";
import { requireTool } from "../support/tools";
import { applyUfw, copyUfwConfig, dockerPublishRules, inNamespace, ip, listen, loadSysctl, probe, run, stop } from "./netns";

/**
 * F5, live: the UFW script the program renders for prod is applied with the
 * real ufw inside a network namespace that stands in for the server, next
 * to the iptables rules Docker installs for published ports, and probed from
 * a second namespace with several source addresses. A third namespace plays
 * a container behind a published port. Every address lives on veths between
 * these namespaces; nothing is routed anywhere else.
 */
const id = `${process.pid}`.slice(-6);
const HOST = `infra-fw-host-${id}`;
const OUTSIDE = `infra-fw-out-${id}`;
const CONTAINER = `infra-fw-ctr-${id}`;

// prod's documented addresses (TEST-NET-3 for the server, TEST-NET-2 for the office).
const SERVER = "203.0.113.20";
const ADMIN = "198.51.100.7";
const VPN = "100.64.1.5";
const CLOUDFLARE_EDGE = "173.245.48.10";
const STRANGER = "192.0.2.50";
const SOURCES = [ADMIN, VPN, CLOUDFLARE_EDGE, STRANGER];
const CONTAINER_ADDRESS = "172.20.1.2";
/** The container-side veth is named like a Docker user-defined bridge, as DOCKER-USER expects. */
const BRIDGE = "br-infra0";

/** Ports the platform's services listen on directly on the host: SSH, app, data, monitoring and the Docker API. */
const HOST_PORTS = [22, 2222, 2375, 3000, 3100, 4000, 5678, 6333, 8080, 8428, 9090, 9093, 9100, 12345];
/** Ports Docker publishes to the container: Caddy's, plus a database and a cache published by mistake. */
const PUBLISHED_PORTS = [80, 443, 5432, 6379];
const ALL_PORTS = [...HOST_PORTS, ...PUBLISHED_PORTS].sort((a, b) => a - b);

const timings: Record<string, number> = {};
const listeners: ChildProcess[] = [];
let ufwDir = "";

function timed<T>(label: string, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    timings[label] = Math.round(performance.now() - started);
  }
}

/** Runs a UFW script with the real ufw in the host namespace. */
function applyUfwOnHost(script: string): void {
  applyUfw(HOST, ufwDir, script);
}

/** The host namespace's filter and nat tables without counters or comments, for comparing runs. */
function ruleset(): string {
  return inNamespace(HOST, requireTool("iptables-save"), [])
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .map((line) => line.replace(/\[\d+:\d+\]/, ""))
    .join("\n");
}

beforeAll(async () => {
  const started = performance.now();
  for (const ns of [HOST, OUTSIDE, CONTAINER]) ip("netns", "add", ns);
  ip("-n", HOST, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE);
  ip("-n", HOST, "link", "add", BRIDGE, "type", "veth", "peer", "name", "eth0", "netns", CONTAINER);
  for (const ns of [HOST, OUTSIDE, CONTAINER]) {
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "link", "set", "eth0", "up");
  }
  ip("-n", HOST, "addr", "add", `${SERVER}/32`, "dev", "eth0");
  // The outside namespace is the only neighbour: every reply goes back to it.
  ip("-n", HOST, "route", "add", "default", "dev", "eth0");
  ip("-n", HOST, "addr", "add", "172.20.1.1/24", "dev", BRIDGE);
  ip("-n", HOST, "link", "set", BRIDGE, "up");
  for (const source of SOURCES) ip("-n", OUTSIDE, "addr", "add", `${source}/32`, "dev", "eth0");
  ip("-n", OUTSIDE, "route", "add", `${SERVER}/32`, "dev", "eth0");
  ip("-n", CONTAINER, "addr", "add", `${CONTAINER_ADDRESS}/24`, "dev", "eth0");
  ip("-n", CONTAINER, "route", "add", "default", "via", "172.20.1.1");

  // H4: the host's own sysctl file turns forwarding on, which published ports need.
  ufwDir = copyUfwConfig();
  loadSysctl(HOST, ufwDir, sysctlConfig());
  expect(inNamespace(HOST, requireTool("sysctl"), ["-n", "net.ipv4.ip_forward"]).trim()).toBe("1");

  inNamespace(
    HOST,
    requireTool("iptables-restore"),
    ["--noflush"],
    dockerPublishRules({ bridge: BRIDGE, containerAddress: CONTAINER_ADDRESS, ports: PUBLISHED_PORTS }),
  );

  listeners.push(await listen(HOST, HOST_PORTS), await listen(CONTAINER, PUBLISHED_PORTS));
  timings["namespaces, listeners and Docker's rules"] = Math.round(performance.now() - started);
}, 60_000);

afterAll(async () => {
  for (const listener of listeners) await stop(listener);
  for (const ns of [HOST, OUTSIDE, CONTAINER]) {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone
    }
  }
  if (ufwDir) rmSync(ufwDir, { recursive: true, force: true });
  const left = ip("netns", "list");
  expect(left).not.toContain(id);
  console.log(`firewall probe timings (ms): ${JSON.stringify(timings)}`);
});

describe("the host firewall, live in network namespaces (F5, H6)", () => {
  const prodRules = modelOf("prod").hosts[0]!.firewall;
  const admins = modelOf("prod").config.adminCidrs;

  it("without a firewall every port answers, published ones through Docker's DNAT", () => {
    const open = timed("probe without firewall", () => probe(OUTSIDE, SERVER, SOURCES, ALL_PORTS));
    for (const source of SOURCES) expect(open[source], source).toEqual(ALL_PORTS);
  });

  it("UFW alone does not stop published ports: Docker's DNAT bypasses its INPUT rules", () => {
    const withoutDockerUser = ufwScript(firewallRules([], { adminCidrs: admins, behindCloudflare: true, sshPort: 22 })).replace(
      /cat >> \/etc\/ufw\/after6?\.rules <<'DOCKER_USER'\n[\s\S]*?\nDOCKER_USER\n/g,
      "",
    );
    expect(withoutDockerUser).not.toContain("DOCKER-USER");
    timed("apply UFW without DOCKER-USER", () => applyUfwOnHost(withoutDockerUser));
    const open = probe(OUTSIDE, SERVER, [STRANGER, ADMIN], ALL_PORTS);
    expect(open[STRANGER]).toEqual(PUBLISHED_PORTS);
    expect(open[ADMIN]).toEqual([22, ...PUBLISHED_PORTS]);
  }, 120_000);

  it("with prod's rendered firewall only SSH from admins and 80/443 from Cloudflare answer", () => {
    timed("apply prod firewall", () => applyUfwOnHost(ufwScript(prodRules)));
    const open = timed("probe prod firewall", () => probe(OUTSIDE, SERVER, SOURCES, ALL_PORTS));
    expect(open).toEqual({
      [ADMIN]: [22],
      [VPN]: [22],
      [CLOUDFLARE_EDGE]: [80, 443],
      [STRANGER]: [],
    });
  }, 120_000);

  it("re-running the script converges on the same ruleset, with Docker's jump to DOCKER-USER intact", () => {
    const before = ruleset();
    timed("re-apply prod firewall", () => applyUfwOnHost(ufwScript(prodRules)));
    expect(ruleset()).toBe(before);
    expect(before).toContain("-A FORWARD -j DOCKER-USER");
    expect(before.match(/^-A DOCKER-USER -j DROP$/gm)).toHaveLength(1);
    expect(probe(OUTSIDE, SERVER, [STRANGER, CLOUDFLARE_EDGE], PUBLISHED_PORTS)).toEqual({ [STRANGER]: [], [CLOUDFLARE_EDGE]: [80, 443] });
  }, 120_000);

  /** prod with its existing server's sshd on `port` (infra:servers[].sshPort). */
  const sshOnPort =
    (port: number) =>
    (config: StackConfig): StackConfig => ({
      ...config,
      servers: config.servers.map((server) => (server.provider === "existing" ? { ...server, sshPort: port } : server)),
    });

  it("H10: on a host whose sshd listens on 2222, the admins reach 2222 and nobody reaches 22", () => {
    const rules = modelOf("prod", { config: sshOnPort(2222) }).hosts[0]!.firewall;
    timed("apply the sshPort 2222 firewall", () => applyUfwOnHost(ufwScript(rules)));
    const open = timed("probe the sshPort 2222 firewall", () => probe(OUTSIDE, SERVER, SOURCES, ALL_PORTS));
    expect(open).toEqual({
      [ADMIN]: [2222],
      [VPN]: [2222],
      [CLOUDFLARE_EDGE]: [80, 443],
      [STRANGER]: [],
    });
  }, 120_000);

  it("H10: a firewall for an SSH port nothing listens on is refused before UFW is reset, and the rules in force stay", () => {
    const before = ruleset();
    const rules = modelOf("prod", { config: sshOnPort(2200) }).hosts[0]!.firewall;
    expect(() => applyUfwOnHost(ufwScript(rules))).toThrow(/nothing listens on TCP port 2200/);
    expect(ruleset()).toBe(before);
    expect(probe(OUTSIDE, SERVER, [ADMIN], [22, 2200, 2222])).toEqual({ [ADMIN]: [2222] });
  }, 120_000);

  it("the probe did not leave its namespaces: the root namespace has none of their addresses", () => {
    const root = run(requireTool("ip"), ["-o", "addr", "show"]);
    for (const address of [SERVER, ...SOURCES, CONTAINER_ADDRESS]) expect(root).not.toContain(`${address}/`);
  });
});
