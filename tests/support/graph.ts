import { recordGraph, type GraphRun, type RecordedResource } from "../../tools/plan/mock-run";

/** Registers whatever `body` creates under the mock runtime and returns the recorded graph. */
export async function graphOf(
  body: () => Record<string, unknown> | void,
  config: Record<string, string> = {},
  secretKeys: string[] = [],
  options: { revealSecrets?: boolean } = {},
): Promise<GraphRun> {
  return recordGraph({ project: "infra", stack: "test", values: config, secretKeys: new Set(secretKeys), ...options }, () => body() ?? {});
}

export function ofType(run: GraphRun, type: string): RecordedResource[] {
  return run.resources.filter((resource) => resource.type === type);
}

export function only(run: GraphRun, type: string): RecordedResource {
  const matches = ofType(run, type);
  if (matches.length !== 1) throw new Error(`expected one ${type}, found ${matches.length}: ${matches.map((resource) => resource.name).join(", ")}`);
  return matches[0]!;
}

export function named(run: GraphRun, type: string, name: string): RecordedResource {
  const match = run.resources.find((resource) => resource.type === type && resource.name === name);
  if (!match)
    throw new Error(
      `no ${type} named ${name} (have: ${ofType(run, type)
        .map((resource) => resource.name)
        .join(", ")})`,
    );
  return match;
}
