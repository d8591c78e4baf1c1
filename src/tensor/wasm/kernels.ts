/**
 * The WebAssembly kernels, written with assembler.ts. `buildKernelModule` returns the module's bytes; backend.ts
 * compiles them (or takes a precompiled module) and calls the exports below on its memory. Addresses are byte
 * offsets into the imported memory; every float buffer is f32, 16-byte aligned unless a kernel says otherwise.
 *
 * GEMM layout (what prepareLinear and the per-call packers produce):
 *  - packed B ("panels"): the [K, N] right-hand operand cut into ⌈N/8⌉ panels of 8 columns, each panel K rows of
 *    8 contiguous floats (zero-padded past N), so one k step of a panel is two v128 loads;
 *  - packed A: the [M, K] left operand in blocks of MR rows, each block K steps of MR contiguous floats (the last
 *    block has M mod MR rows, same scheme), so a k step's MR broadcasts come from one pointer with constant offsets;
 *  - C: row-major with a row stride of ldc ≥ 8·⌈N/8⌉ floats.
 *
 * Every output element is accumulated in f32 over k = 0, 1, …, K-1 in order, with the same instruction (mul+add,
 * or relaxed_madd), whichever tile, tail tile, k-block or thread computes it; alpha and bias come after the sum.
 * So a row's result depends neither on which rows share its call nor on how the columns are split across threads.
 */
import { FunctionBuilder, ModuleBuilder, type Label } from "./assembler.js";

export interface KernelOptions {
  /** Use f32x4.relaxed_madd in the GEMM micro-kernel (the engine may fuse it into one FMA). */
  relaxed: boolean;
  /** Import a shared memory (for the worker pool); the maximum is then required. */
  shared: boolean;
  /** Memory limits the module imports, in 64 KiB pages. */
  maximumPages: number;
}

/** Rows per register tile. MR × 8 outputs = 2·MR v128 accumulators, plus 2 weight vectors and a broadcast. */
export const MR = 4;
/** Columns per packed panel (two v128). */
export const NR = 8;
/** k steps per cache block: a panel's block is KC·32 B (8 KiB) and stays in L1 while every row block streams by. */
export const KC = 256;

/** Bits of the exported `features` constant. */
export const FEATURE_RELAXED = 1;
export const FEATURE_SHARED = 2;

/** Activation codes for gemm's `act`. */
export const ACT_NONE = 0;
export const ACT_GELU = 1;
export const ACT_RELU = 2;

/** The export names and signatures backend.ts and the worker rely on. */
export interface KernelExports {
  readonly features: WebAssembly.Global;
  /** c [M, ldc] (cols of panels p0..p1) = act(alpha · packedA [M, K] · panels + bias); bias = 0 for none. */
  gemm(ap: number, bp: number, c: number, ldc: number, M: number, K: number, p0: number, p1: number, bias: number, alpha: number, act: number): void;
  /** dst (packed A) ← src [M, K] row-major. */
  packA(src: number, dst: number, M: number, K: number): void;
  /** dst (panels) ← src [N, K] row-major, read transposed (B = srcᵀ, a Linear weight or attention keys). */
  packBT(src: number, dst: number, N: number, K: number): void;
  /** dst (panels) ← src [K, N] row-major. */
  packB(src: number, dst: number, K: number, N: number): void;
}

export function buildKernelModule(opts: KernelOptions): Uint8Array {
  const mod = new ModuleBuilder();
  mod.importMemory({
    module: "env",
    name: "memory",
    initialPages: 1,
    maximumPages: opts.shared ? opts.maximumPages : undefined,
    shared: opts.shared,
  });
  mod.exportConstant("features", (opts.relaxed ? FEATURE_RELAXED : 0) | (opts.shared ? FEATURE_SHARED : 0));

  const gemm = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
  gemm.define((f) => emitGemm(f, opts.relaxed));
  mod.exportFunction("gemm", gemm.index);

  const packA = mod.declare(["i32", "i32", "i32", "i32"]);
  packA.define(emitPackA);
  mod.exportFunction("packA", packA.index);

  const packBT = mod.declare(["i32", "i32", "i32", "i32"]);
  packBT.define(emitPackBT);
  mod.exportFunction("packBT", packBT.index);

  const packB = mod.declare(["i32", "i32", "i32", "i32"]);
  packB.define(emitPackB);
  mod.exportFunction("packB", packB.index);

  return mod.encode();
}

/** for (i = from; i < to(); i += step) body — `to` and `step` emit an i32 each time they are evaluated. */
function forLoop(f: FunctionBuilder, i: number, from: () => void, to: () => void, body: (exit: Label) => void, step = 1): void {
  from();
  f.set(i);
  f.block((exit) => {
    f.loop((top) => {
      f.get(i);
      to();
      f.op("i32.ge_s").brIf(exit);
      body(exit);
      f.get(i).i32(step).op("i32.add").set(i);
      f.br(top);
    });
  });
}

/**
 * gemm(ap, bp, c, ldc, M, K, p0, p1, bias, alpha, act)
 *   c [M, ldc], columns 8·p0 … 8·p1-1  =  act(alpha · A [M, K] · B [K, 8·(p1-p0)] + bias)
 * Loop nest: k-blocks of KC (outer) → panels → row blocks of MR (a tail block of M mod MR rows last) → k.
 */
function emitGemm(f: FunctionBuilder, relaxed: boolean): void {
  const [ap, bp, c, ldc, M, K, p0, p1, bias, alpha, act] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const k0 = f.local("i32");
  const kc = f.local("i32");
  const p = f.local("i32");
  const m = f.local("i32");
  const mFull = f.local("i32");
  const mt = f.local("i32");
  const app = f.local("i32");
  const bpp = f.local("i32");
  const bpPanel = f.local("i32");
  const cp = f.local("i32");
  const kk = f.local("i32");
  const ldc4 = f.local("i32");
  const first = f.local("i32");
  const last = f.local("i32");
  const w0 = f.local("v128");
  const w1 = f.local("v128");
  const x = f.local("v128");
  const t = f.local("v128");
  const acc: number[] = [];
  for (let i = 0; i < 2 * MR; i++) acc.push(f.local("v128"));
  const cRow: number[] = [];
  for (let i = 0; i < MR; i++) cRow.push(f.local("i32"));

  // ldc4 = ldc·4; mt = M mod MR; mFull = M - mt
  f.get(ldc).i32(2).op("i32.shl").set(ldc4);
  f.get(M).i32(MR).op("i32.rem_u").set(mt);
  f.get(M).get(mt).op("i32.sub").set(mFull);

  const kStep = (mr: number, i: number) => {
    f.get(bpp).mem("v128.load", i * 32).set(w0);
    f.get(bpp).mem("v128.load", i * 32 + 16).set(w1);
    for (let r = 0; r < mr; r++) {
      f.get(app).mem("v128.load32_splat", (i * mr + r) * 4).set(x);
      for (let j = 0; j < 2; j++) {
        const a = acc[2 * r + j];
        if (relaxed) {
          f.get(x).get(j === 0 ? w0 : w1).get(a).op("f32x4.relaxed_madd").set(a);
        } else {
          f.get(a).get(x).get(j === 0 ? w0 : w1).op("f32x4.mul").op("f32x4.add").set(a);
        }
      }
    }
  };

  /** One mr × 8 tile over k-block [k0, k0+kc): app, bpp, cp are set by the caller. */
  const tile = (mr: number) => {
    f.get(cp).set(cRow[0]);
    for (let r = 1; r < mr; r++) f.get(cRow[r - 1]).get(ldc4).op("i32.add").set(cRow[r]);
    f.get(first).if(
      () => {
        for (let i = 0; i < 2 * mr; i++) f.f32x4(0).set(acc[i]);
      },
      () => {
        for (let r = 0; r < mr; r++) for (let j = 0; j < 2; j++) f.get(cRow[r]).mem("v128.load", 16 * j).set(acc[2 * r + j]);
      },
    );
    f.get(kc).set(kk);
    const U = 4;
    f.block((exit) => {
      f.loop((top) => {
        f.get(kk).i32(U).op("i32.lt_s").brIf(exit);
        for (let i = 0; i < U; i++) kStep(mr, i);
        f.get(app).i32(U * mr * 4).op("i32.add").set(app);
        f.get(bpp).i32(U * 32).op("i32.add").set(bpp);
        f.get(kk).i32(U).op("i32.sub").set(kk);
        f.br(top);
      });
    });
    f.block((exit) => {
      f.loop((top) => {
        f.get(kk).op("i32.eqz").brIf(exit);
        kStep(mr, 0);
        f.get(app).i32(mr * 4).op("i32.add").set(app);
        f.get(bpp).i32(32).op("i32.add").set(bpp);
        f.get(kk).i32(1).op("i32.sub").set(kk);
        f.br(top);
      });
    });
    f.get(last).if(() => {
      f.get(alpha).op("f32x4.splat").set(t);
      for (let i = 0; i < 2 * mr; i++) f.get(acc[i]).get(t).op("f32x4.mul").set(acc[i]);
      f.get(bias).if(() => {
        for (let j = 0; j < 2; j++) {
          f.get(bias).get(p).i32(5).op("i32.shl").op("i32.add").mem("v128.load", 16 * j).set(t);
          for (let r = 0; r < mr; r++) f.get(acc[2 * r + j]).get(t).op("f32x4.add").set(acc[2 * r + j]);
        }
      });
      f.get(act).i32(ACT_RELU).op("i32.eq").if(() => {
        // relu(v) = v > 0 ? v : 0 (NaN → 0), which is pmax(0, v) = 0 < v ? v : 0.
        for (let i = 0; i < 2 * mr; i++) f.f32x4(0).get(acc[i]).op("f32x4.pmax").set(acc[i]);
      });
    });
    for (let r = 0; r < mr; r++) for (let j = 0; j < 2; j++) f.get(cRow[r]).get(acc[2 * r + j]).mem("v128.store", 16 * j);
  };

  f.i32(0).set(k0);
  f.block((done) => {
    f.loop((kTop) => {
      f.get(k0).get(K).op("i32.ge_s").brIf(done);
      // kc = min(KC, K - k0)
      f.i32(KC).get(K).get(k0).op("i32.sub").tee(kc).i32(KC).get(kc).op("i32.lt_s").op("select").set(kc);
      f.get(k0).op("i32.eqz").set(first);
      f.get(k0).get(kc).op("i32.add").get(K).op("i32.eq").set(last);
      forLoop(f, p, () => f.get(p0), () => f.get(p1), () => {
        // bpPanel = bp + (p·K + k0)·32
        f.get(bp).get(p).get(K).op("i32.mul").get(k0).op("i32.add").i32(5).op("i32.shl").op("i32.add").set(bpPanel);
        forLoop(f, m, () => f.i32(0), () => f.get(mFull), () => {
          // app = ap + (m·K + k0·MR)·4 ; cp = c + m·ldc4 + p·32
          f.get(ap).get(m).get(K).op("i32.mul").get(k0).i32(MR).op("i32.mul").op("i32.add").i32(2).op("i32.shl").op("i32.add").set(app);
          f.get(c).get(m).get(ldc4).op("i32.mul").op("i32.add").get(p).i32(5).op("i32.shl").op("i32.add").set(cp);
          f.get(bpPanel).set(bpp);
          tile(MR);
        }, MR);
        for (let mr = 1; mr < MR; mr++) {
          f.get(mt).i32(mr).op("i32.eq").if(() => {
            f.get(ap).get(mFull).get(K).op("i32.mul").get(k0).i32(mr).op("i32.mul").op("i32.add").i32(2).op("i32.shl").op("i32.add").set(app);
            f.get(c).get(mFull).get(ldc4).op("i32.mul").op("i32.add").get(p).i32(5).op("i32.shl").op("i32.add").set(cp);
            f.get(bpPanel).set(bpp);
            tile(mr);
          });
        }
      });
      f.get(k0).get(kc).op("i32.add").set(k0);
      f.br(kTop);
    });
  });
}

/** packA(src, dst, M, K): row blocks of MR (tail block M mod MR), each K steps of mr contiguous floats. */
function emitPackA(f: FunctionBuilder): void {
  const [src, dst, M, K] = [0, 1, 2, 3];
  const m0 = f.local("i32");
  const mr = f.local("i32");
  const r = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const base = f.local("i32");
  f.i32(0).set(m0);
  f.block((done) => {
    f.loop((top) => {
      f.get(m0).get(M).op("i32.ge_s").brIf(done);
      // mr = min(MR, M - m0)
      f.i32(MR).get(M).get(m0).op("i32.sub").tee(mr).i32(MR).get(mr).op("i32.lt_s").op("select").set(mr);
      // block base = dst + m0·K·4
      f.get(dst).get(m0).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(base);
      forLoop(f, r, () => f.i32(0), () => f.get(mr), () => {
        f.get(src).get(m0).get(r).op("i32.add").get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(s);
        f.get(base).get(r).i32(2).op("i32.shl").op("i32.add").set(d);
        forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
          f.get(d).get(s).mem("f32.load").mem("f32.store");
          f.get(s).i32(4).op("i32.add").set(s);
          f.get(d).get(mr).i32(2).op("i32.shl").op("i32.add").set(d);
        });
      });
      f.get(m0).get(mr).op("i32.add").set(m0);
      f.br(top);
    });
  });
}

/** packBT(src, dst, N, K): panel p, step k, lane j = src[(8p + j)·K + k], 0 past N. */
function emitPackBT(f: FunctionBuilder): void {
  const [src, dst, N, K] = [0, 1, 2, 3];
  const n = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const nPad = f.local("i32");
  // nPad = ⌈N/8⌉·8; zero-fill the padded columns' lanes first, then scatter the real rows.
  f.get(N).i32(7).op("i32.add").i32(-8).op("i32.and").set(nPad);
  forLoop(f, n, () => f.get(N), () => f.get(nPad), () => {
    f.get(dst).get(n).i32(3).op("i32.shr_u").get(K).op("i32.mul").i32(5).op("i32.shl").op("i32.add")
      .get(n).i32(7).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      f.get(d).f32(0).mem("f32.store");
      f.get(d).i32(32).op("i32.add").set(d);
    });
  });
  forLoop(f, n, () => f.i32(0), () => f.get(N), () => {
    f.get(src).get(n).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(s);
    f.get(dst).get(n).i32(3).op("i32.shr_u").get(K).op("i32.mul").i32(5).op("i32.shl").op("i32.add")
      .get(n).i32(7).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      f.get(d).get(s).mem("f32.load").mem("f32.store");
      f.get(s).i32(4).op("i32.add").set(s);
      f.get(d).i32(32).op("i32.add").set(d);
    });
  });
}

/** packB(src, dst, K, N): panel p, step k, lane j = src[k·N + 8p + j], 0 past N. */
function emitPackB(f: FunctionBuilder): void {
  const [src, dst, K, N] = [0, 1, 2, 3];
  const n = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const nFull = f.local("i32");
  f.get(N).i32(-8).op("i32.and").set(nFull);
  // Whole panels: two v128 per k step (unaligned loads from src).
  forLoop(f, n, () => f.i32(0), () => f.get(nFull), () => {
    f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(s);
    f.get(dst).get(n).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      f.get(d).get(s).mem("v128.load", 0, 0).mem("v128.store");
      f.get(d).get(s).mem("v128.load", 16, 0).mem("v128.store", 16);
      f.get(s).get(N).i32(2).op("i32.shl").op("i32.add").set(s);
      f.get(d).i32(32).op("i32.add").set(d);
    });
  }, NR);
  // The last, partial panel: zero it, then copy the N mod 8 real lanes.
  f.get(nFull).get(N).op("i32.lt_s").if(() => {
    f.get(dst).get(nFull).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      f.get(d).f32x4(0).mem("v128.store");
      f.get(d).f32x4(0).mem("v128.store", 16);
      f.get(d).i32(32).op("i32.add").set(d);
    });
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      forLoop(f, n, () => f.get(nFull), () => f.get(N), () => {
        f.get(dst).get(nFull).get(K).op("i32.mul").get(k).i32(3).op("i32.shl").op("i32.add").get(n).op("i32.add").get(nFull).op("i32.sub").i32(2).op("i32.shl").op("i32.add")
          .get(src).get(k).get(N).op("i32.mul").get(n).op("i32.add").i32(2).op("i32.shl").op("i32.add").mem("f32.load")
          .mem("f32.store");
      });
    });
  });
}
