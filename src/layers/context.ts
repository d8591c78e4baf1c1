/**
 * What one forward pass carries through the layers: the backend, how the packed rows split into sequences, and
 * (only when the caller asked for activations) the taps.
 *
 * Rows are packed: the linear layers see every token of every sequence as one [N, dim] matrix with no padding,
 * and only attention looks at sequences one at a time. A batch of mixed lengths therefore costs what its tokens
 * cost.
 */
import type { Backend } from "../tensor/backend.js";

/** One sequence's rows in the packed [N, ·] buffers. */
export interface Span {
  /** First packed row. Row `start` is always the sequence's position 0 (its [CLS]), which the head reads. */
  readonly start: number;
  readonly len: number;
  /** [len]: 0 where the row may not be attended to (a padded key kept only as a query); null = all attendable. */
  readonly keyMask: Uint8Array | null;
}

/**
 * Called with each named activation, in order. A tap may read `data` or overwrite it in place; its shape is
 * [batch, ...] because taps only run when every sequence keeps all of its T rows (the "full" layout).
 */
export interface Taps {
  wants(name: string): boolean;
  emit(name: string, data: Float32Array, shape: readonly number[]): void;
}

export interface ForwardContext {
  readonly backend: Backend;
  readonly spans: readonly Span[];
  /** Total packed rows, the sum of span lengths. */
  readonly rows: number;
  /** Set only in the full layout (every span has the same length T and starts at b·T). */
  readonly taps: Taps | null;
  /** [n_layers · n_heads] multipliers of the attention probabilities, as Hugging Face's head_mask. */
  readonly headMask: Float32Array | null;
  /**
   * Where layers take their activation buffers: the backend's pass workspace on the fast path (buffers may live in
   * the backend's own memory and are reused once released), plain new arrays when taps may keep them.
   */
  readonly alloc: (n: number) => Float32Array;
  /** Free the buffers allocated since `mark()` (no-op without a workspace). */
  readonly mark: () => number;
  readonly release: (mark: number) => void;
}

/** out [S, dim] ← the first row of each span of x [N, dim] (its [CLS], the row the classification head reads). */
export function gatherFirstRows(out: Float32Array, x: Float32Array, spans: readonly Span[], dim: number): Float32Array {
  spans.forEach((s, b) => out.set(x.subarray(s.start * dim, (s.start + 1) * dim), b * dim));
  return out;
}

/** Activations shaped [batch, T, ...rest] in the full layout. */
export function batchShape(ctx: ForwardContext, ...rest: number[]): number[] {
  const B = ctx.spans.length;
  return [B, B === 0 ? 0 : ctx.spans[0].len, ...rest];
}
