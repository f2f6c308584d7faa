/**
 * "Did you mean": the known names nearest to a misspelt one, by edit distance.
 * A list of every key buries the one that was meant; the nearest one or two
 * point at it.
 */

/**
 * Optimal string alignment distance: insertions, deletions, substitutions,
 * and swaps of two neighbouring characters (the commonest typo, memroyMb),
 * each costing 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known names nearest to `name`, ignoring case, when they are near enough
 * to be a typo of it: within a third of its length (at least 1, at most 3).
 * Empty when nothing is that near.
 */
export function nearestNames(name: string, known: readonly string[]): string[] {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  // Names whose lengths differ by more than the limit are further apart than
  // it; skipping them keeps a very long name from costing length² work.
  const near = [...new Set(known)].filter((candidate) => Math.abs(candidate.length - name.length) <= limit);
  const scored = near.map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }));
  const best = Math.min(...scored.map((entry) => entry.distance));
  if (!Number.isFinite(best) || best > limit) return [];
  return scored
    .filter((entry) => entry.distance === best)
    .map((entry) => entry.candidate)
    .sort();
}

/** "did you mean x?" or "did you mean x or y?", or undefined when no known name is near. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const nearest = nearestNames(name, known).slice(0, 3);
  if (nearest.length === 0) return undefined;
  const listed = nearest.length === 1 ? nearest[0] : `${nearest.slice(0, -1).join(", ")} or ${nearest[nearest.length - 1]}`;
  return `did you mean ${listed}?`;
}
