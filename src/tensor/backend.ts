/**
 * The kernel interface every layer computes through. A backend owns how the numbers are crunched (plain JS,
 * WebAssembly SIMD, threads); the layers only say what to compute, with explicit dimensions, so a new backend
 * never touches a layer.
 *
 * All buffers are row-major Float32Arrays. Kernels are synchronous and must not allocate in their inner loops;
 * `out` never aliases an input unless the kernel says so.
 */
import type { Q8Rows } from "./quant.js";

export type Activation = "none" | "gelu" | "relu";

/**
 * A Linear layer's weight, prepared once at load for one backend (a backend may pack or transpose it).
 * `weight` is the checkpoint's [dOut, dIn] matrix, as stored.
 */
export interface LinearWeight {
  readonly dOut: number;
  readonly dIn: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array | null;
  /** Backend-private data (packed panels, a WebAssembly address, ...). */
  readonly packed?: unknown;
  /**
   * Set for a q8 weight (prepareLinearQ8): the int8 rows and scales; `linear` then runs the q8 scheme of
   * src/tensor/quant.ts, and `weight` is their dequantized f32 (built on access). A backend may build the rows on
   * access too (the wasm backend unpacks its panels), so test for a q8 weight with `isQ8(w)`, never by reading it.
   */
  readonly q8?: Q8Rows;
}

/** One sequence's rows in packed [N, ·] buffers (what attention needs of a layers/context.ts Span). */
export interface AttentionSpan {
  readonly start: number;
  readonly len: number;
  /** [len]: 0 where the key may not be attended to; null = all may. */
  readonly keyMask: Uint8Array | null;
}

/** Rows [start, start + len) of a packed [rows, ·] buffer. */
export interface RowRange {
  readonly start: number;
  readonly len: number;
}

export interface Backend {
  readonly name: string;

  /** Prepare a Linear layer's weight [dOut, dIn] and bias [dOut] for `linear`. Called once per layer at load. */
  prepareLinear(weight: Float32Array, bias: Float32Array | null, dOut: number, dIn: number): LinearWeight;

  /**
   * y [T, dOut] = act(x [T, dIn] · Wᵀ [dIn, dOut] + b [dOut]). `act` applies to the float32-rounded sum, so the
   * result equals `linear(…, "none")` then `activate` bit for bit (capturing `ffn.pre` must not change any output).
   */
  linear(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation): void;

  /**
   * Optional: prepare a q8 Linear weight (int8 rows [dOut, dIn] with one f32 scale per output channel, quant.ts).
   * Its `linear` must give, bit for bit, what quant.ts's rules give (naive.ts's naiveLinearQ8), whatever the batch,
   * the threads or the instruction set. A backend without it gets the dequantized f32 weight through prepareLinear.
   */
  prepareLinearQ8?(w: Q8Rows, bias: Float32Array | null): LinearWeight;

  /** out [M, N] = alpha · a [M, K] · bᵀ, with b stored [N, K] (attention scores: Q · Kᵀ). */
  matmulTransB(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number): void;

  /** out [M, N] = a [M, K] · b [K, N] (attention context: P · V). */
  matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void;

  /**
   * In place over x [rows, C]: a numerically stable softmax of each row. Where keyMask [C] is 0 the probability is
   * exactly 0; a row whose keys are all masked becomes uniform over all C keys, as Hugging Face's
   * `masked_fill(finfo.min)` then softmax gives.
   */
  softmaxRows(x: Float32Array, rows: number, C: number, keyMask: Uint8Array | null): void;

  /** out [T, C] = (x - mean) / sqrt(var + eps) · gamma + beta over each row of x [T, C]; out may alias x. */
  layerNorm(out: Float32Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, T: number, C: number, eps: number): void;

  /** y [n] += x [n] */
  addInPlace(y: Float32Array, x: Float32Array, n: number): void;

  /** x [n] = act(x) in place. */
  activate(x: Float32Array, n: number, act: Activation): void;

  /**
   * Optional: several Linears of one input x [T, dIn] (attention's q, k and v): ys[i] [T, ws[i].dOut] ← what
   * linear(ys[i], x, ws[i], T, act) gives, bit for bit; the backend may prepare x once (pack it, quantize it). Returns
   * false, having written nothing, for a case it does not take (the caller then calls linear for each).
   */
  linears?(ys: readonly Float32Array[], x: Float32Array, ws: readonly LinearWeight[], T: number, act: Activation): boolean;

  /**
   * Optional: multi-head self-attention of every span in one call, for a backend that can skip the per-head copies.
   * Per span s and head h (columns [h·dh, (h+1)·dh) of q, k, v; k and v are [N, H·dh], span s their rows s.start …
   * s.start + s.len): out_h ← softmax(scale · q_h · k_hᵀ, s.keyMask) · v_h. The result must equal, bit for bit, what
   * matmulTransB, softmaxRows and matmul give head by head. Returns false, having written nothing, for a case it does
   * not take; the layer then goes head by head.
   *
   * queries: where span s's query rows are in q and out (rows queries[s].start … + len, 1 ≤ len ≤ s.len): any of
   * the span's rows, since a row's result depends on that row of q alone; rows of out that are no span's queries are
   * left unspecified. Default: the span's own rows (q and out [N, H·dh] like k and v). A model computing only some
   * rows of a layer (a classifier's last layer, for its [CLS] rows) gathers them before q_lin and passes them here.
   *
   * portable: the result must instead be, bit for bit, src/tensor/portable-attention.ts's attentionPortable (float32
   * with every rounding stated: no fused multiply-add, sums in order): the same in every backend, what a q8 model asks
   * for (its Linears are integer-exact, so its whole forward is then). A backend that has `attention` must take every
   * portable call (return true).
   */
  attention?(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number, scale: number, queries?: readonly RowRange[], portable?: boolean): boolean;

  /**
   * Optional: memory for one forward pass's activations, or null. A backend may hand out views of its own memory so
   * that its kernels read and write them in place instead of copying them in and out. At most one pass at a time.
   */
  workspace?(): Workspace | null;
}

/**
 * A stack of activation buffers for one forward pass. Contents of a new buffer are unspecified (every layer writes
 * all of its output). Buffers stay valid until `release` of an earlier mark or `end`; nothing from a workspace may
 * outlive the pass (outputs, captures and hooks get plain arrays).
 */
export interface Workspace {
  alloc(n: number): Float32Array;
  mark(): number;
  /** Free every buffer allocated after `mark` was taken. */
  release(mark: number): void;
  /** Free everything; the workspace is not used again. */
  end(): void;
}

/** Whether `w` is a q8 weight, without reading `q8` (which may unpack the whole matrix). */
export function isQ8(w: LinearWeight): boolean {
  return "q8" in w;
}
