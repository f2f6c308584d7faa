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

/** Lines of the last health check's output, and of the container's log, that a failure reports. */
const REPORTED_LINES = 6;

/**
 * The command line that runs the gate for `container`: the script comes on
 * stdin, the container and the time limit as arguments. They are public, and
 * out of stdin they stay readable in a failure report, which hides whatever
 * came through stdin.
 */
export function healthGateCommand(container: string, timeoutSeconds: number): string {
  return `bash -s -- ${shellQuote(container)} ${timeoutSeconds}`;
}

/**
 * The script that waits on the host until the container named by its first
 * argument is healthy. It exits non-zero as soon as Docker reports the
 * container unhealthy, stopped or gone, or after the seconds of its second
 * argument. It then prints the end of the container's log, the output of its
 * last health check, and last a one-line verdict, so that the tail of its
 * output a failed deploy shows holds all three. The deploy account runs it;
 * it reads the container's state and changes nothing.
 */
export const HEALTH_GATE_SCRIPT = [
  "set -u",
  "name=$1",
  "limit=$2",
  "deadline=$((SECONDS + limit))",
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
  'echo "the end of its log:"',
  `docker logs --tail ${REPORTED_LINES} "$name" 2>&1 | sed 's/^/  /'`,
  'echo "its last health check:"',
  `docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}@@check@@{{println}}exit {{.ExitCode}}: {{.Output}}{{println}}{{end}}{{end}}' "$name" 2>/dev/null |`,
  `  awk '/^@@check@@$/ { last = ""; next } NF { last = last $0 "\\n" } END { printf "%s", last }' | tail -n ${REPORTED_LINES} | sed 's/^/  /'`,
  'echo "container $name did not become healthy: state $state after ${SECONDS}s of at most ${limit}s"',
  "exit 1",
  "",
].join("\n");
