import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireTool } from "../support/tools";
import { type Runner, runStep, startRunner, workflowStep } from "./workflow-steps";

// The deploy's VPN join (pulumi-up.yml, "Join the VPN"). The real join cannot
// run here: this machine has no tailscale binary, no coordination server and
// no way out. So shellcheck reads the step's script, and the script runs
// against stand-ins for curl, sudo and tailscale that record what they are
// asked: which download it verifies, how tailscale is started, what
// `tailscale up` is given, and that the pre-auth key reaches it on stdin and
// never on a command line or in the output.

const joinStep = workflowStep("pulumi-up.yml", "up", "Join the VPN");
const VERSION = String(joinStep.env?.TAILSCALE_VERSION);
const LOGIN_SERVER = "https://headscale.example.net";
const AUTH_KEY = `hskey-auth-${randomBytes(24).toString("hex")}`;

let stubs: string;
let log: string;
let tailscaleStdin: string;
const runners: Runner[] = [];

beforeAll(() => {
  stubs = mkdtempSync(join(tmpdir(), "vpn-join-stubs-"));
  log = join(stubs, "calls.log");
  tailscaleStdin = join(stubs, "tailscale-up.stdin");
  // The release archive as pkgs.tailscale.com lays it out, with placeholder binaries.
  const release = join(stubs, "release");
  mkdirSync(join(release, `tailscale_${VERSION}_amd64`), { recursive: true });
  for (const binary of ["tailscale", "tailscaled"]) writeFileSync(join(release, `tailscale_${VERSION}_amd64`, binary), "#!/bin/sh\n");
  execFileSync("tar", ["-czf", join(stubs, "release.tgz"), "-C", release, `tailscale_${VERSION}_amd64`]);
  const digest = createHash("sha256")
    .update(readFileSync(join(stubs, "release.tgz")))
    .digest("hex");
  const bin = join(stubs, "bin");
  mkdirSync(bin);
  const stub = (name: string, body: string) => {
    // One write per call, so calls made at the same time (tailscaled in the background) do not interleave.
    writeFileSync(join(bin, name), `#!/bin/bash\ncall="$(printf '%s' ${name}; printf ' %q' "$@")"\nprintf '%s\\n' "$call" >>'${log}'\n${body}`);
    chmodSync(join(bin, name), 0o755);
  };
  // curl -fsSL --retry 3 -o FILE URL: the archive, or its published digest (hex only, as the site serves it).
  stub(
    "curl",
    `while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; -*) [ "$1" = --retry ] && shift; shift;; *) url="$1"; shift;; esac; done
case "$url" in
  *.tgz) cp '${join(stubs, "release.tgz")}' "$out";;
  *.tgz.sha256) printf '%s' '${digest}' >"$out";;
  *) exit 22;;
esac
`,
  );
  stub(
    "sudo",
    `case "$1 $2" in
  "tailscale up") cat >'${tailscaleStdin}';;
  "tailscale ip") echo 100.64.0.7;;
esac
exit 0
`,
  );
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.remove();
  rmSync(log, { force: true });
  rmSync(tailscaleStdin, { force: true });
});

afterAll(() => {
  if (stubs) rmSync(stubs, { recursive: true, force: true });
});

async function runJoin(values: Record<string, string>) {
  const runner = await startRunner();
  runners.push(runner);
  const result = await runStep(joinStep, runner, values, 30_000, `${join(stubs, "bin")}:${process.env.PATH}`);
  const calls = readFileSync(log, { encoding: "utf8", flag: "a+" }).split("\n").filter(Boolean);
  return { result, calls };
}

const vpn = { STACK: "prod", VPN_LOGIN_SERVER: LOGIN_SERVER, VPN_EXIT_NODE: "", VPN_AUTH_KEY: AUTH_KEY };

describe("the VPN join step", () => {
  test("shellcheck finds nothing in its script", () => {
    const check = spawnSync(requireTool("shellcheck"), ["--shell=bash", "--severity=style", "-"], { input: joinStep.run, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  test("verifies the pinned release, starts tailscaled with its state in memory, and joins as an ephemeral node with the key on stdin", async () => {
    const { result, calls } = await runJoin(vpn);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const download = [
      `curl -fsSL --retry 3 -o tailscale_${VERSION}_amd64.tgz https://pkgs.tailscale.com/stable/tailscale_${VERSION}_amd64.tgz`,
      `curl -fsSL --retry 3 -o tailscale_${VERSION}_amd64.tgz.sha256 https://pkgs.tailscale.com/stable/tailscale_${VERSION}_amd64.tgz.sha256`,
      `sudo install -m 0755 tailscale_${VERSION}_amd64/tailscale tailscale_${VERSION}_amd64/tailscaled /usr/local/bin/`,
    ];
    // tailscaled starts in the background, so its call and the status call that waits for it come in either order.
    const start = ["sudo tailscaled --state=mem:", "sudo tailscale status --json"];
    const joining = [
      `sudo tailscale up --login-server=${LOGIN_SERVER} --auth-key=file:/dev/stdin --hostname=deploy-prod-1 --accept-routes --accept-dns=false --timeout=2m`,
      "sudo tailscale ip -4",
    ];
    expect(calls.slice(0, 3)).toEqual(download);
    expect([...calls.slice(3, 5)].sort()).toEqual([...start].sort());
    expect(calls.slice(5)).toEqual(joining);
    expect(readFileSync(tailscaleStdin, "utf8")).toBe(AUTH_KEY);
    expect(result.stdout).toContain(`tailscale_${VERSION}_amd64.tgz: OK`);
    expect(result.stdout).toContain("100.64.0.7");
    for (const text of [...result.execs, result.stdout, result.stderr]) expect(text).not.toContain(AUTH_KEY);
  });

  test("goes out through the exit node when VPN_EXIT_NODE is set", async () => {
    const { result, calls } = await runJoin({ ...vpn, VPN_EXIT_NODE: "office-gateway" });
    expect(result.status).toBe(0);
    expect(calls.find((call) => call.startsWith("sudo tailscale up"))).toMatch(/ --timeout=2m --exit-node=office-gateway$/);
  });

  test("refuses an archive whose digest is not the published one", async () => {
    const archive = join(stubs, "release.tgz");
    const original = readFileSync(archive);
    writeFileSync(archive, Buffer.concat([original, Buffer.from("tampered")]));
    try {
      const { result, calls } = await runJoin(vpn);
      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/FAILED/);
      expect(calls.some((call) => call.startsWith("sudo"))).toBe(false);
    } finally {
      writeFileSync(archive, original);
    }
  });

  test("without the login server or the key it stops and names what to set", async () => {
    const { result, calls } = await runJoin({ ...vpn, VPN_AUTH_KEY: "" });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain("::error::Set the VPN_LOGIN_SERVER variable and the PROD_VPN_AUTH_KEY secret");
    expect(calls).toEqual([]);
  });
});
