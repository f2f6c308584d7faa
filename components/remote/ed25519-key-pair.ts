// An Ed25519 key pair in OpenSSH's own formats, from its raw 32-byte seed and
// public point (node:crypto makes them; it writes no OpenSSH format itself).
// Pulumi serializes the host key provider (../compute/ssh-host-key.ts) with
// every function it reaches, so this module has no imports and uses only the
// global Buffer.

const KEY_TYPE = "ssh-ed25519";

function wireString(value: Buffer | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function wireUInt32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

function publicBlob(point: Buffer): Buffer {
  if (point.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, not ${point.length}`);
  return Buffer.concat([wireString(KEY_TYPE), wireString(point)]);
}

/** The public key as authorized_keys and known_hosts take it: "ssh-ed25519 AAAA...". */
export function ed25519PublicKeyLine(point: Buffer): string {
  return `${KEY_TYPE} ${publicBlob(point).toString("base64")}`;
}

/**
 * The private key in OpenSSH's format ("openssh-key-v1", unencrypted), as
 * ssh-keygen writes it and sshd reads a HostKey file. `checkInt` is any
 * number; OpenSSH uses it to tell a wrong passphrase, and writes a random one.
 */
export function ed25519PrivateKeyFile(seed: Buffer, point: Buffer, comment: string, checkInt: number): string {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, not ${seed.length}`);
  const section = Buffer.concat([
    wireUInt32(checkInt),
    wireUInt32(checkInt),
    wireString(KEY_TYPE),
    wireString(point),
    wireString(Buffer.concat([seed, point])),
    wireString(comment),
  ]);
  // Padded with 1, 2, 3, ... to the cipher's block size, 8 for "none".
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, index) => index + 1));
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    wireString("none"),
    wireString("none"),
    wireString(""),
    wireUInt32(1),
    wireString(publicBlob(point)),
    wireString(Buffer.concat([section, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}
