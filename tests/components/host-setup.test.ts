import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cloudInitUserData, dockerDaemonConfig, hostPrepareScript } from "../../components/compute/host-setup";
import { firewallRules, ufwScript } from "../../components/network/firewall-rules";
import { cloudInitSchema, shellcheck } from "../support/validators";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFh4nO4mwXoAcYQTy0gGvTgKvNVU2S0H0yQ3n6Sx7wZL admin@infra";

describe("host setup", () => {
  it("daemon.json rotates logs and hardens the daemon (H5, C12)", () => {
    expect(dockerDaemonConfig()).toEqual({
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "3" },
      "live-restore": true,
      "no-new-privileges": true,
      "userland-proxy": false,
    });
  });

  it("the existing-host script passes shellcheck and installs the same daemon.json", () => {
    const script = hostPrepareScript({ sshUser: "deploy" });
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
    const embedded = script.split("<<'DAEMON_JSON'\n")[1]!.split("\nDAEMON_JSON")[0]!;
    expect(JSON.parse(embedded)).toEqual(dockerDaemonConfig());
    // Idempotence: Docker restarts only when daemon.json differs.
    expect(script).toMatch(/if ! cmp -s "\$desired" \/etc\/docker\/daemon.json; then/);
  });

  it("the UFW script passes shellcheck", () => {
    const script = ufwScript(firewallRules([{ port: 443, protocol: "tcp", service: "caddy" }], { adminCidrs: ["198.51.100.7/32"], behindCloudflare: true }));
    expect(shellcheck(script)).toEqual({ ok: true, output: "" });
  });

  it("shellcheck does fail on a broken script, so the checks above mean something", () => {
    expect(shellcheck("#!/usr/bin/env bash\necho $undefined_var\nif [ 1 = 1 ]\n").ok).toBe(false);
  });

  it.each([
    ["without a data volume", undefined],
    ["with a data volume", "/dev/disk/by-id/scsi-0HC_Volume_1234"],
  ])("cloud-init user-data %s passes `cloud-init schema`", (_case, device) => {
    const userData = cloudInitUserData({ sshUser: "deploy", sshPublicKey: key, ...(device ? { dataVolumeDevice: device } : {}) });
    const result = cloudInitSchema(userData);
    expect(result.output).toContain("Valid");
    expect(result.ok).toBe(true);
    const document = parse(userData);
    expect(document.users[0]).toMatchObject({ name: "deploy", lock_passwd: true, ssh_authorized_keys: [key] });
    const daemon = document.write_files.find((file: { path: string }) => file.path === "/etc/docker/daemon.json");
    expect(JSON.parse(daemon.content)).toEqual(dockerDaemonConfig());
    if (device) expect(document.mounts[0].slice(0, 2)).toEqual([device, "/var/lib/docker/volumes"]);
  });

  it("cloud-init schema rejects invalid user-data, so the check above can fail", () => {
    expect(cloudInitSchema("#cloud-config\nusers: 42\npackages: {a: 1}\n").ok).toBe(false);
  });
});
