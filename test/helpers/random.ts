import { mulberry32 } from "../../src/model/random-model.js";

/** Deterministic random numbers for tests, so a failure reproduces from its seed. */
export const rng = mulberry32;

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

/**
 * Packed spans of these lengths, end to end; with `masked`, each key is attendable with probability 0.7 and at least
 * one per span is. Returns the spans and their total rows.
 */
export function randomSpans(lens: readonly number[], masked: boolean, seed: number): { spans: { start: number; len: number; keyMask: Uint8Array | null }[]; rows: number } {
  const r = rng(seed);
  let start = 0;
  const spans = lens.map((len) => {
    let keyMask: Uint8Array | null = null;
    if (masked) {
      keyMask = Uint8Array.from({ length: len }, () => (r() < 0.7 ? 1 : 0));
      keyMask[Math.floor(r() * len)] = 1; // at least one key to attend to
    }
    const s = { start, len, keyMask };
    start += len;
    return s;
  });
  return { spans, rows: start };
}

/**
 * Inputs of one attention call over packed spans: H heads of width dh, q/k/v [N, H·dh] with values in [-2, 2) from
 * seeds seed+1..3, and the usual 1/√dh scale.
 */
export function randomAttentionCase(H: number, dh: number, lens: readonly number[], masked: boolean, seed: number) {
  const { spans, rows: N } = randomSpans(lens, masked, seed);
  const dim = H * dh;
  const [q, k, v] = [1, 2, 3].map((i) => randomArray(N * dim, seed + i, 2));
  return { spans, N, dim, q, k, v, scale: 1 / Math.sqrt(dh) };
}

/** Largest |a - b| and where. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}

/**
 * Largest distance in float32 units in the last place between two float32 arrays: how many representable float32
 * values lie between a[i] and b[i] (0 = the same bits, ±0 counted as equal). For kernels that should round once.
 */
export function maxUlpDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  // Map the sign-magnitude bit patterns onto a monotone integer line (negative floats below positive ones).
  const line = (i: number) => (i < 0 ? -(i & 0x7fffffff) : i);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(line(ia[i]) - line(ib[i])));
  return max;
}
