import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { healthGateScript, healthWaitSeconds } from "../../components/container/health-gate";
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
  "inspect "*) printf 'exit 7: curl: (7) Failed to connect to localhost port 8000\\n\\nexit 7: curl: (7) Failed to connect to localhost port 8000\\n' ;;
  "logs "*) echo "backend: listening on a port nobody probes" ;;
  *) echo "unexpected docker call: $*" >&2; exit 99 ;;
esac
`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  const run = spawnSync("bash", ["-s"], { input: healthGateScript(container, timeoutSeconds), encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` }, timeout: 60_000 });
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

  it("fails as soon as Docker says unhealthy, with the last health checks and the end of the log", () => {
    const gate = runGate(["running/starting", "running/unhealthy", "running/healthy"]);
    expect(gate.code).toBe(1);
    expect(gate.output).toContain("container app-backend did not become healthy (state running/unhealthy");
    expect(gate.output).toContain("exit 7: curl: (7) Failed to connect to localhost port 8000");
    expect(gate.output).toContain("backend: listening on a port nobody probes");
    // Blank lines between the health log's entries are left out of the report.
    expect(gate.output).not.toMatch(/its last health checks:\n\n/);
  });

  it.each([
    ["a container that exited", ["running/starting", "exited/unhealthy"], "exited/unhealthy"],
    ["a container restarting in a loop that Docker gave up on", ["restarting/starting", "dead/starting"], "dead/starting"],
    ["a container that is gone", ["missing"], "missing"],
    ["a container without a health check, which nothing could judge", ["running/no-healthcheck"], "running/no-healthcheck"],
  ])("fails at once for %s", (_case, states, reported) => {
    const gate = runGate(states);
    expect(gate.code).toBe(1);
    expect(gate.output).toContain(`(state ${reported} after`);
  });

  it("gives up after its timeout when the container never decides", () => {
    const started = Date.now();
    const gate = runGate(["running/starting"], 2);
    expect(gate.code).toBe(1);
    expect(gate.output).toContain("(state running/starting, still not healthy after");
    expect(gate.output).toContain("of at most 2s");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("keeps a hostile container name one quoted word", () => {
    const gate = runGate(["missing"], 30, "x$(touch /tmp/owned);y");
    expect(gate.calls).toContain("inspect --format {{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}} x$(touch /tmp/owned);y");
  });

  it("passes shellcheck", () => {
    const result = shellcheck(healthGateScript("fastapi-backend", 165));
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("waits as long as the health check allows before Docker would call the container unhealthy, plus a minute", () => {
    // start period 30 s, first check after one interval (30 s), 3 failed checks of up to 30 + 5 s each, then 60 s.
    expect(healthWaitSeconds(healthcheck(["CMD", "true"]))).toBe(30 + 30 + 3 * 35 + 60);
    expect(healthWaitSeconds({ test: ["CMD", "true"], intervalSeconds: 10, timeoutSeconds: 3, retries: 5, startPeriodSeconds: 0 })).toBe(0 + 10 + 5 * 13 + 60);
  });
});
