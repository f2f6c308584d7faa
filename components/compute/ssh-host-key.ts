import * as pulumi from "@pulumi/pulumi";
import { ed25519PrivateKeyFile, ed25519PublicKeyLine } from "../remote/ed25519-key-pair";

/**
 * The SSH host key of a Hetzner server, made by the program before the server
 * exists: cloud-init installs it (and deletes the image's keys) at first
 * boot, and every SSH connection pins its public half, so the first
 * connection already knows whom it talks to (H9). The private half is a
 * secret output, and reaches the server only through its user-data, which is
 * a secret too.
 *
 * It is made once and kept: nothing about it changes afterwards, since the
 * server's user-data runs at first boot only.
 */

// Pulumi serializes `sshHostKeyProvider` and every function it reaches into
// the state, and runs that text in a separate provider process: node:crypto
// is loaded with require() inside the function, and ../remote/ed25519-key-pair
// has no imports.

export interface SSHHostKeyOutputs {
  /** "ssh-ed25519 AAAA...": what the server presents, and what is pinned. */
  readonly publicKey: string;
  /** The OpenSSH private key file cloud-init writes to /etc/ssh/ssh_host_ed25519_key. */
  readonly privateKey: string;
}

/** A new Ed25519 key pair, in OpenSSH's formats; its id is the key's SHA256 fingerprint, as `ssh-keygen -l` shows it. */
export function generateSSHHostKey(comment: string): SSHHostKeyOutputs & { fingerprint: string } {
  const { createHash, generateKeyPairSync, randomBytes } = require("node:crypto") as typeof import("node:crypto");
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const point = Buffer.from(jwk.x!, "base64url");
  const publicKey = ed25519PublicKeyLine(point);
  const blob = Buffer.from(publicKey.split(" ")[1]!, "base64");
  return {
    publicKey,
    privateKey: ed25519PrivateKeyFile(seed, point, comment, randomBytes(4).readUInt32BE()),
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

export const sshHostKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string }) {
    const { fingerprint, ...key } = generateSSHHostKey(inputs.comment);
    return { id: fingerprint, outs: { comment: inputs.comment, ...key } };
  },
  async diff() {
    // The key stays as long as its server: a new one would never reach it.
    return { changes: false, replaces: [], deleteBeforeReplace: false };
  },
};

export class SSHHostKey extends pulumi.dynamic.Resource {
  // `declare`, not plain fields: with ES2022 class fields they would be reset to undefined after super().
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly privateKey: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(
      sshHostKeyProvider,
      name,
      { comment: `${name}`, publicKey: undefined, privateKey: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey"] },
      "compute",
      "SSHHostKey",
    );
  }
}
