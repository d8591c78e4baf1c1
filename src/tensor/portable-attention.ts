/**
 * Attention in float32 with every operation stated, so that every backend gives the same bits (Backend.attention's
 * `portable`): what a q8 model uses, whose Linears are already integer-exact, so that its whole forward is.
 *
 * Per span and head, for query row i and key j of the span (columns h·dh … of q, k, v):
 *   score = f32(acc · scale), acc = f32(… f32(f32(0 + f32(q₀k₀)) + f32(q₁k₁)) …) over the dh columns in order:
 *     products rounded before each sum (no fused multiply-add);
 *   p = the softmax of the row over its allowed keys (softmaxPortable);
 *   out = Σ_j f32(p_j · v_j) summed the same way, over every key j of the span in order (a masked key's p is 0).
 * This is what the wasm kernels' attention computes with mul and add (their GEMM sums each element's k in order, a
 * k-block continuing the one before): kernels.ts's portable functions, in the relaxed module too.
 */
import type { AttentionSpan, RowRange } from "./backend.js";
import { expF32 } from "./quant.js";

const f = Math.fround;

/**
 * In place over s [off, off + L): the wasm softmax's operations. max over allowed keys (exact); e = expF32(s - max)
 * for an allowed key, else 0, stored as f32; their sum in f64 in four lanes over the first L - L mod 4 keys (lane
 * j mod 4), then ((lane 0 + lane 2) + (lane 1 + lane 3)) + the rest one by one; p = f32(e · (1 / sum)). A row with
 * no allowed key is uniform (1/L), as Hugging Face's masked_fill and softmax give.
 */
export function softmaxPortable(s: Float32Array, off: number, L: number, mask: Uint8Array | null): void {
  let max = -Infinity;
  let any = false;
  for (let j = 0; j < L; j++) {
    if (mask !== null && mask[j] === 0) continue;
    any = true;
    if (s[off + j] > max) max = s[off + j];
  }
  if (!any) {
    s.fill(1 / L, off, off + L);
    return;
  }
  const L4 = L & ~3;
  const lane = [0, 0, 0, 0];
  let rest = 0;
  for (let j = 0; j < L; j++) {
    const e = mask !== null && mask[j] === 0 ? 0 : expF32(f(s[off + j] - max));
    s[off + j] = e;
    if (j < L4) lane[j & 3] += e;
    else rest += e;
  }
  const inv = 1 / ((lane[0] + lane[2] + (lane[1] + lane[3])) + rest);
  for (let j = 0; j < L; j++) s[off + j] *= inv;
}

/**
 * out [rows, H·dh] ← portable attention of every span and head (Backend.attention's arguments: k, v [N, H·dh];
 * span s's query rows at queries[s].start … + len in q and out, 1 ≤ len ≤ s.len, the span's first len rows).
 */
export function attentionPortable(
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number,
  scale: number, queries: readonly RowRange[] = spans,
): void {
  const ld = H * dh;
  const sc = f(scale);
  let row = new Float32Array(0);
  spans.forEach((span, si) => {
    const L = span.len;
    if (row.length < L) row = new Float32Array(L);
    const qr = queries[si];
    for (let h = 0; h < H; h++) {
      const col = h * dh;
      for (let i = 0; i < qr.len; i++) {
        const qo = (qr.start + i) * ld + col;
        for (let j = 0; j < L; j++) {
          const ko = (span.start + j) * ld + col;
          let acc = 0;
          for (let c = 0; c < dh; c++) acc = f(acc + f(q[qo + c] * k[ko + c]));
          row[j] = f(acc * sc);
        }
        softmaxPortable(row, 0, L, span.keyMask);
        const oo = (qr.start + i) * ld + col;
        for (let c = 0; c < dh; c++) {
          let acc = 0;
          for (let j = 0; j < L; j++) acc = f(acc + f(row[j] * v[(span.start + j) * ld + col + c]));
          out[oo + c] = acc;
        }
      }
    }
  });
}
