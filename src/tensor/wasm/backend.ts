/**
 * The WebAssembly SIMD backend: the kernels of kernels.ts on one WebAssembly.Memory that holds the packed Linear
 * weights (packed once, in prepareLinear) and a scratch area. Plain Float32Arrays handed over are copied in and
 * their results out (a memcpy, small next to the GEMM); on a forward pass's fast path the activations are views of
 * this memory (workspace(), shared memory only) and linear, attention and layerNorm work on them in place.
 *
 * Created with `await WasmBackend.create(options)`: it compiles the module our TypeScript emits (relaxed SIMD when
 * the engine validates it), or instantiates a host-supplied precompiled module (for hosts that forbid compiling
 * bytes, e.g. Cloudflare Workers). With `threads > 1` the memory is shared and a worker pool splits each GEMM.
 */
import { InputError } from "../../errors.js";
import { isQ8, type Activation, type AttentionSpan, type Backend, type LinearWeight, type RowRange, type Workspace } from "../backend.js";
import { gelu } from "../erf.js";
import {
  ACT_GELU,
  ACT_NONE,
  ACT_RELU,
  FEATURES_SECTION,
  KERNELS_VERSION,
  ATTENTION_TABLE_BYTES,
  attentionScratchBytes,
  buildKernelModule,
  type KernelExports,
  type ModuleDescription,
} from "./kernels.js";
import { ModuleBuilder } from "./assembler.js";
import { Q8_NR } from "./kernels-q8.js";
import { attentionPortable } from "../portable-attention.js";
import { q8LinearWeight } from "../q8-js.js";
import { rowSums, type Q8Rows } from "../quant.js";
import { CTRL_BYTES, GemmPool, MAX_POOL_PANELS, canBlock, webWorkerFactory, type WorkerFactory } from "./pool.js";

export interface WasmBackendOptions {
  /**
   * A module compiled from `wasmKernelBytes(...)` (e.g. a .wasm file the host imports as a WebAssembly.Module), for
   * hosts that may instantiate but not compile. Its own build options (relaxed, shared) then apply.
   */
  module?: WebAssembly.Module;
  /** Use relaxed SIMD (fused multiply-add). Default: whenever the engine supports it. */
  relaxed?: boolean;
  /** Threads working on each GEMM, this one included (default 1). Above 1 needs SharedArrayBuffer and Atomics.wait. */
  threads?: number;
  /** How to start a pool worker; default: the standard Worker running web-worker.js. Node: `nodeWorkerFactory()`. */
  workerFactory?: WorkerFactory;
  /**
   * The memory's maximum in bytes when it is shared (default 2 GiB): always with threads > 1, and with one thread
   * wherever the host allows shared memory (it lets activations stay in it across a forward pass). A non-shared
   * memory just grows.
   */
  maximumMemory?: number;
  /**
   * threads > 1: how long an idle pool thread keeps polling for the next matrix product before it sleeps, in µs
   * (default 200). Lower it on a machine busy with other work; 0 sleeps at once.
   */
  spinMicroseconds?: number;
}

const PAGE = 65536;
const DEFAULT_SHARED_MAX_PAGES = 32768; // 2 GiB

/** The module bytes the backend compiles; write them to a .wasm file to precompile for a host. */
export function wasmKernelBytes(options: { relaxed?: boolean; shared?: boolean; maximumPages?: number } = {}): Uint8Array<ArrayBuffer> {
  return buildKernelModule({
    relaxed: options.relaxed ?? false,
    shared: options.shared ?? false,
    maximumPages: options.maximumPages ?? DEFAULT_SHARED_MAX_PAGES,
  });
}

/** A one-function module returning a v128: f32x4.splat(0), or relaxed_madd of that splat with itself. */
function probe(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  const fn = mod.declare([], ["v128"]);
  fn.define((f) => {
    f.f32(0).op("f32x4.splat");
    if (relaxed) f.f32(0).op("f32x4.splat").f32(0).op("f32x4.splat").op("f32x4.relaxed_madd");
  });
  return mod.encode();
}

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** Whether this engine has WebAssembly with fixed-width SIMD. */
export function wasmSimdSupported(): boolean {
  return validates(probe(false));
}

/** Whether a shared WebAssembly.Memory can be made here (SharedArrayBuffer; cross-origin isolation in browsers). */
function sharedMemoryAllowed(): boolean {
  try {
    return typeof SharedArrayBuffer === "function" && new WebAssembly.Memory({ initial: 0, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** Whether this engine has relaxed SIMD (Node 22+, Chrome 114+, Firefox 120+). */
export function relaxedSimdSupported(): boolean {
  return validates(probe(true));
}

/** What a LinearWeight's `packed` holds for this backend. */
interface PackedLinear {
  readonly owner: WasmBackend;
  /** Byte address of ⌈dOut/8⌉ panels of dIn × 8 floats. */
  readonly panels: number;
  /** Byte address of the bias padded to 8·⌈dOut/8⌉ floats, or 0. */
  readonly bias: number;
  readonly panelCount: number;
}

/** What a q8 LinearWeight's `packed` holds for this backend (kernels-q8.ts's layouts). */
interface PackedQ8 {
  readonly owner: WasmBackend;
  readonly q8: true;
  /** Byte address of the panels: ⌈dOut/8⌉ panels of K4 groups of 32 bytes. */
  readonly panels: number;
  /** Byte address of meta [3 · npad]: Σq (i32), weight scales, bias. */
  readonly meta: number;
  readonly panelCount: number;
  readonly K4: number;
}

const ACT_CODE: Record<Activation, number> = { none: ACT_NONE, gelu: ACT_GELU, relu: ACT_RELU };

function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

export class WasmBackend implements Backend {
  readonly name: string;
  readonly relaxed: boolean;
  readonly threads: number;
  /** Columns per packed panel in this module (its build's NR). */
  private readonly nr: number;
  /** Rows per register tile of the module's GEMM (packA's row blocks). */
  private readonly mr: number;
  private f32: Float32Array;
  private u8: Uint8Array;
  /** First free byte: everything below is allocated (control block, weights, scratch regions). */
  private top: number;
  private scratchAt = 0;
  private scratchSize = 0;
  /** A shared memory's maximum in pages (growth must stop there); null when unbounded. */
  private readonly maxPages: number | null;
  /** The pass workspace's region (see workspace()): bytes [arenaAt, arenaAt + arenaSize). */
  private arenaAt = 0;
  private arenaSize = 0;
  private arenaTop = 0;
  /** Bytes the current pass asked for at most, overflow included: the next pass's arena is made that large. */
  private arenaWanted = 0;
  private arenaBusy = false;
  /** The SharedArrayBuffer objects workspace views were made on (memory.buffer is a new one after each grow). */
  private readonly ours = new WeakSet<ArrayBufferLike>();

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly ex: KernelExports,
    private pool: GemmPool | null,
    description: ModuleDescription,
    reserved: number,
  ) {
    this.relaxed = description.relaxed;
    this.nr = description.nr;
    this.mr = description.mr;
    this.threads = pool?.size ?? 1;
    this.name = `wasm${this.relaxed ? "-relaxed" : ""}${this.threads > 1 ? `-${this.threads}t` : ""}`;
    this.f32 = new Float32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.top = reserved;
    this.maxPages = description.shared ? (description.maximumPages ?? DEFAULT_SHARED_MAX_PAGES) : null;
  }

  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new InputError("WasmBackend: threads", `is ${JSON.stringify(options.threads)}`, "an integer from 1 to 256");
    }
    const spin = options.spinMicroseconds;
    if (spin !== undefined && !(spin >= 0 && spin <= 1e6)) {
      throw new InputError("WasmBackend: spinMicroseconds", `is ${JSON.stringify(spin)}`, "a number of microseconds from 0 to 1e6");
    }
    let module = options.module;
    let description: ModuleDescription;
    if (module !== undefined) {
      description = describeCompiled(module);
      if (threads > 1 && !description.shared) {
        throw new InputError("WasmBackend: module", "was built without shared memory but threads > 1 was asked for", 'a module from wasmKernelBytes({ shared: true }), or threads: 1');
      }
    } else {
      if (!wasmSimdSupported()) throw new InputError("WasmBackend", "this JavaScript engine has no WebAssembly SIMD", 'backend "js"');
      const relaxed = options.relaxed ?? relaxedSimdSupported();
      if (relaxed && !relaxedSimdSupported()) throw new InputError("WasmBackend: relaxed", "is true but this engine has no relaxed SIMD", "relaxed: false");
      const maximumPages = Math.ceil((options.maximumMemory ?? DEFAULT_SHARED_MAX_PAGES * PAGE) / PAGE);
      // Shared memory also on one thread where the host allows it: views of a shared memory survive its growth, so
      // activations can live in it across a forward pass (workspace()) instead of being copied in and out.
      const bytes = buildKernelModule({ relaxed, shared: threads > 1 || sharedMemoryAllowed(), maximumPages });
      module = await WebAssembly.compile(bytes);
      description = describeCompiled(module);
    }
    let factory: WorkerFactory | null = null;
    if (threads > 1) {
      if (!canBlock()) {
        throw new InputError("WasmBackend: threads", "need SharedArrayBuffer and Atomics.wait, which this thread does not allow (a browser's main thread never does)", "threads: 1, or run the model inside a Web Worker");
      }
      factory = options.workerFactory ?? webWorkerFactory();
      if (factory === null) throw new InputError("WasmBackend: workerFactory", "is missing and this runtime has no global Worker", "nodeWorkerFactory() from distilbert-ts/node under Node");
    }
    const memory = description.shared
      ? new WebAssembly.Memory({ initial: 1, maximum: description.maximumPages ?? DEFAULT_SHARED_MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: 1 });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const ex = instance.exports as unknown as KernelExports;
    // Bytes [0, 64) stay unused so that address 0 can mean "no bias"; the pool's control block follows.
    const ctrl = 64;
    let pool: GemmPool | null = null;
    if (factory !== null) {
      try {
        pool = await GemmPool.start(threads, factory, module, memory, ctrl, options.spinMicroseconds);
      } catch (e) {
        // Said, not swallowed: loadModel's "auto" would otherwise fall back to js on one thread without a word.
        const why = e instanceof Error ? e.message : String((e as { message?: unknown } | null)?.message ?? e);
        throw new InputError("WasmBackend: threads", `${threads} threads were asked for but a pool worker could not start (${why})`, "threads: 1, or a workerFactory that can start workers in this host");
      }
    }
    return new WasmBackend(memory, ex, pool, description, ctrl + CTRL_BYTES);
  }

  /** Stop the worker pool, if any (idempotent); later calls run on the calling thread alone. */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  /** Bytes of WebAssembly memory in use (weights plus scratch). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  // ---- memory ----------------------------------------------------------------------------------------------------

  /**
   * Memory up to byte `end`. `ahead`: grow by at least an eighth (for the weights: each grow is a syscall and an
   * external-memory GC hint, and growing per weight matrix made ~75 grows per model); the pass arena and scratch grow
   * to the page they need, since the memory a Worker may hold counts every page, written or not.
   */
  private ensure(end: number, ahead = false): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.max(Math.ceil((end - have) / PAGE), ahead ? Math.ceil(have / PAGE / 8) : 0);
      const max = this.maxPages;
      try {
        this.memory.grow(max === null ? pages : Math.max(Math.ceil((end - have) / PAGE), Math.min(pages, max - have / PAGE)));
      } catch {
        throw new InputError("WasmBackend", `needs ${end} bytes of WebAssembly memory, more than the engine or the memory's maximum allows`, "smaller batches, or a larger maximumMemory when threads > 1");
      }
    }
    if (this.f32.buffer !== this.memory.buffer) {
      // grow() detached (or, when shared, outgrew) the old buffer: views must be made anew.
      this.f32 = new Float32Array(this.memory.buffer);
      this.u8 = new Uint8Array(this.memory.buffer);
    }
  }

  private alloc(bytes: number): number {
    const at = this.top;
    this.ensure(at + align64(bytes), true);
    this.top = at + align64(bytes);
    return at;
  }

  /**
   * A region of at least `bytes`, valid until the next scratch() call. During a pass it is the arena above the pass's
   * buffers (no backend call allocates from the workspace, so nothing is placed there before the call returns).
   */
  private scratch(bytes: number): number {
    if (this.arenaBusy && this.growArena(this.arenaTop + bytes)) {
      this.arenaWanted = Math.max(this.arenaWanted, this.arenaTop + bytes);
      return this.arenaAt + this.arenaTop;
    }
    if (bytes > this.scratchSize) {
      const size = align64(Math.max(bytes, this.scratchSize * 1.25));
      // When the scratch region is the last allocation, extend it in place.
      const at = this.scratchSize > 0 && this.scratchAt + this.scratchSize === this.top ? this.scratchAt : this.top;
      this.ensure(at + size);
      this.top = at + size;
      this.scratchAt = at;
      this.scratchSize = size;
    }
    this.ensure(this.top);
    return this.scratchAt;
  }

  /** The byte address of `a` when it is a workspace view of this memory, else -1. */
  private addressOf(a: Float32Array): number {
    return this.ours.has(a.buffer) ? a.byteOffset : -1;
  }

  /**
   * Makes the arena at least `end` bytes: in place when it is the last allocation (views of a shared memory survive
   * its growth, so the pass's buffers stay valid), or the first arena at the top. False when it cannot: something was
   * allocated after it, or the memory is at its maximum (the pass then gets plain arrays, see workspace()).
   */
  private growArena(end: number): boolean {
    if (end <= this.arenaSize) return true;
    if (this.arenaSize === 0) this.arenaAt = this.top;
    else if (this.arenaAt + this.arenaSize !== this.top) return false;
    const size = align64(end);
    try {
      this.ensure(this.arenaAt + size);
    } catch {
      return false;
    }
    this.arenaSize = size;
    this.top = this.arenaAt + size;
    return true;
  }

  /**
   * Activations of one forward pass in this backend's memory (shared memory only: a non-shared memory's views would
   * be detached by any growth during the pass). linear, attention and layerNorm then work on them in place. The
   * arena is the last allocation and grows in place as the pass asks, so the first pass at a new length lives in it
   * too; when it cannot grow, the rest of the pass gets plain arrays (still correct, copied as usual), and the next
   * pass an arena as large as this one wanted.
   */
  workspace(): Workspace | null {
    if (this.maxPages === null || this.arenaBusy) return null;
    this.arenaBusy = true;
    this.arenaTop = 0;
    this.arenaWanted = 0;
    let live = true;
    return {
      alloc: (n: number) => {
        const bytes = align64(n * 4);
        const at = this.arenaTop;
        this.arenaTop += bytes;
        this.arenaWanted = Math.max(this.arenaWanted, this.arenaTop);
        if (!live || !this.growArena(this.arenaTop)) return new Float32Array(n);
        const buffer = this.memory.buffer;
        this.ours.add(buffer);
        return new Float32Array(buffer, this.arenaAt + at, n);
      },
      mark: () => this.arenaTop,
      release: (mark: number) => {
        this.arenaTop = Math.min(this.arenaTop, mark);
      },
      end: () => {
        if (!live) return;
        live = false;
        this.arenaBusy = false;
        if (this.arenaWanted > this.arenaSize) {
          // It could not grow in place (weights were placed after it): it is abandoned, and the next one, as large
          // as this pass wanted, is the last allocation again.
          this.arenaSize = 0;
          this.growArena(this.arenaWanted);
        }
      },
    };
  }

  private put(src: Float32Array, n: number, at: number): void {
    this.f32.set(n === src.length ? src : src.subarray(0, n), at >>> 2);
  }

  /** dst [rows, cols] ← C [rows, ldc] at address c. */
  private take(dst: Float32Array, c: number, rows: number, cols: number, ldc: number): void {
    const base = c >>> 2;
    if (cols === ldc) dst.set(this.f32.subarray(base, base + rows * cols));
    else for (let r = 0; r < rows; r++) dst.set(this.f32.subarray(base + r * ldc, base + r * ldc + cols), r * cols);
  }

  private gemm(ap: number, bp: number, c: number, ldc: number, M: number, K: number, P: number, bias: number, alpha: number, act: number): void {
    // Below ~64k multiply-adds a pool round trip costs more than the work it shares.
    if (this.pool !== null && P >= 2 && P <= MAX_POOL_PANELS && M * K * P * this.nr >= 65536) this.pool.gemm(this.ex, ap, bp, c, ldc, M, K, P, bias, alpha, act);
    else this.ex.gemm(ap, bp, c, ldc, M, K, 0, P, bias, alpha, act);
  }

  /**
   * Packing A and LayerNorm are row by row, so the pool can share them too: each is 1–2% of a forward pass on one
   * thread, and every thread but one would wait through them. Below ~16–32k floats a pool round trip costs more.
   */
  private packA(src: number, dst: number, M: number, K: number, lds: number): void {
    if (this.pool !== null && M >= 2 * this.mr && M * K >= 32768) this.pool.packA(this.ex, src, dst, M, K, lds, this.mr);
    else this.ex.packA(src, dst, M, K, lds);
  }

  private layerNormAt(out: number, x: number, gamma: number, beta: number, T: number, C: number, eps: number): void {
    if (this.pool !== null && T >= 2 && T * C >= 16384) this.pool.layerNorm(this.ex, out, x, gamma, beta, T, C, eps);
    else this.ex.layerNorm(out, x, gamma, beta, T, C, eps);
  }

  // ---- Backend ---------------------------------------------------------------------------------------------------

  prepareLinear(weight: Float32Array, bias: Float32Array | null, dOut: number, dIn: number): LinearWeight {
    const P = Math.ceil(dOut / this.nr);
    const panels = this.alloc(P * dIn * this.nr * 4);
    const biasAt = bias !== null ? this.alloc(P * this.nr * 4) : 0;
    // Pack one panel (8 weight rows) at a time through a small scratch, so loading never needs a second copy of
    // the whole matrix in memory.
    for (let p = 0; p < P; p++) {
      const rows = Math.min(this.nr, dOut - p * this.nr);
      const tmp = this.scratch(rows * dIn * 4);
      this.f32.set(weight.subarray(p * this.nr * dIn, (p * this.nr + rows) * dIn), tmp >>> 2);
      this.ex.packBT(tmp, panels + p * dIn * this.nr * 4, rows, dIn, dIn);
    }
    if (bias !== null) {
      this.f32.fill(0, biasAt >>> 2, (biasAt >>> 2) + P * this.nr);
      this.f32.set(bias.subarray(0, dOut), biasAt >>> 2);
    }
    const packed: PackedLinear = { owner: this, panels, bias: biasAt, panelCount: P };
    // Nothing of the caller's is kept: holding `weight` (often a view of the whole weights file) would keep a second
    // copy of every matrix next to its panels. `weight` is rebuilt from the panels on each access instead (a new
    // array; bit for bit the original: panel p, step k, lane j holds row p·nr + j, column k), and bias is copied.
    const memory = this.memory;
    const nr = this.nr;
    return {
      bias: bias === null ? null : bias.slice(0, dOut),
      dOut,
      dIn,
      packed,
      get weight(): Float32Array {
        const out = new Float32Array(dOut * dIn);
        // Through integer views: a float load/store may canonicalise NaN payloads.
        const dst = new Uint32Array(out.buffer);
        const src = new Uint32Array(memory.buffer);
        for (let p = 0; p < P; p++) {
          const at = (panels >>> 2) + p * dIn * nr;
          const rows = Math.min(nr, dOut - p * nr);
          for (let j = 0; j < rows; j++) {
            const row = (p * nr + j) * dIn;
            for (let k = 0; k < dIn; k++) dst[row + k] = src[at + k * nr + j];
          }
        }
        return out;
      },
    };
  }

  /**
   * Packs a q8 weight into this memory (kernels-q8.ts's panels and meta); nothing of the caller's is kept: `q8` and
   * `weight` (dequantized) unpack the panels on access, so the int8 weights live once, here.
   */
  prepareLinearQ8(w: Q8Rows, bias: Float32Array | null): LinearWeight {
    const { rows: N, cols: K } = w;
    const P = Math.ceil(N / Q8_NR);
    const K4 = Math.ceil(K / 4);
    const npad = P * Q8_NR;
    const panels = this.alloc(P * K4 * 32);
    const meta = this.alloc(3 * npad * 4);
    const u8 = this.u8;
    u8.fill(0, panels, panels + P * K4 * 32);
    const q = new Uint8Array(w.q.buffer, w.q.byteOffset, w.q.length);
    if (K % 4 === 0 && w.q.byteOffset % 4 === 0) {
      // A panel group is 4 bytes of a row: move them as one word (a quarter of the loads and stores at load time).
      const q32 = new Int32Array(w.q.buffer, w.q.byteOffset, (N * K) >> 2);
      const p32 = new Int32Array(this.memory.buffer);
      for (let n = 0; n < N; n++) {
        const base = (panels + Math.floor(n / Q8_NR) * K4 * 32 + (n % Q8_NR) * 4) >> 2;
        for (let g = 0, src = n * K4; g < K4; g++) p32[base + g * 8] = q32[src + g];
      }
    } else for (let n = 0; n < N; n++) {
      const base = panels + Math.floor(n / Q8_NR) * K4 * 32 + (n % Q8_NR) * 4;
      const src = n * K;
      for (let g = 0, k = 0; g < K4; g++, k += 4) {
        const at = base + g * 32;
        const left = K - k;
        if (left >= 4) {
          u8[at] = q[src + k];
          u8[at + 1] = q[src + k + 1];
          u8[at + 2] = q[src + k + 2];
          u8[at + 3] = q[src + k + 3];
        } else for (let i = 0; i < left; i++) u8[at + i] = q[src + k + i];
      }
    }
    const i32 = new Int32Array(this.memory.buffer, meta, npad);
    i32.fill(0);
    i32.set(rowSums(w));
    this.f32.fill(0, (meta >>> 2) + npad, (meta >>> 2) + 3 * npad);
    this.f32.set(w.scales.subarray(0, N), (meta >>> 2) + npad);
    if (bias !== null) this.f32.set(bias.subarray(0, N), (meta >>> 2) + 2 * npad);
    const packed: PackedQ8 = { owner: this, q8: true, panels, meta, panelCount: P, K4 };
    return q8LinearWeight(() => this.unpackQ8(packed, N, K), bias === null ? null : bias.slice(0, N), packed, { rows: N, cols: K });
  }

  /** The Q8Rows that prepareLinearQ8 packed into `p` (the inverse of its layout). */
  private unpackQ8(p: PackedQ8, N: number, K: number): Q8Rows {
    const npad = p.panelCount * Q8_NR;
    const u8 = this.u8;
    const q = new Int8Array(N * K);
    for (let n = 0; n < N; n++) {
      const base = p.panels + Math.floor(n / Q8_NR) * p.K4 * 32 + (n % Q8_NR) * 4;
      for (let k = 0; k < K; k++) q[n * K + k] = (u8[base + (k >> 2) * 32 + (k & 3)] << 24) >> 24;
    }
    const scales = this.f32.slice((p.meta >>> 2) + npad, (p.meta >>> 2) + npad + N);
    return { rows: N, cols: K, q, scales };
  }

  /** C [T, ldc] ← the q8 product of the codes at `codes` (rows ldx bytes apart) with every panel of p. */
  private gemmQ8Panels(p: PackedQ8, codes: number, ldx: number, xs: number, xz: number, hasBias: boolean, c: number, ldc: number, T: number, act: Activation): void {
    const P = p.panelCount;
    const bias = hasBias ? 1 : 0;
    if (this.pool !== null && P >= 2 && P <= MAX_POOL_PANELS && T * p.K4 * 4 * P * Q8_NR >= 65536) {
      this.pool.gemmQ8(this.ex, codes, ldx, xs, xz, p.panels, p.meta, ldc, bias, c, ldc, T, p.K4, P, ACT_CODE[act]);
    } else this.ex.gemmQ8(codes, ldx, xs, xz, p.panels, p.meta, ldc, bias, c, ldc, T, p.K4, 0, P, ACT_CODE[act]);
  }

  linear(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation): void {
    if ((w.packed as { owner?: unknown } | undefined)?.owner !== this) {
      throw new InputError("WasmBackend.linear", "got a weight prepared by another backend", "a LinearWeight from this backend's prepareLinear");
    }
    if (T === 0 || w.dOut === 0) return;
    if (w.dIn === 0 && !isQ8(w)) {
      for (let t = 0; t < T; t++) for (let n = 0; n < w.dOut; n++) y[t * w.dOut + n] = activateScalar(w.bias !== null ? w.bias[n] : 0, act);
      return;
    }
    this.linears([y], x, [w], T, act);
  }

  /**
   * Several Linears of one input (attention's q, k, v): x is packed (f32) or quantized (q8) once, then each product
   * runs; `linear` is this with one weight, so each output has the bits `linear` gives. Declines mixed kinds, other backends'
   * weights, differing dIn.
   */
  linears(ys: readonly Float32Array[], x: Float32Array, ws: readonly LinearWeight[], T: number, act: Activation): boolean {
    if (ws.length === 0 || ws.length !== ys.length) return ws.length === 0 && ys.length === 0;
    const K = ws[0].dIn;
    const q8 = ws.every((w) => isQ8(w) && (w.packed as PackedQ8 | undefined)?.owner === this);
    const f32 = ws.every((w) => !isQ8(w) && (w.packed as PackedLinear | undefined)?.owner === this);
    // (an f32 weight with dIn 0 has no panels to multiply: linear fills it with the bias)
    if (!(q8 || f32) || (f32 && K === 0) || ws.some((w) => w.dIn !== K || w.dOut === 0)) return false;
    if (T === 0) return true;
    const ldcs = ws.map((w) => (w.packed as PackedQ8 | PackedLinear).panelCount * (q8 ? Q8_NR : this.nr));
    const yAts = ys.map((y, i) => (ldcs[i] === ws[i].dOut ? this.addressOf(y) : -1));
    const cBytes = yAts.every((a) => a >= 0) ? 0 : align64(T * Math.max(...ldcs) * 4);
    const xAt = this.addressOf(x);
    const xBytes = xAt >= 0 ? 0 : align64(T * K * 4);
    let c = 0;
    let prepared: (i: number, c: number) => void;
    if (q8) {
      const K4 = (ws[0].packed as PackedQ8).K4;
      const ldx = align64(K4 * 4);
      const codeBytes = align64(T * ldx);
      const rowBytes = align64(T * 4);
      const codes = this.scratch(codeBytes + 2 * rowBytes + xBytes + cBytes);
      const [xs, xz] = [codes + codeBytes, codes + codeBytes + rowBytes];
      let xa = xAt;
      if (xa < 0) {
        xa = xz + rowBytes;
        this.put(x, T * K, xa);
      }
      c = xz + rowBytes + xBytes;
      this.ex.quantizeQ8(xa, K, T, K, codes, ldx, xs, xz);
      prepared = (i, ci) => this.gemmQ8Panels(ws[i].packed as PackedQ8, codes, ldx, xs, xz, ws[i].bias !== null, ci, ldcs[i], T, act);
    } else {
      const aBytes = align64(T * K * 4);
      const ap = this.scratch(aBytes + Math.max(xBytes, cBytes));
      let xs = xAt;
      if (xs < 0) {
        xs = ap + aBytes;
        this.put(x, T * K, xs);
      }
      this.packA(xs, ap, T, K, K);
      c = ap + aBytes; // x's copy is dead once packed
      prepared = (i, ci) => {
        const p = ws[i].packed as PackedLinear;
        this.gemm(ap, p.panels, ci, ldcs[i], T, K, p.panelCount, p.bias, 1, ACT_CODE[act]);
      };
    }
    ys.forEach((y, i) => {
      prepared(i, yAts[i] >= 0 ? yAts[i] : c);
      if (yAts[i] < 0) this.take(y, c, T, ws[i].dOut, ldcs[i]);
    });
    return true;
  }

  matmulTransB(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number): void {
    this.product(out, a, b, M, N, K, alpha, true);
  }

  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
    this.product(out, a, b, M, N, K, 1, false);
  }

  /** out [M, N] = alpha · a [M, K] · B, B = bᵀ with b [N, K] (transB) or b [K, N]. */
  private product(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number, transB: boolean): void {
    if (M === 0 || N === 0) return;
    if (K === 0) {
      out.fill(0, 0, M * N);
      return;
    }
    const P = Math.ceil(N / this.nr);
    const ldc = P * this.nr;
    const apBytes = align64(M * K * 4);
    const bpBytes = align64(ldc * K * 4);
    const tmpBytes = align64(Math.max(M, N) * K * 4);
    const base = this.scratch(apBytes + bpBytes + tmpBytes + M * ldc * 4);
    const ap = base;
    const bp = ap + apBytes;
    const tmp = bp + bpBytes;
    const c = tmp + tmpBytes;
    this.put(a, M * K, tmp);
    this.ex.packA(tmp, ap, M, K, K);
    this.put(b, N * K, tmp);
    if (transB) this.ex.packBT(tmp, bp, N, K, K);
    else this.ex.packB(tmp, bp, K, N, N);
    this.gemm(ap, bp, c, ldc, M, K, P, 0, alpha, ACT_NONE);
    this.take(out, c, M, N, ldc);
  }

  /**
   * Every head of every span in one pass through WebAssembly memory: q, k, v copied in once, each head computed in
   * place by the `attention` kernel (its packers read the head's columns where they are; its last GEMM writes them
   * where they go), the context copied out once; with a pool, the (span, head) units are shared among the threads.
   * Declines (returns false) when dh is not a multiple of the panel width, a span may attend to no key, or a span's
   * query rows are none or more than its length; `portable` (the attentionPortable kernel), those cases are computed
   * by portable-attention.ts itself.
   */
  attention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number, scale: number, queries: readonly RowRange[] = spans, portable = false): boolean {
    if (!this.attentionKernel(out, q, k, v, spans, H, dh, scale, queries, portable)) {
      if (!portable) return false;
      attentionPortable(out, q, k, v, spans, H, dh, scale, queries);
    }
    return true;
  }

  private attentionKernel(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number, scale: number, queries: readonly RowRange[], portable: boolean): boolean {
    if (dh === 0 || dh % this.nr !== 0 || H === 0 || queries.length !== spans.length) return false;
    let N = 0;
    let Nq = 0;
    let Lmax = 0;
    let maskBytes = 0;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const r = queries[i];
      if (s.keyMask !== null && !s.keyMask.subarray(0, s.len).some((m) => m !== 0)) return false;
      if (!(r.len >= 1 && r.len <= s.len && r.start >= 0)) return false;
      N += s.len;
      Nq = Math.max(Nq, r.start + r.len);
      Lmax = Math.max(Lmax, s.len);
      maskBytes += s.len;
    }
    if (N === 0) return true;
    const dim = H * dh;
    const units = spans.length * H;
    const useInPool = this.pool !== null && units >= 2 && units <= MAX_POOL_PANELS;
    const participants = useInPool ? this.pool!.size : 1;
    const plane = align64(Math.max(N, Nq) * dim * 4);
    const tableBytes = align64(spans.length * ATTENTION_TABLE_BYTES);
    const per = align64(attentionScratchBytes(Lmax, dh, this.nr));
    // Each of q, k, v, out is used where it is when it is a workspace view, else gets a plane of the scratch.
    const at = [q, k, v, out].map((a) => this.addressOf(a));
    const planes = at.filter((a) => a < 0).length;
    const base = this.scratch(planes * plane + tableBytes + align64(maskBytes) + participants * per);
    let next = base;
    const [qa, ka, va, oa] = at.map((a) => (a >= 0 ? a : (next += plane) - plane));
    const table = base + planes * plane;
    const masks = table + tableBytes;
    const work = masks + align64(maskBytes);
    if (at[0] < 0) this.put(q, Nq * dim, qa);
    if (at[1] < 0) this.put(k, N * dim, ka);
    if (at[2] < 0) this.put(v, N * dim, va);
    const fields = ATTENTION_TABLE_BYTES / 4;
    const i32 = new Int32Array(this.memory.buffer, table, spans.length * fields);
    let m = masks;
    spans.forEach((s, i) => {
      const e = fields * i;
      i32[e] = s.start;
      i32[e + 1] = s.len;
      // Address 0 (never used) means every key may be attended to: the softmax then skips the mask.
      i32[e + 2] = s.keyMask === null ? 0 : m;
      i32[e + 3] = queries[i].start;
      i32[e + 4] = queries[i].len;
      if (s.keyMask !== null) this.u8.set(s.keyMask.subarray(0, s.len), m);
      m += s.len;
    });
    if (useInPool) this.pool!.attention(this.ex, qa, ka, va, oa, dim, dh, H, table, units, scale, work, per, portable);
    else (portable ? this.ex.attentionPortable : this.ex.attention)(qa, ka, va, oa, dim, dh, H, table, 0, units, scale, work);
    if (at[3] < 0) this.take(out, oa, Nq, dim, dim);
    return true;
  }

  softmaxRows(x: Float32Array, rows: number, C: number, keyMask: Uint8Array | null): void {
    if (rows === 0 || C === 0) return;
    if (keyMask !== null && !keyMask.subarray(0, C).some((m) => m !== 0)) {
      // No key may be attended to: Hugging Face's masked_fill + softmax gives a uniform row.
      x.fill(1 / C, 0, rows * C);
      return;
    }
    const n = rows * C;
    const base = this.scratch(align64(n * 4) + C);
    const mask = keyMask === null ? 0 : base + align64(n * 4);
    this.put(x, n, base);
    if (keyMask !== null) this.u8.set(keyMask.subarray(0, C), mask);
    this.ex.softmaxRows(base, rows, C, mask, C);
    x.set(this.f32.subarray(base >>> 2, (base >>> 2) + n));
  }

  layerNorm(out: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, T: number, C: number, eps: number): void {
    if (T === 0 || C === 0) return;
    const n = T * C;
    const cBytes = align64(C * 4);
    const xAt = out === x ? this.addressOf(x) : -1;
    const base = this.scratch(2 * cBytes + (xAt >= 0 ? 0 : n * 4));
    const g = base;
    const b = g + cBytes;
    this.put(gamma, C, g);
    this.put(beta, C, b);
    if (xAt >= 0) {
      this.layerNormAt(xAt, xAt, g, b, T, C, eps);
      return;
    }
    const xs = b + cBytes;
    this.put(x, n, xs);
    this.layerNormAt(xs, xs, g, b, T, C, eps);
    out.set(this.f32.subarray(xs >>> 2, (xs >>> 2) + n));
  }

  addInPlace(y: Float32Array, x: Float32Array, n: number): void {
    const yAt = this.addressOf(y);
    const xAt = this.addressOf(x);
    if (yAt >= 0 && xAt >= 0) this.ex.addInPlace(yAt, xAt, n);
    else for (let i = 0; i < n; i++) y[i] += x[i];
  }

  activate(x: Float32Array, n: number, act: Activation): void {
    if (act === "relu") {
      for (let i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
    } else if (act === "gelu" && n > 0) {
      // The same wasm GELU as the one fused into linear, so both paths give identical values.
      const base = this.scratch(n * 4);
      this.put(x, n, base);
      this.ex.geluInPlace(base, n);
      x.set(this.f32.subarray(base >>> 2, (base >>> 2) + n));
    }
  }
}

function activateScalar(v: number, act: Activation): number {
  return act === "gelu" ? Math.fround(gelu(v)) : act === "relu" ? (v > 0 ? v : 0) : v;
}

/** Read the build options a compiled module carries in its custom section. */
function describeCompiled(module: WebAssembly.Module): ModuleDescription {
  const sections = WebAssembly.Module.customSections(module, FEATURES_SECTION);
  let d: ModuleDescription | undefined;
  try {
    if (sections.length === 1) d = JSON.parse(String.fromCharCode(...new Uint8Array(sections[0]))) as ModuleDescription;
  } catch {
    d = undefined;
  }
  if (d === undefined || d.version !== KERNELS_VERSION || d.nr % 4 !== 0) {
    throw new InputError("WasmBackend: module", `is not a distilbert-ts kernel module of version ${KERNELS_VERSION}`, "a module compiled from this version's wasmKernelBytes()");
  }
  return d;
}
