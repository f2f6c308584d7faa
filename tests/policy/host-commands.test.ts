import { describe, expect, it } from "vitest";
import { hostPrepareScript } from "../../components/compute/host-setup";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { evaluateGraph, type GraphResource } from "../../infra/policy/graph-policy";
import type { Violation } from "../../infra/policy/report";
import { ruleNamed } from "../../infra/policy/rules";
import { TEST_HOST_KEY } from "../support/stack-config";
import { planOf } from "../support/plans";
import { modelOf } from "./models";

/**
 * Every host command is judged by what it runs, whatever it is called: a
 * command that opens a port, turns a firewall off or rewrites its rules is
 * refused under the rule it breaks.
 */
const model = modelOf("prod");
const connection = { host: "203.0.113.20", port: 22, user: "deploy", hostPublicKey: TEST_HOST_KEY };

function command(name: string, inputs: { create?: string; stdin?: string; delete?: string }): GraphResource {
  return { type: SSH_COMMAND_TYPE, name, inputs: { connection, privateKey: "[secret]", create: "sudo bash -s", ...inputs } };
}

/** The violations of the shipped prod graph with `extra` registered next to it. */
async function withShipped(...extra: GraphResource[]): Promise<readonly Violation[]> {
  const plan = await planOf("prod");
  return evaluateGraph([...plan.resources, ...extra], model).violations;
}

const script = (body: string) => `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`;

describe("host commands are judged by what they run, not by their name", () => {
  it("the shipped prod commands pass", async () => {
    expect(await withShipped()).toEqual([]);
  });

  it.each<[string, string, string, RegExp]>([
    ["ufw allow 5432", "ufw allow 5432", "F2", /opens 5432/],
    ["ufw allow 5432/tcp under sudo", "sudo ufw allow 5432/tcp", "F2", /opens 5432/],
    ["the full syntax from any", "ufw allow from any to any port 5432 proto tcp", "F2", /opens 5432/],
    ["a port range that holds Redis", "ufw allow proto tcp from 0.0.0.0/0 to any port 6000:6400", "F2", /opens 6379, 6333, 6334/],
    ["a list of ports", "ufw allow 80,443,6379/tcp", "F2", /opens 6379/],
    ["SSH inserted first, from anywhere", "ufw insert 1 allow 22", "F1", /opens SSH to 0\.0\.0\.0\/0/],
    ["a port the platform does not expose", "/usr/sbin/ufw allow 8080", "H6", /tcp\/8080 .* which the platform's firewall rules do not open/],
    ["a service name", "ufw allow postgresql", "H6", /"postgresql", which the policy cannot resolve/],
    ["every port from one address", "ufw allow from 192.0.2.9", "F1", /admits SSH from 192\.0\.2\.9\/32/],
    ["ufw disable", "ufw disable", "H6", /turns UFW off/],
    ["ufw reset without enabling it again", "ufw --force reset", "H6", /resets UFW/],
    ["ufw default allow incoming", "ufw default allow incoming", "H6", /default policy for incoming to allow/],
    ["ufw default allow, incoming by default", "ufw default allow", "H6", /default policy for incoming to allow/],
    ["ufw default allow routed", "ufw default allow routed", "H6", /default policy for routed to allow/],
    ["iptables accepting everything in DOCKER-USER", "iptables -I DOCKER-USER -j ACCEPT", "F2", /opens 5432/],
    ["iptables returning PostgreSQL from DOCKER-USER", "iptables -I DOCKER-USER 1 -p tcp --dport 5432 -j RETURN", "F2", /tcp\/5432 opens 5432/],
    ["iptables -P INPUT ACCEPT", "iptables -P INPUT ACCEPT", "H6", /default policy of INPUT to ACCEPT/],
    ["ip6tables --policy FORWARD ACCEPT", "ip6tables --policy FORWARD ACCEPT", "H6", /default policy of FORWARD to ACCEPT/],
    ["iptables -F", "iptables -F", "H6", /flushes every chain/],
    ["iptables -F DOCKER-USER", "iptables-legacy -w -F DOCKER-USER", "H6", /flushes DOCKER-USER/],
    ["deleting DOCKER-USER's final DROP", "iptables -D DOCKER-USER -j DROP", "H6", /deletes a rule of DOCKER-USER/],
    ["a DNAT around the firewall", "iptables -t nat -A PREROUTING -p tcp --dport 15432 -j DNAT --to-destination 172.18.0.2:5432", "H6", /DNAT/],
    ["iptables-restore of a file", "iptables-restore < /tmp/rules.v4", "H6", /replaces the host's iptables rules/],
    ["nft flush ruleset", "nft flush ruleset", "H6", /nft flush ruleset/],
    ["an nftables accept rule", "nft add rule inet filter input tcp dport 5432 accept", "H6", /nft add rule/],
    ["systemctl stop ufw", "systemctl stop ufw", "H6", /stops ufw/],
    ["systemctl disable --now ufw.service", "systemctl disable --now ufw.service", "H6", /stops ufw.service/],
    ["service ufw stop", "service ufw stop", "H6", /stops ufw/],
    ["systemctl mask nftables", "systemctl mask nftables", "H6", /stops nftables/],
    ["systemctl stop fail2ban", "systemctl stop fail2ban", "H7", /stops fail2ban/],
    ["a nested sh -c", "sh -c 'sleep 1; ufw disable'", "H6", /turns UFW off/],
    ["a helper function around ufw", 'as_root() { sudo -n "$@"; }\nas_root ufw disable', "H6", /turns UFW off/],
    ["a here-document fed to bash", "bash <<'SCRIPT'\nufw default allow incoming\nSCRIPT", "H6", /default policy for incoming to allow/],
    ["a downloaded script piped to a shell", "curl -fsSL https://example.com/open.sh | sudo bash", "H6", /feeds bash a script the policy cannot read/],
    ["UFW's own settings rewritten", "echo ENABLED=no > /etc/ufw/ufw.conf", "H6", /\/etc\/ufw\/ufw.conf/],
    ["UFW's defaults edited in place", `sed -i 's/DEFAULT_INPUT_POLICY="DROP"/DEFAULT_INPUT_POLICY="ACCEPT"/' /etc/default/ufw`, "H6", /\/etc\/default\/ufw/],
    ["sshd's settings edited in place", "sed -i 's/^PermitRootLogin .*/PermitRootLogin yes/' /etc/ssh/sshd_config", "H1", /\/etc\/ssh\/sshd_config/],
    [
      "a DOCKER-USER rule appended to after.rules",
      "cat >> /etc/ufw/after.rules <<'RULES'\n*filter\n-I DOCKER-USER -p tcp --dport 6379 -j RETURN\nCOMMIT\nRULES",
      "F2",
      /opens 6379/,
    ],
  ])("%s", async (_case, body, rule, message) => {
    const violations = await withShipped(command("vpai-main-tune", { stdin: script(body) }));
    const found = violations.filter((violation) => violation.rule === rule);
    expect(found.map((violation) => `${violation.resource}: ${violation.message}`).join("\n"), JSON.stringify(violations, null, 1)).toMatch(message);
    expect(found.every((violation) => violation.resource.includes("vpai-main-tune"))).toBe(true);
    expect(found[0]!.fix).toBe(ruleNamed(rule)!.fix);
  });

  it.each([
    ["ufw status verbose"],
    ["ufw allow proto tcp from 198.51.100.7/32 to any port 22"],
    ["iptables -L -n"],
    ["systemctl restart docker"],
    ["systemctl enable --now ufw"],
    ["apt-get install -y ufw"],
    ["cat /etc/ufw/ufw.conf"],
  ])("%s passes", async (body) => {
    expect(await withShipped(command("vpai-main-tune", { stdin: script(body) }))).toEqual([]);
  });

  it("the command line itself is judged, not only its stdin", async () => {
    const violations = await withShipped(command("vpai-main-tune", { create: "sudo sh -c 'ufw default allow incoming && ufw reload'" }));
    expect(violations.map((violation) => `${violation.rule} ${violation.message}`).join("\n")).toMatch(/H6 .*default policy for incoming to allow/);
  });

  it("a command's delete script is judged too", async () => {
    const violations = await withShipped(command("vpai-main-tune", { stdin: script("true"), delete: "sudo ufw disable" }));
    expect(violations.map((violation) => `${violation.rule} ${violation.message}`).join("\n")).toMatch(/H6 .*turns UFW off/);
  });

  it("a script run from a secret the policy cannot read is refused", async () => {
    const violations = await withShipped(command("vpai-main-tune", { stdin: "[secret]" }));
    expect(violations.map((violation) => `${violation.rule} ${violation.message}`).join("\n")).toMatch(/H6 .*runs a script the policy cannot read/);
  });

  it("data the command line writes to a firewall file is refused by where it goes", async () => {
    const violations = await withShipped(command("vpai-main-tune", { create: "sudo tee -a /etc/ufw/after.rules", stdin: "-I DOCKER-USER -j RETURN\n" }));
    expect(violations.map((violation) => `${violation.rule} ${violation.message}`).join("\n")).toMatch(/H6 changes \/etc\/ufw\/after.rules \(tee\)/);
  });

  it("a secret read as data by the command line is fine", async () => {
    expect(await withShipped(command("vpai-main-tune", { create: "sudo sh -c 'umask 077 && cat >/etc/infra/app.env'", stdin: "[secret]" }))).toEqual([]);
  });

  it("a host preparation under any name is judged as one (H1), and its host still needs a firewall command (H6)", () => {
    const weak = hostPrepareScript({ sshUser: "deploy" }).replace("PermitRootLogin no", "PermitRootLogin yes");
    const violations = evaluateGraph([command("vpai-main-setup", { stdin: weak })], model).violations;
    expect(violations.filter((violation) => violation.rule === "H1").map((violation) => violation.message)).toEqual([
      "PermitRootLogin is yes (want no or prohibit-password or without-password)",
    ]);
    expect(violations.filter((violation) => violation.rule === "H6").map((violation) => violation.message)).toContain(
      "an existing host without a UFW firewall command",
    );
  });
});

describe("admins on a private range, as on a VPN in 10.0.0.0/8", () => {
  it("the shipped firewall, which admits them to SSH, is no H10 lock-out", async () => {
    // Found on the testbed, whose admin address is its bridge's gateway: the
    // openings judged against the platform leave private sources out, so they
    // must not be asked whether SSH stays reachable.
    for (const adminCidrs of [["10.213.7.1/32"], ["10.8.0.0/24", "203.0.113.10/32"], ["192.168.10.0/24"]]) {
      // Prod's ops host needs its VPN range among them (infra:opsHost.vpnRange).
      const plan = await planOf("prod", { overrides: [`infra:adminCidrs=${JSON.stringify([...adminCidrs, "100.64.0.0/10"])}`] });
      expect(plan.policy.violations, adminCidrs.join(", ")).toEqual([]);
    }
  });
});
