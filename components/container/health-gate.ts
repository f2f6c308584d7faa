import { shellQuote } from "../backup/shell";
import type { HealthcheckSpec } from "./service-spec";

/**
 * How long a new container may take to become healthy: what its own health
 * check allows before Docker declares it unhealthy (the start period, the
 * first check one interval after start, then `retries` failed checks each
 * taking up to interval + timeout), plus a minute for a loaded host. The
 * gate stops earlier, as soon as Docker says "unhealthy".
 */
export function healthWaitSeconds(check: HealthcheckSpec): number {
  return check.startPeriodSeconds + check.intervalSeconds + check.retries * (check.intervalSeconds + check.timeoutSeconds) + 60;
}

/** Lines of the last health checks and of the container's log a failure report carries. */
const REPORTED_LINES = 20;

/**
 * The script that waits on the host until `container` is healthy. It exits
 * non-zero as soon as Docker reports the container unhealthy, stopped or
 * gone, or after `timeoutSeconds`, printing the outputs of its last health
 * checks and the end of its log, so the failed deploy says why. The deploy
 * account runs it; it reads the container's state and changes nothing.
 */
export function healthGateScript(container: string, timeoutSeconds: number): string {
  const name = shellQuote(container);
  return [
    "set -u",
    `name=${name}`,
    `deadline=$((SECONDS + ${timeoutSeconds}))`,
    "state=missing",
    "while :; do",
    `  state=$(docker inspect --format '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$name" 2>/dev/null) || state=missing`,
    '  case "$state" in',
    '    running/healthy) echo "container $name is healthy after ${SECONDS}s"; exit 0 ;;',
    "    */unhealthy | exited/* | dead/* | missing | */no-healthcheck) break ;;",
    "  esac",
    '  if [ "$SECONDS" -ge "$deadline" ]; then state="$state, still not healthy"; break; fi',
    "  sleep 1",
    "done",
    `echo "container $name did not become healthy (state $state after \${SECONDS}s of at most ${timeoutSeconds}s); its last health checks:"`,
    `docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}}{{println}}{{end}}{{end}}' "$name" 2>&1 | grep -v '^$' | tail -n ${REPORTED_LINES}`,
    'echo "the end of its log:"',
    `docker logs --tail ${REPORTED_LINES} "$name" 2>&1`,
    "exit 1",
    "",
  ].join("\n");
}
