import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sysctlConfig } from "../../components/compute/host-hardening";
import { ufwScript } from "../../components/network/firewall-rules";
import { galionPhaseValues, modelWith } from "../support/galion-phases";
import { requireTool } from "../support/tools";
import { applyUfw, copyUfwConfig, dockerPublishRules, inNamespace, ip, listen, loadSysctl, probe, run, stop } from "./netns";

/**
 * Seed 004's data server in phase 3, live: its rendered UFW script runs with
 * the real ufw in a namespace that stands in for the server. One veth is its
 * public interface, one its Hetzner private interface towards the app
 * server, and one a Docker bridge to a container that listens on every port
 * the data tier publishes on the private address (PgBouncer, PostgreSQL,
 * Redis, Loki, the exporters). Docker's own DNAT rules for those published
 * ports are installed as Docker writes them. Nothing leaves these namespaces.
 */
const id = `${process.pid}`.slice(-6);
const DATA = `infra-pn-data-${id}`;
const APP = `infra-pn-app-${id}`;
const OUTSIDE = `infra-pn-out-${id}`;
const CONTAINER = `infra-pn-ctr-${id}`;

const PUBLIC_ADDRESS = "203.0.113.20";
const STRANGER = "192.0.2.50";
const CONTAINER_ADDRESS = "172.20.2.2";
const BRIDGE = "br-infra1";
/** A private address outside the network's range, on the app server's side. */
const FOREIGN_PRIVATE = "172.31.0.9";

const dataServer = modelWith(galionPhaseValues(3)).hosts.find((host) => host.server.name === "main")!;
const appServer = modelWith(galionPhaseValues(3)).hosts.find((host) => host.server.name === "app-1")!;
const peers = dataServer.peerAccess!;
const PRIVATE_ADDRESS = peers.address;
const APP_ADDRESS = appServer.server.provider === "hetzner" ? appServer.server.privateIp! : "";
const PEER_PORTS = peers.ports.map((port) => port.port).sort((a, b) => a - b);

const listeners: ChildProcess[] = [];
let ufwDir = "";

beforeAll(async () => {
  for (const ns of [DATA, APP, OUTSIDE, CONTAINER]) ip("netns", "add", ns);
  ip("-n", DATA, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE);
  ip("-n", DATA, "link", "add", "ens10", "type", "veth", "peer", "name", "ens10", "netns", APP);
  ip("-n", DATA, "link", "add", BRIDGE, "type", "veth", "peer", "name", "eth0", "netns", CONTAINER);
  for (const [ns, links] of [
    [DATA, ["lo", "eth0", "ens10", BRIDGE]],
    [APP, ["lo", "ens10"]],
    [OUTSIDE, ["lo", "eth0"]],
    [CONTAINER, ["lo", "eth0"]],
  ] as const) {
    for (const link of links) ip("-n", ns, "link", "set", link, "up");
  }
  ip("-n", DATA, "addr", "add", `${PUBLIC_ADDRESS}/32`, "dev", "eth0");
  ip("-n", DATA, "route", "add", "default", "dev", "eth0");
  ip("-n", DATA, "addr", "add", `${PRIVATE_ADDRESS}/24`, "dev", "ens10");
  ip("-n", DATA, "route", "add", `${FOREIGN_PRIVATE}/32`, "dev", "ens10");
  ip("-n", DATA, "addr", "add", "172.20.2.1/24", "dev", BRIDGE);
  ip("-n", APP, "addr", "add", `${APP_ADDRESS}/24`, "dev", "ens10");
  ip("-n", APP, "addr", "add", `${FOREIGN_PRIVATE}/32`, "dev", "ens10");
  ip("-n", APP, "route", "add", `${PRIVATE_ADDRESS}/32`, "dev", "ens10", "src", APP_ADDRESS, "metric", "10");
  // A stranger on the internet who sends packets for the private address to the public interface.
  ip("-n", OUTSIDE, "addr", "add", `${STRANGER}/32`, "dev", "eth0");
  ip("-n", OUTSIDE, "route", "add", `${PUBLIC_ADDRESS}/32`, "dev", "eth0");
  ip("-n", OUTSIDE, "route", "add", `${PRIVATE_ADDRESS}/32`, "dev", "eth0");
  ip("-n", CONTAINER, "addr", "add", `${CONTAINER_ADDRESS}/24`, "dev", "eth0");
  ip("-n", CONTAINER, "route", "add", "default", "via", "172.20.2.1");

  ufwDir = copyUfwConfig();
  loadSysctl(DATA, ufwDir, sysctlConfig());
  inNamespace(
    DATA,
    requireTool("iptables-restore"),
    ["--noflush"],
    dockerPublishRules({ bridge: BRIDGE, containerAddress: CONTAINER_ADDRESS, ports: PEER_PORTS, hostAddress: PRIVATE_ADDRESS }),
  );
  // sshd stands in on 22: the UFW script stops before touching UFW when nothing listens on the SSH port (H10).
  listeners.push(await listen(CONTAINER, PEER_PORTS), await listen(DATA, [22]));
}, 60_000);

afterAll(async () => {
  for (const listener of listeners) await stop(listener);
  for (const ns of [DATA, APP, OUTSIDE, CONTAINER]) {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone
    }
  }
  if (ufwDir) rmSync(ufwDir, { recursive: true, force: true });
  expect(ip("netns", "list")).not.toContain(id);
});

describe("the data server's firewall on the private network, live (seed 004 phase 3, H6, F5)", () => {
  it("publishes the data tier for peers on the private address: PgBouncer, PostgreSQL, Redis, Loki and the agents", () => {
    expect(peers.sourceCidr).toBe("10.0.0.0/16");
    expect(peers.ports.map((port) => `${port.service}:${port.port}`)).toEqual(
      expect.arrayContaining(["pgbouncer:6432", "postgres:5432", "redis:6379", "loki:3100", "node-exporter:9100"]),
    );
  });

  it("without the peer rules, the DOCKER-USER chain drops the app server's connections to the data tier", () => {
    applyUfw(DATA, ufwDir, ufwScript(dataServer.firewall));
    expect(probe(APP, PRIVATE_ADDRESS, [APP_ADDRESS], PEER_PORTS)).toEqual({ [APP_ADDRESS]: [] });
  }, 120_000);

  it("with the rendered script, the app server reaches exactly the ports published for peers", () => {
    applyUfw(DATA, ufwDir, ufwScript(dataServer.firewall, peers));
    expect(probe(APP, PRIVATE_ADDRESS, [APP_ADDRESS], PEER_PORTS)).toEqual({ [APP_ADDRESS]: PEER_PORTS });
  }, 120_000);

  it("admits no source outside the private network's range, not even on the private interface", () => {
    expect(probe(APP, PRIVATE_ADDRESS, [FOREIGN_PRIVATE], PEER_PORTS)).toEqual({ [FOREIGN_PRIVATE]: [] });
  });

  it("a stranger who routes to the private address through the public interface gets nothing", () => {
    expect(probe(OUTSIDE, PRIVATE_ADDRESS, [STRANGER], PEER_PORTS)).toEqual({ [STRANGER]: [] });
  });

  it("left nothing in the root namespace", () => {
    const root = run(requireTool("ip"), ["-o", "addr", "show"]);
    for (const address of [PUBLIC_ADDRESS, PRIVATE_ADDRESS, APP_ADDRESS, CONTAINER_ADDRESS, FOREIGN_PRIVATE]) expect(root).not.toContain(`${address}/`);
  });
});
