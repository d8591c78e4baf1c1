/**
 * The q8 kernels (src/tensor/quant.ts's scheme): quantizing activations row by row, and the int8 GEMM with its
 * rescale, bias and activation fused. Written with assembler.ts like kernels.ts, which adds them to the module.
 *
 * Layouts:
 *  - codes: the activation codes u [M, ldx] (bytes, ldx ≥ 4·K4, zero past K), with one f32 scale (xs) and one i32
 *    zero point (xz) per row;
 *  - q8 panels: the weight rows cut into panels of 8 output channels; each panel K4 = ⌈K/4⌉ groups of 32 bytes, a
 *    group being channel j's 4 consecutive k values at bytes 4j … 4j+3 (zero past K and past dOut). So one k group of
 *    a panel is two v128 (channels 0-3, 4-7), and 4 codes of a row splat to the other operand of the dot product;
 *  - meta [3 · npad] (npad = 8 · panels): Σ_k q per channel (i32), the weight scales (f32), the bias (f32, when
 *    hasBias); zero-padded;
 *  - C: row-major f32, ldc floats per row, panel p at columns 8p … 8p+7.
 *
 * The integer sums are exact whatever the instruction or the order (|Σ| < 2³¹), so the relaxed and the plain kernels,
 * any tile and any thread split give the same int32; the rescale is the same f32 operations in the same order.
 */
import type { FunctionBuilder } from "./assembler.js";
import { ACT_GELU, ACT_RELU, forLoop } from "./kernels.js";

/** 2²³: an integral f32 u in [0, 2²³) plus this has u in its mantissa's low bits, above MANTISSA_BITS. */
const MANTISSA_SHIFT = 8388608;
const MANTISSA_BITS = 0x4b000000;

/** Output channels per q8 panel. */
export const Q8_NR = 8;

/**
 * Rows per register tile: relaxed, 6 rows × 2 accumulators (with the two weight vectors and the splat codes, 15 of
 * the 15 xmm registers V8 allocates on x64; the product loop alone ran at 100% of the dot ceiling, against 95-98%
 * with 4 rows: bench/q8-gemm.mjs); plain, 2 rows × 4 (each holds pairs of partial sums).
 */
export function q8Rows(relaxed: boolean): number {
  return relaxed ? 6 : 2;
}

/**
 * quantizeQ8(x, ldx, T, K, dst, ldd, xs, xz): rows of x [T, K] (f32, ldx floats apart) to codes dst [T, ldd] (bytes;
 * zero from K to ⌈K/4⌉·4), scale xs [T] (f32), zero point xz [T] (i32), by quant.ts's quantizeActivationRow.
 */
export function emitQuantizeQ8(f: FunctionBuilder): void {
  const [x, ldx, T, K, dst, ldd, xs, xz] = [0, 1, 2, 3, 4, 5, 6, 7];
  const m = f.local("i32");
  const k = f.local("i32");
  const row = f.local("i32");
  const out = f.local("i32");
  const K4 = f.local("i32");
  const K16 = f.local("i32");
  const Kp = f.local("i32");
  const lo = f.local("f32");
  const hi = f.local("f32");
  const s = f.local("f32");
  const inv = f.local("f32");
  const z = f.local("i32");
  const t = f.local("i32");
  const t32 = f.local("f32");
  const vlo = f.local("v128");
  const vhi = f.local("v128");
  const v = f.local("v128");
  const vinv = f.local("v128");
  const vz = f.local("v128");
  const q: number[] = [];
  for (let i = 0; i < 4; i++) q.push(f.local("v128"));
  f.get(K).i32(-4).op("i32.and").set(K4);
  f.get(K).i32(-16).op("i32.and").set(K16);
  f.get(K).i32(3).op("i32.add").i32(-4).op("i32.and").set(Kp);
  forLoop(f, m, () => f.i32(0), () => f.get(T), () => {
    f.get(x).get(m).get(ldx).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(row);
    f.get(dst).get(m).get(ldd).op("i32.mul").op("i32.add").set(out);
    // lo = min(0, x…), hi = max(0, x…), as quant.ts's `if (v < lo) lo = v`: pmin(lo, v) is v < lo ? v : lo, so a NaN
    // is passed over, and one instruction (f32x4.min's NaN and signed-zero rules cost V8 about seven). The lanes
    // never hold a NaN or -0 (they start at +0 and take only smaller values), so their order does not matter.
    f.f32x4(0).set(vlo);
    f.f32x4(0).set(vhi);
    forLoop(f, k, () => f.i32(0), () => f.get(K4), () => {
      f.get(row).get(k).i32(2).op("i32.shl").op("i32.add").mem("v128.load", 0, 2).set(v);
      f.get(vlo).get(v).op("f32x4.pmin").set(vlo);
      f.get(vhi).get(v).op("f32x4.pmax").set(vhi);
    }, 4);
    f.get(vlo).lane("f32x4.extract_lane", 0).get(vlo).lane("f32x4.extract_lane", 1).op("f32.min");
    f.get(vlo).lane("f32x4.extract_lane", 2).get(vlo).lane("f32x4.extract_lane", 3).op("f32.min").op("f32.min").set(lo);
    f.get(vhi).lane("f32x4.extract_lane", 0).get(vhi).lane("f32x4.extract_lane", 1).op("f32.max");
    f.get(vhi).lane("f32x4.extract_lane", 2).get(vhi).lane("f32x4.extract_lane", 3).op("f32.max").op("f32.max").set(hi);
    forLoop(f, k, () => f.get(K4), () => f.get(K), () => {
      f.get(row).get(k).i32(2).op("i32.shl").op("i32.add").mem("f32.load").set(t32);
      f.get(t32).get(lo).get(t32).get(lo).op("f32.lt").op("select").set(lo);
      f.get(t32).get(hi).get(t32).get(hi).op("f32.gt").op("select").set(hi);
    });
    // s = (hi - lo) / 127, or 1 when that is not > 0; inv = 1 / s; z = clamp(nearest(-lo · inv), 0, 127)
    f.get(hi).get(lo).op("f32.sub").f32(127).op("f32.div").tee(s);
    f.f32(1).get(s).f32(0).op("f32.gt").op("select").set(s);
    f.f32(1).get(s).op("f32.div").set(inv);
    f.get(lo).op("f32.neg").get(inv).op("f32.mul").op("f32.nearest").op("i32.trunc_sat_f32_s").set(z);
    f.get(z).i32(0).get(z).i32(0).op("i32.gt_s").op("select").set(z);
    f.get(z).i32(127).get(z).i32(127).op("i32.lt_s").op("select").set(z);
    f.get(xs).get(m).i32(2).op("i32.shl").op("i32.add").get(s).mem("f32.store");
    f.get(xz).get(m).i32(2).op("i32.shl").op("i32.add").get(z).mem("i32.store");
    // codes, 16 at a time: nearest(x · inv) + z, clamped to [0, 127], narrowed to bytes. In f32, as the same
    // integers: t = nearest(x · inv) with a NaN made 0 (trunc_sat's rule), t + z exact below 2²⁴ (beyond, the clamp
    // gives the same bound), clamped by pmax/pmin, then read off the mantissa of u + 2²³. V8 spends about seven
    // instructions on each trunc_sat; this is five.
    f.get(inv).op("f32x4.splat").set(vinv);
    f.get(z).op("f32.convert_i32_s").op("f32x4.splat").set(vz);
    forLoop(f, k, () => f.i32(0), () => f.get(K16), () => {
      for (let i = 0; i < 4; i++) {
        f.get(row).get(k).i32(2).op("i32.shl").op("i32.add").mem("v128.load", 16 * i, 2);
        f.get(vinv).op("f32x4.mul").op("f32x4.nearest").tee(v).get(v).get(v).op("f32x4.eq").op("v128.and").get(vz).op("f32x4.add").set(v);
        f.f32x4(127).f32x4(0).get(v).op("f32x4.pmax").op("f32x4.pmin");
        f.f32x4(MANTISSA_SHIFT).op("f32x4.add").i32x4(MANTISSA_BITS).op("i32x4.sub").set(q[i]);
      }
      f.get(out).get(k).op("i32.add");
      f.get(q[0]).get(q[1]).op("i16x8.narrow_i32x4_s").get(q[2]).get(q[3]).op("i16x8.narrow_i32x4_s").op("i8x16.narrow_i16x8_u");
      f.mem("v128.store", 0, 0);
    }, 16);
    forLoop(f, k, () => f.get(K16), () => f.get(K), () => {
      f.get(row).get(k).i32(2).op("i32.shl").op("i32.add").mem("f32.load");
      f.get(inv).op("f32.mul").op("f32.nearest").op("i32.trunc_sat_f32_s").get(z).op("i32.add").set(t);
      f.get(t).i32(0).get(t).i32(0).op("i32.gt_s").op("select").set(t);
      f.get(out).get(k).op("i32.add");
      f.get(t).i32(127).get(t).i32(127).op("i32.lt_s").op("select").mem("i32.store8");
    });
    forLoop(f, k, () => f.get(K), () => f.get(Kp), () => {
      f.get(out).get(k).op("i32.add").i32(0).mem("i32.store8");
    });
  });
}

/**
 * gemmQ8(xq, ldx, xs, xz, bp, meta, npad, hasBias, c, ldc, M, K4, p0, p1, act): C rows [0, M), panels [p0, p1) =
 * act(rescale(codes · panelsᵀ - z · Σq) + bias), by quant.ts's rules. Tiles of MR rows × 8 channels, the tail
 * tile of M mod MR rows; no k-blocking (a panel's K4·32 bytes, 24 KiB at K = 3072, stay in L1 over a row block).
 */
export function emitGemmQ8(f: FunctionBuilder, relaxed: boolean, geluPanel: number): void {
  const MR = q8Rows(relaxed);
  const A = relaxed ? 2 : 4; // accumulators per row
  const [xq, ldx, xs, xz, bp, meta, npad, hasBias, c, ldc, M, K4, p0, p1, act] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const p = f.local("i32");
  const m = f.local("i32");
  const mFull = f.local("i32");
  const mt = f.local("i32");
  const bpp = f.local("i32");
  const kk = f.local("i32");
  const cp = f.local("i32");
  const col = f.local("i32");
  const xr: number[] = [];
  for (let r = 0; r < MR; r++) xr.push(f.local("i32"));
  const acc: number[] = [];
  for (let i = 0; i < MR * A; i++) acc.push(f.local("v128"));
  const w0 = f.local("v128");
  const w1 = f.local("v128");
  const we: number[] = [];
  for (let i = 0; i < 4; i++) we.push(f.local("v128"));
  const xv = f.local("v128");
  const iv = f.local("v128");
  const fv = f.local("v128");
  f.get(M).i32(MR).op("i32.rem_u").set(mt);
  f.get(M).get(mt).op("i32.sub").set(mFull);

  const tile = (mr: number) => {
    for (let r = 0; r < mr; r++) f.get(xq).get(m).i32(r).op("i32.add").get(ldx).op("i32.mul").op("i32.add").set(xr[r]);
    f.get(bp).get(p).get(K4).op("i32.mul").i32(32).op("i32.mul").op("i32.add").set(bpp);
    for (let i = 0; i < mr * A; i++) f.i32x4(0).set(acc[i]);
    f.get(K4).set(kk);
    f.block((empty) => {
      f.get(kk).op("i32.eqz").brIf(empty);
      f.loop((top) => {
        f.get(bpp).mem("v128.load", 0).set(w0);
        f.get(bpp).mem("v128.load", 16).set(w1);
        if (!relaxed) {
          f.get(w0).op("i16x8.extend_low_i8x16_s").set(we[0]);
          f.get(w0).op("i16x8.extend_high_i8x16_s").set(we[1]);
          f.get(w1).op("i16x8.extend_low_i8x16_s").set(we[2]);
          f.get(w1).op("i16x8.extend_high_i8x16_s").set(we[3]);
        }
        for (let r = 0; r < mr; r++) {
          f.get(xr[r]).mem("v128.load32_splat", 0, 0).set(xv);
          if (relaxed) {
            f.get(w0).get(xv).get(acc[A * r]).op("i32x4.relaxed_dot_i8x16_i7x16_add_s").set(acc[A * r]);
            f.get(w1).get(xv).get(acc[A * r + 1]).op("i32x4.relaxed_dot_i8x16_i7x16_add_s").set(acc[A * r + 1]);
          } else {
            f.get(xv).op("i16x8.extend_low_i8x16_u").set(xv);
            for (let j = 0; j < 4; j++) f.get(acc[A * r + j]).get(we[j]).get(xv).op("i32x4.dot_i16x8_s").op("i32x4.add").set(acc[A * r + j]);
          }
          f.get(xr[r]).i32(4).op("i32.add").set(xr[r]);
        }
        f.get(bpp).i32(32).op("i32.add").set(bpp);
        f.get(kk).i32(1).op("i32.sub").tee(kk).brIf(top);
      });
    });
    // the epilogue, row by row: v = Σ - z·colsum; f32(v) · f32(xs · ws) (+ bias), activation; stored to C
    f.get(p).i32(32).op("i32.mul").set(col);
    for (let r = 0; r < mr; r++) {
      f.get(c).get(m).i32(r).op("i32.add").get(ldc).op("i32.mul").i32(2).op("i32.shl").op("i32.add").get(col).op("i32.add").set(cp);
      for (let h = 0; h < 2; h++) {
        if (relaxed) f.get(acc[A * r + h]);
        else {
          // plain: acc lanes hold (channel, half) pairs: [c0 a, c0 b, c1 a, c1 b] and [c2 …, c3 …]; add the halves
          const a = acc[A * r + 2 * h];
          const b = acc[A * r + 2 * h + 1];
          f.get(a).get(b).shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
          f.get(a).get(b).shuffle([4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31]);
          f.op("i32x4.add");
        }
        f.get(xz).get(m).i32(r).op("i32.add").i32(2).op("i32.shl").op("i32.add").mem("v128.load32_splat");
        f.get(meta).get(col).op("i32.add").mem("v128.load", 16 * h).op("i32x4.mul").op("i32x4.sub").set(iv);
        f.get(iv).op("f32x4.convert_i32x4_s");
        f.get(xs).get(m).i32(r).op("i32.add").i32(2).op("i32.shl").op("i32.add").mem("v128.load32_splat");
        f.get(meta).get(npad).i32(2).op("i32.shl").op("i32.add").get(col).op("i32.add").mem("v128.load", 16 * h).op("f32x4.mul");
        f.op("f32x4.mul").set(fv);
        f.get(hasBias).if(() => {
          f.get(fv).get(meta).get(npad).i32(3).op("i32.shl").op("i32.add").get(col).op("i32.add").mem("v128.load", 16 * h).op("f32x4.add").set(fv);
        });
        f.get(act).i32(ACT_RELU).op("i32.eq").if(() => {
          f.f32x4(0).get(fv).op("f32x4.pmax").set(fv);
        });
        f.get(cp).get(fv).mem("v128.store", 16 * h);
      }
    }
    f.get(act).i32(ACT_GELU).op("i32.eq").if(() => {
      f.get(c).get(m).get(ldc).op("i32.mul").i32(2).op("i32.shl").op("i32.add").get(col).op("i32.add").get(ldc).i32(mr).call(geluPanel);
    });
  };

  forLoop(f, p, () => f.get(p0), () => f.get(p1), () => {
    forLoop(f, m, () => f.i32(0), () => f.get(mFull), () => tile(MR), MR);
    for (let mr = 1; mr < MR; mr++) {
      f.get(mt).i32(mr).op("i32.eq").if(() => {
        f.get(mFull).set(m);
        tile(mr);
      });
    }
  });
}
