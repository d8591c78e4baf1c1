/**
 * The WebAssembly kernels, written with assembler.ts. `buildKernelModule` returns the module's bytes; backend.ts
 * compiles them (or takes a precompiled module) and calls the exports below on its memory. Addresses are byte
 * offsets into the imported memory; every float buffer is f32, 16-byte aligned unless a kernel says otherwise.
 *
 * GEMM layout (what prepareLinear and the per-call packers produce):
 *  - packed B ("panels"): the [K, N] right-hand operand cut into ⌈N/NR⌉ panels of NR columns (NR = 8), each panel K
 *    rows of NR contiguous floats (zero-padded past N), so one k step of a panel is NR/4 v128 loads;
 *  - packed A: the [M, K] left operand in blocks of MR rows, each block K steps of MR contiguous floats (the last
 *    block has M mod MR rows, same scheme), so a k step's MR broadcasts come from one pointer with constant offsets;
 *  - C: row-major with a row stride of ldc ≥ NR·⌈N/NR⌉ floats.
 *
 * Every output element is accumulated in f32 over k = 0, 1, …, K-1 in order, with the same instruction (mul+add,
 * or relaxed_madd), whichever tile, tail tile, k-block or thread computes it; alpha and bias come after the sum.
 * So a row's result depends neither on which rows share its call nor on how the columns are split across threads.
 */
import { FunctionBuilder, ModuleBuilder, ascii, type Label } from "./assembler.js";
import { emitGemmQ8, emitQuantizeQ8 } from "./kernels-q8.js";
import { constants, emitExp, emitGelu, emitGeluPanel, emitMapInPlace } from "./kernels-math.js";

export interface KernelOptions {
  /** Use f32x4.relaxed_madd in the GEMM micro-kernel (the engine may fuse it into one FMA). */
  relaxed: boolean;
  /** Import a shared memory (for the worker pool); the maximum is then required. */
  shared: boolean;
  /** Memory limits the module imports, in 64 KiB pages. */
  maximumPages: number;
  /** The GEMM's register tile and k-block (default defaultTile(relaxed)); for benchmarking other shapes. */
  tile?: Tile;
}

/** MR rows × NR columns of outputs per register tile (NR a multiple of 4), KC k steps per cache block. */
export interface Tile {
  readonly mr: number;
  readonly nr: number;
  readonly kc: number;
  /** Rows per row block (a multiple of mr): every panel goes over one block of A before the next; none if absent. */
  readonly mc?: number;
}

/** Columns per packed panel (two v128). */
export const NR = 8;
/**
 * k steps per cache block: a panel's block (KC·32 B = 24 KiB) stays in L1 while every row block streams past it.
 * Measured on the real shapes (bench/wasm-gemm.mjs), 384 … ∞ perform alike here; 768 makes the dim-768 products a
 * single block and cuts lin2's C round trips to 4.
 */
export const KC = 768;

/**
 * The register tile, by arithmetic. An FMA's latency (4 cycles) times its issue rate (2 per cycle) is 8: with 8
 * accumulators a core just keeps its FMA units busy, with 10–12 it has slack (a loop of nothing but relaxed_madd
 * here: 42 GFLOP/s with 8 accumulators, 46–49 with 10–12). So relaxed SIMD takes 6 × 8: 12 accumulators + 2 weight
 * vectors + 1 broadcast = the 15 xmm registers V8 allocates on x64; measured on the three Linear shapes at T = 128
 * under Node 24 (bench/gemm-tiles.mjs), 6 × 8 gives 40–44 GFLOP/s, 5 × 8 38–41, 4 × 8 35–37, 3 × 12 36–39, 2 × 16 35–38, 4 × 12 and 3 × 16
 * (spilling) 27–31. Plain SIMD needs a register more (mul, then add: the product is a temporary), so 6 × 8 spills
 * there and 4 × 8 is best: Node 20 28.8–31.4 GFLOP/s against 25.1–27.9 (5 × 8) and 23.3–25.4 (6 × 8); Node 24 level.
 */
export function defaultTile(relaxed: boolean): Tile {
  return { mr: relaxed ? 6 : 4, nr: NR, kc: KC, mc: MC };
}

/**
 * Rows per row block: each panel sweeps a block of packed A (192 × 768 floats = 576 KiB) that stays in L2 with its
 * C rows, instead of all of A, which for a large batch (the classifier packs up to 8,192 tokens) comes from L3 for
 * every panel. Measured (6 × 8, Node 24, bench/gemm-tiles.mjs): M = 2048 +10% (768→768 43.5 → 48.1 GFLOP/s,
 * 3072→768 39.2 → 43.8), M = 512 +8%, M = 128 level within noise; 96 and 144 rows do about as well.
 */
export const MC = 192;

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
  /** dst (packed A) ← src [M, K] row-major, rows lds ≥ K floats apart. */
  packA(src: number, dst: number, M: number, K: number, lds: number): void;
  /** dst (panels) ← src [N, K] row-major (rows lds floats apart), read transposed (B = srcᵀ: a Linear weight, keys). */
  packBT(src: number, dst: number, N: number, K: number, lds: number): void;
  /** dst (panels) ← src [K, N] row-major, rows lds ≥ N floats apart. */
  packB(src: number, dst: number, K: number, N: number, lds: number): void;
  /** x [n] = exp(x) in place (f32; the softmax's exponential, exported for its accuracy test). */
  expInPlace(x: number, n: number): void;
  /** x [n] = gelu(x) in place (exact erf form, evaluated in f64). */
  geluInPlace(x: number, n: number): void;
  /** In place over x [rows, C] (rows ldx floats apart): softmax of each row; keys where mask [C] (bytes) is 0 get 0; mask = 0: none. */
  softmaxRows(x: number, rows: number, C: number, mask: number, ldx: number): void;
  /**
   * One head of one sequence: out [Lq, dh] = softmax(scale · q [Lq, dh] · kᵀ, mask) · v [L, dh] for the first Lq ≤ L
   * query rows, where q, k, v and out are column blocks of row-major matrices whose rows are ld floats apart (a
   * head's columns in [L, dim]). dh must be a multiple of NR (out is written in whole panels). Works in `scratch`
   * (attentionScratchBytes(L, dh) bytes, 16-aligned). Computes exactly what packA/packBT/gemm, softmaxRows,
   * packA/packB/gemm give on contiguous copies; a query row's result does not depend on Lq.
   */
  attentionHead(q: number, k: number, v: number, out: number, ld: number, dh: number, L: number, Lq: number, mask: number, scale: number, scratch: number): void;
  /**
   * attentionHead for units u0 ≤ u < u1 of packed sequences: unit u is head u mod H of span ⌊u / H⌋, whose
   * (first row, length, mask address or 0 for none, first query row, query rows) are the five i32 at table +
   * 20·span; k, v are [N, ld] and q, out [rows, ld] with ld = H·dh, 1 ≤ query rows ≤ length. The pool hands out
   * units; each participant passes its own scratch (attentionScratchBytes of the longest span).
   */
  attention(q: number, k: number, v: number, out: number, ld: number, dh: number, H: number, table: number, u0: number, u1: number, scale: number, scratch: number): void;
  /**
   * `attention` with mul and add, never a fused multiply-add (in the relaxed module, its own copy of the GEMM and
   * packing with the plain tile): the same bits in every module, and as src/tensor/portable-attention.ts.
   */
  attentionPortable(q: number, k: number, v: number, out: number, ld: number, dh: number, H: number, table: number, u0: number, u1: number, scale: number, scratch: number): void;
  /** Activation codes of rows of x (kernels-q8.ts, emitQuantizeQ8). */
  quantizeQ8(x: number, ldx: number, T: number, K: number, dst: number, ldd: number, xs: number, xz: number): void;
  /** The q8 GEMM over panels [p0, p1) (kernels-q8.ts, emitGemmQ8). */
  gemmQ8(xq: number, ldx: number, xs: number, xz: number, bp: number, meta: number, npad: number, hasBias: number, c: number, ldc: number, M: number, K4: number, p0: number, p1: number, act: number): void;
  /** y [n] += x [n] in f32 (the residual connections). */
  addInPlace(y: number, x: number, n: number): void;
  /** out [T, C] = (x - mean) / sqrt(var + eps) · gamma + beta, row by row, in f64; out may equal x. */
  layerNorm(out: number, x: number, gamma: number, beta: number, T: number, C: number, eps: number): void;
}

export function buildKernelModule(opts: KernelOptions): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.importMemory({
    module: "env",
    name: "memory",
    initialPages: 1,
    maximumPages: opts.shared ? opts.maximumPages : undefined,
    shared: opts.shared,
  });
  mod.exportConstant("features", (opts.relaxed ? FEATURE_RELAXED : 0) | (opts.shared ? FEATURE_SHARED : 0));
  mod.customSection(FEATURES_SECTION, ascii(JSON.stringify(describeModule(opts))));

  const tile = opts.tile ?? defaultTile(opts.relaxed);
  if (!(tile.nr % 4 === 0 && tile.nr >= 4 && tile.mr >= 1 && tile.kc >= 1)) throw new RangeError(`buildKernelModule: bad tile ${JSON.stringify(tile)}`);
  const i32x5 = ["i32", "i32", "i32", "i32", "i32"] as const;
  const geluPanel = mod.declare(["i32", "i32", "i32"]);
  const gemm = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
  const packA = mod.declare(i32x5);
  const packBT = mod.declare(i32x5);
  const packB = mod.declare(i32x5);
  const expMap = mod.declare(["i32", "i32"]);
  const geluMap = mod.declare(["i32", "i32"]);
  const softmax = mod.declare(i32x5);
  const attnHead = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
  const attnUnits = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
  const layerNorm = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "f64"]);
  const addTo = mod.declare(["i32", "i32", "i32"]);
  const quantizeQ8 = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const gemmQ8 = mod.declare(Array<"i32">(15).fill("i32"));

  geluPanel.define((f) => emitGeluPanel(f, tile.nr));
  gemm.define((f) => emitGemm(f, tile, opts.relaxed, geluPanel.index));
  packA.define((f) => emitPackA(f, tile));
  packBT.define((f) => emitPackBT(f, tile));
  packB.define((f) => emitPackB(f, tile));
  expMap.define((f) => emitMapInPlace(f, emitExp));
  geluMap.define((f) => emitMapInPlace(f, emitGelu));
  softmax.define(emitSoftmax);
  attnHead.define((f) => emitAttentionHead(f, tile, { packA: packA.index, packBT: packBT.index, packB: packB.index, gemm: gemm.index, softmax: softmax.index }));
  attnUnits.define((f) => emitAttentionUnits(f, attnHead.index));
  // The portable attention: the plain module's own; the relaxed one adds the GEMM and packing without relaxed_madd.
  let attnPortable = attnUnits;
  if (opts.relaxed) {
    const plain: Tile = { ...tile, mr: defaultTile(false).mr };
    const gemmPlain = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
    const packAPlain = mod.declare(i32x5);
    const headPlain = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
    attnPortable = mod.declare(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "i32"]);
    gemmPlain.define((f) => emitGemm(f, plain, false, geluPanel.index));
    packAPlain.define((f) => emitPackA(f, plain));
    headPlain.define((f) => emitAttentionHead(f, plain, { packA: packAPlain.index, packBT: packBT.index, packB: packB.index, gemm: gemmPlain.index, softmax: softmax.index }));
    attnPortable.define((f) => emitAttentionUnits(f, headPlain.index));
  }
  layerNorm.define(emitLayerNorm);
  addTo.define(emitAddInPlace);
  quantizeQ8.define(emitQuantizeQ8);
  gemmQ8.define((f) => emitGemmQ8(f, opts.relaxed, geluPanel.index));

  mod.exportFunction("gemm", gemm.index);
  mod.exportFunction("packA", packA.index);
  mod.exportFunction("packBT", packBT.index);
  mod.exportFunction("packB", packB.index);
  mod.exportFunction("expInPlace", expMap.index);
  mod.exportFunction("geluInPlace", geluMap.index);
  mod.exportFunction("softmaxRows", softmax.index);
  mod.exportFunction("attentionHead", attnHead.index);
  mod.exportFunction("attention", attnUnits.index);
  mod.exportFunction("attentionPortable", attnPortable.index);
  mod.exportFunction("layerNorm", layerNorm.index);
  mod.exportFunction("addInPlace", addTo.index);
  mod.exportFunction("quantizeQ8", quantizeQ8.index);
  mod.exportFunction("gemmQ8", gemmQ8.index);
  return mod.encode();
}

/** The custom section a module carries so that a host-supplied, precompiled module says how it was built. */
export const FEATURES_SECTION = "distilbert-ts.kernels";

export interface ModuleDescription {
  version: number;
  relaxed: boolean;
  shared: boolean;
  maximumPages: number | null;
  mr: number;
  nr: number;
}

/** Bumped whenever an export's meaning changes, so a stale precompiled module is refused rather than misused. */
export const KERNELS_VERSION = 5;

export function describeModule(opts: KernelOptions): ModuleDescription {
  return { version: KERNELS_VERSION, relaxed: opts.relaxed, shared: opts.shared, maximumPages: opts.shared ? opts.maximumPages : null, mr: (opts.tile ?? defaultTile(opts.relaxed)).mr, nr: (opts.tile ?? defaultTile(opts.relaxed)).nr };
}

/** for (i = from; i < to(); i += step) body — `to` and `step` emit an i32 each time they are evaluated. */
export function forLoop(f: FunctionBuilder, i: number, from: () => void, to: () => void, body: (exit: Label) => void, step = 1): void {
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
 *   c [M, ldc], columns NR·p0 … NR·p1-1  =  act(alpha · A [M, K] · B [K, NR·(p1-p0)] + bias)
 * Loop nest: k-blocks of KC (outer) → row blocks of MC → pairs of panels → (each panel → row tiles of MR), then the
 * tail tile of M mod MR rows (in the last row block; over both panels at once when it has 1 or 2 rows) → k.
 */
function emitGemm(f: FunctionBuilder, tile: Tile, relaxed: boolean, geluPanel: number): void {
  const { mr: MR, nr: NR, kc: KCB } = tile;
  // Row blocks: a multiple of MR, or (no blocking) more rows than any call has.
  const MCB = tile.mc === undefined ? 1 << 30 : Math.max(MR, Math.floor(tile.mc / MR) * MR);
  const V = NR / 4; // weight vectors per k step
  // A tail of at most WIDE_TAIL rows goes over two panels at once (see below).
  const WIDE_TAIL = Math.min(2, Math.floor(MR / 2));
  const [ap, bp, c, ldc, M, K, p0, p1, bias, alpha, act] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const k0 = f.local("i32");
  const kc = f.local("i32");
  const p = f.local("i32");
  const q = f.local("i32");
  const qEnd = f.local("i32");
  const m = f.local("i32");
  const mb = f.local("i32");
  const mEnd = f.local("i32");
  const lastBlock = f.local("i32");
  const mFull = f.local("i32");
  const mt = f.local("i32");
  const app = f.local("i32");
  const bpp = f.local("i32");
  const bpp2 = f.local("i32");
  const panelBytes = f.local("i32");
  const cp = f.local("i32");
  const kk = f.local("i32");
  const ldc4 = f.local("i32");
  const first = f.local("i32");
  const last = f.local("i32");
  const w: number[] = [];
  for (let j = 0; j < 2 * V; j++) w.push(f.local("v128"));
  const x = f.local("v128");
  const t = f.local("v128");
  const acc: number[] = [];
  for (let i = 0; i < V * MR; i++) acc.push(f.local("v128"));
  const cRow: number[] = [];
  for (let i = 0; i < MR; i++) cRow.push(f.local("i32"));
  /** byte offset of panel `pl`'s columns in a C row (or in the padded bias) */
  const panelCol = (pl: number = p) => f.get(pl).i32(NR * 4).op("i32.mul");

  f.get(ldc).i32(2).op("i32.shl").set(ldc4);
  f.get(M).i32(MR).op("i32.rem_u").set(mt);
  f.get(M).get(mt).op("i32.sub").set(mFull);
  f.get(K).i32(NR * 4).op("i32.mul").set(panelBytes);

  /** One k step of an mr × (np·NR) tile: np panels, the second one's block at bpp2. */
  const kStep = (mr: number, np: number) => {
    for (let j = 0; j < V * np; j++) f.get(j < V ? bpp : bpp2).mem("v128.load", 16 * (j % V)).set(w[j]);
    for (let r = 0; r < mr; r++) {
      f.get(app).mem("v128.load32_splat", r * 4).set(x);
      for (let j = 0; j < V * np; j++) {
        const a = acc[V * np * r + j];
        if (relaxed) f.get(x).get(w[j]).get(a).op("f32x4.relaxed_madd").set(a);
        else f.get(a).get(x).get(w[j]).op("f32x4.mul").op("f32x4.add").set(a);
      }
    }
  };

  /**
   * One mr × (np·NR) tile over k-block [k0, k0+kc) of panels pl, pl+1, …: app, bpp (and bpp2 for np = 2), cp are set
   * by the caller. The np panels' columns are adjacent in C and in the padded bias: np·NR contiguous floats per row.
   */
  const microTile = (mr: number, np: number, pl: number) => {
    const W = V * np; // accumulators per row
    f.get(cp).set(cRow[0]);
    for (let r = 1; r < mr; r++) f.get(cRow[r - 1]).get(ldc4).op("i32.add").set(cRow[r]);
    f.get(first).if(
      () => {
        for (let i = 0; i < W * mr; i++) f.f32x4(0).set(acc[i]);
      },
      () => {
        for (let r = 0; r < mr; r++) for (let j = 0; j < W; j++) f.get(cRow[r]).mem("v128.load", 16 * j).set(acc[W * r + j]);
      },
    );
    // The k loop holds one step: V8's TurboFan hoists every load of an unrolled body ahead of the arithmetic and
    // then spills accumulators, so unrolling here loses more than the loop overhead it saves.
    f.get(kc).set(kk);
    f.loop((top) => {
      kStep(mr, np);
      f.get(app).i32(mr * 4).op("i32.add").set(app);
      f.get(bpp).i32(NR * 4).op("i32.add").set(bpp);
      if (np === 2) f.get(bpp2).i32(NR * 4).op("i32.add").set(bpp2);
      f.get(kk).i32(1).op("i32.sub").tee(kk).brIf(top);
    });
    f.get(last).if(() => {
      f.get(alpha).op("f32x4.splat").set(t);
      for (let i = 0; i < W * mr; i++) f.get(acc[i]).get(t).op("f32x4.mul").set(acc[i]);
      f.get(bias).if(() => {
        for (let j = 0; j < W; j++) {
          f.get(bias);
          panelCol(pl);
          f.op("i32.add").mem("v128.load", 16 * j).set(t);
          for (let r = 0; r < mr; r++) f.get(acc[W * r + j]).get(t).op("f32x4.add").set(acc[W * r + j]);
        }
      });
      f.get(act).i32(ACT_RELU).op("i32.eq").if(() => {
        // relu(v) = v > 0 ? v : 0 (NaN → 0), which is pmax(0, v) = 0 < v ? v : 0.
        for (let i = 0; i < W * mr; i++) f.f32x4(0).get(acc[i]).op("f32x4.pmax").set(acc[i]);
      });
    });
    for (let r = 0; r < mr; r++) for (let j = 0; j < W; j++) f.get(cRow[r]).get(acc[W * r + j]).mem("v128.store", 16 * j);
    // GELU over the tile just stored, while its rows are in L1.
    f.get(last).get(act).i32(ACT_GELU).op("i32.eq").op("i32.and").if(() => {
      for (let i = 0; i < np; i++) f.get(cp).i32(i * NR * 4).op("i32.add").get(ldc).i32(mr).call(geluPanel);
    });
  };

  /** app, cp and bpp for the tile at row `row` (an i32 local) of panel `pl` in this k-block, mr rows per tile. */
  const tileAt = (row: number, mr: number, pl: number) => {
    // app = ap + (row·K + k0·mr)·4 ; cp = c + row·ldc·4 + pl·NR·4 ; bpp = bp + (pl·K + k0)·NR·4
    f.get(ap).get(row).get(K).op("i32.mul").get(k0).i32(mr).op("i32.mul").op("i32.add").i32(2).op("i32.shl").op("i32.add").set(app);
    f.get(c).get(row).get(ldc4).op("i32.mul").op("i32.add");
    panelCol(pl);
    f.op("i32.add").set(cp);
    f.get(bp).get(pl).get(K).op("i32.mul").get(k0).op("i32.add").i32(NR * 4).op("i32.mul").op("i32.add").set(bpp);
  };

  f.i32(0).set(k0);
  f.block((done) => {
    f.loop((kTop) => {
      f.get(k0).get(K).op("i32.ge_s").brIf(done);
      // kc = min(KC, K - k0)
      f.i32(KCB).get(K).get(k0).op("i32.sub").tee(kc).i32(KCB).get(kc).op("i32.lt_s").op("select").set(kc);
      f.get(k0).op("i32.eqz").set(first);
      f.get(k0).get(kc).op("i32.add").get(K).op("i32.eq").set(last);
      forLoop(f, mb, () => f.i32(0), () => f.get(M), () => {
        // rows [mb, mEnd) of whole tiles in this row block; the tail tile goes with the last block
        f.get(mb).i32(MCB).op("i32.add").tee(mEnd).get(mFull).get(mEnd).get(mFull).op("i32.lt_s").op("select").set(mEnd);
        f.get(mb).i32(MCB).op("i32.add").get(M).op("i32.ge_s").set(lastBlock);
        // Panels two by two: the whole tiles of each, then the tail rows of both. A tail of 1 or 2 rows has only
        // 2–4 accumulators per panel, too few to hide the FMA latency (each k step of a 2 × 8 tile waits 4 cycles for
        // its chains, 2/3 of a 6 × 8 step, for a third of the rows), so it takes both panels in one 2 × 16 tile: 8
        // chains, the full tiles' rate per row. (128 = 21·6 + 2 rows, say.)
        forLoop(f, p, () => f.get(p0), () => f.get(p1), () => {
          f.get(p).i32(2).op("i32.add").tee(qEnd).get(p1).get(qEnd).get(p1).op("i32.lt_s").op("select").set(qEnd);
          forLoop(f, q, () => f.get(p), () => f.get(qEnd), () => {
            forLoop(f, m, () => f.get(mb), () => f.get(mEnd), () => {
              tileAt(m, MR, q);
              microTile(MR, 1, q);
            }, MR);
          });
          f.get(mt).i32(0).op("i32.ne").get(lastBlock).op("i32.and").if(() => {
            // two panels here and a tail of ≤ WIDE_TAIL rows: one wide tile; otherwise a narrow one per panel
            f.get(qEnd).get(p).op("i32.sub").i32(2).op("i32.eq").get(mt).i32(WIDE_TAIL).op("i32.le_u").op("i32.and").if(
              () => {
                for (let mr = 1; mr <= WIDE_TAIL; mr++) {
                  f.get(mt).i32(mr).op("i32.eq").if(() => {
                    tileAt(mFull, mr, p);
                    f.get(bpp).get(panelBytes).op("i32.add").set(bpp2);
                    microTile(mr, 2, p);
                  });
                }
              },
              () => {
                forLoop(f, q, () => f.get(p), () => f.get(qEnd), () => {
                  for (let mr = 1; mr < MR; mr++) {
                    f.get(mt).i32(mr).op("i32.eq").if(() => {
                      tileAt(mFull, mr, q);
                      microTile(mr, 1, q);
                    });
                  }
                });
              },
            );
          });
        }, 2);
      }, MCB);
      f.get(k0).get(kc).op("i32.add").set(k0);
      f.br(kTop);
    });
  });
}

/** Bytes of the scratch one attentionHead call works in, for L rows and head width dh (regions 64-aligned). */
export function attentionScratchBytes(L: number, dh: number, nr: number = NR): number {
  const a = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const PL = Math.ceil(L / nr);
  return a(L * dh * 4) + a(PL * nr * dh * 4) + a(L * PL * nr * 4) + a(L * L * 4) + a(Math.ceil(dh / nr) * nr * L * 4);
}

interface AttentionCallees {
  packA: number;
  packBT: number;
  packB: number;
  gemm: number;
  softmax: number;
}

/**
 * attentionHead(q, k, v, out, ld, dh, L, Lq, mask, scale, scratch): one head of one sequence (its first Lq query rows) with no copies in or out.
 * The same calls, in the same order and on the same packed layouts, as the backend's matmulTransB, softmaxRows and
 * matmul make on contiguous copies of the head, so its result is bit for bit theirs; the packers read the head's
 * columns in place (row stride ld) and the second GEMM writes straight into out's columns. Scratch regions, in order
 * (as attentionScratchBytes counts them): packed q [L·dh], packed kᵀ panels [⌈L/NR⌉·NR·dh], scores [L, ldS] with
 * ldS = ⌈L/NR⌉·NR, packed scores [L·L], packed v panels [⌈dh/NR⌉·NR·L].
 */
function emitAttentionHead(f: FunctionBuilder, tile: Tile, fn: AttentionCallees): void {
  const NR = tile.nr;
  const [q, k, v, out, ld, dh, L, Lq, mask, scale, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const PL = f.local("i32");
  const ldS = f.local("i32");
  const aq = f.local("i32");
  const bk = f.local("i32");
  const S = f.local("i32");
  const ap = f.local("i32");
  const bv = f.local("i32");
  /** pushes (top of stack + 63) & -64 */
  const align64 = () => f.i32(63).op("i32.add").i32(-64).op("i32.and");
  f.get(L).i32(NR - 1).op("i32.add").i32(NR).op("i32.div_u").set(PL);
  f.get(PL).i32(NR).op("i32.mul").set(ldS);
  /** next = region + align64(rows · cols · 4): the region after one of rows × cols floats */
  const after = (region: number, rows: number, cols: number, next: number) => {
    f.get(region).get(rows).get(cols).op("i32.mul").i32(2).op("i32.shl");
    align64();
    f.op("i32.add").set(next);
  };
  f.get(scratch).set(aq);
  after(aq, L, dh, bk);
  after(bk, ldS, dh, S);
  after(S, L, ldS, ap);
  after(ap, L, L, bv);
  // scores [Lq, ldS] = scale · q · kᵀ, then their softmax over the L real columns
  f.get(q).get(aq).get(Lq).get(dh).get(ld).call(fn.packA);
  f.get(k).get(bk).get(L).get(dh).get(ld).call(fn.packBT);
  f.get(aq).get(bk).get(S).get(ldS).get(Lq).get(dh).i32(0).get(PL).i32(0).get(scale).i32(ACT_NONE).call(fn.gemm);
  f.get(S).get(Lq).get(L).get(mask).get(ldS).call(fn.softmax);
  // out [Lq, dh] (row stride ld) = probabilities · v
  f.get(S).get(ap).get(Lq).get(L).get(ldS).call(fn.packA);
  f.get(v).get(bv).get(L).get(dh).get(ld).call(fn.packB);
  f.get(ap).get(bv).get(out).get(ld).get(Lq).get(L).i32(0).get(dh).i32(NR).op("i32.div_u").i32(0).f32(1).i32(ACT_NONE).call(fn.gemm);
}

/** Bytes of one span's entry in attention's table: start, len, mask, query start, query rows (i32 each). */
export const ATTENTION_TABLE_BYTES = 20;

/** attention(q, k, v, out, ld, dh, H, table, u0, u1, scale, scratch): see KernelExports.attention. */
function emitAttentionUnits(f: FunctionBuilder, head: number): void {
  const [q, k, v, out, ld, dh, H, table, u0, u1, scale, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const u = f.local("i32");
  const span = f.local("i32");
  const row = f.local("i32");
  const off = f.local("i32");
  const qOff = f.local("i32");
  const hCol = f.local("i32");
  forLoop(f, u, () => f.get(u0), () => f.get(u1), () => {
    f.get(u).get(H).op("i32.div_u").set(span);
    f.get(table).get(span).i32(ATTENTION_TABLE_BYTES).op("i32.mul").op("i32.add").set(row);
    // hCol = h·dh with h = u - span·H; off = start·ld + hCol; qOff = qStart·ld + hCol (floats)
    f.get(u).get(span).get(H).op("i32.mul").op("i32.sub").get(dh).op("i32.mul").set(hCol);
    f.get(row).mem("i32.load").get(ld).op("i32.mul").get(hCol).op("i32.add").set(off);
    f.get(row).mem("i32.load", 12).get(ld).op("i32.mul").get(hCol).op("i32.add").set(qOff);
    f.get(q).get(qOff).i32(2).op("i32.shl").op("i32.add");
    f.get(k).get(off).i32(2).op("i32.shl").op("i32.add");
    f.get(v).get(off).i32(2).op("i32.shl").op("i32.add");
    f.get(out).get(qOff).i32(2).op("i32.shl").op("i32.add");
    f.get(ld).get(dh);
    f.get(row).mem("i32.load", 4);
    f.get(row).mem("i32.load", 16);
    f.get(row).mem("i32.load", 8);
    f.get(scale).get(scratch).call(head);
  });
}

/**
 * packA(src, dst, M, K, lds): row blocks of MR (tail block M mod MR), each K steps of mr contiguous floats; source
 * rows are lds floats apart. With MR = 4 or 6 a whole block goes 4 k at a time: MR v128 loads (one per row), a 4×4
 * transpose of rows 0-3 (and rows 4-5 interleaved), MR stores.
 */
function emitPackA(f: FunctionBuilder, tile: Tile): void {
  const MR = tile.mr;
  const [src, dst, M, K, lds] = [0, 1, 2, 3, 4];
  const m0 = f.local("i32");
  const mr = f.local("i32");
  const r = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const base = f.local("i32");
  const kt = f.local("i32");
  const K4 = f.local("i32");
  const rowBytes = f.local("i32");
  const v: number[] = [];
  for (let q = 0; q < 6; q++) v.push(f.local("v128"));
  const t: number[] = [];
  for (let q = 0; q < 6; q++) t.push(f.local("v128"));
  const lanes = (...l: number[]) => l.flatMap((q) => [4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3]);
  const fast = MR === 4 || MR === 6;
  f.get(K).i32(fast ? -4 : 0).op("i32.and").set(K4);
  f.get(lds).i32(2).op("i32.shl").set(rowBytes);
  f.i32(0).set(m0);
  f.block((done) => {
    f.loop((top) => {
      f.get(m0).get(M).op("i32.ge_s").brIf(done);
      // mr = min(MR, M - m0)
      f.i32(MR).get(M).get(m0).op("i32.sub").tee(mr).i32(MR).get(mr).op("i32.lt_s").op("select").set(mr);
      // block base = dst + m0·K·4
      f.get(dst).get(m0).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(base);
      f.i32(0).set(k);
      if (fast) {
        f.get(mr).i32(MR).op("i32.eq").if(() => {
          f.get(src).get(m0).get(lds).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(s);
          f.get(base).set(d);
          forLoop(f, k, () => f.i32(0), () => f.get(K4), () => {
            for (let q = 0; q < MR; q++) f.get(s).get(rowBytes).i32(q).op("i32.mul").op("i32.add").mem("v128.load", 0, 2).set(v[q]);
            // rows 0-3 transposed: t[j] = (row 0..3 at k + j)
            f.get(v[0]).get(v[1]).shuffle(lanes(0, 4, 1, 5)).set(t[4]);
            f.get(v[0]).get(v[1]).shuffle(lanes(2, 6, 3, 7)).set(t[5]);
            f.get(v[2]).get(v[3]).shuffle(lanes(0, 4, 1, 5)).set(v[0]);
            f.get(v[2]).get(v[3]).shuffle(lanes(2, 6, 3, 7)).set(v[1]);
            f.get(t[4]).get(v[0]).shuffle(lanes(0, 1, 4, 5)).set(t[0]);
            f.get(t[4]).get(v[0]).shuffle(lanes(2, 3, 6, 7)).set(t[1]);
            f.get(t[5]).get(v[1]).shuffle(lanes(0, 1, 4, 5)).set(t[2]);
            f.get(t[5]).get(v[1]).shuffle(lanes(2, 3, 6, 7)).set(t[3]);
            if (MR === 4) {
              for (let j = 0; j < 4; j++) f.get(d).get(t[j]).mem("v128.store", 16 * j, 2);
            } else {
              // rows 4-5 interleaved: u = (r4 k, r5 k, r4 k+1, r5 k+1), w = the same for k+2, k+3; each k step is
              // 6 floats, so 4 steps are 6 stores: t0 | u01 t1_01 | t1_23 u23 | t2 | w01 t3_01 | t3_23 w23
              f.get(v[4]).get(v[5]).shuffle(lanes(0, 4, 1, 5)).set(t[4]);
              f.get(v[4]).get(v[5]).shuffle(lanes(2, 6, 3, 7)).set(t[5]);
              f.get(d).get(t[0]).mem("v128.store", 0, 2);
              f.get(d).get(t[4]).get(t[1]).shuffle(lanes(0, 1, 4, 5)).mem("v128.store", 16, 2);
              f.get(d).get(t[1]).get(t[4]).shuffle(lanes(2, 3, 6, 7)).mem("v128.store", 32, 2);
              f.get(d).get(t[2]).mem("v128.store", 48, 2);
              f.get(d).get(t[5]).get(t[3]).shuffle(lanes(0, 1, 4, 5)).mem("v128.store", 64, 2);
              f.get(d).get(t[3]).get(t[5]).shuffle(lanes(2, 3, 6, 7)).mem("v128.store", 80, 2);
            }
            f.get(s).i32(16).op("i32.add").set(s);
            f.get(d).i32(16 * MR).op("i32.add").set(d);
          }, 4);
        });
      }
      // The rest (k tail, or a tail block) one float at a time from k on.
      forLoop(f, r, () => f.i32(0), () => f.get(mr), () => {
        f.get(src).get(m0).get(r).op("i32.add").get(lds).op("i32.mul").get(k).op("i32.add").i32(2).op("i32.shl").op("i32.add").set(s);
        f.get(base).get(k).get(mr).op("i32.mul").get(r).op("i32.add").i32(2).op("i32.shl").op("i32.add").set(d);
        forLoop(f, kt, () => f.get(k), () => f.get(K), () => {
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

/**
 * packBT(src, dst, N, K, lds): panel p, step k, lane j = src[(NR·p + j)·lds + k], 0 past N. Whole panels go 4 k at a time:
 * NR v128 loads (4 k of each of the panel's rows), NR/4 4×4 transposes, NR stores; the rest one float at a time.
 */
function emitPackBT(f: FunctionBuilder, tile: Tile): void {
  const NR = tile.nr;
  const [src, dst, N, K, lds] = [0, 1, 2, 3, 4];
  const n = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const nFull = f.local("i32");
  const K4 = f.local("i32");
  const rowBytes = f.local("i32");
  const v: number[] = [];
  for (let r = 0; r < NR; r++) v.push(f.local("v128"));
  const t: number[] = [];
  for (let r = 0; r < 4; r++) t.push(f.local("v128"));
  // i8x16.shuffle byte indices picking 32-bit lanes (0-3 from the first operand, 4-7 from the second)
  const lanes = (...l: number[]) => l.flatMap((q) => [4 * q, 4 * q + 1, 4 * q + 2, 4 * q + 3]);
  /** address of panel (n / NR)'s step 0, lane n mod NR: dst + ((n - n mod NR)·K + n mod NR)·4 */
  const dstOf = (row: () => void) => {
    f.get(dst);
    row();
    row();
    f.i32(NR).op("i32.rem_u").op("i32.sub").get(K).op("i32.mul");
    row();
    f.i32(NR).op("i32.rem_u").op("i32.add").i32(2).op("i32.shl").op("i32.add");
  };
  f.get(N).get(N).i32(NR).op("i32.rem_u").op("i32.sub").set(nFull);
  f.get(K).i32(-4).op("i32.and").set(K4);
  f.get(lds).i32(2).op("i32.shl").set(rowBytes);
  forLoop(f, n, () => f.i32(0), () => f.get(nFull), () => {
    // s = src + n·lds·4 (row n, k = 0); d = dst + n·K·4 (panel n/NR, step 0)
    f.get(src).get(n).get(lds).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(s);
    f.get(dst).get(n).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K4), () => {
      for (let r = 0; r < NR; r++) f.get(s).get(rowBytes).i32(r).op("i32.mul").op("i32.add").mem("v128.load", 0, 2).set(v[r]);
      for (let h = 0; h < NR / 4; h++) {
        const [a, b, c, e] = v.slice(4 * h, 4 * h + 4);
        f.get(a).get(b).shuffle(lanes(0, 4, 1, 5)).set(t[0]);
        f.get(a).get(b).shuffle(lanes(2, 6, 3, 7)).set(t[1]);
        f.get(c).get(e).shuffle(lanes(0, 4, 1, 5)).set(t[2]);
        f.get(c).get(e).shuffle(lanes(2, 6, 3, 7)).set(t[3]);
        f.get(d).get(t[0]).get(t[2]).shuffle(lanes(0, 1, 4, 5)).mem("v128.store", 16 * h);
        f.get(d).get(t[0]).get(t[2]).shuffle(lanes(2, 3, 6, 7)).mem("v128.store", NR * 4 + 16 * h);
        f.get(d).get(t[1]).get(t[3]).shuffle(lanes(0, 1, 4, 5)).mem("v128.store", 2 * NR * 4 + 16 * h);
        f.get(d).get(t[1]).get(t[3]).shuffle(lanes(2, 3, 6, 7)).mem("v128.store", 3 * NR * 4 + 16 * h);
      }
      f.get(s).i32(16).op("i32.add").set(s);
      f.get(d).i32(4 * NR * 4).op("i32.add").set(d);
    }, 4);
    // k tail of this panel
    forLoop(f, k, () => f.get(K4), () => f.get(K), () => {
      for (let r = 0; r < NR; r++) f.get(d).get(s).get(rowBytes).i32(r).op("i32.mul").op("i32.add").mem("f32.load").mem("f32.store", 4 * r);
      f.get(s).i32(4).op("i32.add").set(s);
      f.get(d).i32(NR * 4).op("i32.add").set(d);
    });
  }, NR);
  // The last, partial panel (N mod NR rows): zero it, then scatter its rows.
  f.get(nFull).get(N).op("i32.lt_s").if(() => {
    emitZeroPanel(f, dst, nFull, K, k, d, NR);
    forLoop(f, n, () => f.get(nFull), () => f.get(N), () => {
      f.get(src).get(n).get(lds).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(s);
      dstOf(() => f.get(n));
      f.set(d);
      forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
        f.get(d).get(s).mem("f32.load").mem("f32.store");
        f.get(s).i32(4).op("i32.add").set(s);
        f.get(d).i32(NR * 4).op("i32.add").set(d);
      });
    });
  });
}

/**
 * Zero the partial last panel of a packed operand, [K][NR] floats at dst + nFull·K·4, so that lanes past N feed
 * zeros into the micro-kernel. Leaves `d` past the panel's end.
 */
function emitZeroPanel(f: FunctionBuilder, dst: number, nFull: number, K: number, k: number, d: number, NR: number): void {
  f.get(dst).get(nFull).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(d);
  forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
    for (let j = 0; j < NR / 4; j++) f.get(d).f32x4(0).mem("v128.store", 16 * j);
    f.get(d).i32(NR * 4).op("i32.add").set(d);
  });
}

/** packB(src, dst, K, N, lds): panel p, step k, lane j = src[k·lds + NR·p + j], 0 past N. */
function emitPackB(f: FunctionBuilder, tile: Tile): void {
  const NR = tile.nr;
  const [src, dst, K, N, lds] = [0, 1, 2, 3, 4];
  const n = f.local("i32");
  const k = f.local("i32");
  const s = f.local("i32");
  const d = f.local("i32");
  const nFull = f.local("i32");
  f.get(N).get(N).i32(NR).op("i32.rem_u").op("i32.sub").set(nFull);
  // Whole panels: NR/4 v128 per k step (unaligned loads from src).
  forLoop(f, n, () => f.i32(0), () => f.get(nFull), () => {
    f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(s);
    f.get(dst).get(n).get(K).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(d);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      for (let j = 0; j < NR / 4; j++) f.get(d).get(s).mem("v128.load", 16 * j, 0).mem("v128.store", 16 * j);
      f.get(s).get(lds).i32(2).op("i32.shl").op("i32.add").set(s);
      f.get(d).i32(NR * 4).op("i32.add").set(d);
    });
  }, NR);
  // The last, partial panel: zero it, then copy the N mod NR real lanes.
  f.get(nFull).get(N).op("i32.lt_s").if(() => {
    emitZeroPanel(f, dst, nFull, K, k, d, NR);
    forLoop(f, k, () => f.i32(0), () => f.get(K), () => {
      forLoop(f, n, () => f.get(nFull), () => f.get(N), () => {
        // dst + (nFull·K + k·NR + n - nFull)·4  ←  src + (k·lds + n)·4
        f.get(dst).get(nFull).get(K).op("i32.mul").get(k).i32(NR).op("i32.mul").op("i32.add").get(n).op("i32.add").get(nFull).op("i32.sub").i32(2).op("i32.shl").op("i32.add")
          .get(src).get(k).get(lds).op("i32.mul").get(n).op("i32.add").i32(2).op("i32.shl").op("i32.add").mem("f32.load")
          .mem("f32.store");
      });
    });
  });
}

/**
 * softmaxRows(x, rows, C, mask, ldx): in place over x [rows, C], rows ldx floats apart (need not be 16-byte aligned);
 * mask [C] bytes, 0 = the key may not be attended to, or mask = 0 (the address: bytes [0, 64) are never used) for no
 * mask. Max over allowed keys; e = exp(x - max) (0 where masked) stored as f32 and summed in f64; then each e is
 * scaled by 1/sum in f64 and rounded, as the JS backend does. A row with no allowed key is the caller's business
 * (the backend fills it uniformly without calling this).
 *
 * Speed: each pass carries a value from vector to vector (the max, the sum), so one accumulator makes a pass as
 * slow as its chain of latencies. The max keeps two (pmax: one instruction; max's NaN rules cost eight, and a NaN
 * score makes the row NaN through exp either way) and the sum one per half vector.
 */
function emitSoftmax(f: FunctionBuilder): void {
  const [x, rows, C, mask, ldx] = [0, 1, 2, 3, 4];
  const row = f.local("i32");
  const j = f.local("i32");
  const C4 = f.local("i32");
  const C8 = f.local("i32");
  const rp = f.local("i32");
  const vmax = f.local("v128");
  const vmax2 = f.local("v128");
  const v = f.local("v128");
  const m = f.local("v128");
  const e = f.local("v128");
  const sum = f.local("v128");
  const sum2 = f.local("v128");
  const inv = f.local("v128");
  const ssum = f.local("f64");
  const d = f.local("v128");
  const d2 = f.local("v128");
  const k = constants(f);
  /** pushes the address of x[row][j] */
  const at = () => f.get(rp).get(j).i32(2).op("i32.shl").op("i32.add");
  const maskLanes = (offset: number) => {
    // the four mask bytes at j + offset/4, widened to all-ones / all-zeros i32 lanes
    f.get(mask).get(j).op("i32.add").mem("v128.load32_zero", offset / 4, 0)
      .op("i16x8.extend_low_i8x16_u").op("i32x4.extend_low_i16x8_u").i32x4(0).op("i32x4.ne").set(m);
  };
  const maskOne = () => {
    f.get(mask).get(j).op("i32.add").mem("i32.load8_u").op("i32x4.splat").i32x4(0).op("i32x4.ne").set(m);
  };
  /** one row (rp set), with or without the mask */
  const rowBody = (masked: boolean) => {
    // max over allowed keys: 8 at a time into two accumulators, then 4, then one at a time
    f.f32x4(-Infinity).set(vmax);
    f.f32x4(-Infinity).set(vmax2);
    const maxStep = (acc: number, offset: number) => {
      if (masked) {
        maskLanes(offset);
        at().mem("v128.load", offset, 2).f32x4(-Infinity).get(m).op("v128.bitselect");
      } else at().mem("v128.load", offset, 2);
      f.set(v);
      f.get(acc).get(v).op("f32x4.pmax").set(acc);
    };
    forLoop(f, j, () => f.i32(0), () => f.get(C8), () => {
      maxStep(vmax, 0);
      maxStep(vmax2, 16);
    }, 8);
    f.get(C8).get(C4).op("i32.lt_s").if(() => {
      f.get(C8).set(j);
      maxStep(vmax, 0);
    });
    forLoop(f, j, () => f.get(C4), () => f.get(C), () => {
      if (masked) {
        maskOne();
        at().mem("v128.load32_splat").f32x4(-Infinity).get(m).op("v128.bitselect");
      } else at().mem("v128.load32_splat");
      f.set(v);
      f.get(vmax).get(v).op("f32x4.pmax").set(vmax);
    });
    f.get(vmax).get(vmax2).op("f32x4.pmax").set(vmax);
    f.get(vmax).get(vmax).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).get(vmax).op("f32x4.pmax").set(vmax);
    f.get(vmax).get(vmax).shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]).get(vmax).op("f32x4.pmax").set(vmax);
    // e = exp(x - max), masked to 0; sum in f64, lanes 0–1 and 2–3 in two accumulators
    f.f64x2(0).set(sum);
    f.f64x2(0).set(sum2);
    f.f64(0).set(ssum);
    // e of 8 keys at a time (two exp chains, interleaved: kernels-math.ts), added to the sums in key order, then 4
    const expStep = (vs: readonly number[]) => {
      vs.forEach((dv, i) => at().mem("v128.load", 16 * i, 2).get(vmax).op("f32x4.sub").set(dv));
      emitExp(f, k, vs).forEach((ev, i) => {
        f.get(ev);
        if (masked) {
          maskLanes(16 * i);
          f.get(m).op("v128.and");
        }
        f.set(e);
        at().get(e).mem("v128.store", 16 * i, 2);
        f.get(sum).get(e).op("f64x2.promote_low_f32x4").op("f64x2.add").set(sum);
        f.get(sum2).get(e).get(e).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).op("f64x2.promote_low_f32x4").op("f64x2.add").set(sum2);
      });
    };
    forLoop(f, j, () => f.i32(0), () => f.get(C8), () => expStep([d, d2]), 8);
    f.get(C8).get(C4).op("i32.lt_s").if(() => {
      f.get(C8).set(j);
      expStep([d]);
    });
    forLoop(f, j, () => f.get(C4), () => f.get(C), () => {
      at().mem("v128.load32_splat").get(vmax).op("f32x4.sub").set(d);
      f.get(emitExp(f, k, [d])[0]);
      if (masked) {
        maskOne();
        f.get(m).op("v128.and");
      }
      f.set(e);
      at().get(e).storeLane(32, 0);
      f.get(ssum).get(e).lane("f32x4.extract_lane", 0).op("f64.promote_f32").op("f64.add").set(ssum);
    });
    // inv = 1 / sum
    f.get(sum).get(sum2).op("f64x2.add").set(sum);
    f.f64(1).get(sum).lane("f64x2.extract_lane", 0).get(sum).lane("f64x2.extract_lane", 1).op("f64.add").get(ssum).op("f64.add").op("f64.div")
      .op("f64x2.splat").set(inv);
    forLoop(f, j, () => f.i32(0), () => f.get(C4), () => {
      at().mem("v128.load", 0, 2).set(v);
      at();
      f.get(v).op("f64x2.promote_low_f32x4").get(inv).op("f64x2.mul").op("f32x4.demote_f64x2_zero");
      f.get(v).get(v).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).op("f64x2.promote_low_f32x4").get(inv).op("f64x2.mul").op("f32x4.demote_f64x2_zero");
      f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]).mem("v128.store", 0, 2);
    }, 4);
    forLoop(f, j, () => f.get(C4), () => f.get(C), () => {
      at();
      at().mem("f32.load").op("f64.promote_f32").get(inv).lane("f64x2.extract_lane", 0).op("f64.mul").op("f32.demote_f64").mem("f32.store");
    });
  };
  f.get(C).i32(-4).op("i32.and").set(C4);
  f.get(C).i32(-8).op("i32.and").set(C8);
  forLoop(f, row, () => f.i32(0), () => f.get(rows), () => {
    f.get(x).get(row).get(ldx).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(rp);
    f.get(mask).if(() => rowBody(true), () => rowBody(false));
  });
}

/**
 * layerNorm(out, x, gamma, beta, T, C, eps): per row, mean and variance (two passes) in f64, then
 * out = (x - mean) · rstd · gamma + beta in f64, rounded to f32 — the JS backend's formula; out may equal x.
 */
/**
 * addInPlace(y, x, n): y [n] += x [n], 4 lanes at a time then one. f32 addition rounds the exact sum once, which is
 * what JavaScript's `y[i] += x[i]` on Float32Arrays gives too (the f64 sum of two f32 is exact, or so lopsided that
 * both round to the larger operand), so the two backends' residual sums agree bit for bit.
 */
function emitAddInPlace(f: FunctionBuilder): void {
  const [y, x, n] = [0, 1, 2];
  const end = f.local("i32");
  const end4 = f.local("i32");
  f.get(y).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.get(y).get(n).i32(-4).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(end4);
  f.block((exit) => {
    f.loop((top) => {
      f.get(y).get(end4).op("i32.ge_u").brIf(exit);
      f.get(y).get(y).mem("v128.load", 0, 2).get(x).mem("v128.load", 0, 2).op("f32x4.add").mem("v128.store", 0, 2);
      f.get(y).i32(16).op("i32.add").set(y);
      f.get(x).i32(16).op("i32.add").set(x);
      f.br(top);
    });
  });
  f.block((exit) => {
    f.loop((top) => {
      f.get(y).get(end).op("i32.ge_u").brIf(exit);
      f.get(y).get(y).mem("f32.load").get(x).mem("f32.load").op("f32.add").mem("f32.store");
      f.get(y).i32(4).op("i32.add").set(y);
      f.get(x).i32(4).op("i32.add").set(x);
      f.br(top);
    });
  });
}

function emitLayerNorm(f: FunctionBuilder): void {
  const [out, x, gamma, beta, T, C, eps] = [0, 1, 2, 3, 4, 5, 6];
  const t = f.local("i32");
  const j = f.local("i32");
  const C2 = f.local("i32");
  const xp = f.local("i32");
  const op = f.local("i32");
  const acc = f.local("v128");
  const meanV = f.local("v128");
  const rstdV = f.local("v128");
  const d = f.local("v128");
  const s = f.local("f64");
  const mean = f.local("f64");
  const rstd = f.local("f64");
  const e = f.local("f64");
  const at = (base: number) => f.get(base).get(j).i32(2).op("i32.shl").op("i32.add");
  // two f32 at j, widened to an f64x2
  const load2 = (base: number) => at(base).mem("v128.load64_zero", 0, 2).op("f64x2.promote_low_f32x4");
  const load1 = (base: number) => at(base).mem("f32.load").op("f64.promote_f32");
  const hsum = (v: number) => f.get(v).lane("f64x2.extract_lane", 0).get(v).lane("f64x2.extract_lane", 1).op("f64.add");
  f.get(C).i32(-2).op("i32.and").set(C2);
  forLoop(f, t, () => f.i32(0), () => f.get(T), () => {
    f.get(x).get(t).get(C).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(xp);
    f.get(out).get(t).get(C).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(op);
    // mean
    f.f64x2(0).set(acc);
    forLoop(f, j, () => f.i32(0), () => f.get(C2), () => {
      f.get(acc);
      load2(xp);
      f.op("f64x2.add").set(acc);
    }, 2);
    hsum(acc);
    f.set(s);
    forLoop(f, j, () => f.get(C2), () => f.get(C), () => {
      f.get(s);
      load1(xp);
      f.op("f64.add").set(s);
    });
    f.get(s).get(C).op("f64.convert_i32_s").op("f64.div").tee(mean).op("f64x2.splat").set(meanV);
    // variance, from the centred values
    f.f64x2(0).set(acc);
    forLoop(f, j, () => f.i32(0), () => f.get(C2), () => {
      load2(xp);
      f.get(meanV).op("f64x2.sub").set(d);
      f.get(acc).get(d).get(d).op("f64x2.mul").op("f64x2.add").set(acc);
    }, 2);
    hsum(acc);
    f.set(s);
    forLoop(f, j, () => f.get(C2), () => f.get(C), () => {
      load1(xp);
      f.get(mean).op("f64.sub").set(e);
      f.get(s).get(e).get(e).op("f64.mul").op("f64.add").set(s);
    });
    f.f64(1).get(s).get(C).op("f64.convert_i32_s").op("f64.div").get(eps).op("f64.add").op("f64.sqrt").op("f64.div").tee(rstd).op("f64x2.splat").set(rstdV);
    // out = (x - mean) · rstd · gamma + beta
    forLoop(f, j, () => f.i32(0), () => f.get(C2), () => {
      at(op);
      load2(xp);
      f.get(meanV).op("f64x2.sub").get(rstdV).op("f64x2.mul");
      load2(gamma);
      f.op("f64x2.mul");
      load2(beta);
      f.op("f64x2.add").op("f32x4.demote_f64x2_zero").storeLane(64, 0);
    }, 2);
    forLoop(f, j, () => f.get(C2), () => f.get(C), () => {
      at(op);
      load1(xp);
      f.get(mean).op("f64.sub").get(rstd).op("f64.mul");
      load1(gamma);
      f.op("f64.mul");
      load1(beta);
      f.op("f64.add").op("f32.demote_f64").mem("f32.store");
    });
  });
}
