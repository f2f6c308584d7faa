import { secretFileTarget } from "./secret-files";
import { healthcheck, type HealthcheckSpec, type SecretFileSpec } from "./service-spec";

/**
 * Redis's password as files (C15). redis-server has no `_FILE` variable; it
 * reads a configuration file named first on its command line, so
 * `requirepass` comes from one, quoted as Redis parses it. redis-cli takes
 * the password from REDISCLI_AUTH, which the health check and the backup job
 * set from the plain password file for their one process only.
 */
export const REDIS_AUTH_CONFIG = "redis-auth.conf";
export const REDIS_PASSWORD_FILE = "redis-password";

/** The configuration file to name first on redis-server's command line. */
export const REDIS_AUTH_CONFIG_PATH = secretFileTarget({ name: REDIS_AUTH_CONFIG });
export const REDIS_PASSWORD_PATH = secretFileTarget({ name: REDIS_PASSWORD_FILE });

/** Both files, owned by `uid`, the user redis-server runs as. */
export function redisAuthFiles(passwordSecret: string, uid: number): SecretFileSpec[] {
  return [
    { name: REDIS_AUTH_CONFIG, content: { secretTemplate: `requirepass {{${passwordSecret}}}\n`, encoding: "redis" }, uid },
    { name: REDIS_PASSWORD_FILE, content: { secret: passwordSecret }, uid },
  ];
}

/** `redis-cli ping`, authenticated from the password file. */
export function redisHealthcheck(): HealthcheckSpec {
  return healthcheck(["CMD-SHELL", `REDISCLI_AUTH="$(cat ${REDIS_PASSWORD_PATH})" redis-cli ping | grep -q PONG`]);
}
