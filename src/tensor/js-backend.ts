/**
 * The plain-JS backend: runs anywhere JavaScript runs (no WebAssembly, no eval).
 *
 * Its GEMM is bound by instruction count, not by memory: JavaScript has no SIMD, so every multiply-add is a scalar
 * mulsd + addsd, and every typed-array load costs about six instructions (index sign extension, bounds check, the
 * array's data pointer, the load itself). The kernel therefore maximises multiply-adds per load: an 8 × 8 register
 * tile (64 accumulators) reads 8 values of x and 8 weights per k step for 64 multiply-adds. x is first packed into
 * float64, eight rows interleaved (the 8 values of a k step are adjacent; no float32→float64 conversion left in the
 * inner loop); the weights are read in place from the checkpoint's [dOut, dIn] rows, so loading copies nothing.
 *
 * Measured (2-vCPU Xeon, Node 20 and 24, T = 128 on DistilBERT's three Linear shapes, variants alternated in one
 * process, best of runs): this tile gives 3.6–4.0 GFLOP/s and nothing tried beat it by more than the run-to-run noise
 * (±10 %). TurboFan schedules all 64 multiplies of a k step before the 64 adds, so each product is spilled and
 * reloaded and each accumulator lives on the stack: about 6.5 instructions per multiply-add, of which each typed-array
 * load is ~6 (index add, sign extension, data pointer, bounds check). Tiles whose accumulators fit the 15 xmm registers
 * (4×4, 4×3, 3×4, 3×3, 4×2, 2×6, 6×2) pay more loads per multiply-add and ~19 instructions of per-iteration checks:
 * 5–20 % slower; unrolling k by 2 or 4 is slower still (V8 hoists every load of the unrolled steps, so even those
 * spill); bigger tiles (16×8, 8×16, 12×8, 16×6) and weights packed once into [K][8] panels are level with this one;
 * summing k in pairs before accumulating (c += x₀w₀ + x₁w₁) is 10–30 % slower.
 *
 * Every output element is accumulated the same way whichever tile, tail or block computes it: in float64, over
 * k = 0, 1, …, K-1 in order, of products that are exact (float32 × float32 fits in float64's 53-bit significand);
 * alpha, bias and the activation come after the sum. So a row's result does not depend on which other rows share its
 * batch: packing, batching and padding change nothing, bit for bit.
 */
import { isQ8, type Activation, type AttentionSpan, type Backend, type LinearWeight, type RowRange } from "./backend.js";
import { attentionPortable } from "./portable-attention.js";
import { gelu } from "./erf.js";
import { linearQ8Js, newQ8Scratch, prepareQ8Js } from "./q8-js.js";
import type { Q8Rows } from "./quant.js";

/** Rows of x per register tile. */
const MR = 8;
/** Weight rows (output columns) per register tile. */
const NR = 8;
/** Float64 elements of packed x per row block (1 MiB): it stays in L2 while every weight panel streams past it. */
const BLOCK_DOUBLES = 1 << 17;

/** Reusable scratch of gemmNT (the packed rows), so that a warm backend allocates nothing per call. */
export interface GemmScratch {
  rows: Float64Array;
}

/**
 * out [M, N] = act(alpha · a [M, K] · bᵀ + bias), with b stored [N, K]: the one kernel behind Linear (alpha 1,
 * b = the weight) and attention scores (b = the keys).
 */
export function gemmNT(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  alpha: number,
  bias: Float32Array | null,
  act: Activation,
  scratch: GemmScratch = { rows: new Float64Array(0) },
): void {
  if (M <= 0 || N <= 0) return;
  const M8 = M - (M % MR);
  const N8 = N - (N % NR);
  // Rows per block: a multiple of the tile height whose packed copy fits BLOCK_DOUBLES.
  const MC = Math.max(MR, Math.floor(BLOCK_DOUBLES / (Math.max(K, 1) * MR)) * MR);
  const need = Math.min(MC, M8) * K;
  if (scratch.rows.length < need) scratch.rows = new Float64Array(need);
  const xa = scratch.rows;
  for (let m0 = 0; m0 < M8; m0 += MC) {
    const rows = Math.min(MC, M8 - m0);
    packRows(xa, a, m0, rows, K);
    // Weight panel outside, row tiles inside: the panel's 8 rows (8·K floats) stay in L1/L2 across the block.
    for (let n = 0; n < N8; n += NR) {
      for (let m = 0; m < rows; m += MR) tile8x8(out, xa, m * K, b, n, m0 + m, N, K, alpha, bias, act);
    }
    for (let n = N8; n < N; n++) {
      for (let m = 0; m < rows; m += MR) column8(out, xa, m * K, b, n, m0 + m, N, K, alpha, bias, act);
    }
  }
  for (let m = M8; m < M; m++) {
    for (let n = 0; n < N8; n += NR) row8(out, a, m, b, n, N, K, alpha, bias, act);
    for (let n = N8; n < N; n++) out[m * N + n] = finish(dot(a, m * K, b, n * K, K), alpha, bias, n, act);
  }
}

/** xa [rows/8][K][8] (float64) ← a [m0 .. m0+rows, K] (float32); rows is a multiple of 8. */
function packRows(xa: Float64Array, a: Float32Array, m0: number, rows: number, K: number): void {
  for (let blk = 0; blk < rows; blk += MR) {
    const base = blk * K;
    for (let r = 0; r < MR; r++) {
      const src = (m0 + blk + r) * K;
      for (let k = 0, i = base + r; k < K; k++, i += MR) xa[i] = a[src + k];
    }
  }
}

/**
 * The 8 × 8 tile: out [m .. m+8, n .. n+8] from packed rows xa[xo ..] and weight rows b [n .. n+8, K].
 * 64 accumulators are more than x64's 16 vector registers: V8 keeps them (and the products) on the stack, which
 * still costs less than the typed-array loads a smaller tile would add (see the header for the measurements).
 */
function tile8x8(
  out: Float32Array, xa: Float64Array, xo: number, b: Float32Array, n: number, m: number, N: number, K: number,
  alpha: number, bias: Float32Array | null, act: Activation,
): void {
  const b0 = n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K, b4 = b3 + K, b5 = b4 + K, b6 = b5 + K, b7 = b6 + K;
  const o = m * N + n;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  let c40 = 0, c41 = 0, c42 = 0, c43 = 0, c44 = 0, c45 = 0, c46 = 0, c47 = 0;
  let c50 = 0, c51 = 0, c52 = 0, c53 = 0, c54 = 0, c55 = 0, c56 = 0, c57 = 0;
  let c60 = 0, c61 = 0, c62 = 0, c63 = 0, c64 = 0, c65 = 0, c66 = 0, c67 = 0;
  let c70 = 0, c71 = 0, c72 = 0, c73 = 0, c74 = 0, c75 = 0, c76 = 0, c77 = 0;
  for (let k = 0, i = xo; k < K; k = (k + 1) | 0, i = (i + 8) | 0) {
    const x0 = xa[i], x1 = xa[(i + 1) | 0], x2 = xa[(i + 2) | 0], x3 = xa[(i + 3) | 0];
    const x4 = xa[(i + 4) | 0], x5 = xa[(i + 5) | 0], x6 = xa[(i + 6) | 0], x7 = xa[(i + 7) | 0];
    let w = b[(b0 + k) | 0];
    c00 += x0 * w; c10 += x1 * w; c20 += x2 * w; c30 += x3 * w; c40 += x4 * w; c50 += x5 * w; c60 += x6 * w; c70 += x7 * w;
    w = b[(b1 + k) | 0];
    c01 += x0 * w; c11 += x1 * w; c21 += x2 * w; c31 += x3 * w; c41 += x4 * w; c51 += x5 * w; c61 += x6 * w; c71 += x7 * w;
    w = b[(b2 + k) | 0];
    c02 += x0 * w; c12 += x1 * w; c22 += x2 * w; c32 += x3 * w; c42 += x4 * w; c52 += x5 * w; c62 += x6 * w; c72 += x7 * w;
    w = b[(b3 + k) | 0];
    c03 += x0 * w; c13 += x1 * w; c23 += x2 * w; c33 += x3 * w; c43 += x4 * w; c53 += x5 * w; c63 += x6 * w; c73 += x7 * w;
    w = b[(b4 + k) | 0];
    c04 += x0 * w; c14 += x1 * w; c24 += x2 * w; c34 += x3 * w; c44 += x4 * w; c54 += x5 * w; c64 += x6 * w; c74 += x7 * w;
    w = b[(b5 + k) | 0];
    c05 += x0 * w; c15 += x1 * w; c25 += x2 * w; c35 += x3 * w; c45 += x4 * w; c55 += x5 * w; c65 += x6 * w; c75 += x7 * w;
    w = b[(b6 + k) | 0];
    c06 += x0 * w; c16 += x1 * w; c26 += x2 * w; c36 += x3 * w; c46 += x4 * w; c56 += x5 * w; c66 += x6 * w; c76 += x7 * w;
    w = b[(b7 + k) | 0];
    c07 += x0 * w; c17 += x1 * w; c27 += x2 * w; c37 += x3 * w; c47 += x4 * w; c57 += x5 * w; c67 += x6 * w; c77 += x7 * w;
  }
  store8(out, o, n, alpha, bias, act, c00, c01, c02, c03, c04, c05, c06, c07);
  store8(out, o + 1 * N, n, alpha, bias, act, c10, c11, c12, c13, c14, c15, c16, c17);
  store8(out, o + 2 * N, n, alpha, bias, act, c20, c21, c22, c23, c24, c25, c26, c27);
  store8(out, o + 3 * N, n, alpha, bias, act, c30, c31, c32, c33, c34, c35, c36, c37);
  store8(out, o + 4 * N, n, alpha, bias, act, c40, c41, c42, c43, c44, c45, c46, c47);
  store8(out, o + 5 * N, n, alpha, bias, act, c50, c51, c52, c53, c54, c55, c56, c57);
  store8(out, o + 6 * N, n, alpha, bias, act, c60, c61, c62, c63, c64, c65, c66, c67);
  store8(out, o + 7 * N, n, alpha, bias, act, c70, c71, c72, c73, c74, c75, c76, c77);
}

/** One output column n for the 8 packed rows at xa[xo ..]: the N % 8 tail. */
function column8(
  out: Float32Array, xa: Float64Array, xo: number, b: Float32Array, n: number, m: number, N: number, K: number,
  alpha: number, bias: Float32Array | null, act: Activation,
): void {
  const bo = n * K;
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
  for (let k = 0, i = xo; k < K; k = (k + 1) | 0, i = (i + 8) | 0) {
    const w = b[(bo + k) | 0];
    c0 += xa[i] * w; c1 += xa[(i + 1) | 0] * w; c2 += xa[(i + 2) | 0] * w; c3 += xa[(i + 3) | 0] * w;
    c4 += xa[(i + 4) | 0] * w; c5 += xa[(i + 5) | 0] * w; c6 += xa[(i + 6) | 0] * w; c7 += xa[(i + 7) | 0] * w;
  }
  const o = m * N + n;
  out[o] = finish(c0, alpha, bias, n, act);
  out[o + N] = finish(c1, alpha, bias, n, act);
  out[o + 2 * N] = finish(c2, alpha, bias, n, act);
  out[o + 3 * N] = finish(c3, alpha, bias, n, act);
  out[o + 4 * N] = finish(c4, alpha, bias, n, act);
  out[o + 5 * N] = finish(c5, alpha, bias, n, act);
  out[o + 6 * N] = finish(c6, alpha, bias, n, act);
  out[o + 7 * N] = finish(c7, alpha, bias, n, act);
}

/** One row m (read from a as float32) against 8 weight rows: the M % 8 tail. */
function row8(
  out: Float32Array, a: Float32Array, m: number, b: Float32Array, n: number, N: number, K: number,
  alpha: number, bias: Float32Array | null, act: Activation,
): void {
  const ao = m * K;
  const b0 = n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K, b4 = b3 + K, b5 = b4 + K, b6 = b5 + K, b7 = b6 + K;
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
  for (let k = 0; k < K; k = (k + 1) | 0) {
    const x = a[(ao + k) | 0];
    c0 += x * b[(b0 + k) | 0]; c1 += x * b[(b1 + k) | 0]; c2 += x * b[(b2 + k) | 0]; c3 += x * b[(b3 + k) | 0];
    c4 += x * b[(b4 + k) | 0]; c5 += x * b[(b5 + k) | 0]; c6 += x * b[(b6 + k) | 0]; c7 += x * b[(b7 + k) | 0];
  }
  store8(out, m * N + n, n, alpha, bias, act, c0, c1, c2, c3, c4, c5, c6, c7);
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += a[ai + k] * b[bi + k];
  return s;
}

function finish(s: number, alpha: number, bias: Float32Array | null, n: number, act: Activation): number {
  let v = alpha * s;
  if (bias !== null) v += bias[n];
  // GELU of the float32-rounded value, as `activate` computes it: fused and unfused give the same bits (taps rely on it).
  return act === "none" ? v : act === "gelu" ? gelu(Math.fround(v)) : v > 0 ? v : 0;
}

/** out[at .. at+8] = finish(s0 .. s7) for columns n .. n+8; the plain case (attention scores, no bias) stores directly. */
function store8(
  out: Float32Array, at: number, n: number, alpha: number, bias: Float32Array | null, act: Activation,
  s0: number, s1: number, s2: number, s3: number, s4: number, s5: number, s6: number, s7: number,
): void {
  if (alpha === 1 && bias === null && act === "none") {
    out[at] = s0; out[at + 1] = s1; out[at + 2] = s2; out[at + 3] = s3;
    out[at + 4] = s4; out[at + 5] = s5; out[at + 6] = s6; out[at + 7] = s7;
    return;
  }
  out[at] = finish(s0, alpha, bias, n, act);
  out[at + 1] = finish(s1, alpha, bias, n + 1, act);
  out[at + 2] = finish(s2, alpha, bias, n + 2, act);
  out[at + 3] = finish(s3, alpha, bias, n + 3, act);
  out[at + 4] = finish(s4, alpha, bias, n + 4, act);
  out[at + 5] = finish(s5, alpha, bias, n + 5, act);
  out[at + 6] = finish(s6, alpha, bias, n + 6, act);
  out[at + 7] = finish(s7, alpha, bias, n + 7, act);
}

export class JsBackend implements Backend {
  readonly name: string = "js";
  /** Packed rows for gemmNT. */
  private readonly gemm: GemmScratch = { rows: new Float64Array(0) };
  /** bᵀ for matmul, so that the attention loop allocates nothing once warm. */
  private scratch = new Float32Array(0);

  // The weights stay where they are (views on the safetensors buffer): the kernel reads them in place.
  prepareLinear(weight: Float32Array, bias: Float32Array | null, dOut: number, dIn: number): LinearWeight {
    return { weight, bias, dOut, dIn };
  }

  private readonly q8 = newQ8Scratch();

  prepareLinearQ8(w: Q8Rows, bias: Float32Array | null): LinearWeight {
    return prepareQ8Js(w, bias);
  }

  linear(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation): void {
    if (isQ8(w)) return linearQ8Js(y, x, w, T, act, this.q8);
    gemmNT(y, x, w.weight, T, w.dOut, w.dIn, 1, w.bias, act, this.gemm);
  }

  matmulTransB(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number): void {
    gemmNT(out, a, b, M, N, K, alpha, null, "none", this.gemm);
  }

  // out [M, N] = a [M, K] · b [K, N]: transpose b once so the tiled kernel can run over contiguous rows.
  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
    if (this.scratch.length < N * K) this.scratch = new Float32Array(N * K);
    const bt = this.scratch;
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n];
    gemmNT(out, a, bt, M, N, K, 1, null, "none", this.gemm);
  }

  softmaxRows(x: Float32Array, rows: number, C: number, keyMask: Uint8Array | null): void {
    softmaxRowsJs(x, rows, C, keyMask);
  }

  /** Only the portable attention (the layer goes head by head otherwise, on the float64 sums above). */
  attention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number, scale: number, queries?: readonly RowRange[], portable = false): boolean {
    if (!portable) return false;
    attentionPortable(out, q, k, v, spans, H, dh, scale, queries);
    return true;
  }

  layerNorm(out: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, T: number, C: number, eps: number): void {
    layerNormJs(out, x, gamma, beta, T, C, eps);
  }

  addInPlace(y: Float32Array, x: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) y[i] += x[i];
  }

  activate(x: Float32Array, n: number, act: Activation): void {
    if (act === "gelu") for (let i = 0; i < n; i++) x[i] = gelu(x[i]);
    else if (act === "relu") for (let i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
  }
}

export function softmaxRowsJs(x: Float32Array, rows: number, C: number, keyMask: Uint8Array | null): void {
  let anyKey = keyMask === null;
  if (keyMask !== null) for (let j = 0; j < C && !anyKey; j++) anyKey = keyMask[j] !== 0;
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    if (!anyKey) {
      x.fill(1 / C, base, base + C);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < C; j++) if ((keyMask === null || keyMask[j] !== 0) && x[base + j] > max) max = x[base + j];
    let sum = 0;
    for (let j = 0; j < C; j++) {
      const e = keyMask === null || keyMask[j] !== 0 ? Math.exp(x[base + j] - max) : 0;
      x[base + j] = e;
      sum += e;
    }
    // The exponentials were rounded to float32 when stored; normalising those is within 1 ulp of the exact result.
    const inv = 1 / sum;
    for (let j = 0; j < C; j++) x[base + j] *= inv;
  }
}

export function layerNormJs(
  out: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, T: number, C: number, eps: number,
): void {
  // Each sum in the wasm kernel's order (two float64 lanes, even and odd columns, then the last column of an odd C):
  // the two backends then give the same bits, which a q8 model's forward promises.
  const C2 = C & ~1;
  for (let t = 0; t < T; t++) {
    const base = t * C;
    let s0 = 0;
    let s1 = 0;
    for (let c = 0; c < C2; c += 2) {
      s0 += x[base + c];
      s1 += x[base + c + 1];
    }
    let mean = s0 + s1;
    if (C2 < C) mean += x[base + C2];
    mean /= C;
    // Two passes: the one-pass E[x²] - E[x]² loses digits when the mean is large against the spread.
    s0 = 0;
    s1 = 0;
    for (let c = 0; c < C2; c += 2) {
      const d0 = x[base + c] - mean;
      const d1 = x[base + c + 1] - mean;
      s0 += d0 * d0;
      s1 += d1 * d1;
    }
    let v = s0 + s1;
    if (C2 < C) {
      const d = x[base + C2] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];
  }
}
