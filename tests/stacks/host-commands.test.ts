import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SSH_COMMAND_TYPE } from "../../components/remote/ssh-command";
import { overlayOverrides, type PlanResult } from "../../tools/plan/plan";
import { planOf, resourcesOf, type PlannedResource } from "../support/plans";
import { PROJECT_DIR } from "../support/stack-config";

/**
 * What runs on a host over SSH, across the shipped stacks and seed 004's
 * multi-server phases: only the program's own SSH command (no
 * @pulumi/command resource, which accepted any host key), every command and
 * the Docker provider after the host's preparation, and each pinned to a
 * host key (H9).
 */
const PLANS: [string, () => Promise<PlanResult>][] = [
  ["prod", () => planOf("prod")],
  ["preprod", () => planOf("preprod")],
  ...[3, 4, 5].map((n): [string, () => Promise<PlanResult>] => [
    `GALION phase ${n}`,
    () => planOf("prod", { overrides: overlayOverrides(join(PROJECT_DIR, "examples", "galion", `phase-${n}.yaml`)) }),
  ]),
];

interface Host {
  readonly name: string;
  readonly docker: PlannedResource;
  /** The last step of its preparation, which everything else waits for. */
  readonly ready: PlannedResource;
  readonly commands: PlannedResource[];
}

/** Each server of a plan, found by its Docker provider `<name>-docker`, with its SSH commands. */
function hostsOf(plan: PlanResult): Host[] {
  const commands = resourcesOf(plan, SSH_COMMAND_TYPE);
  return resourcesOf(plan, "pulumi:providers:docker").map((docker) => {
    const name = docker.name.replace(/-docker$/, "");
    const own = commands.filter((command) => command.name.startsWith(`${name}-`));
    const ready = ["host-ufw", "ready", "prepare"].map((step) => own.find((command) => command.name === `${name}-${step}`)).find(Boolean);
    if (!ready) throw new Error(`${name} has no preparation step among ${own.map((command) => command.name).join(", ")}`);
    return { name, docker, ready, commands: own };
  });
}

describe.each(PLANS)("host commands of %s", (_name, plan) => {
  it("are the program's SSH commands only: no command:* resource is left", async () => {
    const types = new Set((await plan()).resources.map((resource) => resource.type));
    expect([...types].filter((type) => type.startsWith("command:"))).toEqual([]);
    expect(types.has(SSH_COMMAND_TYPE)).toBe(true);
  });

  it("every command on a host, and its Docker provider, waits for the host's preparation", async () => {
    const planned = await plan();
    const hosts = hostsOf(planned);
    expect(hosts.length).toBeGreaterThan(0);
    for (const host of hosts) {
      expect(host.docker.dependsOn, host.docker.name).toContain(host.ready.name);
      for (const command of host.commands.filter((candidate) => candidate !== host.ready)) {
        if (command.name.endsWith("-healthy")) {
          // A container's health gate reads its state: it runs after the container, which the Docker provider above creates.
          const container = planned.resources.find(
            (resource) => resource.type === "docker:index/container:Container" && resource.name === command.name.replace(/-healthy$/, ""),
          );
          expect(container, command.name).toBeDefined();
          expect(command.dependsOn, command.name).toContain(container!.name);
          continue;
        }
        // The readiness check runs before the host's UFW script, and is itself the step the others wait for without one.
        const waitsFor =
          command.name === `${host.name}-ready` ? `${host.name}-running` : command.name === `${host.name}-host-ufw` ? `${host.name}-ready` : host.ready.name;
        expect(command.dependsOn, command.name).toContain(waitsFor);
      }
    }
  });

  it("the Docker provider's ssh accepts only the host's pinned key, from the known_hosts file the program wrote (H9)", async () => {
    for (const host of hostsOf(await plan())) {
      const options = JSON.parse(String(host.docker.inputs.sshOpts)) as string[];
      expect(options.join(" "), host.name).toContain("-o StrictHostKeyChecking=yes");
      expect(options.join(" ")).not.toMatch(/accept-new|StrictHostKeyChecking=no/);
      const file = options.find((option) => option.startsWith("UserKnownHostsFile="))!.slice("UserKnownHostsFile=".length);
      expect(file, host.name).toMatch(/^~\/\.cache\/infra\/known_hosts\/[0-9a-z._-]+-\d+$/);
      const { host: address, port, hostPublicKey } = host.ready.inputs.connection as { host: string; port: number; hostPublicKey: string };
      expect(readFileSync(join(userInfo().homedir, file.slice(2)), "utf8"), host.name).toBe(
        `${port === 22 ? address : `[${address}]:${port}`} ${hostPublicKey}\n`,
      );
    }
  });

  it("every command pins a host key, and only the admin key is a secret (H9)", async () => {
    for (const command of resourcesOf(await plan(), SSH_COMMAND_TYPE)) {
      expect(command.inputs.connection, command.name).toMatchObject({
        hostPublicKey: expect.stringMatching(/^ssh-ed25519 AAAA[A-Za-z0-9+/]+=*$/),
        user: expect.any(String),
        port: expect.any(Number),
      });
      expect(command.inputs.privateKey, command.name).toBe("[secret]");
    }
  });
});

describe("the backups' commands on an existing host", () => {
  it("wait for its preparation, whose packages and Docker the job uses", async () => {
    const commands = resourcesOf(await planOf("prod"), SSH_COMMAND_TYPE);
    const dependencies = Object.fromEntries(commands.map((command) => [command.name, command.dependsOn]));
    expect(dependencies).toMatchObject({
      "vpai-main-prepare": [],
      "vpai-main-firewall-ufw": ["vpai-main-prepare"],
      "vpai-main-backup-environment": ["vpai-main-prepare"],
      "vpai-main-backup-install": ["vpai-main-backup-environment", "vpai-main-prepare"],
    });
  });
});
