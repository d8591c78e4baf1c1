/**
 * Naive reference kernels: the textbook loops, in float64, with no tiling or tricks. Every optimised kernel in every
 * backend is tested against these on random shapes. They are also a complete (slow) Backend.
 */
import type { Activation, Backend, LinearWeight } from "./backend.js";
import { gelu } from "./erf.js";
import { geluF32, quantizeActivationRow, rescale, type Q8Rows } from "./quant.js";

export function applyActivation(v: number, act: Activation): number {
  return act === "gelu" ? gelu(v) : act === "relu" ? (v > 0 ? v : 0) : v;
}

export const naiveBackend: Backend = {
  name: "naive",

  prepareLinear(weight, bias, dOut, dIn): LinearWeight {
    return { weight, bias, dOut, dIn };
  },

  // y [T, dOut] = act(x [T, dIn] · Wᵀ + b)
  linear(y, x, w, T, act) {
    const { dIn, dOut, weight, bias } = w;
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < dOut; o++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < dIn; i++) s += x[t * dIn + i] * weight[o * dIn + i];
        y[t * dOut + o] = applyActivation(Math.fround(s), act);
      }
    }
  },

  // out [M, N] = alpha · a [M, K] · bᵀ (b [N, K])
  matmulTransB(out, a, b, M, N, K, alpha) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
        out[m * N + n] = alpha * s;
      }
    }
  },

  // out [M, N] = a [M, K] · b [K, N]
  matmul(out, a, b, M, N, K) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
        out[m * N + n] = s;
      }
    }
  },

  softmaxRows(x, rows, C, keyMask) {
    const anyKey = !keyMask || keyMask.some((v) => v !== 0);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * C, (r + 1) * C);
      if (!anyKey) {
        row.fill(1 / C);
        continue;
      }
      let max = -Infinity;
      for (let j = 0; j < C; j++) if ((!keyMask || keyMask[j]) && row[j] > max) max = row[j];
      let sum = 0;
      const e = new Float64Array(C);
      for (let j = 0; j < C; j++) {
        e[j] = !keyMask || keyMask[j] ? Math.exp(row[j] - max) : 0;
        sum += e[j];
      }
      for (let j = 0; j < C; j++) row[j] = e[j] / sum;
    }
  },

  layerNorm(out, x, gamma, beta, T, C, eps) {
    for (let t = 0; t < T; t++) {
      let mean = 0;
      for (let c = 0; c < C; c++) mean += x[t * C + c];
      mean /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x[t * C + c] - mean) ** 2;
      v /= C;
      const rstd = 1 / Math.sqrt(v + eps);
      for (let c = 0; c < C; c++) out[t * C + c] = (x[t * C + c] - mean) * rstd * gamma[c] + beta[c];
    }
  },

  addInPlace(y, x, n) {
    for (let i = 0; i < n; i++) y[i] += x[i];
  },

  activate(x, n, act) {
    for (let i = 0; i < n; i++) x[i] = applyActivation(x[i], act);
  },
};

/**
 * The q8 Linear by quant.ts's rules, the textbook way: each row's codes, then Σ q · (u - z) per output (the zero
 * point subtracted element by element, where the kernels subtract z · Σq once), the rescale, the activation.
 * y [T, dOut] from x [T, dIn] and w [dOut, dIn] (int8 rows, one scale each).
 */
export function naiveLinearQ8(y: Float32Array, x: Float32Array, w: Q8Rows, bias: Float32Array | null, T: number, act: Activation): void {
  const K = w.cols;
  const codes = new Uint8Array(K);
  const zp = new Int32Array(1);
  for (let t = 0; t < T; t++) {
    const sx = quantizeActivationRow(x, t * K, K, codes, 0, zp, 0);
    for (let n = 0; n < w.rows; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += w.q[n * K + k] * (codes[k] - zp[0]);
      const v = rescale(acc, sx, w.scales[n], bias === null ? null : bias[n]);
      y[t * w.rows + n] = act === "gelu" ? geluF32(v) : act === "relu" ? (v > 0 ? v : 0) : v;
    }
  }
}
