import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { cloudInitUserData } from "../../components/compute/host-setup";
import { generateSSHHostKey, sshHostKeyProvider } from "../../components/compute/ssh-host-key";
import { parseHostKey } from "../../components/remote/host-key";
import { closeSharedConnection, sshCommandProvider } from "../../components/remote/ssh-command";
import { startSSHServer } from "../engine/sshd";
import { requireTool } from "../support/tools";
import { cloudInitSchema } from "../support/validators";

/**
 * The host key the program makes for a Hetzner server: OpenSSH reads both
 * halves as its own, sshd serves it, a connection pinned to it gets in, and
 * cloud-init's schema takes the user-data that installs it.
 */
const keygen = requireTool("ssh-keygen");
const dir = mkdtempSync(join(tmpdir(), "ssh-host-key-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the generated SSH host key (H9)", () => {
  const key = generateSSHHostKey("pre-host-key");
  const privateFile = join(dir, "host_key");
  writeFileSync(privateFile, key.privateKey, { mode: 0o600 });

  it("is an Ed25519 pair that ssh-keygen reads: the public half derives from the private one, and the fingerprint is ssh-keygen's", () => {
    expect(execFileSync(keygen, ["-y", "-f", privateFile], { encoding: "utf8" }).trim()).toBe(`${key.publicKey} pre-host-key`);
    expect(execFileSync(keygen, ["-l", "-f", privateFile], { encoding: "utf8" })).toBe(`256 ${key.fingerprint} pre-host-key (ED25519)\n`);
    expect(parseHostKey(key.publicKey)).toEqual({ type: "ssh-ed25519", base64: key.publicKey.split(" ")[1] });
  });

  it("is new each time, and the provider never changes it once made", async () => {
    expect(generateSSHHostKey("x").publicKey).not.toBe(key.publicKey);
    const created = await sshHostKeyProvider.create!({ comment: "pre-host-key" });
    expect(created.id).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(created.outs).toMatchObject({ comment: "pre-host-key", publicKey: expect.stringMatching(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI/) });
    expect(await sshHostKeyProvider.diff!(created.id, created.outs, { comment: "renamed" })).toMatchObject({ changes: false, replaces: [] });
  });

  it("is what sshd serves, and a command pinned to it gets in", async () => {
    const sshd = await startSSHServer({ hostKey: key.privateKey });
    const connection = { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostPublicKey: key.publicKey };
    try {
      expect(sshd.hostPublicKey).toBe(key.publicKey);
      const { privateKey, ...pinned } = connection;
      const result = await sshCommandProvider.create!({ resourceName: "pre-ready", connection: pinned, privateKey, create: "echo pinned" });
      expect(result.outs.stdout).toBe("pinned\n");
    } finally {
      await closeSharedConnection(connection);
      await sshd.stop();
    }
  });

  it("rides in the user-data that cloud-init accepts, replacing the image's keys", () => {
    const userData = cloudInitUserData({ sshUser: "deploy", sshPublicKey: key.publicKey, hostKey: key });
    expect(cloudInitSchema(userData)).toMatchObject({ ok: true });
    expect(parse(userData)).toMatchObject({ ssh_deletekeys: true, ssh_keys: { ed25519_private: key.privateKey, ed25519_public: key.publicKey } });
    expect(parse(cloudInitUserData({ sshUser: "deploy", sshPublicKey: key.publicKey }))).not.toHaveProperty("ssh_keys");
  });
});
