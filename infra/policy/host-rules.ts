import { AUTO_UPGRADES_PATH, FAIL2BAN_JAIL_PATH, SSHD_DROP_IN_PATH, SYSCTL_PATH } from "../../components/compute/host-hardening";
import { DAEMON_JSON_PATH } from "../../components/compute/host-setup";
import { coversAll, PRIVATE_IPV4_RANGES } from "../../components/network/ip-ranges";
import { parseHostKey } from "../../components/remote/host-key";
import { DEFAULT_SSH_PORT } from "../../components/compute/server-spec";
import type { InboundRule } from "./network-rules";
import type { Finding } from "./report";

/** Who may reach SSH on a host, and on which port (F1, H10). */
export interface SSHContext {
  readonly adminCidrs: readonly string[];
  readonly sshPort: number;
}

/**
 * H1-H8 on a host's rendered configuration: the files its cloud-init
 * user-data or its preparation script will write, read back out of those
 * artifacts, and its firewall script. Each checker parses its file the way
 * the daemon does (sshd keeps the first value of a keyword; an INI section for
 * fail2ban; apt's `Key "value";` lines), rather than looking for exact text.
 */
export interface HostConfiguration {
  /** `host <name>`. */
  readonly resource: string;
  readonly files: ReadonlyMap<string, string>;
  readonly packages: readonly string[];
  /** The UFW script applied on the host, if any. */
  readonly ufwScript?: string;
  /** A cloud firewall filters in front of the host (Hetzner), so published ports cannot bypass it. */
  readonly cloudFirewall: boolean;
}

/** sshd's effective keyword values: keywords are case-insensitive and the first value wins. */
export function sshdSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    if (/^match\s/i.test(line)) break;
    const [keyword, ...rest] = line.split(/[\s=]+/);
    const key = keyword!.toLowerCase();
    if (!settings.has(key)) settings.set(key, rest.join(" ").toLowerCase());
  }
  return settings;
}

/** Sections of an INI file (fail2ban's jail.local), keys lower-cased. */
export function iniSections(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s*[#;].*/, "").trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1]!) ?? new Map();
      sections.set(header[1]!, current);
    } else if (current && line.includes("=")) {
      const index = line.indexOf("=");
      current.set(line.slice(0, index).trim().toLowerCase(), line.slice(index + 1).trim());
    }
  }
  return sections;
}

/** apt.conf `Name "value";` pairs. */
export function aptSettings(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^\s*([\w:-]+)\s+"([^"]*)"\s*;/gm)].map((match) => [match[1]!, match[2]!]));
}

/** sysctl.d `key = value` pairs; the last assignment wins, as `sysctl --system` applies them in order. */
export function sysctlSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*/, "").trim();
    const index = line.indexOf("=");
    if (index > 0) settings.set(line.slice(0, index).trim().replace(/\//g, "."), line.slice(index + 1).trim());
  }
  return settings;
}

const truthy = (value: string | undefined) => value !== undefined && ["true", "yes", "1", "on"].includes(value.toLowerCase());

export function hostFindings(host: HostConfiguration, context: SSHContext): Finding[] {
  const findings: Finding[] = [];
  const report = (rule: string, message: string) => findings.push({ rule, resource: host.resource, message });

  const sshdText = host.files.get(SSHD_DROP_IN_PATH);
  if (sshdText === undefined) {
    for (const rule of ["H1", "H2", "H3"]) report(rule, `no sshd drop-in at ${SSHD_DROP_IN_PATH}: the distribution's defaults apply`);
  } else {
    const sshd = sshdSettings(sshdText);
    const expect = (rule: string, keyword: string, allowed: readonly string[]) => {
      const value = sshd.get(keyword.toLowerCase());
      if (value === undefined || !allowed.includes(value)) report(rule, `${keyword} is ${value ?? "unset"} (want ${allowed.join(" or ")})`);
    };
    expect("H1", "PermitRootLogin", ["no", "prohibit-password", "without-password"]);
    expect("H2", "PasswordAuthentication", ["no"]);
    expect("H2", "PermitEmptyPasswords", ["no"]);
    expect("H2", "KbdInteractiveAuthentication", ["no"]);
    expect("H2", "PubkeyAuthentication", ["yes"]);
    const tries = Number(sshd.get("maxauthtries"));
    if (!Number.isInteger(tries) || tries > 3 || tries < 1) report("H3", `MaxAuthTries is ${sshd.get("maxauthtries") ?? "unset (6)"} (want 3 or fewer)`);
    expect("H3", "AllowAgentForwarding", ["no"]);
    expect("H3", "AllowTcpForwarding", ["no"]);
    expect("H3", "X11Forwarding", ["no"]);
    // The drop-in leaves the port to the host's own sshd_config; one that
    // names a port must name the server's, or sshd moves away from the firewall.
    const port = sshd.get("port");
    if (port !== undefined && Number(port) !== context.sshPort)
      report("H10", `${SSHD_DROP_IN_PATH} moves sshd to port ${port}, but the firewalls admit SSH on ${context.sshPort} (infra:servers[].sshPort)`);
  }

  const sysctl = host.files.get(SYSCTL_PATH);
  const forward = sysctl === undefined ? undefined : sysctlSettings(sysctl).get("net.ipv4.ip_forward");
  if (forward !== "1") report("H4", `net.ipv4.ip_forward is ${forward ?? "not set by the baseline"}; Docker needs it on, set on purpose in ${SYSCTL_PATH}`);

  const daemonText = host.files.get(DAEMON_JSON_PATH);
  let daemon: Record<string, unknown> | undefined;
  try {
    daemon = daemonText === undefined ? undefined : (JSON.parse(daemonText) as Record<string, unknown>);
  } catch {
    report("H5", `${DAEMON_JSON_PATH} is not valid JSON; dockerd would refuse to start`);
  }
  if (daemonText === undefined) report("H5", `no ${DAEMON_JSON_PATH}`);
  else if (daemon) {
    const logOpts = (daemon["log-opts"] ?? {}) as Record<string, unknown>;
    if (daemon["log-driver"] !== "json-file" || !logOpts["max-size"] || !logOpts["max-file"])
      report("H5", "daemon.json does not rotate json-file logs (log-driver, log-opts max-size and max-file)");
    if (daemon["live-restore"] !== true) report("H5", "daemon.json: live-restore is not true");
    if (daemon["no-new-privileges"] !== true) report("H5", "daemon.json: no-new-privileges is not true");
    if (daemon["userland-proxy"] !== false) report("H5", "daemon.json: userland-proxy is not false");
  }

  if (host.ufwScript === undefined) {
    if (!host.cloudFirewall) report("H6", "no host firewall and no cloud firewall in front of the host");
  } else {
    for (const problem of ufwProblems(host.ufwScript, context)) report("H6", problem);
  }

  const jail = host.files.get(FAIL2BAN_JAIL_PATH);
  const sshdJail = jail === undefined ? undefined : iniSections(jail).get("sshd");
  if (!host.packages.includes("fail2ban")) report("H7", "fail2ban is not installed");
  if (!truthy(sshdJail?.get("enabled"))) report("H7", `the sshd jail is not enabled in ${FAIL2BAN_JAIL_PATH}`);
  // fail2ban bans on the jail's ports only; "ssh" would leave sshd on 2222 unguarded.
  const jailPorts = ufwPorts(sshdJail?.get("port") ?? "ssh");
  if (sshdJail && !jailPorts?.some(([low, high]) => low <= context.sshPort && context.sshPort <= high)) {
    report("H10", `the sshd jail bans on port ${sshdJail.get("port") ?? "ssh (22)"}, not on ${context.sshPort}, where sshd listens`);
  }

  const apt = aptSettings(host.files.get(AUTO_UPGRADES_PATH) ?? "");
  if (!host.packages.includes("unattended-upgrades")) report("H8", "unattended-upgrades is not installed");
  if (apt.get("APT::Periodic::Unattended-Upgrade") !== "1" || apt.get("APT::Periodic::Update-Package-Lists") !== "1") {
    report("H8", `${AUTO_UPGRADES_PATH} does not turn on daily package lists and unattended upgrades`);
  }
  return findings;
}

/** A UFW rule's source `any`: both families. */
const UFW_ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Port ranges of a UFW port spec: `22`, `20:30`, `22,80,443`, or a service name from /etc/services. */
function ufwPorts(spec: string): [number, number][] | undefined {
  const ranges: [number, number][] = [];
  for (const part of spec.split(",")) {
    const named = KNOWN_SERVICES[part.toLowerCase()];
    const [low, high] = named !== undefined ? [named, named] : part.split(":").map(Number);
    if (low === undefined || !Number.isInteger(low) || (high !== undefined && !Number.isInteger(high))) return undefined;
    ranges.push([low, high ?? low]);
  }
  return ranges;
}

/** The /etc/services names UFW resolves that matter here. */
const KNOWN_SERVICES: Readonly<Record<string, number>> = { ssh: 22, http: 80, https: 443 };

/**
 * The `ufw allow` commands of a script as inbound rules, in each form UFW
 * takes: `allow proto tcp from X to any port P`, `allow 22/tcp`, `allow ssh`,
 * `allow from X` (every port). A port spec this cannot read counts as every
 * port, so a rule is never judged narrower than it is.
 */
export function ufwAllowRules(script: string): InboundRule[] {
  const rules: InboundRule[] = [];
  for (const line of script.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "ufw" || words[1] !== "allow") continue;
    const after = (keyword: string) => (words.includes(keyword) ? words[words.indexOf(keyword) + 1] : undefined);
    const from = after("from");
    const sources = from === undefined || from === "any" ? UFW_ANYWHERE : [from];
    const simple = words[2] !== undefined && !["proto", "from", "to", "in", "on"].includes(words[2]) ? words[2] : undefined;
    const [simplePort, simpleProtocol] = simple?.split("/") ?? [];
    const protocol = after("proto") ?? simpleProtocol ?? "any";
    const portSpec = after("port") ?? simplePort;
    const ranges = portSpec === undefined ? [[1, 65535] as [number, number]] : (ufwPorts(portSpec) ?? [[1, 65535] as [number, number]]);
    for (const ports of ranges) rules.push({ protocol, ports, sources });
  }
  return rules;
}

/** H6 on a UFW script: default deny, SSH (on `sshPort` and 22) only from admins, and a DOCKER-USER chain that ends in DROP. */
export function ufwProblems(script: string, context: SSHContext): string[] {
  const problems: string[] = [];
  const commands = script.split("\n").map((line) => line.trim().split(/\s+/));
  const has = (...words: string[]) => commands.some((command) => words.every((word, index) => command[index] === word));
  if (!has("ufw", "default", "deny", "incoming")) problems.push("UFW does not deny incoming by default");
  if (!has("ufw", "--force", "enable")) problems.push("UFW is never enabled");
  const sshPorts = [...new Set([context.sshPort, DEFAULT_SSH_PORT])];
  for (const rule of ufwAllowRules(script)) {
    if (rule.protocol === "udp" || !sshPorts.some((port) => rule.ports![0] <= port && port <= rule.ports![1])) continue;
    const strangers = rule.sources.filter((source) => !coversAll(context.adminCidrs, [source]));
    if (strangers.length > 0) problems.push(`UFW admits SSH from ${strangers.join(", ")}, which is not an admin CIDR`);
  }
  const chain = script.split("\n").filter((line) => line.startsWith("-A DOCKER-USER"));
  if (chain.length === 0) problems.push("no DOCKER-USER rules: Docker-published ports bypass UFW");
  else if (!script.includes("-A DOCKER-USER -j DROP\nCOMMIT"))
    problems.push("the DOCKER-USER chain does not end in DROP: published ports stay open to everyone");
  // Ports published for private-network peers must admit the private network only.
  for (const line of chain) {
    const peer = /-s (\S+) .*--ctorigdst (\S+) --ctorigdstport (\d+) -j RETURN/.exec(line);
    if (peer && !coversAll(PRIVATE_IPV4_RANGES, [peer[1]!]))
      problems.push(`DOCKER-USER admits ${peer[1]} to ${peer[2]}:${peer[3]}, which is published for private-network peers only`);
  }
  return problems;
}

/**
 * H9 on the options of an ssh the program does not start itself (the Docker
 * provider's): it must check the host key strictly, against a known_hosts
 * file of its own. Like sshd, ssh keeps the first value it reads for an
 * option, and option names are case-insensitive.
 */
export function sshOptionsProblems(options: readonly string[]): string[] {
  const values = new Map<string, string>();
  options.forEach((option, index) => {
    const text = options[index - 1] === "-o" ? option : option.startsWith("-o") && option.length > 2 ? option.slice(2) : undefined;
    const match = text === undefined ? null : /^\s*([A-Za-z]+)\s*[=\s]\s*(.*)$/.exec(text);
    if (match && !values.has(match[1]!.toLowerCase())) values.set(match[1]!.toLowerCase(), match[2]!.trim());
  });
  const problems: string[] = [];
  const strict = values.get("stricthostkeychecking");
  if (strict?.toLowerCase() !== "yes")
    problems.push(`StrictHostKeyChecking is ${strict ?? "unset (ask)"}: the first connection would trust whatever key answers`);
  if (!values.get("userknownhostsfile")) problems.push("no UserKnownHostsFile with the pinned key: ssh would accept any key in ~/.ssh/known_hosts");
  return problems;
}

/** H9 on a host command's pinned key: why it is not one host key, or undefined when it is. */
export function pinnedKeyProblem(hostPublicKey: unknown): string | undefined {
  if (hostPublicKey === undefined || hostPublicKey === null || hostPublicKey === "") return "pins no host key";
  if (typeof hostPublicKey !== "string") return undefined;
  const key = parseHostKey(hostPublicKey);
  return typeof key === "string" ? `its pinned host key ${key}` : undefined;
}
