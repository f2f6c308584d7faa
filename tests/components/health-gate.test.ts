import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HEALTH_GATE_SCRIPT, healthGateCommand, healthWaitSeconds } from "../../components/container/health-gate";
import { outputTail } from "../../components/remote/command-failure";
import { healthcheck } from "../../components/container/service-spec";
import { shellcheck } from "../support/validators";

/**
 * Runs the gate with a `docker` on PATH that answers the state inspections
 * with `states` in turn (the last one repeats; "missing" fails like an
 * unknown container) and has a health log and a container log to report.
 */
function runGate(states: readonly string[], timeoutSeconds = 30, container = "app-backend") {
  const dir = mkdtempSync(join(tmpdir(), "infra-health-gate-"));
  writeFileSync(join(dir, "states"), states.join("\n") + "\n");
  writeFileSync(join(dir, "count"), "0");
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/bash
echo "$*" >> "${dir}/calls"
case "$1 $3" in
  "inspect {{.State.Status}}"*)
    n=$(cat "${dir}/count"); echo $((n + 1)) > "${dir}/count"
    total=$(wc -l < "${dir}/states")
    line=$(( n + 1 > total ? total : n + 1 ))
    state=$(sed -n "\${line}p" "${dir}/states")
    [ "$state" = missing ] && { echo "Error: No such object: $4" >&2; exit 1; }
    echo "$state" ;;
  "inspect "*) printf '@@check@@\\nexit 1: an older check that timed out\\n\\n@@check@@\\nexit 7: Traceback (most recent call last):\\n  File "probe.py", line 1\\ncurl: (7) Failed to connect to localhost port 8000\\n\\n' ;;
  "logs "*) echo "backend: listening on a port nobody probes" ;;
  *) echo "unexpected docker call: $*" >&2; exit 99 ;;
esac
`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  // The command line as the host's shell gets it, the script on stdin.
  const run = spawnSync("bash", ["-c", healthGateCommand(container, timeoutSeconds)], {
    input: HEALTH_GATE_SCRIPT,
    encoding: "utf8",
    env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
    timeout: 60_000,
  });
  const calls = spawnSync("cat", [join(dir, "calls")], { encoding: "utf8" }).stdout;
  return { code: run.status, output: run.stdout + run.stderr, calls };
}

describe("the health gate a new container passes before it counts as started", () => {
  it("waits while the container starts and passes once Docker says healthy", () => {
    const gate = runGate(["running/starting", "running/starting", "running/healthy"]);
    expect(gate.code).toBe(0);
    expect(gate.output).toMatch(/container app-backend is healthy after \d+s/);
    expect(gate.calls.split("\n").filter((call) => call.startsWith("inspect")).length).toBe(3);
  });

  it("fails as soon as Docker says unhealthy, with the end of the log, the last health check and, last, its verdict", () => {
    const gate = runGate(["running/starting", "running/unhealthy", "running/healthy"]);
    expect(gate.code).toBe(1);
    const lines = gate.output.trimEnd().split("\n");
    // A failed deploy shows the tail of the output: the verdict closes it, so it is always there.
    expect(lines.at(-1)).toMatch(/^container app-backend did not become healthy: state running\/unhealthy after \d+s of at most 30s$/);
    expect(lines).toEqual([
      "the end of its log:",
      "  backend: listening on a port nobody probes",
      "its last health check:",
      "  exit 7: Traceback (most recent call last):",
      '    File "probe.py", line 1',
      "  curl: (7) Failed to connect to localhost port 8000",
      lines.at(-1),
    ]);
  });

  it.each([
    ["a container that exited", ["running/starting", "exited/unhealthy"], "exited/unhealthy"],
    ["a container restarting in a loop that Docker gave up on", ["restarting/starting", "dead/starting"], "dead/starting"],
    ["a container that is gone", ["missing"], "missing"],
    ["a container without a health check, which nothing could judge", ["running/no-healthcheck"], "running/no-healthcheck"],
  ])("fails at once for %s", (_case, states, reported) => {
    const gate = runGate(states);
    expect(gate.code).toBe(1);
    expect(gate.output).toContain(`state ${reported} after`);
  });

  it("keeps the container's name in the failure report, which hides everything that came through stdin", () => {
    const gate = runGate(["running/unhealthy"], 30, "fastapi-backend");
    expect(outputTail(gate.output, HEALTH_GATE_SCRIPT).at(-1)).toMatch(/^container fastapi-backend did not become healthy: state running\/unhealthy/);
  });

  it("gives up after its timeout when the container never decides", () => {
    const started = Date.now();
    const gate = runGate(["running/starting"], 2);
    expect(gate.code).toBe(1);
    expect(gate.output).toContain("state running/starting, still not healthy after");
    expect(gate.output).toContain("of at most 2s");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("keeps a hostile container name one quoted word", () => {
    const gate = runGate(["missing"], 30, "x$(touch /tmp/owned);y");
    expect(gate.calls).toContain(
      "inspect --format {{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}} x$(touch /tmp/owned);y",
    );
  });

  it("passes shellcheck", () => {
    const result = shellcheck(HEALTH_GATE_SCRIPT);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("waits as long as the health check allows before Docker would call the container unhealthy, plus a minute", () => {
    // start period 30 s, first check after one interval (30 s), 3 failed checks of up to 30 + 5 s each, then 60 s.
    expect(healthWaitSeconds(healthcheck(["CMD", "true"]))).toBe(30 + 30 + 3 * 35 + 60);
    expect(healthWaitSeconds({ test: ["CMD", "true"], intervalSeconds: 10, timeoutSeconds: 3, retries: 5, startPeriodSeconds: 0 })).toBe(0 + 10 + 5 * 13 + 60);
  });
});
