import { SECRETS_HOST_DIR } from "../../components/container/secret-files";
import { secretsIn, secretsInInspect, type Exposure, type InspectDocument } from "../support/secret-search";
import type { VPS } from "./vps";

/**
 * C15 on a deployed VPS, as an attacker on the host would look: what
 * `docker inspect` shows of every container (anyone in the docker group may
 * ask), what `ps` shows of every process's command line (anyone on the host
 * may), and the secret files themselves: who may read them, on the host and
 * inside the container.
 */
export interface SecretExposure {
  /** The stack's secrets in `docker inspect`, except in the environment of a container whose service waives C15. */
  readonly inspected: Exposure[];
  /** The containers whose environment carries a secret, waivers set aside: exactly the waived ones, or the search found nothing it should. */
  readonly inEnvironment: string[];
  /** Processes on the VPS whose command line carries a secret: `<pid> <command>: <secret key>`. */
  readonly commandLines: string[];
  /** What is wrong with the secret files: a mode, an owner, a writable mount, a file no container mounts, a reader that is not the service. */
  readonly files: string[];
  /** Each secret file a container mounts, as `<container> <path inside it>`, sorted (so an empty check cannot pass unnoticed). */
  readonly mounted: string[];
}

interface Mount {
  readonly Type: string;
  readonly Source: string;
  readonly Destination: string;
  readonly RW: boolean;
}

/** A stranger's uid inside every container: no image has it, no secret file is its. */
const STRANGER_UID = 4242;

export async function secretExposure(vps: VPS, secrets: Readonly<Record<string, string>>, waived: ReadonlySet<string>): Promise<SecretExposure> {
  const ids = (await vps.exec("docker ps -aq")).stdout.split("\n").filter(Boolean);
  const documents = ids.length === 0 ? [] : (JSON.parse((await vps.exec(`docker inspect ${ids.join(" ")}`)).stdout) as InspectDocument[]);
  const inEnvironment = [
    ...new Set(
      secretsInInspect(documents, secrets, new Set())
        .filter((exposure) => exposure.path.startsWith("Config.Env "))
        .map((exposure) => exposure.container),
    ),
  ].sort();

  const processes = (await vps.exec("ps -e -ww -o pid=,args=")).stdout.split("\n").filter(Boolean);
  const commandLines = processes.flatMap((line) => secretsIn(line, secrets).map((secret) => `${line.trim().split(/\s+/, 2).join(" ")}: ${secret}`));

  const { files, mounted } = await secretFileProblems(vps, documents);
  return { inspected: secretsInInspect(documents, secrets, waived), inEnvironment, commandLines, files, mounted };
}

/**
 * The secret files on the host (`find` under SECRETS_HOST_DIR) against the
 * containers' mounts: the directories root's and 0700, each file 0400 and
 * owned by a uid the service runs as (the user the container starts as, for
 * an entrypoint that reads it before dropping privileges, or one of its
 * processes' users), mounted read-only by the container its directory is
 * named for, readable inside the container by that uid and by no stranger.
 */
async function secretFileProblems(vps: VPS, documents: readonly InspectDocument[]): Promise<{ files: string[]; mounted: string[] }> {
  const problems: string[] = [];
  const listing = (await vps.exec(`find ${SECRETS_HOST_DIR} -printf '%y %m %U %G %p\\n' 2>/dev/null || true`)).stdout.split("\n").filter(Boolean);
  const entries = new Map(
    listing.map((line) => {
      const [type, mode, uid, gid, path] = line.split(" ") as [string, string, string, string, string];
      return [path, { type, mode, uid: Number(uid), gid: Number(gid) }];
    }),
  );
  const containers = documents.map((document) => ({
    name: document.Name.replace(/^\//, ""),
    mounts: ((document.Mounts as Mount[] | undefined) ?? []).filter((mount) => mount.Type === "bind" && mount.Source.startsWith(`${SECRETS_HOST_DIR}/`)),
  }));

  // Who each container runs as: `docker exec` takes the container's user, and `docker top` lists its processes' uids.
  const withSecrets = containers.filter((container) => container.mounts.length > 0);
  const users = new Map<string, Set<number>>(withSecrets.map((container) => [container.name, new Set<number>()]));
  const identities = await vps.exec(
    withSecrets.map(({ name }) => `echo "${name} $(docker exec ${name} id -u)"; docker top ${name} -eo uid | tail -n +2 | sed 's/^/${name} /'`).join("\n"),
  );
  for (const line of identities.stdout.split("\n").filter(Boolean)) {
    const [name, uid] = line.trim().split(/\s+/) as [string, string];
    if (/^\d+$/.test(uid)) users.get(name)?.add(Number(uid));
  }

  const readers: string[] = [];
  for (const { name, mounts } of withSecrets) {
    for (const mount of mounts) {
      const file = entries.get(mount.Source);
      const where = `${name}: ${mount.Source} at ${mount.Destination}`;
      if (mount.RW) problems.push(`${where} is mounted writable`);
      if (!mount.Source.startsWith(`${SECRETS_HOST_DIR}/${name}/`)) problems.push(`${where} is another container's`);
      if (!file) {
        problems.push(`${where} is not on the host`);
        continue;
      }
      if (file.type !== "f" || file.mode !== "400")
        problems.push(`${where} is ${file.type === "f" ? "a file" : `of type ${file.type}`} with mode ${file.mode}, not a 0400 file`);
      const runsAs = [...(users.get(name) ?? [])].sort((a, b) => a - b);
      if (!runsAs.includes(file.uid))
        problems.push(`${where} is owned by uid ${file.uid}, while the container runs as ${runsAs.join(", ") || "nobody it could tell"}`);
      readers.push(`${name} ${file.uid} ${mount.Destination}`, `${name} ${STRANGER_UID} ${mount.Destination}`);
    }
  }
  // Inside the container: its owner reads it, a stranger's uid is refused.
  if (readers.length > 0) {
    const script = readers.map((reader) => {
      const [name, uid, path] = reader.split(" ");
      return `if docker exec -u ${uid} ${name} cat ${path} >/dev/null 2>&1; then echo "${reader} read"; else echo "${reader} refused"; fi`;
    });
    for (const line of (await vps.exec(script.join("\n"))).stdout.split("\n").filter(Boolean)) {
      const [name, uid, path, outcome] = line.split(" ") as [string, string, string, string];
      const stranger = Number(uid) === STRANGER_UID;
      if (stranger && outcome === "read") problems.push(`${name}: uid ${uid}, a stranger, reads ${path}`);
      if (!stranger && outcome !== "read") problems.push(`${name}: uid ${uid}, the file's owner, cannot read ${path}`);
    }
  }

  // On the host: every directory root's and 0700, every file mounted by its container.
  const mountedSources = new Set(containers.flatMap((container) => container.mounts.map((mount) => mount.Source)));
  for (const [path, entry] of entries) {
    if (entry.type === "d" && (entry.mode !== "700" || entry.uid !== 0 || entry.gid !== 0))
      problems.push(`${path} is a directory with mode ${entry.mode} of ${entry.uid}:${entry.gid}, not root's 0700`);
    if (entry.type !== "d" && !mountedSources.has(path)) problems.push(`${path} is mounted by no container`);
  }
  const mounted = containers.flatMap((container) => container.mounts.map((mount) => `${container.name} ${mount.Destination}`)).sort();
  return { files: problems, mounted };
}
