import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIVE_CONFIG_DIR, liveConfigProblems, liveConfigScript, liveFileName, type LiveReload } from "../../components/container/live-config";
import { service, healthcheck } from "../../components/container/service-spec";
import { NGINX_CONF_PATH, NGINX_LIVE_RELOAD } from "../../components/ingress/nginx-spec";
import { shellcheck } from "../support/validators";

/**
 * Runs the script against a host directory of its own, with a `docker` on
 * PATH that says whether the container runs, and answers `exec` as the
 * proxy would: the check fails when the staged file holds "broken", the
 * apply when the live one holds "refused". Paths under /etc/infra in the
 * container are the host directory here.
 */
function install(content: string, options: { running?: boolean; previous?: string; reload?: LiveReload } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "infra-live-config-"));
  const root = join(dir, "root");
  if (options.previous !== undefined) {
    mkdirSync(join(root, "live"), { recursive: true });
    writeFileSync(join(root, "live", "nginx.conf"), options.previous);
  }
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/bash
echo "$*" >> "${dir}/calls"
case "$1" in
  inspect) ${options.running === false ? 'echo "Error: No such object" >&2; exit 1' : "echo true"} ;;
  exec)
    shift 2
    file=$(printf '%s\\n' "$@" | grep '^/etc/infra/' | head -n 1 | sed "s#^/etc/infra#${root}#")
    if [[ " $* " == *" -t "* ]]; then
      if grep -q broken "$file"; then echo 'nginx: [emerg] unknown directive "broken" in /etc/infra/next/nginx.conf:1' >&2; exit 1; fi
      exit 0
    fi
    if grep -q refused "$file"; then echo "reload refused" >&2; exit 1; fi
    exit 0 ;;
  *) echo "unexpected docker call: $*" >&2; exit 99 ;;
esac
`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  const script = liveConfigScript("app-nginx", [{ path: NGINX_CONF_PATH, content, live: true }], options.reload ?? NGINX_LIVE_RELOAD, {
    root,
    drainSeconds: 0,
  });
  const run = spawnSync("bash", ["-s"], { input: script, encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir }, timeout: 30_000 });
  const live = join(root, "live", "nginx.conf");
  return {
    code: run.status,
    output: run.stdout + run.stderr,
    live: existsSync(live) ? readFileSync(live, "utf8") : undefined,
    calls: existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : [],
    leftovers: ["next", "previous"].filter((entry) => existsSync(join(root, entry))),
  };
}

describe("live configuration: checked in the running container, then reloaded in place", () => {
  it("puts the files in place for a container that does not run yet, without calling it", () => {
    const run = install("events {}\n", { running: false });
    expect(run.code).toBe(0);
    expect(run.live).toBe("events {}\n");
    expect(run.output).toContain("app-nginx is not running: its configuration is in place for its start");
    expect(run.calls.filter((call) => call.startsWith("exec"))).toEqual([]);
    expect(run.leftovers).toEqual([]);
  });

  it("checks the staged file with nginx -t, moves it in and reloads", () => {
    const run = install("events {}\nhttp {}\n", { previous: "events {}\n" });
    expect(run.code, run.output).toBe(0);
    expect(run.live).toBe("events {}\nhttp {}\n");
    expect(run.calls).toEqual([
      "inspect --format {{.State.Running}} app-nginx",
      "exec app-nginx nginx -t -q -c /etc/infra/next/nginx.conf",
      "exec app-nginx nginx -c /etc/infra/live/nginx.conf -s reload",
    ]);
    expect(run.leftovers).toEqual([]);
  });

  it("a file nginx -t refuses fails with nginx's words and leaves the running file untouched", () => {
    const run = install("broken;\n", { previous: "events {}\n" });
    expect(run.code).toBe(1);
    expect(run.output).toContain('unknown directive "broken"');
    expect(run.output.trimEnd().split("\n").at(-1)).toBe("app-nginx refused the new configuration; it keeps serving the running one");
    expect(run.live).toBe("events {}\n");
    expect(run.calls.some((call) => call.includes("reload"))).toBe(false);
    expect(run.leftovers).toEqual([]);
  });

  it("a reload the process refuses puts the previous file back", () => {
    const run = install("refused\n", { previous: "events {}\n" });
    expect(run.code).toBe(1);
    expect(run.output).toContain("reload refused");
    expect(run.output).toContain("the running one stays, and its files are back in place");
    expect(run.live).toBe("events {}\n");
  });

  it("a first file whose reload is refused is removed again, so a restart does not start on it", () => {
    const run = install("refused\n");
    expect(run.code).toBe(1);
    expect(run.live).toBeUndefined();
  });

  it("without an apply command (Traefik watches its file) it only checks and moves", () => {
    const run = install("events {}\n", { previous: "old\n", reload: {} });
    expect(run.code).toBe(0);
    expect(run.live).toBe("events {}\n");
    expect(run.calls).toEqual(["inspect --format {{.State.Running}} app-nginx"]);
  });

  it("a value with shell or here-document syntax arrives byte for byte", () => {
    const hostile = "add_header X \"$(touch /tmp/pwned) `id` 'q' \\\\\";\nEOF\nINFRA_LIVE_FILE_ENDX\n";
    const run = install(hostile, { previous: "events {}\n" });
    expect(run.code, run.output).toBe(0);
    expect(run.live).toBe(hostile);
    expect(() => liveConfigScript("c", [{ path: NGINX_CONF_PATH, content: "x\nINFRA_LIVE_FILE_END\n", live: true }], NGINX_LIVE_RELOAD)).toThrow(
      /here-document delimiter/,
    );
  });

  it("passes shellcheck", () => {
    shellcheck(liveConfigScript("app-nginx", [{ path: NGINX_CONF_PATH, content: "events {}\n", live: true }], NGINX_LIVE_RELOAD));
  });

  it("a live file must sit directly in the live directory, and live files need a reload", () => {
    expect(liveFileName({ path: `${LIVE_CONFIG_DIR}/nginx.conf`, content: "" })).toBe("nginx.conf");
    for (const path of ["/etc/nginx/nginx.conf", `${LIVE_CONFIG_DIR}/sub/nginx.conf`, `${LIVE_CONFIG_DIR}/../nginx.conf`, `${LIVE_CONFIG_DIR}nginx.conf`]) {
      expect(() => liveFileName({ path, content: "" }), path).toThrow(/must sit directly in/);
    }
    const base = service({
      name: "proxy",
      description: "",
      role: "ingress",
      image: { repository: "nginx", tag: "1" },
      networks: [],
      healthcheck: healthcheck(["CMD", "true"]),
      memoryMb: 32,
    });
    expect(liveConfigProblems({ ...base, files: [{ path: NGINX_CONF_PATH, content: "", live: true }] })).toEqual([
      "it has live files but no liveReload to apply them",
    ]);
    expect(liveConfigProblems({ ...base, liveReload: NGINX_LIVE_RELOAD })).toEqual(["it has a liveReload but no live files"]);
    expect(liveConfigProblems({ ...base, files: [{ path: "/etc/infra/live/a/b", content: "", live: true }], liveReload: NGINX_LIVE_RELOAD })).toEqual([
      expect.stringMatching(/must sit directly in/),
    ]);
  });
});
