import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "../support/tools";

/**
 * Network namespaces made by a test and nothing else: every address used
 * lives on a veth inside them, so no packet leaves this machine's namespaces.
 */
export function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input, timeout: 120_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

export function ip(...args: string[]): string {
  return run(requireTool("ip"), args);
}

/** Runs `command` inside namespace `ns`. */
export function inNamespace(ns: string, command: string, args: readonly string[], input?: string): string {
  return run(requireTool("ip"), ["netns", "exec", ns, command, ...args], input);
}

const LISTENER = `
const net = require("node:net");
const ports = JSON.parse(process.argv[1]);
let ready = 0;
for (const port of ports) {
  net.createServer((socket) => socket.end("open\\n")).listen(port, "0.0.0.0", () => {
    if (++ready === ports.length) process.stdout.write("listening\\n");
  });
}
`;

/** TCP listeners on `ports` inside `ns` (a long-running node process); resolves once all listen. */
export async function listen(ns: string, ports: readonly number[]): Promise<ChildProcess> {
  const child = spawn(requireTool("ip"), ["netns", "exec", ns, process.execPath, "-e", LISTENER, JSON.stringify(ports)], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`listeners in ${ns} not ready: ${output}`)), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`listeners in ${ns} exited ${code}: ${output}`)));
  });
  return child;
}

const PROBE = `
const net = require("node:net");
const { target, sources, ports, timeoutMs } = JSON.parse(process.argv[1]);
const probe = (source, port) => new Promise((resolve) => {
  const socket = net.connect({ host: target, port, localAddress: source });
  const done = (open) => { socket.destroy(); resolve(open); };
  socket.setTimeout(timeoutMs, () => done(false));
  socket.once("data", () => done(true));
  socket.once("error", () => done(false));
});
(async () => {
  const open = {};
  await Promise.all(sources.map(async (source) => {
    const results = await Promise.all(ports.map((port) => probe(source, port)));
    open[source] = ports.filter((_, index) => results[index]);
  }));
  process.stdout.write(JSON.stringify(open));
})();
`;

/** Which of `ports` on `target` answer from each source address, probed from inside `ns`. */
export function probe(ns: string, target: string, sources: readonly string[], ports: readonly number[], timeoutMs = 700): Record<string, number[]> {
  const output = inNamespace(ns, process.execPath, ["-e", PROBE, JSON.stringify({ target, sources, ports, timeoutMs })]);
  const open = JSON.parse(output) as Record<string, number[]>;
  return Object.fromEntries(Object.entries(open).map(([source, list]) => [source, [...list].sort((a, b) => a - b)]));
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/**
 * A private copy of /etc/ufw and /etc/default/ufw, so a test can run the real
 * ufw without touching this machine's own firewall configuration.
 */
export function copyUfwConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), "infra-fw-"));
  cpSync("/etc/ufw", join(dir, "ufw"), { recursive: true });
  cpSync("/etc/default/ufw", join(dir, "default-ufw"));
  return dir;
}

/** Runs a UFW script with the real ufw in namespace `ns`, over the copy in `ufwDir` (see copyUfwConfig). */
export function applyUfw(ns: string, ufwDir: string, script: string): void {
  inNamespace(
    ns,
    requireTool("unshare"),
    [
      "--mount",
      "--propagation",
      "private",
      requireTool("bash"),
      "-c",
      `mount --bind ${join(ufwDir, "ufw")} /etc/ufw && mount --bind ${join(ufwDir, "default-ufw")} /etc/default/ufw && exec bash -s`,
    ],
    script,
  );
}

/** Turns forwarding on in `ns` with the host's own sysctl file (H4), as published ports need. */
export function loadSysctl(ns: string, ufwDir: string, config: string): void {
  writeFileSync(join(ufwDir, "sysctl.conf"), config);
  inNamespace(ns, requireTool("sysctl"), ["--quiet", "--load", join(ufwDir, "sysctl.conf")]);
}

export interface PublishedContainer {
  /** The host-side veth, named like a Docker user-defined bridge (`br-…`), as DOCKER-USER expects. */
  readonly bridge: string;
  readonly containerAddress: string;
  readonly ports: readonly number[];
  /** The host address the ports are published on; every address when absent (`-p 80:80`). */
  readonly hostAddress?: string;
}

/** The iptables rules Docker itself installs for a container's published TCP ports (userland-proxy off). */
export function dockerPublishRules(container: PublishedContainer): string {
  const { bridge, containerAddress, ports } = container;
  const destination = container.hostAddress ? `-d ${container.hostAddress}/32 ` : "";
  return [
    "*nat",
    ":DOCKER - [0:0]",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    ...ports.map((port) => `-A DOCKER ${destination}! -i ${bridge} -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${containerAddress}:${port}`),
    "COMMIT",
    "*filter",
    ":DOCKER - [0:0]",
    ":DOCKER-USER - [0:0]",
    "-A FORWARD -j DOCKER-USER",
    `-A FORWARD -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A FORWARD -o ${bridge} -j DOCKER`,
    `-A FORWARD -i ${bridge} -j ACCEPT`,
    ...ports.map((port) => `-A DOCKER -d ${containerAddress}/32 ! -i ${bridge} -o ${bridge} -p tcp -m tcp --dport ${port} -j ACCEPT`),
    "-A DOCKER-USER -j RETURN",
    "COMMIT",
    "",
  ].join("\n");
}
