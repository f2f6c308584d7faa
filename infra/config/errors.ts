import { InputError } from "../input-error";

/** One problem in the stack configuration, with the key path it concerns. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Raised once, before any resource is registered, with every problem found
 * (V1): fixing one value and re-running to find the next is what this avoids.
 */
export class ConfigError extends InputError {
  constructor(public readonly problems: readonly ConfigProblem[]) {
    super(
      `stack configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((problem) => `  - ${problem.path}: ${problem.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}
