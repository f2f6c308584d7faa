import { secretFileTarget } from "../container/secret-files";
import type { SecretFileSpec } from "../container/service-spec";
import type { ProtectedRoute, RouteCredential } from "./route";

/**
 * Basic auth for nginx and Traefik. Both check passwords against an htpasswd
 * file, and neither image can compute bcrypt, so the stack holds the bcrypt
 * hash itself as a Pulumi secret. It reaches the container as a secret file
 * (C15) holding the htpasswd line, from which the container's start script
 * writes the htpasswd file into its tmpfs, once it has checked that the
 * value is a bcrypt hash, before it execs the proxy. The generated
 * configuration only names that file, so the hash is in no uploaded file,
 * environment, plan or golden graph.
 */

/** Inside the proxy's /tmp tmpfs: written at every start, never on a volume or in the image. */
export const BASIC_AUTH_DIR = "/tmp/basic-auth";

/** The realm browsers show in their password prompt. */
export const BASIC_AUTH_REALM = "restricted";

/** One htpasswd file: one credential, read by every route that uses it. */
export interface HtpasswdFile {
  /** Where the proxy reads it, e.g. /tmp/basic-auth/infra-monitoringAdminPasswordHash. */
  readonly path: string;
  /** The secret file carrying its one line, `user:hash` (under /run/secrets). */
  readonly secretFile: string;
  readonly user: string;
  /** Secret config key of the bcrypt hash. */
  readonly secret: string;
}

const USER_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const SECRET_KEY = /^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/;

/** `infra:monitoringAdminPasswordHash` as a file and middleware name: `infra-monitoringAdminPasswordHash`. */
export function credentialName(credential: Pick<RouteCredential, "passwordHashSecret">): string {
  return credential.passwordHashSecret.replace(/[^A-Za-z0-9_-]/g, "-");
}

export function htpasswdPath(credential: Pick<RouteCredential, "passwordHashSecret">): string {
  return `${BASIC_AUTH_DIR}/${credentialName(credential)}`;
}

function secretFileOf(credential: Pick<RouteCredential, "passwordHashSecret">): string {
  return `htpasswd-${credentialName(credential)}`;
}

export function basicAuthProblems(routes: readonly ProtectedRoute[]): string[] {
  const problems: string[] = [];
  const users = new Map<string, string>();
  const secretFiles = new Map<string, string>();
  for (const route of routes) {
    const credential = route.basicAuth;
    if (!credential) continue;
    // The user name is the first field of an htpasswd line, so it can hold neither a colon nor a line break.
    if (!USER_NAME.test(credential.user))
      problems.push(`${route.hostname}: "${credential.user}" is not a user name (1 to 32 letters, digits, dots, hyphens or underscores)`);
    if (!SECRET_KEY.test(credential.passwordHashSecret))
      problems.push(`${route.hostname}: "${credential.passwordHashSecret}" is not a secret config key such as infra:adminPasswordHash`);
    const user = users.get(credential.passwordHashSecret);
    if (user !== undefined && user !== credential.user) {
      problems.push(
        `${credential.passwordHashSecret} is used by users ${user} and ${credential.user}; a hash belongs to one user, so give each user a secret of its own`,
      );
    }
    users.set(credential.passwordHashSecret, credential.user);
    const file = secretFileOf(credential);
    const owner = secretFiles.get(file);
    if (owner !== undefined && owner !== credential.passwordHashSecret)
      problems.push(`${owner} and ${credential.passwordHashSecret} would share the file ${file}; rename one`);
    secretFiles.set(file, credential.passwordHashSecret);
  }
  return problems;
}

/** The htpasswd files the routes read, one per credential, in a stable order. */
export function htpasswdFiles(routes: readonly ProtectedRoute[]): HtpasswdFile[] {
  const problems = basicAuthProblems(routes);
  if (problems.length > 0) throw new Error(`basic auth: ${problems.join("; ")}`);
  const bySecret = new Map<string, RouteCredential>();
  for (const route of routes) if (route.basicAuth) bySecret.set(route.basicAuth.passwordHashSecret, route.basicAuth);
  return [...bySecret.values()]
    .sort((a, b) => a.passwordHashSecret.localeCompare(b.passwordHashSecret))
    .map((credential) => ({
      path: htpasswdPath(credential),
      secretFile: secretFileOf(credential),
      user: credential.user,
      secret: credential.passwordHashSecret,
    }));
}

/** The secret files the start script reads, each one line `user:<hash>`, owned by `uid`, the user the proxy runs as. */
export function basicAuthSecretFiles(files: readonly HtpasswdFile[], uid: number): SecretFileSpec[] {
  return files.map((file) => ({ name: file.secretFile, content: { secretTemplate: `${file.user}:{{${file.secret}}}` }, uid }));
}

/**
 * Shell lines that write the htpasswd files, for a container's start script
 * (`sh -c`, busybox or dash). A value that is not a bcrypt hash (a plain
 * password set by mistake) stops the container with the secret's name, never
 * its value, instead of leaving a route that refuses every password. The
 * proxies check the hash on every request and nginx keeps no cache, so the
 * hint asks for cost 10 (about 50 ms) rather than caddy hash-password's 14.
 */
export function htpasswdScript(files: readonly HtpasswdFile[]): string[] {
  if (files.length === 0) return [];
  // No `set -e`: the script goes on into the proxy's own command, whose
  // background loops must survive a failed step; each step here exits on its own failure.
  return [
    // Only the proxy's own user may read the hashes.
    "umask 077",
    `mkdir -p ${BASIC_AUTH_DIR} || exit 73`,
    ...files.flatMap((file) => [
      `line=$(cat ${secretFileTarget({ name: file.secretFile })}) || exit 73`,
      'case "$line" in',
      `  ${file.user}:\\$2[aby]\\$[0-9][0-9]\\$?*) ;;`,
      `  *) echo "${file.secret} is not a bcrypt hash; make one with htpasswd -nbBC 10 ${file.user} <password> | cut -d: -f2" >&2; exit 78 ;;`,
      "esac",
      `printf '%s\\n' "$line" > ${file.path} || exit 73`,
    ]),
    "unset line",
  ];
}
