/**
 * The q8 scheme: the exact rules every backend follows, so that a q8 Linear gives the same bits in plain JS, in
 * WebAssembly with or without relaxed SIMD, on any number of threads and in any batch. docs/quantization.md explains
 * the choices and the measurements behind them.
 *
 * Weights (at load or by `distilbert-ts quantize`), per output channel n of W [dOut, dIn]:
 *   amax = max |W[n, k]|;  s_n = f32(amax / 127) (1 when amax = 0);  q[n, k] = clamp(roundEven(W[n, k] / s_n), ±127).
 *   So W ≈ q · s_n with q in [-127, 127] (a full 8-bit operand: -128 is never used, the scheme is symmetric).
 * Activations (at run time), per row m of x [T, dIn] (per row, not per tensor: a row's codes then do not depend on
 * the rows it is batched with, and per row was also the more faithful of the two, see the docs):
 *   lo = min(0, min_k x), hi = max(0, max_k x);  s_m = f32(f32(hi - lo) / 127) (1 when 0);  inv = f32(1 / s_m);
 *   z_m = clamp(roundEven(f32(-lo · inv)), 0, 127);  u[m, k] = clamp(roundEven(f32(x[m, k] · inv)) + z_m, 0, 127).
 *   u is 7-bit unsigned: the operand `i32x4.relaxed_dot_i8x16_i7x16_add_s` needs within 7 bits for every engine to
 *   compute the same integers (an engine may read its top bit as signed or unsigned).
 * Product (exact in int32: |Σ| ≤ 127 · 127 · dIn < 2³¹ for dIn < 133,000):
 *   acc[m, n] = Σ_k q[n, k] · u[m, k] - z_m · colsum[n],  colsum[n] = Σ_k q[n, k]   (= Σ_k q · (u - z_m))
 *   y[m, n] = f32(f32(f32(acc) · f32(s_m · s_n)) + b[n]), then the activation (GELU: geluF32 below, the f32 GELU of
 *   the wasm kernels, so that both backends give the same bits).
 */
import { WeightsError } from "../errors.js";

export const Q8_MAX = 127;
export const Q8_ACT_MAX = 127;

/** A [rows, cols] matrix quantized by rows: values q [rows·cols] and one scale per row. */
export interface Q8Rows {
  readonly rows: number;
  readonly cols: number;
  readonly q: Int8Array;
  readonly scales: Float32Array;
}

/** Round half to even (IEEE roundTiesToEven, what WebAssembly's `nearest` does); Math.round rounds half up. */
export function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The weight rule above, row by row. Throws a WeightsError naming `where` for a NaN or infinite weight. */
export function quantizeRows(w: Float32Array, rows: number, cols: number, where = "weights"): Q8Rows {
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let amax = 0;
    for (let k = 0; k < cols; k++) {
      const a = Math.abs(w[o + k]);
      if (!(a <= 3.4028234663852886e38)) throw new WeightsError(where, `row ${r} holds ${w[o + k]} at column ${k}`, "finite weights to quantize");
      if (a > amax) amax = a;
    }
    const s = amax > 0 ? Math.fround(amax / Q8_MAX) : 1;
    scales[r] = s;
    for (let k = 0; k < cols; k++) {
      const v = roundEven(w[o + k] / s);
      q[o + k] = v > Q8_MAX ? Q8_MAX : v < -Q8_MAX ? -Q8_MAX : v;
    }
  }
  return { rows, cols, q, scales };
}

/** W ≈ q · s as float32, row by row (f32(q · s), what a q8 embedding row or a dequantized weight is). */
export function dequantizeRows(m: Q8Rows): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    const s = m.scales[r];
    const o = r * m.cols;
    for (let k = 0; k < m.cols; k++) out[o + k] = m.q[o + k] * s;
  }
  return out;
}

/** Σ_k q[n, k] per row: the zero-point correction of every product with that row. */
export function rowSums(m: Q8Rows): Int32Array {
  const out = new Int32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let k = 0, o = r * m.cols; k < m.cols; k++) s += m.q[o + k];
    out[r] = s;
  }
  return out;
}

/**
 * The activation rule for one row: codes u into dst [dOff, dOff + K) from x [xOff, xOff + K); returns the row's
 * scale s_m and writes its zero point to zp[row]. NaN inputs give code z_m + 0 (no crash; nothing meaningful).
 */
export function quantizeActivationRow(x: Float32Array, xOff: number, K: number, dst: Uint8Array, dOff: number, zp: Int32Array, row: number): number {
  let lo = 0;
  let hi = 0;
  for (let k = 0; k < K; k++) {
    const v = x[xOff + k];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let s = Math.fround(Math.fround(hi - lo) / Q8_ACT_MAX);
  if (!(s > 0)) s = 1;
  const inv = Math.fround(1 / s);
  const z = clamp7(roundEven(Math.fround(-lo * inv)));
  zp[row] = z;
  for (let k = 0; k < K; k++) dst[dOff + k] = clamp7(truncSat(roundEven(Math.fround(x[xOff + k] * inv))) + z);
  return s;
}

function clamp7(v: number): number {
  return v < 0 ? 0 : v > Q8_ACT_MAX ? Q8_ACT_MAX : v;
}

/** i32.trunc_sat_f32_s of an integral value: NaN → 0, beyond the i32 range → its bound. */
function truncSat(v: number): number {
  return v !== v ? 0 : v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : v;
}

/** The rescale of one output: f32(f32(f32(acc) · f32(sx · sw)) + bias), bias null for none. */
export function rescale(acc: number, sx: number, sw: number, bias: number | null): number {
  const y = Math.fround(Math.fround(acc) * Math.fround(sx * sw));
  return bias === null ? y : Math.fround(y + bias);
}

// ---- GELU in float32, operation for operation the wasm kernels' (kernels.ts, emitGelu and emitExpSplit) ----------

const f = Math.fround;
const bitsF = new Float32Array(1);
const bitsI = new Int32Array(bitsF.buffer);
const SHIFT32 = 12582912;
const EXP_C = [1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040].map(f);
const ERFC_C = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277].map(f);
const LOG2E = f(Math.LOG2E);
const LN2_HI = f(0.693359375);
const LN2_LO = f(-2.1219444e-4);
const SQRT1_2_HALF = f(Math.SQRT1_2 / 2);

/** kernels.ts's `estrin` in f32: pairs c[i] + c[i+1]·r, then pairs of pairs with r², r⁴, … */
function estrin32(r: number, c: readonly number[]): number {
  let terms: number[] = [];
  for (let i = 0; i < c.length; i += 2) terms.push(i + 1 < c.length ? f(f(c[i + 1] * r) + c[i]) : c[i]);
  let power = r;
  while (terms.length > 1) {
    power = f(power * power);
    const next: number[] = [];
    for (let i = 0; i < terms.length; i += 2) next.push(i + 1 < terms.length ? f(f(terms[i + 1] * power) + terms[i]) : terms[i]);
    terms = next;
  }
  return terms[0];
}

function expSplit32(hi: number, lo: number): number {
  const kn = f(f(f(hi + lo) * LOG2E) + SHIFT32);
  const n = f(kn - SHIFT32);
  const r = f(f(f(hi - f(n * LN2_HI)) - f(n * LN2_LO)) + lo);
  const p = f(f(estrin32(r, EXP_C) * r) + 1);
  bitsF[0] = kn;
  bitsI[0] = ((bitsI[0] + 127) << 23) | 0;
  return f(p * bitsF[0]);
}

/** exp of a float32 value exactly as the wasm kernels' softmax computes it (kernels-math.ts, emitExp). */
export function expF32(x: number): number {
  x = f(x);
  // pmax(x, -88) then pmin(·, 88): compare, then pick, so NaN stays NaN
  if (x < -88) x = -88;
  if (88 < x) x = 88;
  // lo = 0 is emitExp's null lo: adding +0 changes only a -0, which leaves kn, n and the result as they were
  return expSplit32(x, 0);
}

/** GELU of a float32 value exactly as the wasm kernels compute it (≤ 6 ulp from erf.ts's gelu; see emitGelu). */
export function geluF32(x: number): number {
  x = f(x);
  let ax = Math.abs(x);
  const inRange = ax <= 13;
  if (13 < ax) ax = 13;
  const t = f(1 / f(1 + f(ax * SQRT1_2_HALF)));
  bitsF[0] = ax;
  bitsI[0] &= -4096;
  const xh = bitsF[0];
  const hi = f(f(xh * -0.5) * xh);
  const lo = f(f(f(f(ax - xh) * -0.5) * f(ax + xh)) + estrin32(t, ERFC_C));
  const e = inRange ? f(t * expSplit32(hi, lo)) : 0;
  const erfc = x <= 0 ? e : f(2 - e);
  return f(f(x * 0.5) * erfc);
}
