// An SSH server's public host key, as it is pinned: parsed, checked and
// written as a known_hosts line. Config validation reads it, and so does the
// SSH command provider (./ssh-command.ts), which Pulumi serializes with every
// function it reaches: this module has no imports and uses only the global
// Buffer.

/** The host key types OpenSSH servers offer; the sk-* and certificate types are never host keys of ours. */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

/** Smaller RSA host keys are factorable in practice; OpenSSH refuses below 1024 bits and warns below 2048. */
export const MIN_RSA_BITS = 2048;

/** A pinned host key: its type and the base64 of its wire-format blob, without any comment. */
export interface HostKey {
  readonly type: HostKeyType;
  readonly base64: string;
}

/** Where to get a host's key, for messages about a missing or malformed one. */
export const HOST_KEY_HOWTO =
  "read it over a path you trust (the provider's web console, or `ssh-keyscan -t ed25519 <address>` from inside the provider's network), " +
  "check its fingerprint with `ssh-keygen -lf <file>` against the one the console or the server's first boot log shows, " +
  'and give the "<type> <base64>" part, e.g. ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...';

/** The expected size of an ECDSA point (0x04 || X || Y) per curve. */
const ECDSA_POINT_BYTES: Readonly<Record<string, number>> = { nistp256: 65, nistp384: 97, nistp521: 133 };

const isHostKeyType = (word: string | undefined): word is HostKeyType => (HOST_KEY_TYPES as readonly string[]).includes(word ?? "");

/**
 * Parses one OpenSSH public key line, "<type> <base64> [comment]", and checks
 * that the base64 decodes to a key blob of the declared type with the right
 * structure. Returns the key, or why the text is not one host public key.
 */
export function parseHostKey(text: string): HostKey | string {
  const value = text.trim();
  if (value === "") return "is empty";
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return "is a private key: never put it in config; give the server's public host key instead";
  if (/[\r\n]/.test(value)) return "holds more than one line; give exactly one public key";
  if (value.startsWith("@")) return `is a known_hosts marker line (${value.split(/\s+/)[0]}), not a host key`;
  const words = value.split(/\s+/);
  const [type, base64, ...comment] = words;
  if (!isHostKeyType(type)) {
    if (words.slice(1).some(isHostKeyType))
      return 'starts with something other than the key type (a known_hosts line with a host name in front?); give only "<type> <base64>"';
    return `has the key type "${type}", not one of ${HOST_KEY_TYPES.join(", ")}`;
  }
  if (comment.some(isHostKeyType)) return "holds more than one key; give exactly one";
  if (base64 === undefined) return `has no key data after "${type}"`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return "has key data that is not base64";
  const problem = blobProblem(type, Buffer.from(base64, "base64"));
  return problem === undefined ? { type, base64 } : problem;
}

/** The key as it is pinned: "<type> <base64>", without a comment. */
export function formatHostKey(key: HostKey): string {
  return `${key.type} ${key.base64}`;
}

/** The key of `text`, or an error naming what is wrong with it. */
export function requireHostKey(text: string, what: string): HostKey {
  const key = parseHostKey(text);
  if (typeof key === "string") throw new Error(`${what} ${key}`);
  return key;
}

/**
 * The known_hosts line that pins `key` for this host and port, as ssh looks
 * it up: the bare host on port 22, `[host]:port` on any other (IPv6 addresses
 * too: `[2001:db8::20]:2222`). ssh lowercases the host name before the lookup.
 */
export function knownHostsLine(host: string, port: number, key: HostKey): string {
  const name = host.toLowerCase();
  return `${port === 22 ? name : `[${name}]:${port}`} ${formatHostKey(key)}\n`;
}

/** Reads SSH wire-format strings (uint32 length, then bytes) off a blob. */
function wireReader(blob: Buffer): { next(): Buffer | undefined; done(): boolean } {
  let offset = 0;
  return {
    next() {
      if (offset + 4 > blob.length) return undefined;
      const length = blob.readUInt32BE(offset);
      if (offset + 4 + length > blob.length) return undefined;
      const field = blob.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      return field;
    },
    done: () => offset === blob.length,
  };
}

/** Why the blob is not a well-formed public key of `type`, or undefined when it is. */
function blobProblem(type: HostKeyType, blob: Buffer): string | undefined {
  const reader = wireReader(blob);
  const embedded = reader.next()?.toString("latin1");
  if (embedded === undefined) return "has key data too short to hold a key";
  if (embedded !== type) return `says "${type}" but its key data is a "${embedded.replace(/[^\x20-\x7e]/g, "?").slice(0, 40)}" key`;
  const broken = `has ${type} key data that is truncated or malformed`;
  if (type === "ssh-ed25519") {
    const point = reader.next();
    return point?.length === 32 && reader.done() ? undefined : broken;
  }
  if (type === "ssh-rsa") {
    const exponent = reader.next();
    const modulus = reader.next();
    if (!exponent || !modulus || exponent.length === 0 || !reader.done()) return broken;
    const bits = modulusBits(modulus);
    return bits < MIN_RSA_BITS ? `is an RSA key of ${bits} bits; a host key needs at least ${MIN_RSA_BITS}` : undefined;
  }
  const curve = reader.next()?.toString("latin1");
  const point = reader.next();
  if (curve === undefined || point === undefined || !reader.done()) return broken;
  if (`ecdsa-sha2-${curve}` !== type) return `says "${type}" but its key data is on curve "${curve.slice(0, 20)}"`;
  return point.length === ECDSA_POINT_BYTES[curve] && point[0] === 0x04 ? undefined : broken;
}

/** Bits of an SSH mpint, leading zero bytes (the sign padding) left out. */
function modulusBits(mpint: Buffer): number {
  let index = 0;
  while (index < mpint.length && mpint[index] === 0) index++;
  if (index === mpint.length) return 0;
  return (mpint.length - index - 1) * 8 + Math.floor(Math.log2(mpint[index]!)) + 1;
}
