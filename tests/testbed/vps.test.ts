import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAEMON_JSON_PATH, HOST_READY_COMMAND, hostPrepareScript } from "../../components/compute/host-setup";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { startVPS, type VPS } from "./vps";

// The local VPS that deploys are proven on: a Debian 12 system container with
// systemd, sshd and its own Docker engine (tests/testbed/vps.ts). These tests
// check the testbed itself and run the program's real host preparation and
// host firewall on it over SSH, as a deploy to an existing VPS does.

const BOOT_TIMEOUT_MS = 10 * 60_000; // a cold image build included
let vps: VPS;
const timings: Record<string, number> = {};

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    timings[name] = Math.round(performance.now() - started);
  }
}

beforeAll(async () => {
  vps = await timed("boot", startVPS);
}, BOOT_TIMEOUT_MS);

afterAll(async () => {
  await vps?.stop();
  console.log(`testbed VPS timings (ms): ${JSON.stringify(timings)}`);
});

describe("the testbed VPS", () => {
  it("boots systemd, and its own Docker engine runs a hardened container", async () => {
    expect((await vps.exec("systemctl is-system-running || true")).stdout.trim()).toMatch(/^(running|degraded)$/);
    const engine = await vps.exec("docker info --format '{{.Driver}} {{.CgroupDriver}}'");
    expect(engine.stdout.trim()).toBe("overlay2 cgroupfs");
    // The inner engine has no image yet and no registry to pull from: it imports an empty root with a shell from the VPS itself.
    await vps.exec(
      "files=$(for b in bash cat grep sleep; do command -v $b; ldd $(command -v $b) | grep -o '/[^ ]*'; done | sort -u); " +
        "tar -C / -ch $files 2>/dev/null | docker import - testbed/shell:1 >/dev/null",
    );
    const run = await vps.exec(
      "docker run --rm --memory 32m --cap-drop ALL --security-opt no-new-privileges --read-only testbed/shell:1 /usr/bin/bash -c 'echo inside; grep ^CapEff /proc/self/status'",
    );
    expect(run.stdout).toContain("inside");
    expect(run.stdout).toMatch(/CapEff:\s+0000000000000000/);
  });

  it("answers SSH only with the pinned host key: another key is refused before anything runs", async () => {
    const pinned = await vps.ssh("echo pinned-ok");
    expect(pinned.stdout.trim()).toBe("pinned-ok");
    const impostor = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ5u0b0D2x3Qd1p3b3W2o8d8mF9gCkqLwS6gWm1nQf2R";
    const refused = await vps.ssh("touch /tmp/ran-despite-wrong-key", { hostKeyLine: impostor, allowFailure: true });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect((await vps.exec("test -e /tmp/ran-despite-wrong-key", { allowFailure: true })).code).not.toBe(0);
  });
});

describe("the program's host preparation on the VPS", () => {
  it("runs over SSH with sudo, installs the daemon settings, and leaves Docker running", async () => {
    const script = hostPrepareScript({ sshUser: "deploy" });
    const prepared = await timed("prepare", () => vps.ssh("sudo bash -s", { input: script, allowFailure: true }));
    expect(prepared.stderr.split("\n").slice(-20).join("\n")).not.toMatch(/error/i);
    expect(prepared.code).toBe(0);
    const daemon = JSON.parse((await vps.exec(`cat ${DAEMON_JSON_PATH}`)).stdout) as Record<string, unknown>;
    expect(daemon["live-restore"]).toBe(true);
    // Docker restarted with those settings and applies them.
    const logging = await vps.exec("docker info --format '{{.LoggingDriver}} {{.LiveRestoreEnabled}}'");
    expect(logging.stdout.trim()).toBe("json-file true");
    expect((await vps.exec("systemctl is-active fail2ban")).stdout.trim()).toBe("active");
    expect((await vps.exec("sshd -T | grep -E '^(passwordauthentication|permitrootlogin) '")).stdout).toMatch(/passwordauthentication no/);
  });

  it("converges: a second run changes no file and restarts nothing", async () => {
    const before = await vps.exec("systemctl show docker --property=ActiveEnterTimestampMonotonic; stat -c %Y /etc/docker/daemon.json");
    const again = await timed("prepare again", () => vps.ssh("sudo bash -s", { input: hostPrepareScript({ sshUser: "deploy" }) }));
    expect(again.code).toBe(0);
    const after = await vps.exec("systemctl show docker --property=ActiveEnterTimestampMonotonic; stat -c %Y /etc/docker/daemon.json");
    expect(after.stdout).toBe(before.stdout);
  });

  it("passes the readiness check the Docker provider waits for", async () => {
    const ready = await vps.ssh(HOST_READY_COMMAND);
    expect(ready.stdout.trim()).toMatch(/^\d+\.\d+/);
  });

  it("the host firewall admits SSH from the admin address and filters a port Docker publishes on every address", async () => {
    // A container publishes 5432 on every address, as `-p 5432:5432` does; Docker's own DNAT admits it past a plain UFW.
    await vps.exec("docker run -d --name published --restart no -p 5432:5432 testbed/shell:1 /usr/bin/bash -c 'while :; do sleep 1; done' >/dev/null");
    // Nothing listens inside, so a probe that reaches the container is refused by its kernel; a filtered one times out.
    expect(await tcpProbe(vps.address, 5432)).toBe("refused");
    const rules = firewallRules([], { adminCidrs: [`${vps.gateway}/32`], behindCloudflare: false, sshPort: 22 });
    const applied = await timed("ufw", () => vps.ssh("sudo bash -s", { input: ufwScript(rules), allowFailure: true }));
    expect(applied.code, applied.stderr.slice(-2000)).toBe(0);
    expect(await tcpProbe(vps.address, 5432)).toBe("filtered");
    expect(await tcpProbe(vps.address, 22)).toBe("open");
    expect((await vps.ssh("echo still-reachable")).stdout.trim()).toBe("still-reachable");
    await vps.exec("docker rm -f published >/dev/null");
  });
});

/** Connects once: "open" when it connects, "refused" on a reset, "filtered" when nothing answers within the time. */
function tcpProbe(host: string, port: number, timeoutMs = 2000): Promise<"open" | "refused" | "filtered"> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: "open" | "refused" | "filtered") => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("filtered"));
    socket.once("connect", () => done("open"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" ? "refused" : "filtered"));
  });
}
