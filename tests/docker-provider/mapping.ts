import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { requireTool } from "../support/tools";

/** The property paths the built pulumi-resource-docker plugin maps, per resource token ("healthcheck.tests", ...). */
export function pluginFields(): Map<string, Set<string>> {
  const output = execFileSync(requireTool("pulumi-resource-docker"), ["fields"], { encoding: "utf8" });
  return new Map(Object.entries(JSON.parse(output) as Record<string, string[]>).map(([token, paths]) => [token, new Set(paths)]));
}

const SDK_DIR = resolve(__dirname, "../../node_modules/@pulumi/docker");

/** The input property names the @pulumi/docker SDK sends for a resource, read from its own code (`resourceInputs["x"]`). */
export function sdkInputNames(moduleFile: string): string[] {
  const code = readFileSync(join(SDK_DIR, moduleFile), "utf8");
  // Only the branch that builds inputs from args (the other one reads state for `get`).
  const argsBranch = code.indexOf("const args = argsOrState");
  const fromArgs = argsBranch >= 0 ? code.slice(argsBranch) : code;
  return [...new Set([...fromArgs.matchAll(/resourceInputs\["([A-Za-z0-9]+)"\] = [^;\n]*\bargs\b/g)].map((match) => match[1]!))].sort();
}

/**
 * Every property path in `inputs` that the plugin does not map: the bridge
 * would drop such a value silently, so the container would run without it.
 * A path is an object (recursed into) when the plugin maps fields below it;
 * otherwise it is a leaf (a string, a list of strings, or a map such as labels).
 */
export function unmappedPaths(inputs: Record<string, unknown>, fields: Set<string>, prefix = ""): string[] {
  const missing: string[] = [];
  for (const [key, value] of Object.entries(inputs)) {
    if (value === undefined) continue;
    const path = `${prefix}${key}`;
    if (!fields.has(path)) {
      missing.push(path);
      continue;
    }
    const hasChildren = [...fields].some((field) => field.startsWith(`${path}.`));
    if (!hasChildren) continue;
    const elements = Array.isArray(value) ? value : [value];
    for (const element of elements)
      if (element && typeof element === "object") missing.push(...unmappedPaths(element as Record<string, unknown>, fields, `${path}.`));
  }
  return [...new Set(missing)];
}
