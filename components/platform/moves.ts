import * as pulumi from "@pulumi/pulumi";

/**
 * What a resource that moved under the platform's tree answers to: its URN
 * at the stack's root, where stacks deployed before the tree hold it. Its
 * children follow through the engine's inherited aliases.
 */
export function movedFromRoot(): pulumi.Alias {
  // Read when called: the root stack exists only once the program runs.
  return { parent: pulumi.rootStackResource };
}

/**
 * The caller's aliases, each also under the previous type, and the previous
 * type where the component is now: the engine does not combine two aliases,
 * so a component that moved and changed type needs one that says both.
 */
export function withPreviousType(aliases: readonly pulumi.Input<string | pulumi.Alias>[], type: string): pulumi.Input<string | pulumi.Alias>[] {
  const retyped = aliases.flatMap((alias) =>
    typeof alias === "object" && alias !== null && !pulumi.Output.isInstance(alias) ? [{ ...(alias as pulumi.Alias), type }] : [],
  );
  return [...aliases, ...retyped, { type }];
}
