/**
 * Bit-for-bit equality of float arrays, fast enough for megabytes (vitest's deep `toEqual` walks a 400 k-element
 * Float32Array for tens of seconds) and telling where they first differ.
 */
import { expect } from "vitest";

/** The first index where `a` and `b` differ by Object.is (so -0 ≠ 0 and NaN = NaN), or -1; a length mismatch is index min(len). */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : n;
}

/** Asserts `got` equals `want` element by element, bit for bit; the message shows the first difference. */
export function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what = "values"): void {
  const i = firstDifference(got, want);
  const at = i < 0 ? "" : ` (lengths ${got.length}/${want.length}; at ${i}: ${got[i]} vs ${want[i]})`;
  expect(i, `${what} differ${at}`).toBe(-1);
}
