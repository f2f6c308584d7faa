import { cidrContainsCIDR, isCIDR, isPrivateIPv4CIDR, singleAddressCIDR } from "../../components/network/ip-ranges";
import type { FirewallRule } from "../../components/network/firewall-rules";
import { canonicalHostPath } from "./container-rules";
import type { InboundRule } from "./network-rules";
import { basename, runsStdin, simpleCommands, type SimpleCommand } from "./shell-commands";

/**
 * What a script run on a host does to its protections (H6, H7, F1-F3), read
 * out of the script itself, whatever the command that runs it is called:
 * what it opens (UFW and iptables rules that admit traffic, judged against
 * F1-F3 and against the platform's own firewall rules), and what it turns
 * off or rewrites (UFW, iptables and nftables, their services and files,
 * fail2ban, the hardened sshd, sysctl, Docker and apt files).
 */
export interface ScriptVerdict {
  readonly issues: readonly { readonly rule: string; readonly message: string }[];
  readonly openings: readonly Opening[];
  /** The script (re)defines UFW's policy (`ufw reset` or `ufw default`): it must be a whole firewall script (ufwProblems). */
  readonly managesUFW: boolean;
}

/** An inbound rule a script adds, as written there. */
export interface Opening {
  readonly rule: InboundRule;
  readonly written: string;
}

const ANY_IPV4 = "0.0.0.0/0";
const ANY_IPV6 = "::/0";

const IPTABLES = new Set([
  "iptables",
  "ip6tables",
  "iptables-legacy",
  "ip6tables-legacy",
  "iptables-nft",
  "ip6tables-nft",
  "xtables-legacy-multi",
  "xtables-nft-multi",
]);
const IPTABLES_RESTORE = new Set([
  "iptables-restore",
  "ip6tables-restore",
  "iptables-legacy-restore",
  "ip6tables-legacy-restore",
  "iptables-nft-restore",
  "ip6tables-nft-restore",
]);
/** Chains whose ACCEPT (or, for user chains, RETURN toward Docker's accept) admits inbound or published traffic. */
const INBOUND_CHAINS = /^(INPUT|FORWARD|DOCKER|DOCKER-USER|ufw6?-.*)$/;
const BUILTIN_CHAINS = new Set(["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"]);
/** Interfaces whose traffic never came from outside: loopback and Docker's bridges. */
const INTERNAL_INTERFACES = /^(lo|docker0|br-.*)$/;

/** Services whose stopping turns a protection off, with the rule each serves. */
const PROTECTION_UNITS: Readonly<Record<string, string>> = {
  ufw: "H6",
  nftables: "H6",
  "netfilter-persistent": "H6",
  iptables: "H6",
  ip6tables: "H6",
  firewalld: "H6",
  fail2ban: "H7",
  "unattended-upgrades": "H8",
  "apt-daily": "H8",
  "apt-daily-upgrade": "H8",
};
const STOPPING_VERBS = new Set(["stop", "disable", "mask", "kill", "remove", "purge"]);

/** Host files owned by the firewall and the hardening, with the rule that judges each; a script changing them outside those is refused. */
const PROTECTED_PATHS: readonly (readonly [string, string])[] = [
  ["/etc/ufw", "H6"],
  ["/etc/default/ufw", "H6"],
  ["/etc/nftables.conf", "H6"],
  ["/etc/iptables", "H6"],
  ["/etc/ssh/sshd_config", "H1"],
  ["/etc/ssh/sshd_config.d", "H1"],
  ["/etc/sysctl.conf", "H4"],
  ["/etc/sysctl.d", "H4"],
  ["/etc/docker/daemon.json", "H5"],
  ["/etc/fail2ban", "H7"],
  ["/etc/apt/apt.conf.d", "H8"],
];
/** UFW's iptables-restore files: what a script appends there is judged rule by rule, like the program's own DOCKER-USER block. */
const UFW_RULE_FILES = /^\/etc\/ufw\/(before|after|user)6?\.rules$/;
/** Programs that change the files named in their arguments. */
const FILE_WRITERS = new Set(["tee", "cp", "mv", "install", "ln", "rm", "truncate", "dd", "chmod", "chown", "touch", "patch", "unlink", "rsync"]);

function protectedPath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const canonical = canonicalHostPath(path);
  return PROTECTED_PATHS.find(([protectedOne]) => canonical === protectedOne || canonical.startsWith(`${protectedOne}/`))?.[1];
}

/** A source address as a CIDR: `any` is every address of the family, a bare address is one host. */
function sourcesOf(source: string | undefined, family: "ipv4" | "ipv6" | "both"): string[] {
  if (source === undefined || source === "any") return family === "ipv4" ? [ANY_IPV4] : family === "ipv6" ? [ANY_IPV6] : [ANY_IPV4, ANY_IPV6];
  return source.split(",").map((one) => (one.includes("/") ? one : (singleAddressCIDR(one) ?? one)));
}

/** Port lists and ranges as written by UFW (`22`, `80,443`, `6000:6007`) or iptables (`6000:6007`, multiport `80,443`); undefined when one is not a number. */
function portRanges(spec: string): [number, number][] | undefined {
  const ranges: [number, number][] = [];
  for (const part of spec.split(",")) {
    const [low, high] = part.split(/[:-]/);
    if (!/^\d+$/.test(low ?? "") || (high !== undefined && !/^\d+$/.test(high))) return undefined;
    ranges.push([Number(low), Number(high ?? low)]);
  }
  return ranges;
}

const EVERY_PORT: [number, number] = [1, 65535];

function protocolsOf(protocol: string | undefined): string[] {
  const value = (protocol ?? "any").toLowerCase();
  return value === "any" || value === "all" ? ["tcp", "udp"] : [value];
}

/** `ufw allow|limit ...` in the simple and the full syntax, as inbound rules; a reason when it cannot be read. */
function ufwRule(args: readonly string[]): { rules: InboundRule[] } | { unreadable: string } | undefined {
  let index = 0;
  if (args[index] === "insert") index += 2;
  else if (args[index] === "prepend") index++;
  if (args[index] === "route") index++;
  const action = args[index++];
  if (action !== "allow" && action !== "limit") return undefined;
  if (args[index] === "out") return undefined;
  if (args[index] === "in") index++;
  if (args[index] === "on") {
    const iface = args[index + 1] ?? "";
    if (INTERNAL_INTERFACES.test(iface)) return undefined;
    index += 2;
  }
  while (args[index] === "log" || args[index] === "log-all") index++;
  const rest = args.slice(index);
  if (rest.length === 0) return { unreadable: "an allow rule without a port or address" };
  if (!["proto", "from", "to"].includes(rest[0]!)) {
    // Simple syntax: PORT[/PROTO], or an application or service name.
    const [spec, protocol] = rest[0]!.split("/");
    const ranges = portRanges(spec ?? "");
    if (!ranges) return { unreadable: `"${rest[0]}", which the policy cannot resolve to ports; write the port number` };
    return { rules: ranges.flatMap((ports) => protocolsOf(protocol).map((one) => ({ protocol: one, ports, sources: sourcesOf(undefined, "both") }))) };
  }
  let protocol: string | undefined;
  let from: string | undefined;
  let to: string | undefined;
  let port: string | undefined;
  for (let at = 0; at < rest.length; at++) {
    const key = rest[at];
    if (key === "proto") protocol = rest[++at];
    else if (key === "from") from = rest[++at];
    else if (key === "to") to = rest[++at];
    else if (key === "port" && to !== undefined) port = rest[++at];
    else if (key === "port") at++;
    else if (key === "app" || key === "comment") at++;
  }
  void to;
  const ranges = port === undefined ? [EVERY_PORT] : portRanges(port);
  if (!ranges) return { unreadable: `port "${port}", which the policy cannot resolve; write the port number` };
  const sources = sourcesOf(from, "both");
  return { rules: ranges.flatMap((ports) => protocolsOf(protocol).map((one) => ({ protocol: one, ports, sources }))) };
}

interface IptablesVerdict {
  readonly issues: string[];
  readonly openings: InboundRule[];
}

/** One iptables invocation (or one line of an iptables-restore file), for the given family. */
function iptablesVerdict(args: readonly string[], family: "ipv4" | "ipv6", table = "filter"): IptablesVerdict {
  const issues: string[] = [];
  const options = new Map<string, string | undefined>();
  let negated = false;
  let sourceNegated = false;
  let operation: { kind: string; chain?: string } | undefined;
  let policyTarget: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const next = () => args[++index];
    if (arg === "!") {
      negated = true;
      continue;
    }
    switch (arg) {
      case "-t":
      case "--table":
        table = next() ?? table;
        break;
      case "-A":
      case "--append":
      case "-I":
      case "--insert":
      case "-R":
      case "--replace":
      case "-D":
      case "--delete":
        operation = { kind: arg.replace(/^--?/, "")[0]!.toUpperCase(), chain: next() };
        break;
      case "-P":
      case "--policy":
        operation = { kind: "P", chain: next() };
        policyTarget = next();
        break;
      case "-F":
      case "--flush":
      case "-X":
      case "--delete-chain":
        operation = {
          kind: arg === "-X" || arg === "--delete-chain" ? "X" : "F",
          ...(args[index + 1] && !args[index + 1]!.startsWith("-") ? { chain: next() } : {}),
        };
        break;
      case "-s":
      case "--source":
      case "--src":
        options.set("source", next());
        sourceNegated = negated;
        break;
      default:
        if (/^--?[a-zA-Z]/.test(arg)) {
          const value = args[index + 1] !== undefined && !args[index + 1]!.startsWith("-") ? next() : undefined;
          options.set(arg, value);
        }
    }
    negated = false;
  }
  const chain = operation?.chain ?? "";
  const target = options.get("-j") ?? options.get("--jump");
  const openings: InboundRule[] = [];
  if (!operation) return { issues, openings };
  if (table === "nat" && (target === "DNAT" || target === "REDIRECT") && operation.kind !== "D") {
    issues.push(`forwards a port with ${target} in ${chain}, around the host's filter rules`);
  } else if (table !== "filter") {
    return { issues, openings };
  } else if (operation.kind === "P") {
    if (policyTarget === "ACCEPT" && (chain === "INPUT" || chain === "FORWARD")) issues.push(`sets the default policy of ${chain} to ACCEPT`);
  } else if (operation.kind === "F" || operation.kind === "X") {
    const verb = operation.kind === "F" ? "flushes" : "deletes";
    if (operation.chain === undefined) issues.push(`${verb} every chain of the filter table, UFW's and DOCKER-USER included`);
    else if (INBOUND_CHAINS.test(chain)) issues.push(`${verb} ${chain}`);
  } else if (operation.kind === "D") {
    if (INBOUND_CHAINS.test(chain)) issues.push(`deletes a rule of ${chain}`);
  } else if (INBOUND_CHAINS.test(chain) && (target === "ACCEPT" || (target === "RETURN" && !BUILTIN_CHAINS.has(chain)))) {
    const iface = options.get("-i") ?? options.get("--in-interface");
    const states = (options.get("--ctstate") ?? options.get("--state"))?.split(",") ?? [];
    const onlyReplies = states.length > 0 && states.every((state) => state === "RELATED" || state === "ESTABLISHED");
    if (!(iface !== undefined && INTERNAL_INTERFACES.test(iface)) && !onlyReplies) {
      const portSpec = options.get("--dport") ?? options.get("--destination-port") ?? options.get("--dports") ?? options.get("--ctorigdstport");
      const ranges = portSpec === undefined ? [EVERY_PORT] : portRanges(portSpec);
      const source = options.get("source");
      const sources = sourceNegated || source === undefined ? sourcesOf(undefined, family) : sourcesOf(source, family);
      if (!ranges) issues.push(`accepts port "${portSpec}" in ${chain}, which the policy cannot resolve`);
      else
        for (const ports of ranges)
          for (const protocol of protocolsOf(options.get("-p") ?? options.get("--protocol"))) openings.push({ protocol, ports, sources });
    }
  }
  return { issues, openings };
}

/** The lines of an iptables-restore document (UFW's rule files, a here-document fed to iptables-restore). */
function restoreVerdict(text: string, family: "ipv4" | "ipv6"): IptablesVerdict {
  const issues: string[] = [];
  const openings: InboundRule[] = [];
  let table = "filter";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) table = line.slice(1);
    const policy = /^:(INPUT|FORWARD)\s+ACCEPT\b/.exec(line);
    if (policy && table === "filter") issues.push(`sets the default policy of ${policy[1]} to ACCEPT`);
    if (!line.startsWith("-")) continue;
    const verdict = iptablesVerdict(line.split(/\s+/), family, table);
    issues.push(...verdict.issues);
    openings.push(...verdict.openings);
  }
  return { issues, openings };
}

const familyOf = (program: string): "ipv4" | "ipv6" => (program.startsWith("ip6") || program.endsWith("6.rules") ? "ipv6" : "ipv4");

/**
 * Everything a host script does to the host's protections. A command line
 * may start a shell that reads the command's stdin (`sudo bash -s`), which is
 * judged on its own; anywhere else a shell fed from a pipe or a download runs
 * a script the policy cannot read.
 */
export function scriptVerdict(script: string, kind: "command line" | "script" = "script"): ScriptVerdict {
  const issues: { rule: string; message: string }[] = [];
  const openings: Opening[] = [];
  const commands = simpleCommands(script);
  const issue = (rule: string, message: string) => issues.push({ rule, message });
  let resetAt = -1;
  let enabledAfterReset = false;
  let deniedAfterReset = false;
  let managesUFW = false;

  commands.forEach((command, position) => {
    const words = command.words;
    if (kind === "script" && command.heredoc === undefined && runsStdin([command])) {
      issue(
        "H6",
        `feeds ${basename(words[command.program] ?? "")} a script the policy cannot read (${words.slice(command.program).join(" ")}); write the commands in the script itself`,
      );
    }
    const writer = basename(words[command.program] ?? "");
    const writerArgs = words.slice(command.program + 1);
    let program = command.program;
    let name = writer;
    // A helper function (`as_root ufw ...`) hides the program: look for a firewall program among the words.
    if (!isKnownProgram(name, words[program])) {
      const found = words.findIndex((candidate, index) => index > program && isCommandWord(candidate) && isKnownProgram(basename(candidate), candidate));
      if (found >= 0) {
        program = found;
        name = basename(words[found]!);
      }
    }
    const args = words.slice(program + 1);
    const written = words.slice(program).join(" ");

    for (const target of command.writes) {
      const rule = protectedPath(target);
      if (rule === undefined) continue;
      if (UFW_RULE_FILES.test(canonicalHostPath(target)) && command.heredoc !== undefined && (name === "cat" || name === "tee")) {
        const verdict = restoreVerdict(command.heredoc, familyOf(target));
        for (const message of verdict.issues) issue("H6", `${target}: ${message}`);
        openings.push(...verdict.openings.map((rule) => ({ rule, written: `${target}: ${ruleText(rule)}` })));
      } else issue(rule, `writes ${target}, which only the host's preparation and firewall scripts manage`);
    }
    if (FILE_WRITERS.has(writer) || ((writer === "sed" || writer === "perl") && writerArgs.some((arg) => /^-[a-zA-Z]*i/.test(arg) || arg === "--in-place"))) {
      for (const arg of writerArgs) {
        const rule = protectedPath(arg.replace(/^of=/, ""));
        if (rule === undefined) continue;
        if (writer === "tee" && command.heredoc !== undefined && UFW_RULE_FILES.test(canonicalHostPath(arg))) {
          const verdict = restoreVerdict(command.heredoc, familyOf(arg));
          for (const message of verdict.issues) issue("H6", `${arg}: ${message}`);
          openings.push(...verdict.openings.map((rule) => ({ rule, written: `${arg}: ${ruleText(rule)}` })));
          continue;
        }
        issue(rule, `changes ${arg} (${writer}), which only the host's preparation and firewall scripts manage`);
      }
      return;
    }

    if (name === "ufw" || name === "ufw.real") {
      const operands = args.filter((arg) => !/^--(force|dry-run)$/.test(arg));
      const verb = operands[0];
      if (verb === "disable") issue("H6", `turns UFW off (${written})`);
      else if (verb === "reset") {
        resetAt = position;
        enabledAfterReset = false;
        deniedAfterReset = false;
        managesUFW = true;
      } else if (verb === "enable") enabledAfterReset = resetAt >= 0 || enabledAfterReset;
      else if (verb === "default") {
        managesUFW = true;
        const policy = operands[1];
        const direction = operands[2] ?? "incoming";
        if (policy === "allow" && (direction === "incoming" || direction === "routed"))
          issue("H6", `sets UFW's default policy for ${direction} to allow (${written})`);
        if (policy === "deny" && direction === "incoming") deniedAfterReset = true;
      } else if (verb === "stop") issue("H6", `stops ufw (${written})`);
      else {
        const rule = ufwRule(operands);
        // Both branches test their own key: the policy pack is type-checked
        // with ts-node's defaults, without strictNullChecks, where `else` narrows nothing.
        if (rule && "unreadable" in rule) issue("H6", `opens ${rule.unreadable} (${written})`);
        else if (rule && "rules" in rule) openings.push(...rule.rules.map((inbound) => ({ rule: inbound, written })));
      }
    } else if (IPTABLES.has(name)) {
      const verdict = iptablesVerdict(args, familyOf(name));
      for (const message of verdict.issues) issue("H6", `${message} (${written})`);
      openings.push(...verdict.openings.map((rule) => ({ rule, written })));
    } else if (IPTABLES_RESTORE.has(name)) {
      if (!args.some((arg) => arg === "-n" || arg === "--noflush")) issue("H6", `replaces the host's iptables rules, UFW's and Docker's included (${written})`);
      else if (command.heredoc !== undefined) {
        const verdict = restoreVerdict(command.heredoc, familyOf(name));
        for (const message of verdict.issues) issue("H6", `${message} (${written})`);
        openings.push(...verdict.openings.map((rule) => ({ rule, written: `${written}: ${ruleText(rule)}` })));
      } else issue("H6", `loads iptables rules the policy cannot read (${written})`);
    } else if (name === "nft") {
      const operands = args.filter((arg) => !arg.startsWith("-"));
      if (args.some((arg) => arg === "-f" || arg === "--file")) issue("H6", `loads nftables rules the policy cannot read (${written})`);
      else if (["flush", "delete", "destroy"].includes(operands[0] ?? "")) issue("H6", `removes firewall rules (${written})`);
      else if (["add", "insert", "replace", "create"].includes(operands[0] ?? "") && operands[1] === "rule" && operands.includes("accept"))
        issue("H6", `accepts traffic outside the platform's firewall rules (${written})`);
    } else if (name === "systemctl" || name === "service" || name === "update-rc.d" || name === "invoke-rc.d" || words[program]?.startsWith("/etc/init.d/")) {
      const operands = args.filter((arg) => !arg.startsWith("-"));
      const [units, verbs] =
        name === "systemctl"
          ? [operands.slice(1), [operands[0]]]
          : words[program]?.startsWith("/etc/init.d/")
            ? [[name], [operands[0]]]
            : [[operands[0] ?? ""], [operands[1]]];
      if (verbs.some((verb) => verb !== undefined && STOPPING_VERBS.has(verb))) {
        for (const unit of units) {
          const rule = PROTECTION_UNITS[unit.replace(/\.(service|timer|socket)$/, "")];
          if (rule) issue(rule, `stops ${unit} (${written})`);
        }
      }
    }
  });

  if (resetAt >= 0 && !(enabledAfterReset && deniedAfterReset))
    issue("H6", "resets UFW, which turns it off, and does not turn it on again with default deny incoming");
  return { issues, openings, managesUFW };
}

/** A word that names a program: a bare name or a path in a bin directory, not a file argument such as /etc/default/ufw. */
function isCommandWord(word: string): boolean {
  return !word.includes("/") || /^\/(usr\/)?(local\/)?s?bin\//.test(word);
}

function isKnownProgram(name: string, word: string | undefined): boolean {
  return (
    name === "ufw" ||
    IPTABLES.has(name) ||
    IPTABLES_RESTORE.has(name) ||
    name === "nft" ||
    name === "systemctl" ||
    name === "service" ||
    (word?.startsWith("/etc/init.d/") ?? false)
  );
}

function ruleText(rule: InboundRule): string {
  const ports = rule.ports ? (rule.ports[0] === rule.ports[1] ? `${rule.ports[0]}` : `${rule.ports[0]}-${rule.ports[1]}`) : "";
  return `${rule.protocol}/${ports} from ${rule.sources.join(", ")}`;
}

/** The sources of an opening that come from outside: a private-network peer is judged by ufwProblems, not by F1-F3. */
export function publicPart(rule: InboundRule): InboundRule | undefined {
  const sources = rule.sources.filter((source) => !isPrivateIPv4CIDR(source));
  return sources.length === 0 ? undefined : { ...rule, sources };
}

/**
 * H6: what an opening admits beyond the platform's own firewall rules (the
 * model's rules of every host, and what private-network peers may reach):
 * a host command may open only what the platform decided to expose.
 */
export function beyondPlatform(opening: Opening, allowed: readonly FirewallRule[]): string | undefined {
  const { rule } = opening;
  const [low, high] = rule.ports ?? EVERY_PORT;
  const covered = (source: string) =>
    low === high &&
    allowed.some(
      (candidate) =>
        candidate.protocol === rule.protocol &&
        candidate.port === low &&
        candidate.sourceCidrs.some((allowedSource) => allowedSource === source || (isCIDR(source) && cidrContainsCIDR(allowedSource, source))),
    );
  const extra = rule.sources.filter((source) => !covered(source));
  if (extra.length === 0) return undefined;
  return `opens ${rule.protocol}/${low === high ? low : `${low}-${high}`} to ${extra.join(", ")}, which the platform's firewall rules do not open (${opening.written})`;
}

export type { SimpleCommand };
