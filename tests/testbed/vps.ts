import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requireTool } from "../support/tools";

const REPO = resolve(__dirname, "../..");
/** Debian's Docker client, which matches Debian's engine. */
export const DOCKER = "/usr/bin/docker";

/**
 * A local VPS: a Debian 12 system container that boots systemd, with sshd on
 * its own address and its own Docker engine inside, so that UFW, DOCKER-USER
 * and Docker's chains live in its network namespace, not this machine's.
 * It sits on a bridge the testbed creates, which is internal: the VPS reaches
 * nothing but that bridge, and only this machine reaches it.
 */
export interface VPS {
  readonly name: string;
  readonly address: string;
  readonly port: 22;
  readonly user: "deploy";
  /** The deploy user's OpenSSH private key. */
  readonly privateKey: string;
  /** The VPS's host key line ("ssh-ed25519 AAAA..."), written before it booted: pinned, never scanned. */
  readonly hostPublicKey: string;
  /** A known_hosts file with exactly that key, for ssh and the Docker provider. */
  readonly knownHostsFile: string;
  /** The bridge the VPS is on, and this machine's address on it. */
  readonly network: string;
  readonly gateway: string;
  /** Runs a command as root inside the VPS (docker exec), for assertions on its real state. */
  exec(command: string, options?: { input?: string; allowFailure?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs `script` as the deploy user over SSH with the pinned host key; stdin carries `input`. */
  ssh(script: string, options?: { input?: string; allowFailure?: boolean; hostKeyLine?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** TCP connections sshd accepted so far, from its own journal. */
  sshConnections(): Promise<number>;
  stop(): Promise<void>;
}

const BOOT_TIMEOUT_MS = 90_000;

/** Builds the VPS image if needed (tools/testbed/vps-image.sh) and returns its reference. */
export function vpsImage(): string {
  requireTool("mmdebstrap");
  execFileSync("bash", [join(REPO, "tools/testbed/docker-engine.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  return execFileSync("bash", [join(REPO, "tools/testbed/vps-image.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

async function docker(args: string[], input?: string, allowFailure = false) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolvePromise, reject) => {
    const child = execFile(DOCKER, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      if (code !== 0 && !allowFailure) reject(new Error(`docker ${args.slice(0, 3).join(" ")} … exited ${code}: ${stderr.slice(-2000)}`));
      else resolvePromise({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}

/** A private /24 for the testbed bridge, picked at random so parallel or leftover testbeds do not clash. */
function testbedSubnet(): { subnet: string; gateway: string; address: string } {
  const octet = 64 + (randomBytes(1)[0]! % 128);
  return { subnet: `10.213.${octet}.0/24`, gateway: `10.213.${octet}.1`, address: `10.213.${octet}.10` };
}

export interface VPSOptions {
  /**
   * Another VPS whose bridge this one joins, at the next address, as a second
   * server of one stack or a server of another: both reach what listens on
   * the bridge (the testbed registry). The bridge stays until `beside` stops.
   */
  readonly beside?: VPS;
}

/**
 * Boots a fresh VPS and waits until systemd is up, sshd answers with the
 * pinned key and the inner Docker engine runs. `stop` removes the container,
 * its Docker volume and the bridge it made.
 */
export async function startVPS(options: VPSOptions = {}): Promise<VPS> {
  const image = vpsImage();
  const keygen = requireTool("ssh-keygen");
  const id = randomBytes(4).toString("hex");
  const name = `infra-testbed-vps-${id}`;
  const dir = await mkdtemp(join(tmpdir(), "infra-testbed-"));
  const file = (entry: string) => join(dir, entry);
  execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "testbed-host", "-f", file("ssh_host_ed25519_key")]);
  execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "testbed-deploy", "-f", file("deploy_key")]);
  const hostPublicKey = (await readFile(file("ssh_host_ed25519_key.pub"), "utf8")).trim().split(" ").slice(0, 2).join(" ");

  let subnet = testbedSubnet();
  const beside = options.beside;
  const network = beside?.network ?? `infra-testbed-${id}`;
  if (beside) {
    const attached = JSON.parse((await docker(["network", "inspect", "--format", "{{json .Containers}}", network])).stdout) as Record<
      string,
      { IPv4Address: string }
    >;
    const taken = new Set(Object.values(attached).map((endpoint) => endpoint.IPv4Address.split("/")[0]));
    const prefix = beside.gateway.replace(/\.\d+$/, "");
    let host = 11;
    while (taken.has(`${prefix}.${host}`)) host++;
    subnet = { subnet: `${prefix}.0/24`, gateway: beside.gateway, address: `${prefix}.${host}` };
  }
  for (let attempt = 0; !beside; attempt++) {
    const created = await docker(["network", "create", "--internal", "--subnet", subnet.subnet, "--gateway", subnet.gateway, network], undefined, true);
    if (created.code === 0) break;
    if (attempt >= 5) throw new Error(`testbed: could not create bridge ${network}: ${created.stderr}`);
    subnet = testbedSubnet();
  }
  const knownHostsFile = file("known_hosts");
  await writeFile(knownHostsFile, `${subnet.address} ${hostPublicKey}\n`);

  const cleanup = async () => {
    await docker(["rm", "-f", "-v", name], undefined, true);
    await docker(["volume", "rm", "-f", `${name}-docker`], undefined, true);
    if (!beside) await docker(["network", "rm", network], undefined, true);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // What a system container needs on this machine: every capability but
    // CAP_SYS_RESOURCE (outside the sandbox's bounding set, so --privileged
    // is refused), no seccomp/AppArmor filter, a writable /proc/sys for the
    // inner engine's sysctls, and the host's cgroup tree for its limits. The
    // inner engine's data is on a volume, so it gets overlay2, not vfs.
    await docker([
      "create",
      "--name",
      name,
      "--hostname",
      "vps",
      "--network",
      network,
      "--ip",
      subnet.address,
      "--cap-add",
      "ALL",
      "--cap-drop",
      "SYS_RESOURCE",
      "--security-opt",
      "seccomp=unconfined",
      "--security-opt",
      "apparmor=unconfined",
      "--security-opt",
      "systempaths=unconfined",
      "--tmpfs",
      "/run",
      "--tmpfs",
      "/run/lock",
      "--tmpfs",
      "/tmp",
      "-v",
      "/sys/fs/cgroup:/sys/fs/cgroup:ro",
      "-v",
      `${name}-docker:/var/lib/docker`,
      "--stop-signal",
      "SIGRTMIN+3",
      "--label",
      "infra-testbed=vps",
      image,
    ]);
    await docker(["cp", file("ssh_host_ed25519_key"), `${name}:/etc/ssh/ssh_host_ed25519_key`]);
    await docker(["cp", file("ssh_host_ed25519_key.pub"), `${name}:/etc/ssh/ssh_host_ed25519_key.pub`]);
    await docker(["cp", file("deploy_key.pub"), `${name}:/home/deploy/.ssh/authorized_keys`]);
    await docker(["start", name]);

    const exec: VPS["exec"] = async (command, options = {}) =>
      docker(["exec", "-i", name, "bash", "-c", command], options.input, options.allowFailure ?? false);
    await exec("chown -R deploy:deploy /home/deploy/.ssh && chmod 0600 /home/deploy/.ssh/authorized_keys && chmod 0600 /etc/ssh/ssh_host_ed25519_key");

    const sshOptions = (knownHosts: string) => [
      "-F",
      "/dev/null",
      "-i",
      file("deploy_key"),
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "ConnectTimeout=5",
    ];
    const ssh: VPS["ssh"] = async (script, options = {}) => {
      let knownHosts = knownHostsFile;
      if (options.hostKeyLine) {
        knownHosts = file(`known_hosts-${randomBytes(3).toString("hex")}`);
        await writeFile(knownHosts, `${subnet.address} ${options.hostKeyLine}\n`);
      }
      return new Promise((resolvePromise, reject) => {
        const child = execFile(
          "ssh",
          [...sshOptions(knownHosts), `deploy@${subnet.address}`, script],
          { maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
            if (code !== 0 && !options.allowFailure) reject(new Error(`ssh to the VPS exited ${code}: ${stderr.slice(-2000)}`));
            else resolvePromise({ code, stdout, stderr });
          },
        );
        child.stdin?.end(options.input ?? "");
      });
    };

    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    let lastProblem = "";
    for (;;) {
      const state = await exec("systemctl is-system-running 2>/dev/null; true", { allowFailure: true });
      const booted = /^(running|degraded)$/m.test(state.stdout);
      if (booted) {
        const probe = await ssh("docker info --format '{{.ServerVersion}} {{.Driver}}'", { allowFailure: true });
        if (probe.code === 0) break;
        lastProblem = `ssh: ${probe.stderr.trim()}`;
      } else lastProblem = `systemd: ${state.stdout.trim() || state.stderr.trim()}`;
      if (Date.now() > deadline) {
        const failed = await exec("systemctl --failed --no-legend; journalctl -b --no-pager | tail -n 30", { allowFailure: true });
        throw new Error(`testbed: the VPS did not come up within ${BOOT_TIMEOUT_MS / 1000} s (${lastProblem})\n${failed.stdout}`);
      }
      await new Promise((wait) => setTimeout(wait, 500));
    }

    return {
      name,
      address: subnet.address,
      port: 22,
      user: "deploy",
      privateKey: await readFile(file("deploy_key"), "utf8"),
      hostPublicKey,
      knownHostsFile,
      network,
      gateway: subnet.gateway,
      exec,
      ssh,
      async sshConnections() {
        const log = await exec("journalctl -b -u ssh.service --no-pager -o cat", { allowFailure: true });
        return log.stdout.split("\n").filter((line) => /^Accepted publickey for /.test(line)).length;
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
