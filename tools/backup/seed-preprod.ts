import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { resticRepository } from "../../components/backup/job";
import { readStackFile } from "../plan/stack-file";

/**
 * Seeds one stack from another's latest backup: the restore drill of B8, and
 * how preprod gets realistic data (seed 002). For each server of the target
 * stack it restores the same-named server's latest snapshot from the source
 * stack's repository, then prints the drill report: restore time (RTO) and
 * every row, key and point count before and after.
 *
 *   npx tsx tools/backup/seed-preprod.ts --from prod --to preprod [--address main=198.51.100.20] [--dry-run]
 *
 * The source repository's password is read with `pulumi config get` and
 * handed to the target server on stdin for the length of the restore only.
 */

export interface SeedStep {
  readonly server: string;
  readonly sshTarget: string;
  readonly sshPort: number;
  readonly repository: string;
  /** Remote commands in order; the password arrives on the first one's stdin. */
  readonly commands: readonly string[];
}

const PASSWORD_FILE = "/tmp/infra-seed-restic-password";
export const REPORT_FILE = "/var/tmp/infra-seed-report.json";

interface SeedServer {
  readonly name: string;
  readonly provider: string;
  readonly sshUser?: string;
  readonly address?: string;
  readonly sshPort?: number;
}

/**
 * Just the servers and storage of a stack file. `pulumi up` validates the
 * whole configuration; a seed needs only where to connect and which bucket.
 */
function stackConfig(projectDir: string, stack: string): { servers: SeedServer[]; storage: { endpoint: string; bucketPrefix: string } } {
  const values = readStackFile(projectDir, stack).values;
  const servers = JSON.parse(values["infra:servers"] ?? "[]") as SeedServer[];
  const storage = JSON.parse(values["infra:storage"] ?? "{}") as { endpoint?: string; bucketPrefix?: string };
  if (!Array.isArray(servers) || servers.length === 0 || !storage.endpoint || !storage.bucketPrefix)
    throw new Error(`stack ${stack} has no infra:servers or infra:storage`);
  return { servers, storage: { endpoint: storage.endpoint, bucketPrefix: storage.bucketPrefix } };
}

/** What seeding `to` from `from` runs, per server; addresses of new servers come from the caller. */
export function seedSteps(projectDir: string, from: string, to: string, addresses: Readonly<Record<string, string>> = {}): SeedStep[] {
  const source = stackConfig(projectDir, from);
  const target = stackConfig(projectDir, to);
  return target.servers.map((server) => {
    if (!source.servers.some((candidate) => candidate.name === server.name)) throw new Error(`stack ${from} has no server ${server.name} to seed ${to}'s from`);
    const address = addresses[server.name] ?? (server.provider === "existing" ? server.address : undefined);
    const sshUser = server.sshUser ?? "root";
    const sshPort = server.provider === "existing" ? (server.sshPort ?? 22) : 22;
    if (!address) throw new Error(`the address of ${to}'s server ${server.name} is not known; pass --address ${server.name}=<ip> or run after \`pulumi up\``);
    const repository = resticRepository(source.storage.endpoint, `${source.storage.bucketPrefix}-backups`, server.name);
    return {
      server: server.name,
      sshTarget: `${sshUser}@${address}`,
      sshPort,
      repository,
      commands: [
        `umask 077 && cat >${PASSWORD_FILE}`,
        `sudo infra-restore --repository ${repository} --password-file ${PASSWORD_FILE} --host ${server.name} --report ${REPORT_FILE}; status=$?; rm -f ${PASSWORD_FILE}; exit $status`,
      ],
    };
  });
}

function main(argv: string[]): void {
  const option = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const from = option("from") ?? "prod";
  const to = option("to") ?? "preprod";
  const addresses: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === "--address") {
      const [server, address] = (argv[index + 1] ?? "").split("=");
      if (server && address) addresses[server] = address;
    }
  }
  const projectDir = resolve(__dirname, "..", "..");
  if (Object.keys(addresses).length === 0 && !argv.includes("--dry-run")) {
    try {
      Object.assign(
        addresses,
        JSON.parse(execFileSync("pulumi", ["stack", "output", "serverAddresses", "--stack", to, "--json"], { cwd: projectDir, encoding: "utf8" })),
      );
    } catch {
      // Existing servers carry their address in the stack file.
    }
  }
  const steps = seedSteps(projectDir, from, to, addresses);
  if (argv.includes("--dry-run")) {
    for (const step of steps)
      process.stdout.write(`${step.server}: ssh -p ${step.sshPort} ${step.sshTarget}\n${step.commands.map((command) => `  ${command}`).join("\n")}\n`);
    return;
  }
  const password = execFileSync("pulumi", ["config", "get", "--stack", from, "infra:resticPassword"], { cwd: projectDir, encoding: "utf8" }).trim();
  for (const step of steps) {
    const ssh = (command: string, input?: string) =>
      execFileSync("ssh", ["-p", String(step.sshPort), "-o", "BatchMode=yes", step.sshTarget, command], {
        input: input ?? "",
        encoding: "utf8",
        stdio: ["pipe", "pipe", "inherit"],
      });
    ssh(step.commands[0]!, `${password}\n`);
    const report = JSON.parse(ssh(step.commands[1]!)) as {
      restoreSeconds: number;
      lost: number;
      counts: { service: string; object: string; before: number; after: number }[];
    };
    process.stdout.write(`${to}/${step.server} seeded from ${from} in ${report.restoreSeconds} s (RTO); rows lost: ${report.lost}\n`);
    for (const count of report.counts) process.stdout.write(`  ${count.service} ${count.object}: ${count.before} -> ${count.after}\n`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`seed failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
