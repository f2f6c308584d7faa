import { shellQuote, shellWords } from "../backup/shell";
import { renderSecretTemplate, type SecretContent, type SecretFileSpec, type ServiceSpec } from "./service-spec";

/**
 * Secrets as files (C15). `docker inspect` shows a container's environment
 * to anyone who may talk to Docker, and the Docker provider keeps it in the
 * state; a file mounted into the container shows only its path. Each
 * service's files are written on its host by one SSH command, which gets
 * their contents on stdin and nowhere else, into a directory only root can
 * enter; the container bind-mounts each file read-only. A bind mount works
 * with a read-only root filesystem, where Docker refuses uploads.
 */

/** The host directory of every container's secret files: /etc/infra/secrets/<container>/<name>. */
export const SECRETS_HOST_DIR = "/etc/infra/secrets";
/** Where a container sees its secret files unless one names its own path. */
export const SECRETS_CONTAINER_DIR = "/run/secrets";

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTAINER_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

/** The path a container reads a secret file at. */
export function secretFileTarget(file: Pick<SecretFileSpec, "name" | "target">): string {
  return file.target ?? `${SECRETS_CONTAINER_DIR}/${file.name}`;
}

/** The directory of a container's secret files on its host. */
export function secretFilesDirectory(containerName: string): string {
  return `${SECRETS_HOST_DIR}/${containerName}`;
}

/** The read-only bind of each secret file, as containerSettings lists binds. */
export function secretFileBinds(
  spec: Pick<ServiceSpec, "secretFiles">,
  containerName: string,
): { hostPath: string; containerPath: string; readOnly: boolean }[] {
  return spec.secretFiles.map((file) => ({
    hostPath: `${secretFilesDirectory(containerName)}/${file.name}`,
    containerPath: secretFileTarget(file),
    readOnly: true,
  }));
}

/** The variables that tell the image where its secret files are: `POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password`. */
export function secretFileEnv(spec: Pick<ServiceSpec, "secretFiles">): Record<string, string> {
  return Object.fromEntries(spec.secretFiles.flatMap((file) => (file.variable === undefined ? [] : [[file.variable, secretFileTarget(file)]])));
}

/** What is wrong with a service's secret files; empty when the Service component can deliver them. */
export function secretFileProblems(spec: Pick<ServiceSpec, "name" | "env" | "secretFiles" | "volumes" | "binds" | "user">): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const targets = new Set([...spec.volumes.map((mount) => mount.target), ...spec.binds.map((bind) => bind.target)]);
  const variables = new Set(Object.keys(spec.env));
  for (const file of spec.secretFiles) {
    const where = `${spec.name}'s secret file ${file.name}`;
    if (!FILE_NAME.test(file.name)) problems.push(`${where}: the name must be letters, digits, dots, dashes or underscores, starting with a letter or digit`);
    if (names.has(file.name)) problems.push(`${where} is declared twice`);
    names.add(file.name);
    if (!Number.isInteger(file.uid) || file.uid < 0 || file.uid > 2 ** 31 - 1) problems.push(`${where}: uid ${file.uid} is not a user id`);
    // A numeric user runs every process of the container; a file owned by another uid, mode 0400, is unreadable to it.
    if (spec.user !== undefined && /^\d+(:\d+)?$/.test(spec.user) && Number(spec.user.split(":")[0]) !== file.uid) {
      problems.push(`${where} is owned by uid ${file.uid}, but the container runs as ${spec.user}, which could not read it`);
    }
    const target = secretFileTarget(file);
    if (!target.startsWith("/") || target.split("/").includes("..")) problems.push(`${where}: target ${target} is not an absolute path`);
    if (targets.has(target)) problems.push(`${where}: ${target} is mounted twice`);
    targets.add(target);
    if (file.variable !== undefined) {
      if (!VARIABLE.test(file.variable)) problems.push(`${where}: ${file.variable} is not an environment variable name`);
      if (variables.has(file.variable)) problems.push(`${where}: ${file.variable} is also set in the environment`);
      variables.add(file.variable);
    }
  }
  return problems;
}

/** A secret file's content with its secrets filled in; `values` are the stack's secrets by key. */
export function renderSecretContent(content: SecretContent, values: Readonly<Record<string, string>>): string {
  if ("secret" in content) {
    const value = values[content.secret];
    if (value === undefined) throw new Error(`secret file: no value for ${content.secret}`);
    return value;
  }
  return renderSecretTemplate(content.secretTemplate, values, content.encoding);
}

/**
 * The command's stdin: for each file, in the order of the command's
 * arguments, its length in bytes on a line of its own, then its bytes.
 * Nothing else is on stdin, and the contents are in no argument.
 */
export function secretFilesStdin(contents: readonly string[]): string {
  return contents
    .map((content) => {
      if (content.includes("\0")) throw new Error("a secret file cannot hold a NUL byte");
      return `${Buffer.byteLength(content, "utf8")}\n${content}`;
    })
    .join("");
}

/**
 * Writes one container's secret files from stdin (secretFilesStdin), as root:
 * arguments are the container's name, then `<name>:<uid>` per file.
 *
 * - The directory is 0700 root; each file 0400, owned by its uid.
 * - A file is replaced in one rename, so a reader sees the old content or
 *   the new, never part of either; an unchanged file is left alone.
 * - A file no longer declared is removed.
 * - When any file changed and the container is running, it is restarted: a
 *   bind mount holds the file it was started with, and images read their
 *   secrets when they start. A container that does not exist yet, or is
 *   stopped, reads the new files when it starts.
 */
export const SECRET_FILES_SCRIPT = `set -euo pipefail
export LC_ALL=C
umask 077
readonly root=${SECRETS_HOST_DIR}
fail() { echo "secret files: $*" >&2; exit 1; }
container=\${1:-}
shift || true
[[ $container =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || fail "\\"$container\\" is not a container name"
dir=$root/$container
names=() uids=() contents=()
# Every content is read before anything is written: stdin holds them and nothing else.
for spec in "$@"; do
  name=\${spec%%:*} uid=\${spec#*:}
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ && $uid =~ ^[0-9]+$ ]] || fail "\\"$spec\\" is not <name>:<uid>"
  IFS= read -r length || fail "stdin ends before $name"
  [[ $length =~ ^[0-9]+$ ]] || fail "no length before $name"
  content=
  if (( length > 0 )); then IFS= read -r -N "$length" content || true; fi
  (( \${#content} == length )) || fail "stdin ends inside $name"
  names+=("$name") uids+=("$uid") contents+=("$content")
done
install -d -m 0700 "$root" "$dir"
changed=()
for i in "\${!names[@]}"; do
  name=\${names[i]} path=$dir/\${names[i]}
  if [[ -f $path && ! -L $path && $(stat -c %u:%a "$path") == "\${uids[i]}:400" ]] && cmp -s "$path" <(printf '%s' "\${contents[i]}"); then
    continue
  fi
  # Docker makes a missing bind source a directory; only an empty one can be such a leftover.
  if [[ -d $path && ! -L $path ]]; then rmdir -- "$path"; fi
  tmp=$(mktemp "$dir/.$name.XXXXXX")
  printf '%s' "\${contents[i]}" >"$tmp"
  chown "\${uids[i]}" "$tmp"
  chmod 0400 "$tmp"
  mv -f -T -- "$tmp" "$path"
  changed+=("$name")
done
for path in "$dir"/* "$dir"/.[!.]*; do
  [[ -e $path || -L $path ]] || continue
  declared=false
  for name in "\${names[@]}"; do
    if [[ \${path##*/} == "$name" ]]; then declared=true; fi
  done
  if [[ $declared == false ]]; then rm -rf -- "$path"; echo "removed \${path##*/}"; fi
done
if (( \${#changed[@]} > 0 )); then
  echo "wrote \${changed[*]}"
  if [[ $(docker inspect --format '{{.State.Running}}' "$container" 2>/dev/null) == true ]]; then
    docker restart "$container" >/dev/null
    echo "restarted $container, which reads its secrets when it starts"
  fi
fi
`;

/** The command line that writes a container's secret files; its arguments are public, the contents come on stdin. */
export function writeSecretFilesCommand(containerName: string, files: readonly Pick<SecretFileSpec, "name" | "uid">[]): string {
  if (!CONTAINER_NAME.test(containerName)) throw new Error(`secret files: "${containerName}" is not a container name`);
  return `sudo bash -c ${shellQuote(SECRET_FILES_SCRIPT)} infra-secrets ${shellWords([containerName, ...files.map((file) => `${file.name}:${file.uid}`)])}`;
}

/**
 * Removes a container's secret files once no container of that name mounts
 * them: a service removed from the stack, or the stack destroyed (the
 * container goes first, as it depends on the command), or a service that no
 * longer has secret files (its container is replaced without the mounts
 * first). While the container mounts them the directory stays, which is the
 * case when the command is replaced because a secret changed: the new
 * command has already rewritten the files by then.
 */
export function removeSecretFilesCommand(containerName: string): string {
  if (!CONTAINER_NAME.test(containerName)) throw new Error(`secret files: "${containerName}" is not a container name`);
  const directory = secretFilesDirectory(containerName);
  return `sudo sh -c ${shellQuote(`docker container inspect --format "{{range .Mounts}}{{println .Source}}{{end}}" ${containerName} 2>/dev/null | grep -q "^${directory}/" || rm -rf ${directory}`)}`;
}
