import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

/** Where tools/install/*.sh put the binaries built from the Go module proxy. */
export const toolsBin = process.env.INFRA_TOOLS_BIN ?? join(homedir(), ".cache", "infra-tools", "bin");

/**
 * Absolute path of a required external tool. A missing tool is an error, never
 * a skip: `npm test` installs every tool first, so absence means a broken setup.
 */
export function requireTool(name: string): string {
  const searchPath = [toolsBin, "/usr/sbin", "/sbin", ...(process.env.PATH ?? "").split(delimiter)];
  for (const dir of searchPath) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`required tool "${name}" is not installed (looked in ${searchPath.join(", ")}); run \`npm test\`, which installs it`);
}
