/**
 * The inputs of a command resource that differ between the stored state and the
 * program, compared as JSON. Any of them replaces the command, so its `create`
 * script runs again; an unchanged command is left alone and runs nothing.
 *
 * It has no imports: Pulumi serializes it into the dynamic providers' state.
 */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((key) => JSON.stringify(olds[key] ?? null) !== JSON.stringify(news[key] ?? null));
}
