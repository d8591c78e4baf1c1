/**
 * The q8 Linear in plain JavaScript: quant.ts's scheme with integer dot products (JS numbers hold the int32 sums
 * exactly), so its results are bit for bit those of the wasm kernels. Four output channels per pass over a row's
 * codes: each code is loaded once for four multiply-adds.
 */
import type { Activation, LinearWeight } from "./backend.js";
import { geluF32, quantizeActivationRow, rowSums, type Q8Rows } from "./quant.js";

/** Scratch of linearQ8Js, kept by the backend so that a warm call allocates little. */
export interface Q8Scratch {
  codes: Uint8Array;
  zp: Int32Array;
  scales: Float32Array;
}

export function newQ8Scratch(): Q8Scratch {
  return { codes: new Uint8Array(0), zp: new Int32Array(0), scales: new Float32Array(0) };
}

/** What a q8 LinearWeight carries for the JS backend: the row sums of q (the zero points' correction). */
export interface JsQ8Packed {
  readonly colsum: Int32Array;
}

/**
 * A LinearWeight for the q8 rows `w` (weight: dequantized on access). `w` may be a function that rebuilds the rows on
 * access (the wasm backend keeps only its packed copy, so the int8 weights are not held twice).
 */
export function q8LinearWeight(w: Q8Rows | (() => Q8Rows), bias: Float32Array | null, packed: unknown, shape?: { rows: number; cols: number }): LinearWeight {
  const rows = typeof w === "function" ? w : () => w;
  const { rows: dOut, cols: dIn } = typeof w === "function" ? shape! : w;
  return {
    dOut,
    dIn,
    bias,
    packed,
    get q8(): Q8Rows {
      return rows();
    },
    get weight(): Float32Array {
      const r = rows();
      const out = new Float32Array(r.rows * r.cols);
      for (let n = 0; n < r.rows; n++) for (let k = 0, o = n * r.cols; k < r.cols; k++) out[o + k] = r.q[o + k] * r.scales[n];
      return out;
    },
  };
}

export function prepareQ8Js(w: Q8Rows, bias: Float32Array | null): LinearWeight {
  const packed: JsQ8Packed = { colsum: rowSums(w) };
  return q8LinearWeight(w, bias === null ? null : bias.slice(0, w.rows), packed);
}

/** y [T, dOut] = act(q8 product of x [T, dIn] with w), by quant.ts's rules. */
export function linearQ8Js(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation, scratch: Q8Scratch): void {
  const q8 = w.q8!;
  const { colsum } = w.packed as JsQ8Packed;
  const K = w.dIn;
  const N = w.dOut;
  if (scratch.codes.length < T * K) scratch.codes = new Uint8Array(T * K);
  if (scratch.zp.length < T) {
    scratch.zp = new Int32Array(T);
    scratch.scales = new Float32Array(T);
  }
  const u = scratch.codes;
  for (let m = 0; m < T; m++) scratch.scales[m] = quantizeActivationRow(x, m * K, K, u, m * K, scratch.zp, m);
  const q = q8.q;
  const sw = q8.scales;
  const bias = w.bias;
  const N4 = N - (N % 4);
  for (let m = 0; m < T; m++) {
    const uo = m * K;
    const z = scratch.zp[m];
    const sx = scratch.scales[m];
    const yo = m * N;
    for (let n = 0; n < N4; n += 4) {
      const b0 = n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < K; k++) {
        const v = u[uo + k];
        a0 += q[b0 + k] * v;
        a1 += q[b1 + k] * v;
        a2 += q[b2 + k] * v;
        a3 += q[b3 + k] * v;
      }
      y[yo + n] = finish(a0 - z * colsum[n], sx, sw[n], bias === null ? null : bias[n], act);
      y[yo + n + 1] = finish(a1 - z * colsum[n + 1], sx, sw[n + 1], bias === null ? null : bias[n + 1], act);
      y[yo + n + 2] = finish(a2 - z * colsum[n + 2], sx, sw[n + 2], bias === null ? null : bias[n + 2], act);
      y[yo + n + 3] = finish(a3 - z * colsum[n + 3], sx, sw[n + 3], bias === null ? null : bias[n + 3], act);
    }
    for (let n = N4; n < N; n++) {
      let a = 0;
      for (let k = 0, b = n * K; k < K; k++) a += q[b + k] * u[uo + k];
      y[yo + n] = finish(a - z * colsum[n], sx, sw[n], bias === null ? null : bias[n], act);
    }
  }
}

function finish(acc: number, sx: number, sw: number, bias: number | null, act: Activation): number {
  let v = Math.fround(Math.fround(acc) * Math.fround(sx * sw));
  if (bias !== null) v = Math.fround(v + bias);
  return act === "gelu" ? geluF32(v) : act === "relu" ? (v > 0 ? v : 0) : v;
}
