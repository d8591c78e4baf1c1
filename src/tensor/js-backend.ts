/**
 * The plain-JS backend: runs anywhere JavaScript runs (no WebAssembly, no eval). Register-tiled 4×4 dot-product
 * kernels, blocked so that a panel of weight rows stays in cache while every token streams past it.
 *
 * Every output element is accumulated in the same order (k = 0, 1, …, K-1, in float64, bias added last) whichever
 * tile or tail computes it, so a row's result does not depend on which other rows share its batch: packing and
 * batching change nothing, bit for bit.
 */
import type { Activation, Backend, LinearWeight } from "./backend.js";
import { gelu } from "./erf.js";

/** Weight rows per cache block: 64 rows × 3072 floats × 4 B = 768 KiB, inside a 1 MiB L2. */
const BLOCK_N = 64;

/**
 * out [M, N] = act(alpha · a [M, K] · bᵀ + bias), with b stored [N, K]: the one kernel behind Linear (alpha 1)
 * and attention scores (alpha 1, since q is pre-scaled, or any alpha).
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
): void {
  const M4 = M - (M % 4);
  for (let n0 = 0; n0 < N; n0 += BLOCK_N) {
    const nEnd = Math.min(N, n0 + BLOCK_N);
    const nEnd4 = n0 + (nEnd - n0) - ((nEnd - n0) % 4);
    for (let m = 0; m < M4; m += 4) {
      const a0 = m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      for (let n = n0; n < nEnd4; n += 4) {
        const b0 = n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let k = 0; k < K; k++) {
          const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
          const w0 = b[b0 + k], w1 = b[b1 + k], w2 = b[b2 + k], w3 = b[b3 + k];
          c00 += x0 * w0; c01 += x0 * w1; c02 += x0 * w2; c03 += x0 * w3;
          c10 += x1 * w0; c11 += x1 * w1; c12 += x1 * w2; c13 += x1 * w3;
          c20 += x2 * w0; c21 += x2 * w1; c22 += x2 * w2; c23 += x2 * w3;
          c30 += x3 * w0; c31 += x3 * w1; c32 += x3 * w2; c33 += x3 * w3;
        }
        store4(out, m * N + n, c00, c01, c02, c03, alpha, bias, n, act);
        store4(out, (m + 1) * N + n, c10, c11, c12, c13, alpha, bias, n, act);
        store4(out, (m + 2) * N + n, c20, c21, c22, c23, alpha, bias, n, act);
        store4(out, (m + 3) * N + n, c30, c31, c32, c33, alpha, bias, n, act);
      }
      for (let n = nEnd4; n < nEnd; n++) {
        for (let r = 0; r < 4; r++) out[(m + r) * N + n] = finish(dot(a, (m + r) * K, b, n * K, K), alpha, bias, n, act);
      }
    }
    for (let m = M4; m < M; m++) {
      for (let n = n0; n < nEnd; n++) out[m * N + n] = finish(dot(a, m * K, b, n * K, K), alpha, bias, n, act);
    }
  }
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

function store4(
  out: Float32Array, at: number, s0: number, s1: number, s2: number, s3: number,
  alpha: number, bias: Float32Array | null, n: number, act: Activation,
): void {
  out[at] = finish(s0, alpha, bias, n, act);
  out[at + 1] = finish(s1, alpha, bias, n + 1, act);
  out[at + 2] = finish(s2, alpha, bias, n + 2, act);
  out[at + 3] = finish(s3, alpha, bias, n + 3, act);
}

export class JsBackend implements Backend {
  readonly name: string = "js";
  /** Reused by matmul for bᵀ, so that the attention loop allocates nothing once warm. */
  private scratch = new Float32Array(0);

  prepareLinear(weight: Float32Array, bias: Float32Array | null, dOut: number, dIn: number): LinearWeight {
    return { weight, bias, dOut, dIn };
  }

  linear(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation): void {
    gemmNT(y, x, w.weight, T, w.dOut, w.dIn, 1, w.bias, act);
  }

  matmulTransB(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number): void {
    gemmNT(out, a, b, M, N, K, alpha, null, "none");
  }

  // out [M, N] = a [M, K] · b [K, N]: transpose b once so the tiled dot-product kernel can run over contiguous rows.
  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
    if (this.scratch.length < N * K) this.scratch = new Float32Array(N * K);
    const bt = this.scratch;
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n];
    gemmNT(out, a, bt, M, N, K, 1, null, "none");
  }

  softmaxRows(x: Float32Array, rows: number, C: number, keyMask: Uint8Array | null): void {
    softmaxRowsJs(x, rows, C, keyMask);
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
  for (let t = 0; t < T; t++) {
    const base = t * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[base + c];
    mean /= C;
    // Two passes: the one-pass E[x²] - E[x]² loses digits when the mean is large against the spread.
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = x[base + c] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];
  }
}
