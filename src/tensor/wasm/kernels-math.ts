/**
 * Element-wise maths of the kernels (exp, GELU) and the functions that apply it, written with assembler.ts like
 * kernels.ts, which adds them to the module.
 *
 * Each emitter computes several independent chains (vectors) at once, statement by statement: one GELU is a chain of
 * ~40 dependent operations, so a loop of one vector per iteration waits on latencies (measured: ~40 cycles a vector on
 * this project's AMD EPYC); four interleaved chains keep the core's pipes busy. The operations of each chain, and so
 * its bits, are the same whatever the number of chains.
 */
import type { FunctionBuilder } from "./assembler.js";

/** Lane-wise v128 computations of `xs` (one local per chain) → the locals holding each chain's result. */
export type LaneEmitter = (f: FunctionBuilder, k: Consts, xs: readonly number[]) => number[];

/** Runs `statement` for every chain in turn, so that the chains' instructions interleave. */
function each(chains: readonly unknown[], statement: (j: number) => void): void {
  for (let j = 0; j < chains.length; j++) statement(j);
}

function locals(f: FunctionBuilder, n: number): number[] {
  return Array.from({ length: n }, () => f.local("v128"));
}

/**
 * Vector constants of one function, held in locals set once at its start: V8 rematerialises a v128.const at every
 * use (three instructions for most f64x2 values), which inside an element-wise loop costs more than the maths.
 */
export interface Consts {
  f32x4(v: number): number;
  f64x2(v: number): number;
  i32x4(a: number, b: number, c: number, d: number): number;
}

export function constants(f: FunctionBuilder): Consts {
  const cache = new Map<string, number>();
  const get = (key: string, emit: () => void) => {
    let l = cache.get(key);
    if (l === undefined) {
      const local = f.local("v128");
      f.hoist(() => {
        emit();
        f.set(local);
      });
      cache.set(key, local);
      l = local;
    }
    return l;
  };
  return {
    f32x4: (v) => get(`f32 ${v}`, () => f.f32x4(v)),
    f64x2: (v) => get(`f64 ${v}`, () => f.f64x2(v)),
    i32x4: (a, b, c, d) => get(`i32 ${a} ${b} ${c} ${d}`, () => f.i32x4(a, b, c, d)),
  };
}

/**
 * c[0] + c[1]·r + … + c[n]·rⁿ of each chain's r by Estrin's scheme (pairs, then pairs of pairs with r², r⁴, …): a
 * dependency chain of ~log₂ n multiply-adds instead of Horner's n. → the locals holding each chain's polynomial.
 */
function estrin(f: FunctionBuilder, k: Consts, shape: "f32x4" | "f64x2", rs: readonly number[], c: readonly number[]): number[] {
  const konst = (v: number) => f.get(shape === "f32x4" ? k.f32x4(v) : k.f64x2(v));
  const mul = `${shape}.mul` as const;
  const add = `${shape}.add` as const;
  let terms: number[][] = [];
  for (let i = 0; i < c.length; i += 2) {
    const q = locals(f, rs.length);
    each(rs, (j) => {
      if (i + 1 < c.length) {
        konst(c[i + 1]).get(rs[j]).op(mul);
        konst(c[i]).op(add);
      } else konst(c[i]);
      f.set(q[j]);
    });
    terms.push(q);
  }
  let power: readonly number[] = rs;
  while (terms.length > 1) {
    const sq = locals(f, rs.length);
    const p = power;
    each(rs, (j) => f.get(p[j]).get(p[j]).op(mul).set(sq[j]));
    power = sq;
    const next: number[][] = [];
    for (let i = 0; i < terms.length; i += 2) {
      if (i + 1 < terms.length) {
        const q = locals(f, rs.length);
        const [a, b] = [terms[i], terms[i + 1]];
        each(rs, (j) => f.get(b[j]).get(sq[j]).op(mul).get(a[j]).op(add).set(q[j]));
        next.push(q);
      } else next.push(terms[i]);
    }
    terms = next;
  }
  return terms[0];
}

/** 1.5·2²³: added to |v| < 2²² it leaves round-to-nearest(v) in the low mantissa bits. */
const SHIFT32 = 12582912;

/**
 * e^(hi + lo) for f32 lanes, lo small next to hi: 2ⁿ · e^r with n = round((hi + lo)·log₂e) and r = (hi - n·ln2) + lo,
 * ln2 in two pieces (Cody–Waite: n·LN2_HI is exact for |n| < 2⁸, and hi - n·LN2_HI is exact when hi is that close
 * to it), e^r by its Taylor series to r⁷ (truncation < 6e-9 relative for |r| ≤ ln2/2), 2ⁿ built in the exponent
 * bits. hi + lo must lie in [-88, 88]; NaN stays NaN. `lo` null means 0.
 */
function emitExpSplit(f: FunctionBuilder, k: Consts, hi: readonly number[], lo: readonly number[] | null): number[] {
  const kn = locals(f, hi.length);
  const n = locals(f, hi.length);
  const r = locals(f, hi.length);
  const out = locals(f, hi.length);
  // kn = x·log₂e + 1.5·2²³ rounds to an integer in its low mantissa bits; n = kn - 1.5·2²³ exactly.
  each(hi, (j) => {
    f.get(hi[j]);
    if (lo !== null) f.get(lo[j]).op("f32x4.add");
    f.get(k.f32x4(Math.LOG2E)).op("f32x4.mul").get(k.f32x4(SHIFT32)).op("f32x4.add").set(kn[j]);
  });
  each(hi, (j) => f.get(kn[j]).get(k.f32x4(SHIFT32)).op("f32x4.sub").set(n[j]));
  each(hi, (j) => {
    f.get(hi[j]).get(n[j]).get(k.f32x4(0.693359375)).op("f32x4.mul").op("f32x4.sub")
      .get(n[j]).get(k.f32x4(-2.12194440e-4)).op("f32x4.mul").op("f32x4.sub");
    if (lo !== null) f.get(lo[j]).op("f32x4.add");
    f.set(r[j]);
  });
  // e^r = 1 + r·(1 + r/2 + …): the last step by Horner keeps the rounding near half an ulp; the rest by Estrin.
  const p = estrin(f, k, "f32x4", r, [1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040]);
  each(hi, (j) => f.get(p[j]).get(r[j]).op("f32x4.mul").get(k.f32x4(1)).op("f32x4.add").set(out[j]));
  // 2ⁿ: n's two's complement sits in kn's low bits; + 127 and << 23 leave exactly the biased exponent (|n| ≤ 127).
  each(hi, (j) => {
    f.get(out[j]);
    f.get(kn[j]).get(k.i32x4(127, 127, 127, 127)).op("i32x4.add").i32(23).op("i32x4.shl");
    f.op("f32x4.mul").set(out[j]);
  });
  return out;
}

/**
 * exp of each f32 lane of x, for the softmax (arguments ≤ 0 there): emitExpSplit with x clamped to [-88, 88], so
 * arguments below ≈ -87.68 give 0 (n = -127 leaves a zero exponent field; the true value is a subnormal below
 * 2⁻¹²⁶), and above 88 are not supported (the softmax never passes one). NaN stays NaN. Accuracy is tested against
 * Math.exp (≤ 2 ulp).
 */
export const emitExp: LaneEmitter = (f, k, xs) => {
  const xc = locals(f, xs.length);
  // pmax/pmin keep a NaN first operand (they compare, then pick), so NaN flows through to the result.
  each(xs, (j) => f.get(xs[j]).get(k.f32x4(-88)).op("f32x4.pmax").get(k.f32x4(88)).op("f32x4.pmin").set(xc[j]));
  return emitExpSplit(f, k, xc, null);
};

/**
 * GELU of each f32 lane, all in f32x4: gelu(x) = x/2 · erfc(-x/√2) with Numerical Recipes' erfcc (fractional error
 * < 1.2e-7, the formula erf.ts evaluates in f64): erfc(y) = t·e^(-z² - 1.26551223 + t·P(t)), z = |y|,
 * t = 1/(1 + z/2), and 2 - that for y < 0. In f32 the exponent's -z² is what loses accuracy (its rounding error
 * grows with z², up to ~200 ulp of the result in the tail), so it is formed from x exactly: with xh = x's top 12
 * significant bits and xl = |x| - xh (exact), z² = x²/2 = xh²/2 (exact) + xl·(|x| + xh)/2, and the exponential
 * takes the exact part and the small rest separately (emitExpSplit). Measured against erf.ts's gelu rounded to f32
 * (test/wasm-backend.test.ts): ≤ 6 ulp on [-12, 12], 98% of points within 2 — far below the f32 GEMM's own rounding,
 * which sums 768 to 3072 products. gelu(x < -13) is -0 (the true value is below 2⁻¹²⁶: subnormal) and
 * gelu(x > 13) = x. NaN in, NaN out; gelu(∞) = ∞ and gelu(-∞) = NaN (-∞ · 0), as erf.ts gives.
 */
export const emitGelu: LaneEmitter = (f, k, x) => {
  const [ax, t, xh, hi, lo, e, inRange, out] = Array.from({ length: 8 }, () => locals(f, x.length));
  const c = (v: number) => f.get(k.f32x4(v));
  // Past |x| = 13 erfc(|x|/√2) < 2⁻¹²⁶ would need a subnormal, which 2ⁿ cannot make: e is 0 there (and for NaN,
  // whose result is NaN anyway), so that gelu(-∞) = -∞ · 0 = NaN and gelu(∞) = ∞ as in erf.ts; below, e^(-x²/2 …)
  // ≥ e^-85.8 stays a normal number. Those lanes are computed at |x| = 13, t included: with t from a larger |x| the
  // products went subnormal, and every subnormal operation costs the core a microcode assist (5× slower).
  each(x, (j) => f.get(x[j]).op("f32x4.abs").set(ax[j]));
  each(x, (j) => {
    f.get(ax[j]);
    c(13).op("f32x4.le").set(inRange[j]);
  });
  each(x, (j) => {
    f.get(ax[j]);
    c(13).op("f32x4.pmin").set(ax[j]);
  });
  // t = 1 / (1 + |x|·√½/2)
  each(x, (j) => {
    c(1);
    c(1);
    f.get(ax[j]);
    c(Math.SQRT1_2 / 2).op("f32x4.mul").op("f32x4.add").op("f32x4.div").set(t[j]);
  });
  // xh = |x| with its low 12 mantissa bits cleared: xh·xh is exact
  each(x, (j) => f.get(ax[j]).get(k.i32x4(-4096, -4096, -4096, -4096)).op("v128.and").set(xh[j]));
  each(x, (j) => {
    f.get(xh[j]);
    c(-0.5).op("f32x4.mul").get(xh[j]).op("f32x4.mul").set(hi[j]);
  });
  // lo = -(|x| - xh)·(|x| + xh)/2 - 1.26551223 + t·P(t)
  each(x, (j) => {
    f.get(ax[j]).get(xh[j]).op("f32x4.sub");
    c(-0.5).op("f32x4.mul").get(ax[j]).get(xh[j]).op("f32x4.add").op("f32x4.mul").set(lo[j]);
  });
  const p = estrin(f, k, "f32x4", t, [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277]);
  each(x, (j) => f.get(lo[j]).get(p[j]).op("f32x4.add").set(lo[j]));
  // e = t · e^(hi + lo) = erfc(|x|/√2); erfc(-x/√2) = x ≤ 0 ? e : 2 - e
  const ex = emitExpSplit(f, k, hi, lo);
  each(x, (j) => f.get(t[j]).get(ex[j]).op("f32x4.mul").get(inRange[j]).op("v128.and").set(e[j]));
  each(x, (j) => {
    f.get(e[j]);
    c(2).get(e[j]).op("f32x4.sub");
    f.get(x[j]);
    c(0).op("f32x4.le").op("v128.bitselect");
    // gelu = (x/2) · erfc
    f.get(x[j]);
    c(0.5).op("f32x4.mul").op("f32x4.mul").set(out[j]);
  });
  return out;
};

/**
 * Vectors per iteration of the element-wise loops, and rows per step of geluPanel (2 vectors a row): chains enough to
 * hide the latencies. GELU over 128 × 3072 floats (`node bench/elementwise.mjs`, Node 24) took 0.94 ms one vector at a time, 0.81
 * with 2 chains, 0.68 with 4, 0.62 with 8.
 */
const CHAINS = 8;
const PANEL_ROWS = 4;

/**
 * fn(ptr, n): x [n] = g(x) in place, g lane-wise: CHAINS vectors at a time, then one vector at a time, then the
 * n mod 4 tail one lane at a time.
 */
export function emitMapInPlace(f: FunctionBuilder, g: LaneEmitter): void {
  const [ptr, n] = [0, 1];
  const end = f.local("i32");
  const endWide = f.local("i32");
  const end4 = f.local("i32");
  const vs = locals(f, CHAINS);
  const k = constants(f);
  f.get(ptr).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.get(ptr).get(n).i32(-4 * CHAINS).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(endWide);
  f.get(ptr).get(n).i32(-4).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(end4);
  f.block((exit) => {
    f.loop((top) => {
      f.get(ptr).get(endWide).op("i32.ge_u").brIf(exit);
      each(vs, (j) => f.get(ptr).mem("v128.load", 16 * j, 2).set(vs[j]));
      const ys = g(f, k, vs);
      each(vs, (j) => f.get(ptr).get(ys[j]).mem("v128.store", 16 * j, 2));
      f.get(ptr).i32(16 * CHAINS).op("i32.add").set(ptr);
      f.br(top);
    });
  });
  f.block((exit) => {
    f.loop((top) => {
      f.get(ptr).get(end4).op("i32.ge_u").brIf(exit);
      f.get(ptr).mem("v128.load", 0, 2).set(vs[0]);
      f.get(ptr).get(g(f, k, vs.slice(0, 1))[0]).mem("v128.store", 0, 2);
      f.get(ptr).i32(16).op("i32.add").set(ptr);
      f.br(top);
    });
  });
  f.block((exit) => {
    f.loop((top) => {
      f.get(ptr).get(end).op("i32.ge_u").brIf(exit);
      f.get(ptr).mem("v128.load32_zero").set(vs[0]);
      f.get(ptr).get(g(f, k, vs.slice(0, 1))[0]).storeLane(32, 0);
      f.get(ptr).i32(4).op("i32.add").set(ptr);
      f.br(top);
    });
  });
}

/**
 * geluPanel(c, ldc, M): GELU in place over the nr floats at c of each of M rows, ldc floats apart (one panel of C):
 * PANEL_ROWS rows at a time (PANEL_ROWS·nr/4 chains), then the rest by halves.
 */
export function emitGeluPanel(f: FunctionBuilder, nr: number): void {
  const [c, ldc, M] = [0, 1, 2];
  const m = f.local("i32");
  const mWide = f.local("i32");
  const per = nr / 4;
  const rows = Array.from({ length: PANEL_ROWS }, () => f.local("i32"));
  const vs = locals(f, PANEL_ROWS * per);
  const k = constants(f);
  const gelu = (n: number) => {
    const xs = vs.slice(0, n * per);
    const at = (j: number) => f.get(rows[Math.floor(j / per)]);
    each(xs, (j) => at(j).mem("v128.load", 16 * (j % per)).set(xs[j]));
    const ys = emitGelu(f, k, xs);
    each(xs, (j) => at(j).get(ys[j]).mem("v128.store", 16 * (j % per)));
  };
  const next = (from: number, to: number) => f.get(from).get(ldc).i32(2).op("i32.shl").op("i32.add").set(to);
  f.get(M).get(M).i32(PANEL_ROWS).op("i32.rem_u").op("i32.sub").set(mWide);
  const step = (n: number) => {
    f.get(c).set(rows[0]);
    for (let r = 1; r < n; r++) next(rows[r - 1], rows[r]);
    gelu(n);
    next(rows[n - 1], c);
  };
  forEachRow(f, m, mWide, PANEL_ROWS, () => step(PANEL_ROWS));
  // the rest (fewer than PANEL_ROWS rows): by halves, so that a q8 tile's 6 rows go as 4 + 2
  for (let n = PANEL_ROWS >> 1; n >= 1; n >>= 1) {
    f.get(M).get(m).op("i32.sub").i32(n).op("i32.ge_s").if(() => {
      step(n);
      f.get(m).i32(n).op("i32.add").set(m);
    });
  }
}

/** for (i = 0; i < end; i += step) body() */
function forEachRow(f: FunctionBuilder, i: number, end: number, step: number, body: () => void): void {
  f.i32(0).set(i);
  f.block((exit) => {
    f.loop((top) => {
      f.get(i).get(end).op("i32.ge_s").brIf(exit);
      body();
      f.get(i).i32(step).op("i32.add").set(i);
      f.br(top);
    });
  });
}
