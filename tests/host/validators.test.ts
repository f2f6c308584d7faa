import { afterAll, describe, expect, it } from "vitest";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import {
  AUTO_UPGRADES_PATH,
  autoUpgradesConfig,
  fail2banJail,
  FAIL2BAN_JAIL_PATH,
  SSHD_DROP_IN_PATH,
  sshdDropIn,
} from "../../components/compute/host-hardening";
import { cloudInitUserData, FIREWALL_SCRIPT_PATH, hostPrepareScript, readFilesOfScript, readUserData } from "../../components/compute/host-setup";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { CADDYFILE_PATH } from "../../components/ingress/caddy-spec";
import { BASIC_AUTH_HASH_VARIABLE, hashVariableOf } from "../../components/ingress/caddyfile";
import { cloudInitSchema as cloudInitSchemaOf, shellcheck as shellcheckOf } from "../support/validators";
import { planOf, resourcesOf, uploadOf } from "../support/plans";
import { modelOf } from "../policy/models";
import { galionPhaseValues, modelWith } from "../support/galion-phases";
import { hostFirewallOf } from "../../infra/platform-model";
import { aptConfig, caddyPasswordHash, caddyValidate, fail2ban, sshd, sshdEffective, timedRun, timingSummary, validatorTimes } from "./validators";

const cloudInitSchema = (userData: string) => timedRun("cloud-init schema", () => cloudInitSchemaOf(userData));
const shellcheck = (script: string) => timedRun("shellcheck", () => shellcheckOf(script));

/**
 * Every artifact the program generates for a host goes through the tool that
 * will consume it: cloud-init, bash (via shellcheck), sshd, caddy, fail2ban
 * and apt. Each validator is also shown to fail on a broken input, so a pass
 * means something.
 */
const STACKS = ["prod", "preprod"] as const;
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL admin@infra";

afterAll(() => {
  // Printed so the run's log records what the validators cost.
  console.log(`validator timings:\n${timingSummary()}`);
  expect(validatorTimes.size).toBeGreaterThan(0);
});

function firewallOf(stack: string) {
  return modelOf(stack).hosts[0]!.firewall;
}

/** Seed 004's data server in phase 3: its DOCKER-USER chain also admits the app server's peers. */
const PHASE_3_DATA_SERVER = modelWith(galionPhaseValues(3)).hosts.find((host) => host.server.name === "main")!;

describe("cloud-init schema", () => {
  const variants = {
    "minimal (deploy)": cloudInitUserData({ sshUser: "deploy", sshPublicKey: KEY }),
    "root admin, data volume": cloudInitUserData({ sshUser: "root", sshPublicKey: KEY, dataVolumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_1" }),
    "with the prod firewall": cloudInitUserData({ sshUser: "deploy", sshPublicKey: KEY, firewall: { rules: firewallOf("prod") } }),
    "with a private-network peer firewall": cloudInitUserData({ sshUser: "deploy", sshPublicKey: KEY, firewall: hostFirewallOf(PHASE_3_DATA_SERVER) }),
  };

  it.each(Object.entries(variants))("accepts the %s user-data", (_name, userData) => {
    const result = cloudInitSchema(userData);
    expect(result.output).toContain("Valid");
    expect(result.ok).toBe(true);
  });

  it("accepts the user-data registered on preprod's Hetzner servers: the VPS and the ops host", async () => {
    // Revealed: the user-data is a secret, since it carries the server's host key.
    const servers = resourcesOf(await planOf("preprod", { revealSecrets: true }), "hcloud:index/server:Server");
    expect(servers.map((server) => server.name).sort()).toEqual(["vpai-main", "vpai-ops"]);
    for (const server of servers) {
      const userData = String(server.inputs.userData);
      expect(cloudInitSchema(userData), server.name).toMatchObject({ ok: true });
      expect(readUserData(userData).files.get(SSHD_DROP_IN_PATH), server.name).toBe(sshdDropIn({ sshUser: "deploy" }));
    }
  });

  it("rejects user-data with a wrongly typed key", () => {
    const broken = cloudInitUserData({ sshUser: "deploy", sshPublicKey: KEY }).replace("ssh_pwauth: false", "ssh_pwauth: {}");
    expect(cloudInitSchema(broken).ok).toBe(false);
  });
});

describe("shellcheck", () => {
  const scripts: [string, string][] = [
    ["preparation script (deploy)", hostPrepareScript({ sshUser: "deploy" })],
    ["preparation script (root)", hostPrepareScript({ sshUser: "root" })],
    ...STACKS.map((stack): [string, string] => [`UFW script of ${stack}`, ufwScript(firewallOf(stack))]),
    ["UFW script with nothing exposed", ufwScript(firewallRules([], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: false, sshPort: 22 }))],
    [
      "cloud-init's firewall script",
      readUserData(cloudInitUserData({ sshUser: "deploy", sshPublicKey: KEY, firewall: { rules: firewallOf("preprod") } })).files.get(FIREWALL_SCRIPT_PATH)!,
    ],
    ["UFW script of a private-network data server", ufwScript(PHASE_3_DATA_SERVER.firewall, PHASE_3_DATA_SERVER.peerAccess)],
  ];

  it.each(scripts)("passes the %s", (_name, script) => {
    expect(shellcheck(script)).toEqual({ ok: true, output: "" });
  });

  it.each(STACKS)("passes every script registered as a remote command on %s", async (stack) => {
    const commands = resourcesOf(await planOf(stack), SSH_COMMAND_TYPE).filter((resource) => String(resource.inputs.stdin ?? "").startsWith("#!"));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(shellcheck(String(command.inputs.stdin)), command.name).toEqual({ ok: true, output: "" });
  });

  it("fails a script with an unquoted expansion", () => {
    const broken = hostPrepareScript({ sshUser: "deploy" }).replace('cmp -s "$desired" "$1"', "cmp -s $desired $1");
    expect(shellcheck(broken).ok).toBe(false);
  });
});

describe("sshd -t on the generated drop-in", () => {
  it.each(["deploy", "root"])("accepts the drop-in for admin %s", (sshUser) => {
    expect(sshd("-t", { "10-infra-hardening.conf": sshdDropIn({ sshUser }) })).toEqual({ ok: true, output: "" });
  });

  it("the drop-in wins over cloud-init's 50-cloud-init.conf and the main file's own lines (H1-H3)", () => {
    const effective = sshdEffective(
      { "10-infra-hardening.conf": sshdDropIn({ sshUser: "deploy" }), "50-cloud-init.conf": "PasswordAuthentication yes\n" },
      "PermitRootLogin yes\nX11Forwarding yes\nKbdInteractiveAuthentication yes\n",
    );
    expect(
      Object.fromEntries(
        [
          "permitrootlogin",
          "passwordauthentication",
          "permitemptypasswords",
          "kbdinteractiveauthentication",
          "pubkeyauthentication",
          "maxauthtries",
          "allowagentforwarding",
          "allowtcpforwarding",
          "x11forwarding",
          "authenticationmethods",
        ].map((key) => [key, effective.get(key)]),
      ),
    ).toEqual({
      permitrootlogin: "no",
      passwordauthentication: "no",
      permitemptypasswords: "no",
      kbdinteractiveauthentication: "no",
      pubkeyauthentication: "yes",
      maxauthtries: "3",
      allowagentforwarding: "no",
      allowtcpforwarding: "no",
      x11forwarding: "no",
      authenticationmethods: "publickey",
    });
  });

  it("the preparation script installs exactly the drop-in that was validated", () => {
    expect(readFilesOfScript(hostPrepareScript({ sshUser: "deploy" })).get(SSHD_DROP_IN_PATH)).toBe(sshdDropIn({ sshUser: "deploy" }));
  });

  it("rejects a drop-in with an invalid value", () => {
    const result = sshd("-t", { "10-infra-hardening.conf": sshdDropIn({ sshUser: "deploy" }).replace("MaxAuthTries 3", "MaxAuthTries three") });
    expect(result.ok).toBe(false);
    expect(result.output).toContain("MaxAuthTries");
  });
});

describe("caddy validate on every generated Caddyfile", () => {
  it.each(STACKS)("accepts %s's Caddyfile, as installed for the container", async (stack) => {
    const upload = { content: uploadOf(await planOf(stack), "vpai-caddy", CADDYFILE_PATH) };
    // The container hashes its admin password into this variable before caddy reads the file; n8n's hash comes from its secret as it is.
    const hash = caddyPasswordHash("validation-only");
    const result = caddyValidate(upload.content, { [BASIC_AUTH_HASH_VARIABLE]: hash, [hashVariableOf("infra:n8nPasswordHash")]: hash });
    expect(result.output).toContain("Valid configuration");
    expect(result.ok).toBe(true);
  });

  it("rejects a Caddyfile with an unknown directive", () => {
    expect(caddyValidate("example.com {\n\treverse_proxyy n8n:5678\n}\n").ok).toBe(false);
  });
});

describe("fail2ban's configuration reader on the sshd jail (H7)", () => {
  const file = FAIL2BAN_JAIL_PATH.split("/").pop()!;

  it("passes `fail2ban-client -t`", () => {
    const result = fail2ban("-t", file, fail2banJail());
    expect(result.output).toContain("OK: configuration test is successful");
    expect(result.ok).toBe(true);
  });

  it("starts the sshd jail on the systemd backend with our limits (`fail2ban-client -d`)", () => {
    const commands = fail2ban("-d", file, fail2banJail())
      .output.split("\n")
      .filter((line) => line.startsWith("['"))
      .map((line) => line.replace(/'/g, '"'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as unknown[]];
        } catch {
          return [];
        }
      });
    expect(commands).toContainEqual(["add", "sshd", "systemd"]);
    expect(commands).toContainEqual(["set", "sshd", "maxretry", 5]);
    expect(commands).toContainEqual(["set", "sshd", "findtime", "10m"]);
    expect(commands).toContainEqual(["set", "sshd", "bantime", "1h"]);
    expect(commands).toContainEqual(["start", "sshd"]);
  });

  it("fails a jail that names a filter which does not exist", () => {
    expect(fail2ban("-t", file, fail2banJail().replace("backend = systemd", "backend = systemd\nfilter = no-such-filter")).ok).toBe(false);
  });
});

describe("apt's parser on 20auto-upgrades (H8)", () => {
  it("reads both periodic switches as on", () => {
    const result = aptConfig(autoUpgradesConfig());
    expect(result.ok).toBe(true);
    const settings = new Map([...result.output.matchAll(/^(APT::Periodic::[\w-]+) "([^"]*)";$/gm)].map((match) => [match[1], match[2]]));
    expect(settings.get("APT::Periodic::Update-Package-Lists")).toBe("1");
    expect(settings.get("APT::Periodic::Unattended-Upgrade")).toBe("1");
    expect(readFilesOfScript(hostPrepareScript({ sshUser: "deploy" })).get(AUTO_UPGRADES_PATH)).toBe(autoUpgradesConfig());
  });

  it("fails a file with a missing semicolon", () => {
    expect(aptConfig('APT::Periodic::Unattended-Upgrade "1"\nAPT::Periodic::Update-Package-Lists "1";\n').ok).toBe(false);
  });
});
