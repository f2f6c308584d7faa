import * as pulumi from "@pulumi/pulumi";

/**
 * A refusal of what the program was given: its configuration, an overlay,
 * a platform that breaks a checklist rule. The message says what to fix, and
 * a stack trace would only bury it (V5). Pulumi's Node.js runtime prints a
 * RunError as its message alone under `pulumi preview` and `pulumi up`; the
 * offline plan prints every RunError the same way. Anything else that is
 * thrown is a fault of the program and keeps its stack.
 */
export class InputError extends pulumi.RunError {}

/** True for an InputError, or any other RunError, from this or another copy of the SDK. */
export function isInputError(error: unknown): error is Error {
  return pulumi.RunError.isInstance(error);
}
