import * as pulumi from "@pulumi/pulumi";

/**
 * A WireGuard key pair made by the program: an X25519 private key, a secret
 * output that reaches its host only inside the interface's configuration
 * (written over SSH from stdin), and its public half, which the other ends
 * of the tunnel are configured with. Made once and kept: a new key would cut
 * the host off until every peer was updated.
 */

// Pulumi serializes the provider and every function it reaches: node:crypto is
// loaded with require() inside the function, and nothing else is imported.

export interface WireGuardKeyOutputs {
  /** Base64 of the 32-byte public key, as `wg pubkey` prints it. */
  readonly publicKey: string;
  /** Base64 of the 32-byte private key, as `wg genkey` prints it. */
  readonly privateKey: string;
}

export function generateWireGuardKey(): WireGuardKeyOutputs {
  const { generateKeyPairSync } = require("node:crypto") as typeof import("node:crypto");
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return { privateKey: Buffer.from(jwk.d!, "base64url").toString("base64"), publicKey: Buffer.from(jwk.x!, "base64url").toString("base64") };
}

export const wireGuardKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { host: string }) {
    const key = generateWireGuardKey();
    return { id: key.publicKey, outs: { host: inputs.host, ...key } };
  },
  async diff() {
    return { changes: false, replaces: [], deleteBeforeReplace: false };
  },
};

export class WireGuardKey extends pulumi.dynamic.Resource {
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly privateKey: pulumi.Output<string>;

  constructor(name: string, args: { readonly host: string }, opts?: pulumi.CustomResourceOptions) {
    super(
      wireGuardKeyProvider,
      name,
      { host: args.host, publicKey: undefined, privateKey: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey"] },
      "vpn",
      "WireGuardKey",
    );
  }
}
