import { isQ8, type Backend, type RowRange } from "../tensor/backend.js";
import type { ForwardContext, Span, Taps } from "./context.js";
import { batchShape } from "./context.js";
import { type ActivationInfo, type HookPoints, hookNames, hookTable } from "./hooks.js";
import { Linear } from "./linear.js";
import type { WeightSource } from "./weights.js";

/** torch.finfo(float32).min: what Hugging Face writes into masked scores before the softmax. */
const MASKED_SCORE = -3.4028234663852886e38;

/**
 * The rows whose output a layer computes, when not all of them: `x` holds them packed ([rows, dim], gathered from the
 * layer's input), and rows[s] says where span s's are in it. Attention still reads every row's keys and values, and
 * nothing after attention mixes rows, so each computed row is bit for bit that row of the whole layer.
 */
export interface QueryRows {
  readonly x: Float32Array;
  readonly rows: readonly RowRange[];
}

/** Rows of a packed buffer that `rows` reach into. */
export function rowCount(rows: readonly RowRange[]): number {
  let n = 0;
  for (const r of rows) n = Math.max(n, r.start + r.len);
  return n;
}

/**
 * DistilBERT's MultiHeadSelfAttention. Head h owns the contiguous columns [h·dh, (h+1)·dh) of q, k and v
 * (HF's `view(bs, -1, n_heads, dh).transpose(1, 2)`); q is divided by √dh before Q·Kᵀ; masked keys get probability
 * exactly 0.
 *
 * One layout throughout: q, k, v and the context stay packed [rows, H·dh]. The backend's one-call attention takes
 * them as they are; head by head (a backend without it, a head mask, or taps on the scores or probabilities), each
 * head of each span is copied contiguous for the products, which is what that call must equal bit for bit. Only taps
 * see q, k and v split into heads ([B, H, T, dh], as Hugging Face's tensors), and what a hook leaves there is
 * written back.
 */
export class MultiHeadSelfAttention {
  static readonly HOOKS = {
    q: { shape: ["B", "H", "T", "dh"], hf: "q_lin", description: "q_lin output split into heads (before the 1/√dh scaling)" },
    k: { shape: ["B", "H", "T", "dh"], hf: "k_lin", description: "k_lin output split into heads" },
    v: { shape: ["B", "H", "T", "dh"], hf: "v_lin", description: "v_lin output split into heads" },
    scores: { shape: ["B", "H", "T", "T"], hf: "", what: "scores after masked_fill", description: "q·kᵀ/√dh, masked keys set to finfo(float32).min, before softmax" },
    probs: { shape: ["B", "H", "T", "T"], hf: "", what: "weights; output_attentions", description: "softmax probabilities, after head_mask: what multiplies v" },
    context: { shape: ["B", "T", "dim"], hf: "out_lin", what: "input", description: "probs·v with heads concatenated (head h = columns h·dh … (h+1)·dh-1)" },
    out: { shape: ["B", "T", "dim"], hf: "out_lin", description: "attention output before the residual" },
  } as const satisfies HookPoints;

  readonly headDim: number;
  /** Whether this layer asks the backend for its portable attention (Backend.attention): a q8 layer does. */
  readonly portable: boolean;
  /** Full names of this instance's activations. */
  readonly hooks: { readonly [K in keyof typeof MultiHeadSelfAttention.HOOKS]: string };

  constructor(
    readonly qLin: Linear,
    readonly kLin: Linear,
    readonly vLin: Linear,
    readonly outLin: Linear,
    readonly nHeads: number,
    /** This layer's row of the head mask. */
    readonly layerIndex: number,
    name: string,
  ) {
    this.headDim = qLin.dOut / nHeads;
    this.hooks = hookNames(MultiHeadSelfAttention.HOOKS, name);
    // A q8 layer's products are integer-exact in every backend; the attention between them is then asked to be too.
    this.portable = isQ8(qLin.w);
  }

  /** Weights under the Hugging Face module path `prefix`; activations named under `name`. */
  static load(src: WeightSource, prefix: string, name: string, dim: number, nHeads: number, layerIndex: number, backend: Backend): MultiHeadSelfAttention {
    const lin = (hf: string) => Linear.load(src, `${prefix}.${hf}`, dim, dim, backend);
    return new MultiHeadSelfAttention(lin("q_lin"), lin("k_lin"), lin("v_lin"), lin("out_lin"), nHeads, layerIndex, name);
  }

  static activations(name: string, hfPrefix: string): ActivationInfo[] {
    return hookTable(MultiHeadSelfAttention.HOOKS, name, hfPrefix);
  }

  /**
   * x [N, dim] → [N, dim], or with `queries` → [rows, dim] for those rows only (no taps then: they show whole
   * layers).
   */
  forward(ctx: ForwardContext, x: Float32Array, queries?: QueryRows): Float32Array {
    const { backend, spans, rows: N } = ctx;
    const H = this.nHeads;
    const dh = this.headDim;
    const dim = H * dh;
    const names = this.hooks;
    const taps = queries === undefined ? ctx.taps : null;
    const qRows = queries?.rows ?? spans;
    const Nq = queries === undefined ? N : rowCount(queries.rows);

    // The output first, so that q, k, v and the context, allocated after it, are freed when it is made.
    const out = ctx.alloc(Nq * dim);
    const mark = ctx.mark();
    const [q, k, v] = [ctx.alloc(Nq * dim), ctx.alloc(N * dim), ctx.alloc(N * dim)];
    // One input for all three (its packing or quantization done once) unless q reads other rows.
    const shared = queries === undefined ? [this.qLin, this.kLin, this.vLin] : [this.kLin, this.vLin];
    const outs = queries === undefined ? [q, k, v] : [k, v];
    if (backend.linears?.(outs, x, shared.map((l) => l.w), N, "none") !== true) {
      for (let i = 0; i < shared.length; i++) shared[i].forward(backend, x, N, "none", outs[i]);
    }
    if (queries !== undefined) this.qLin.forward(backend, queries.x, Nq, "none", q);
    if (taps !== null) {
      this.emitHeads(ctx, taps, names.q, q);
      this.emitHeads(ctx, taps, names.k, k);
      this.emitHeads(ctx, taps, names.v, v);
    }
    const scale = 1 / Math.sqrt(dh);
    const context = ctx.alloc(Nq * dim);
    const headByHead = ctx.headMask !== null || (taps !== null && (taps.wants(names.scores) || taps.wants(names.probs)));
    if (headByHead || backend.attention?.(context, q, k, v, spans, H, dh, scale, qRows, this.portable) !== true) {
      this.attendHeadByHead(ctx, taps, q, k, v, qRows, scale, context);
    }
    taps?.emit(names.context, context, batchShape(ctx, dim));
    this.outLin.forward(backend, context, Nq, "none", out);
    ctx.release(mark);
    taps?.emit(names.out, out, batchShape(ctx, dim));
    return out;
  }

  /**
   * context [rows, dim] ← per span and head: softmax(scale · q_h · k_hᵀ, keyMask) · head_mask · v_h, through the
   * backend's matmulTransB, softmaxRows and matmul on contiguous copies of the head's columns. In stages (all scores,
   * then all probabilities, then all contexts) so that a hook on the scores or probabilities sees, and changes, all
   * of them before they are used.
   */
  private attendHeadByHead(
    ctx: ForwardContext, taps: Taps | null, q: Float32Array, k: Float32Array, v: Float32Array,
    qRows: readonly RowRange[], scale: number, context: Float32Array,
  ): void {
    const { backend, spans, headMask } = ctx;
    const H = this.nHeads;
    const dh = this.headDim;
    const names = this.hooks;
    let size = 0;
    let Lmax = 0;
    let LqMax = 0;
    spans.forEach((s, i) => {
      size += H * qRows[i].len * s.len;
      Lmax = Math.max(Lmax, s.len);
      LqMax = Math.max(LqMax, qRows[i].len);
    });
    // Per span [H, Lq, L]: in the full layout the whole buffer is [B, H, T, T].
    const probs = new Float32Array(size);
    const qh = new Float32Array(LqMax * dh);
    const kv = new Float32Array(Lmax * dh);
    let off = 0;
    spans.forEach((s, i) => {
      const { start, len: Lq } = qRows[i];
      for (let h = 0; h < H; h++) {
        this.copyHead(qh, q, start, Lq, h);
        this.copyHead(kv, k, s.start, s.len, h);
        backend.matmulTransB(probs.subarray(off, off + Lq * s.len), qh.subarray(0, Lq * dh), kv.subarray(0, s.len * dh), Lq, s.len, dh, scale);
        off += Lq * s.len;
      }
    });

    const T = spanLength(spans);
    if (taps !== null && taps.wants(names.scores)) {
      // Make the captured scores what HF's masked_fill produces; the softmax itself goes by the key mask.
      off = 0;
      for (const s of spans) {
        if (s.keyMask !== null) {
          for (let r = 0; r < H * s.len; r++) for (let j = 0; j < s.len; j++) if (s.keyMask[j] === 0) probs[off + r * s.len + j] = MASKED_SCORE;
        }
        off += H * s.len * s.len;
      }
      taps.emit(names.scores, probs, [spans.length, H, T, T]);
    }

    off = 0;
    spans.forEach((s, i) => {
      const per = qRows[i].len * s.len;
      backend.softmaxRows(probs.subarray(off, off + H * per), H * qRows[i].len, s.len, s.keyMask);
      if (headMask !== null) {
        for (let h = 0; h < H; h++) {
          const m = headMask[this.layerIndex * H + h];
          if (m !== 1) for (let j = off + h * per; j < off + (h + 1) * per; j++) probs[j] *= m;
        }
      }
      off += H * per;
    });
    taps?.emit(names.probs, probs, [spans.length, H, T, T]);

    const head = qh;
    off = 0;
    spans.forEach((s, i) => {
      const { start, len: Lq } = qRows[i];
      for (let h = 0; h < H; h++) {
        this.copyHead(kv, v, s.start, s.len, h);
        backend.matmul(head.subarray(0, Lq * dh), probs.subarray(off, off + Lq * s.len), kv.subarray(0, s.len * dh), Lq, dh, s.len);
        for (let t = 0; t < Lq; t++) context.set(head.subarray(t * dh, (t + 1) * dh), (start + t) * H * dh + h * dh);
        off += Lq * s.len;
      }
    });
  }

  /** dst [rows, dh] ← head h's columns of x [·, H·dh], rows from..from+rows. */
  private copyHead(dst: Float32Array, x: Float32Array, from: number, rows: number, h: number): void {
    const dh = this.headDim;
    const dim = this.nHeads * dh;
    for (let t = 0; t < rows; t++) {
      const src = (from + t) * dim + h * dh;
      dst.set(x.subarray(src, src + dh), t * dh);
    }
  }

  /** Show x [N, H·dh] to the taps as [B, H, T, dh] (Hugging Face's split heads); what they leave goes back into x. */
  private emitHeads(ctx: ForwardContext, taps: Taps, name: string, x: Float32Array): void {
    if (!taps.wants(name)) return;
    const H = this.nHeads;
    const dh = this.headDim;
    const split = new Float32Array(ctx.rows * H * dh);
    const each = (fn: (packed: number, heads: number) => void) => {
      for (const s of ctx.spans) for (let h = 0; h < H; h++) for (let t = 0; t < s.len; t++) fn(((s.start + t) * H + h) * dh, (s.start * H + h * s.len + t) * dh);
    };
    each((p, sp) => split.set(x.subarray(p, p + dh), sp));
    taps.emit(name, split, [ctx.spans.length, H, spanLength(ctx.spans), dh]);
    each((p, sp) => x.set(split.subarray(sp, sp + dh), p));
  }
}

function spanLength(spans: readonly Span[]): number {
  return spans.length ? spans[0].len : 0;
}
