import { shellQuote } from "../backup/shell";
import type { ConfigFile, ServiceSpec } from "./service-spec";

/**
 * Configuration a running container takes in place, without a restart: the
 * ingress's routes, headers and upstreams. Such files are not uploaded into
 * the container (an upload is part of the container, so every change would
 * replace it and take every site down for that moment). They are written on
 * the host, in a directory the container sees read-only at LIVE_CONFIG_MOUNT,
 * and a host command checks each new version inside the running container,
 * moves it into place and has the process reload it.
 */
export const LIVE_CONFIG_MOUNT = "/etc/infra";
/** Where the container reads its live files. */
export const LIVE_CONFIG_DIR = `${LIVE_CONFIG_MOUNT}/live`;
/** Where a new version waits while it is checked; visible in the container, so the check runs with its networks and users. */
export const STAGED_CONFIG_DIR = `${LIVE_CONFIG_MOUNT}/next`;
/** Placeholder for the directory a check or reload reads, in LiveReload's commands. */
export const CONFIG_DIR_PLACEHOLDER = "{dir}";
/**
 * Seconds the host command waits after a reload. nginx and Caddy let the
 * requests that old workers or servers hold finish on the old configuration;
 * this is the time they get before anything the old configuration pointed at
 * (the previous release of an app) is stopped.
 */
export const DRAIN_SECONDS = 5;

/** How a container takes new versions of its live files. */
export interface LiveReload {
  /** Run in the container on the staged directory before anything moves; a non-zero exit keeps the running configuration. */
  readonly check?: readonly string[];
  /**
   * Run in the container once the files are in place. A non-zero exit puts
   * the previous files back and fails the deploy; a proxy that refuses a
   * configuration keeps serving the one it has. Absent when the process
   * watches its files itself (Traefik's file provider).
   */
  readonly apply?: readonly string[];
}

/** The host directory of a container's live files; it is the container's own, so two containers never share one. */
export function liveConfigHostPath(containerName: string): string {
  return `/srv/infra/${containerName}`;
}

/** A live file's name in the live directory (its path is `LIVE_CONFIG_DIR/<name>`). */
export function liveFileName(file: ConfigFile): string {
  const prefix = `${LIVE_CONFIG_DIR}/`;
  if (!file.path.startsWith(prefix) || file.path.slice(prefix.length).includes("/"))
    throw new Error(`live file ${file.path} must sit directly in ${LIVE_CONFIG_DIR}`);
  return file.path.slice(prefix.length);
}

export function liveFiles(spec: ServiceSpec): ConfigFile[] {
  return spec.files.filter((file) => file.live === true);
}

/** Problems of a spec's live files and reload, for the service's own validation. */
export function liveConfigProblems(spec: ServiceSpec): string[] {
  const files = liveFiles(spec);
  const problems: string[] = [];
  if (files.length > 0 && !spec.liveReload) problems.push("it has live files but no liveReload to apply them");
  if (files.length === 0 && spec.liveReload) problems.push("it has a liveReload but no live files");
  for (const file of files) {
    try {
      liveFileName(file);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

/** The live files of a container as its config command's trigger: plain data that a reviewer and the graph policy read without parsing the script. */
export interface LiveConfigTrigger {
  readonly liveConfigOf: string;
  readonly files: readonly { readonly path: string; readonly content: string }[];
}

export function liveConfigTrigger(container: string, files: readonly ConfigFile[]): LiveConfigTrigger {
  return { liveConfigOf: container, files: files.map((file) => ({ path: file.path, content: file.content })) };
}

/** The live files a recorded config command installs into `container`, read from its trigger; none for any other resource. */
export function liveFilesInstalled(triggers: unknown, container: string): { path: string; content: string }[] {
  if (!Array.isArray(triggers)) return [];
  return triggers.flatMap((trigger) => {
    const candidate = trigger as Partial<LiveConfigTrigger> | null;
    if (candidate === null || typeof candidate !== "object" || candidate.liveConfigOf !== container || !Array.isArray(candidate.files)) return [];
    return candidate.files.filter((file) => typeof file?.path === "string" && typeof file?.content === "string");
  });
}

const DELIMITER = "INFRA_LIVE_FILE_END";

function withDirectory(command: readonly string[], directory: string): string {
  return command.map((argument) => shellQuote(argument.split(CONFIG_DIR_PLACEHOLDER).join(directory))).join(" ");
}

/**
 * The script (root, on the host) that installs a new version of the live
 * files of `container`. While the container runs: stage the files, check them
 * in the container, keep a copy of the running ones, move the new ones in,
 * apply them, then wait DRAIN_SECONDS; a refused check or apply leaves (or
 * puts back) the running files and fails with the proxy's own words. Before
 * the container exists (a first deploy), the files just go in place, and the
 * container's health gate judges them when it starts. Files carry no secret:
 * they are readable by the container's user, whatever its uid.
 */
export function liveConfigScript(
  container: string,
  files: readonly ConfigFile[],
  reload: LiveReload,
  where: { readonly root?: string; readonly drainSeconds?: number } = {},
): string {
  const root = where.root ?? liveConfigHostPath(container);
  const names = files.map(liveFileName);
  // Only a line that is the delimiter itself ends the (quoted) here-document early.
  for (const file of files)
    if (file.content.split("\n").includes(DELIMITER)) throw new Error(`${file.path} contains the here-document delimiter ${DELIMITER} as a line`);
  const writes = files.map((file, index) => `cat >"$root/next/${names[index]}" <<'${DELIMITER}'\n${file.content.replace(/\n$/, "")}\n${DELIMITER}`);
  const quotedNames = names.map(shellQuote).join(" ");
  return [
    "set -euo pipefail",
    `container=${shellQuote(container)}`,
    `root=${shellQuote(root)}`,
    'install -d -m 0755 "$root" "$root/live"',
    'rm -rf "$root/next" "$root/previous"',
    'install -d -m 0755 "$root/next" "$root/previous"',
    ...writes,
    'chmod 0644 "$root"/next/*',
    `running=$(docker inspect --format '{{.State.Running}}' "$container" 2>/dev/null || echo absent)`,
    "if [[ $running != true ]]; then",
    `  for name in ${quotedNames}; do mv -f "$root/next/$name" "$root/live/$name"; done`,
    '  rm -rf "$root/next" "$root/previous"',
    '  echo "$container is not running: its configuration is in place for its start"',
    "  exit 0",
    "fi",
    ...(reload.check
      ? [
          `if ! output=$(docker exec "$container" ${withDirectory(reload.check, STAGED_CONFIG_DIR)} 2>&1); then`,
          '  echo "$output" | tail -n 20',
          '  rm -rf "$root/next" "$root/previous"',
          '  echo "$container refused the new configuration; it keeps serving the running one"',
          "  exit 1",
          "fi",
        ]
      : []),
    `for name in ${quotedNames}; do`,
    '  if [[ -e "$root/live/$name" ]]; then cp -p "$root/live/$name" "$root/previous/$name"; fi',
    '  mv -f "$root/next/$name" "$root/live/$name"',
    "done",
    ...(reload.apply
      ? [
          `if ! output=$(docker exec "$container" ${withDirectory(reload.apply, LIVE_CONFIG_DIR)} 2>&1); then`,
          '  echo "$output" | tail -n 20',
          `  for name in ${quotedNames}; do`,
          '    if [[ -e "$root/previous/$name" ]]; then mv -f "$root/previous/$name" "$root/live/$name"; else rm -f "$root/live/$name"; fi',
          "  done",
          '  rm -rf "$root/next" "$root/previous"',
          '  echo "$container refused the new configuration; the running one stays, and its files are back in place"',
          "  exit 1",
          "fi",
        ]
      : []),
    'rm -rf "$root/next" "$root/previous"',
    `sleep ${where.drainSeconds ?? DRAIN_SECONDS}`,
    'echo "$container reloaded its configuration"',
    "",
  ].join("\n");
}
