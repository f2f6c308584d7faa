import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatHostKey, knownHostsLine, parseHostKey, type HostKey } from "../../components/remote/host-key";
import { requireTool } from "../support/tools";

/**
 * The pinned host key is what stands between the program and whoever answers
 * on port 22 (H9), so parsing it is strict: keys made by the real ssh-keygen
 * pass, and each way a wrong value gets pasted into config is refused with
 * what to give instead.
 */
const keygen = requireTool("ssh-keygen");
const dir = mkdtempSync(join(tmpdir(), "host-key-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh key pair from ssh-keygen: the public line (with its comment) and the private key file. */
function generate(type: string, bits?: number): { publicLine: string; privateKey: string } {
  const file = join(dir, `${type}-${bits ?? "default"}`);
  execFileSync(keygen, ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", "root@host.example", "-f", file]);
  return { publicLine: readFileSync(`${file}.pub`, "utf8").trim(), privateKey: readFileSync(file, "utf8") };
}

const ed25519 = generate("ed25519");
const ecdsa256 = generate("ecdsa", 256);
const ecdsa384 = generate("ecdsa", 384);
const ecdsa521 = generate("ecdsa", 521);
const rsa = generate("rsa", 3072);
const rsa1024 = generate("rsa", 1024);
const typeAndData = (line: string) => line.split(" ").slice(0, 2).join(" ");
const data = (line: string) => line.split(" ")[1]!;

describe("host key parsing (H9)", () => {
  it.each([
    ["ed25519", ed25519.publicLine],
    ["ecdsa-sha2-nistp256", ecdsa256.publicLine],
    ["ecdsa-sha2-nistp384", ecdsa384.publicLine],
    ["ecdsa-sha2-nistp521", ecdsa521.publicLine],
    ["rsa 3072", rsa.publicLine],
  ])("accepts a %s key as ssh-keygen writes it, and pins it without its comment", (_name, line) => {
    const key = parseHostKey(line) as HostKey;
    expect(typeof key).toBe("object");
    expect(formatHostKey(key)).toBe(typeAndData(line));
  });

  it("accepts surrounding whitespace and a comment with spaces", () => {
    expect(parseHostKey(`  ${typeAndData(ed25519.publicLine)}   main server, fsn1  \n`)).toEqual({ type: "ssh-ed25519", base64: data(ed25519.publicLine) });
  });

  const truncated = data(ed25519.publicLine).slice(0, -8);
  const withTrailingBytes = Buffer.concat([Buffer.from(data(ed25519.publicLine), "base64"), Buffer.from([0, 0, 0, 1, 0x41])]).toString("base64");

  it.each([
    ["empty", "", "is empty"],
    ["a private key pasted by mistake", ed25519.privateKey, "is a private key"],
    ["the private key's first line only", "-----BEGIN OPENSSH PRIVATE KEY-----", "is a private key"],
    ["two keys on one line", `${typeAndData(ed25519.publicLine)} ${typeAndData(ecdsa256.publicLine)}`, "more than one key"],
    ["two keys on two lines", `${ed25519.publicLine}\n${ecdsa256.publicLine}`, "more than one line"],
    ["an @cert-authority line", `@cert-authority *.example.com ${typeAndData(ed25519.publicLine)}`, "known_hosts marker line (@cert-authority)"],
    ["an @revoked line", `@revoked ${typeAndData(ed25519.publicLine)}`, "known_hosts marker line (@revoked)"],
    ["a known_hosts line with the host in front", `203.0.113.20 ${typeAndData(ed25519.publicLine)}`, "a host name in front"],
    ["a known_hosts line with a port", `[203.0.113.20]:2222 ${typeAndData(ed25519.publicLine)}`, "a host name in front"],
    ["a hashed known_hosts line", `|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ${typeAndData(ed25519.publicLine)}`, "a host name in front"],
    ["an ssh-keyscan line", `203.0.113.20 ${typeAndData(ecdsa256.publicLine)}`, "a host name in front"],
    ["an RSA key labelled ed25519", `ssh-ed25519 ${data(rsa.publicLine)}`, 'says "ssh-ed25519" but its key data is a "ssh-rsa" key'],
    ["an ed25519 key labelled RSA", `ssh-rsa ${data(ed25519.publicLine)}`, 'says "ssh-rsa" but its key data is a "ssh-ed25519" key'],
    [
      "a P-384 key labelled P-256",
      `ecdsa-sha2-nistp256 ${data(ecdsa384.publicLine)}`,
      'says "ecdsa-sha2-nistp256" but its key data is a "ecdsa-sha2-nistp384" key',
    ],
    ["truncated key data", `ssh-ed25519 ${truncated}`, "truncated or malformed"],
    ["key data with bytes after the key", `ssh-ed25519 ${withTrailingBytes}`, "truncated or malformed"],
    ["key data that is not base64", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5$$$$", "not base64"],
    ["a type with no key data", "ssh-ed25519", "no key data"],
    ["random base64", "ssh-ed25519 aGVsbG8gd29ybGQh", "too short"],
    ["DSA, which OpenSSH no longer offers", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", 'the key type "ssh-dss"'],
    ["a FIDO key, which is never a host key", `sk-ssh-ed25519@openssh.com ${data(ed25519.publicLine)}`, 'the key type "sk-ssh-ed25519@openssh.com"'],
    ["a host certificate", `ssh-ed25519-cert-v01@openssh.com ${data(ed25519.publicLine)}`, 'the key type "ssh-ed25519-cert-v01@openssh.com"'],
    ["an RSA key of 1024 bits", rsa1024.publicLine, "RSA key of 1024 bits"],
    ["a fingerprint instead of the key", "SHA256:us0xdJbjEwGMtykA7RBsArMiqkdXfkUrDPBcvD24O2o", "the key type"],
  ])("refuses %s", (_name, text, message) => {
    const result = parseHostKey(text);
    expect(typeof result, JSON.stringify(result)).toBe("string");
    expect(result).toContain(message);
    // A message about a pasted private key must never repeat it.
    expect(result).not.toContain("PRIVATE KEY-----\n");
  });
});

describe("known_hosts lines", () => {
  const key = parseHostKey(ed25519.publicLine) as HostKey;
  const pinned = typeAndData(ed25519.publicLine);

  it.each([
    ["203.0.113.20", 22, `203.0.113.20 ${pinned}\n`],
    ["203.0.113.20", 2222, `[203.0.113.20]:2222 ${pinned}\n`],
    ["2001:db8::20", 22, `2001:db8::20 ${pinned}\n`],
    ["2001:db8::20", 2222, `[2001:db8::20]:2222 ${pinned}\n`],
    ["VPS.Example.com", 22, `vps.example.com ${pinned}\n`],
  ])("%s port %d", (host, port, line) => {
    expect(knownHostsLine(host, port, key)).toBe(line);
  });

  it.each([
    ["203.0.113.20", 22, "203.0.113.20"],
    ["203.0.113.20", 2222, "[203.0.113.20]:2222"],
    ["2001:db8::20", 22, "2001:db8::20"],
    ["2001:db8::20", 2222, "[2001:db8::20]:2222"],
  ])("ssh-keygen -F finds %s port %d under the name ssh looks up", (host, port, lookup) => {
    const file = join(dir, "known_hosts");
    writeFileSync(file, knownHostsLine(host, port, key));
    const found = execFileSync(keygen, ["-F", lookup, "-f", file], { encoding: "utf8" });
    expect(found).toContain(pinned);
  });
});
