import type { Backend } from "../tensor/backend.js";
import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
import { Linear } from "./linear.js";
import type { WeightSource } from "./weights.js";

/** torch.finfo(float32).min: what Hugging Face writes into masked scores before the softmax. */
const MASKED_SCORE = -3.4028234663852886e38;

/**
 * DistilBERT's MultiHeadSelfAttention. Head h owns the contiguous columns [h·dh, (h+1)·dh) of q, k and v
 * (HF's `view(bs, -1, n_heads, dh).transpose(1, 2)`); q is divided by √dh before Q·Kᵀ; masked keys get probability
 * exactly 0.
 */
export class MultiHeadSelfAttention {
  readonly headDim: number;

  constructor(
    readonly qLin: Linear,
    readonly kLin: Linear,
    readonly vLin: Linear,
    readonly outLin: Linear,
    readonly nHeads: number,
    readonly layerIndex: number,
  ) {
    this.headDim = qLin.dOut / nHeads;
  }

  static load(src: WeightSource, prefix: string, dim: number, nHeads: number, layerIndex: number, backend: Backend): MultiHeadSelfAttention {
    const lin = (name: string) => Linear.load(src, `${prefix}.${name}`, dim, dim, backend);
    return new MultiHeadSelfAttention(lin("q_lin"), lin("k_lin"), lin("v_lin"), lin("out_lin"), nHeads, layerIndex);
  }

  /** x [N, dim] → [N, dim] */
  forward(ctx: ForwardContext, x: Float32Array): Float32Array {
    const { backend, spans, rows: N, taps } = ctx;
    const H = this.nHeads;
    const dh = this.headDim;
    const dim = H * dh;
    const name = `layer.${this.layerIndex}.attn`;

    const q = this.qLin.forward(backend, x, N, "none", ctx.alloc(N * dim));
    const k = this.kLin.forward(backend, x, N, "none", ctx.alloc(N * dim));
    const v = this.vLin.forward(backend, x, N, "none", ctx.alloc(N * dim));
    const scale = 1 / Math.sqrt(dh);

    // The fast path: nothing to show or change per head, and a backend that does all heads in one call.
    if (taps === null && ctx.headMask === null && backend.attention !== undefined) {
      const context = ctx.alloc(N * dim);
      if (backend.attention(context, q, k, v, spans, H, dh, scale)) return this.outLin.forward(backend, context, N, "none", ctx.alloc(N * dim));
    }

    // Split heads per sequence: span s occupies [start·dim, (start+len)·dim) of each buffer laid out [H, len, dh],
    // which in the full layout makes the whole buffer [B, H, T, dh].
    const qh = splitHeads(q, spans, H, dh);
    const kh = splitHeads(k, spans, H, dh);
    const vh = splitHeads(v, spans, H, dh);
    if (taps !== null) {
      const shape = [spans.length, H, spans.length ? spans[0].len : 0, dh];
      taps.emit(`${name}.q`, qh, shape);
      taps.emit(`${name}.k`, kh, shape);
      taps.emit(`${name}.v`, vh, shape);
    }

    let scoreSize = 0;
    for (const s of spans) scoreSize += H * s.len * s.len;
    const probs = new Float32Array(scoreSize);
    let sOff = 0;
    for (const s of spans) {
      const L = s.len;
      for (let h = 0; h < H; h++) {
        const hOff = s.start * dim + h * L * dh;
        const out = probs.subarray(sOff + h * L * L, sOff + (h + 1) * L * L);
        backend.matmulTransB(out, qh.subarray(hOff, hOff + L * dh), kh.subarray(hOff, hOff + L * dh), L, L, dh, scale);
      }
      sOff += H * L * L;
    }

    const T = spans.length ? spans[0].len : 0;
    if (taps !== null && taps.wants(`${name}.scores`)) {
      // Make the captured scores what HF's masked_fill produces; the softmax itself goes by the key mask.
      sOff = 0;
      for (const s of spans) {
        if (s.keyMask !== null) {
          for (let r = 0; r < H * s.len; r++) for (let j = 0; j < s.len; j++) if (s.keyMask[j] === 0) probs[sOff + r * s.len + j] = MASKED_SCORE;
        }
        sOff += H * s.len * s.len;
      }
      taps.emit(`${name}.scores`, probs, [spans.length, H, T, T]);
    }

    sOff = 0;
    const headMask = ctx.headMask;
    for (const s of spans) {
      const L = s.len;
      backend.softmaxRows(probs.subarray(sOff, sOff + H * L * L), H * L, L, s.keyMask);
      if (headMask !== null) {
        for (let h = 0; h < H; h++) {
          const m = headMask[this.layerIndex * H + h];
          if (m !== 1) for (let i = sOff + h * L * L; i < sOff + (h + 1) * L * L; i++) probs[i] *= m;
        }
      }
      sOff += H * L * L;
    }
    taps?.emit(`${name}.probs`, probs, [spans.length, H, T, T]);

    // context per head [L, dh] = probs [L, L] · v [L, dh], then heads concatenated back to [L, dim].
    const ctxHeads = new Float32Array(N * dim);
    sOff = 0;
    for (const s of spans) {
      const L = s.len;
      for (let h = 0; h < H; h++) {
        const hOff = s.start * dim + h * L * dh;
        backend.matmul(ctxHeads.subarray(hOff, hOff + L * dh), probs.subarray(sOff + h * L * L, sOff + (h + 1) * L * L), vh.subarray(hOff, hOff + L * dh), L, dh, L);
      }
      sOff += H * L * L;
    }
    const context = mergeHeads(ctxHeads, spans, H, dh);
    taps?.emit(`${name}.context`, context, batchShape(ctx, dim));

    const out = this.outLin.forward(backend, context, N, "none", ctx.alloc(N * dim));
    taps?.emit(`${name}.out`, out, batchShape(ctx, dim));
    return out;
  }
}

/**
 * Attention for one query row per span (row `span.start`, its [CLS]) against all of that span's keys: what the last
 * layer of a classifier needs, since the head reads nothing else. q is computed for those rows only, k and v for all;
 * each output row is bit for bit the full layer's row, because every kernel computes a row from that row alone.
 *
 * x [N, dim] (all rows), xq [S, dim] (the query rows, S = spans) → [S, dim]
 */
export function attentionForQueries(attn: MultiHeadSelfAttention, ctx: ForwardContext, x: Float32Array, xq: Float32Array): Float32Array {
  const { backend, spans, rows: N, headMask } = ctx;
  const H = attn.nHeads;
  const dh = attn.headDim;
  const dim = H * dh;
  const S = spans.length;
  const q = attn.qLin.forward(backend, xq, S, "none", ctx.alloc(S * dim));
  const k = attn.kLin.forward(backend, x, N, "none", ctx.alloc(N * dim));
  const v = attn.vLin.forward(backend, x, N, "none", ctx.alloc(N * dim));
  const scale = 1 / Math.sqrt(dh);
  const context = ctx.alloc(S * dim);
  if (headMask === null && backend.attention?.(context, q, k, v, spans, H, dh, scale, true)) {
    return attn.outLin.forward(backend, context, S, "none", ctx.alloc(S * dim));
  }
  let Lmax = 0;
  for (const s of spans) Lmax = Math.max(Lmax, s.len);
  // One head of one span at a time: its keys and values copied contiguous [L, dh], as the full path's splitHeads.
  const kh = new Float32Array(Lmax * dh);
  const vh = new Float32Array(Lmax * dh);
  const scores = new Float32Array(Lmax);
  const head = new Float32Array(dh);
  spans.forEach((s, b) => {
    const L = s.len;
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < L; t++) {
        const src = (s.start + t) * dim + h * dh;
        for (let j = 0; j < dh; j++) {
          kh[t * dh + j] = k[src + j];
          vh[t * dh + j] = v[src + j];
        }
      }
      const row = scores.subarray(0, L);
      backend.matmulTransB(row, q.subarray(b * dim + h * dh, b * dim + (h + 1) * dh), kh, 1, L, dh, scale);
      backend.softmaxRows(row, 1, L, s.keyMask);
      const m = headMask === null ? 1 : headMask[attn.layerIndex * H + h];
      if (m !== 1) for (let j = 0; j < L; j++) row[j] *= m;
      backend.matmul(head, row, vh, 1, dh, L);
      context.set(head, b * dim + h * dh);
    }
  });
  return attn.outLin.forward(backend, context, S, "none", ctx.alloc(S * dim));
}

/** [len, H·dh] rows of each span → [H, len, dh] in place of the span. */
function splitHeads(x: Float32Array, spans: readonly { start: number; len: number }[], H: number, dh: number): Float32Array {
  const dim = H * dh;
  const out = new Float32Array(x.length);
  for (const s of spans) {
    const base = s.start * dim;
    for (let t = 0; t < s.len; t++) {
      for (let h = 0; h < H; h++) {
        const src = base + t * dim + h * dh;
        out.set(x.subarray(src, src + dh), base + (h * s.len + t) * dh);
      }
    }
  }
  return out;
}

function mergeHeads(x: Float32Array, spans: readonly { start: number; len: number }[], H: number, dh: number): Float32Array {
  const dim = H * dh;
  const out = new Float32Array(x.length);
  for (const s of spans) {
    const base = s.start * dim;
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < s.len; t++) {
        const src = base + (h * s.len + t) * dh;
        out.set(x.subarray(src, src + dh), base + t * dim + h * dh);
      }
    }
  }
  return out;
}
