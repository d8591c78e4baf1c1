/**
 * Reverse-mode kernels, each beside its forward, in the style of llm.c's train_gpt2.c: plain functions with explicit
 * dimensions. Buffers are row-major Float32Array or Float64Array (`Vec`); sums and statistics are accumulated in
 * float64 whatever the storage, because the backward of LayerNorm and softmax subtracts nearly equal row means.
 *
 * Every backward here is checked against finite differences in float64 on random shapes (test/grad-kernels.test.ts).
 * Only gradients w.r.t. inputs exist today; weight gradients would be further outputs of the same functions.
 */
import { erfc } from "../tensor/erf.js";

export type Vec = Float32Array | Float64Array;

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * out [T, C] = (x - mean) · rstd · gamma + beta over each row of x [T, C]; stats [2T] ← (mean, rstd) per row, which
 * the backward needs with x. out may alias x only when the caller no longer needs x (the backward reads x).
 */
export function layerNormForward(out: Vec, stats: Float64Array, x: Vec, gamma: ArrayLike<number>, beta: ArrayLike<number>, T: number, C: number, eps: number): void {
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[o + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[o + c] - mean) ** 2;
    v /= C;
    const rstd = 1 / Math.sqrt(v + eps);
    stats[2 * t] = mean;
    stats[2 * t + 1] = rstd;
    for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - mean) * rstd * gamma[c] + beta[c];
  }
}

/**
 * dx [T, C] (+)= ∂L/∂x of LayerNorm given dy [T, C], its input x [T, C] and stats [2T] from the forward:
 *   x̂ = (x - μ)·rstd,  dx̂ = dy·γ,  dx = rstd · (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂)).
 * accumulate: add into dx instead of overwriting it.
 */
export function layerNormBackward(dx: Vec, dy: Vec, x: Vec, stats: Float64Array, gamma: ArrayLike<number>, T: number, C: number, accumulate = false): void {
  for (let t = 0; t < T; t++) {
    const o = t * C;
    const mean = stats[2 * t];
    const rstd = stats[2 * t + 1];
    let sumD = 0;
    let sumDX = 0;
    for (let c = 0; c < C; c++) {
      const d = dy[o + c] * gamma[c];
      sumD += d;
      sumDX += d * (x[o + c] - mean) * rstd;
    }
    const mD = sumD / C;
    const mDX = sumDX / C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[o + c] - mean) * rstd;
      const g = rstd * (dy[o + c] * gamma[c] - mD - xhat * mDX);
      dx[o + c] = accumulate ? dx[o + c] + g : g;
    }
  }
}

/**
 * In place over s [rows, C]: softmax of each row where keyMask [C] is 1 (null = all keys), 0 where it is 0; a row
 * with no attendable key becomes uniform over all C (what Hugging Face's masked_fill(finfo.min) then softmax gives).
 */
export function softmaxForward(s: Vec, rows: number, C: number, keyMask: Uint8Array | null): void {
  const anyKey = keyMask === null || keyMask.some((m) => m !== 0);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    if (!anyKey) {
      for (let j = 0; j < C; j++) s[o + j] = 1 / C;
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < C; j++) if ((keyMask === null || keyMask[j] !== 0) && s[o + j] > max) max = s[o + j];
    let sum = 0;
    for (let j = 0; j < C; j++) {
      const e = keyMask === null || keyMask[j] !== 0 ? Math.exp(s[o + j] - max) : 0;
      s[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < C; j++) s[o + j] /= sum;
  }
}

/**
 * ds [rows, C] = ∂L/∂scores given dp [rows, C] and the probabilities p [rows, C]: ds = p ⊙ (dp - Σ_j p_j dp_j).
 * Masked keys have p = 0, so they get no gradient, as through masked_fill; a row with no attendable key is a
 * constant (every score was replaced), so its gradient is 0. ds may alias dp.
 */
export function softmaxBackward(ds: Vec, dp: Vec, p: Vec, rows: number, C: number, keyMask: Uint8Array | null): void {
  const anyKey = keyMask === null || keyMask.some((m) => m !== 0);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    if (!anyKey) {
      for (let j = 0; j < C; j++) ds[o + j] = 0;
      continue;
    }
    let dot = 0;
    for (let j = 0; j < C; j++) dot += p[o + j] * dp[o + j];
    for (let j = 0; j < C; j++) ds[o + j] = p[o + j] * (dp[o + j] - dot);
  }
}

/** Exact GELU's derivative: d/dx [x·Φ(x)] = Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** out [n] = act(x) for the FFN's activation ("gelu" = exact erf form, as Hugging Face's). */
export function activationForward(out: Vec, x: Vec, n: number, act: "gelu" | "relu"): void {
  if (act === "gelu") for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * erfc(-x[i] * Math.SQRT1_2);
  else for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

/** dx [n] = dy ⊙ act'(x), x the activation's input (ReLU's derivative at 0 is 0, as PyTorch's). dx may alias dy. */
export function activationBackward(dx: Vec, dy: Vec, x: Vec, n: number, act: "gelu" | "relu"): void {
  if (act === "gelu") for (let i = 0; i < n; i++) dx[i] = dy[i] * geluGrad(x[i]);
  else for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

/**
 * The matrix products the backward needs, from whoever computes them: plain float64 loops (f64Ops) or a Backend's
 * float32 kernels (backendOps). Shapes are row-major; `out` never aliases an input.
 */
export interface MatOps {
  readonly name: string;
  /** A zeroed buffer of the ops' storage type. */
  alloc(n: number): Vec;
  /** out [M, N] = alpha · a [M, K] · bᵀ, b stored [N, K]. */
  matmulTransB(out: Vec, a: Vec, b: Vec, M: number, N: number, K: number, alpha: number): void;
  /** out [M, N] = alpha · a [M, K] · b [K, N]. */
  matmul(out: Vec, a: Vec, b: Vec, M: number, N: number, K: number, alpha: number): void;
  /** out [M, N] = aᵀ · b with a stored [K, M], b [K, N]. */
  matmulTransA(out: Vec, a: Vec, b: Vec, M: number, N: number, K: number): void;
}

/**
 * One head of attention, forward: p [L, L] ← softmax(scale · q [L, dh] · k [L, dh]ᵀ, keyMask); c [L, dh] ← p · v.
 */
export function attentionHeadForward(ops: MatOps, c: Vec, p: Vec, q: Vec, k: Vec, v: Vec, L: number, dh: number, scale: number, keyMask: Uint8Array | null): void {
  ops.matmulTransB(p, q, k, L, L, dh, scale);
  softmaxForward(p, L, L, keyMask);
  ops.matmul(c, p, v, L, dh, L, 1);
}

/**
 * One head of attention, backward, in two steps so the caller can look at (or add to) ∂L/∂p in between:
 * attentionHeadBackwardProbs: dp [L, L] = dc [L, dh] · vᵀ, dv [L, dh] = pᵀ · dc.
 */
export function attentionHeadBackwardProbs(ops: MatOps, dp: Vec, dv: Vec, dc: Vec, p: Vec, v: Vec, L: number, dh: number): void {
  ops.matmulTransB(dp, dc, v, L, L, dh, 1);
  ops.matmulTransA(dv, p, dc, L, dh, L);
}

/**
 * ... then through the softmax and the scaled product: ds = softmax'(dp) (in place over dp),
 * dq [L, dh] = scale · ds · k, dk [L, dh] = scale · dsᵀ · q.
 */
export function attentionHeadBackwardScores(ops: MatOps, dq: Vec, dk: Vec, dp: Vec, p: Vec, q: Vec, k: Vec, L: number, dh: number, scale: number, keyMask: Uint8Array | null): void {
  softmaxBackward(dp, dp, p, L, L, keyMask);
  ops.matmul(dq, dp, k, L, dh, L, scale);
  ops.matmulTransA(dk, dp, q, L, dh, L);
  for (let i = 0; i < L * dh; i++) dk[i] *= scale;
}

/** [T, H·dh] → [H, T, dh] (head h = columns h·dh … (h+1)·dh-1, Hugging Face's view + transpose). */
export function splitHeads(out: Vec, x: Vec, T: number, H: number, dh: number): void {
  const dim = H * dh;
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let j = 0; j < dh; j++) out[(h * T + t) * dh + j] = x[t * dim + h * dh + j];
}

/** [H, T, dh] → [T, H·dh], the inverse of splitHeads. */
export function mergeHeads(out: Vec, x: Vec, T: number, H: number, dh: number): void {
  const dim = H * dh;
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let j = 0; j < dh; j++) out[t * dim + h * dh + j] = x[(h * T + t) * dh + j];
}

/** y [n] += x [n] */
export function addInto(y: Vec, x: Vec, n: number): void {
  for (let i = 0; i < n; i++) y[i] += x[i];
}
