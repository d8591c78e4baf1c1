/**
 * "Did you mean": the closest known names to a mistyped one, by edit distance. Runtime-agnostic (no node: imports)
 * so the core's capture-pattern errors can use it as well as the CLI.
 */

/** Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Three rows: the swap rule looks two rows back.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/**
 * The known names closest to `name` (at most `max`, best first), when they are close enough to be a typo: within a
 * third of the longer name's length (at least 1, at most 3 edits), or when one contains the other (`--label-col`).
 */
export function closestNames(name: string, known: readonly string[], max = 3): string[] {
  const lower = name.toLowerCase();
  const scored = known
    .map((k) => {
      const kl = k.toLowerCase();
      const d = editDistance(lower, kl);
      const limit = Math.min(3, Math.max(1, Math.floor(Math.max(lower.length, kl.length) / 3)));
      const contains = lower.length >= 3 && (kl.includes(lower) || lower.includes(kl));
      return { k, d, ok: d <= limit || contains };
    })
    .filter((s) => s.ok)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k));
  return [...new Set(scored.map((s) => s.k))].slice(0, max);
}

/** " (did you mean a or b?)", or "" when nothing is close. */
export function didYouMean(name: string, known: readonly string[], show: (k: string) => string = (k) => k): string {
  const c = closestNames(name, known);
  if (c.length === 0) return "";
  return ` (did you mean ${c.map(show).join(c.length === 2 ? " or " : ", ")}?)`;
}
