import { InputError } from "../input-error";
import { escapeControlCharacters } from "./control-characters";

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
        // A key or a value may hold a line break; it is shown escaped, so
        // nothing in the config can forge a line of this list.
        problems.map((problem) => `  - ${escapeControlCharacters(problem.path)}: ${escapeControlCharacters(problem.message)}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}
