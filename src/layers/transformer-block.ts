import type { Activation, Backend } from "../tensor/backend.js";
import { attentionForQueries, MultiHeadSelfAttention } from "./attention.js";
import type { ForwardContext } from "./context.js";
import { batchShape, gatherFirstRows } from "./context.js";
import { FeedForward } from "./feed-forward.js";
import { LayerNorm } from "./layer-norm.js";
import type { WeightSource } from "./weights.js";

/**
 * DistilBERT's TransformerBlock, post-LN:
 *   h   = sa_layer_norm(attention(x) + x)
 *   out = output_layer_norm(ffn(h) + h)      (the residual is the normalised h, not x)
 */
export class TransformerBlock {
  constructor(
    readonly attention: MultiHeadSelfAttention,
    readonly saLayerNorm: LayerNorm,
    readonly ffn: FeedForward,
    readonly outputLayerNorm: LayerNorm,
    readonly layerIndex: number,
  ) {}

  static load(
    src: WeightSource, prefix: string, dim: number, nHeads: number, hiddenDim: number,
    activation: Exclude<Activation, "none">, layerIndex: number, backend: Backend,
  ): TransformerBlock {
    return new TransformerBlock(
      MultiHeadSelfAttention.load(src, `${prefix}.attention`, dim, nHeads, layerIndex, backend),
      LayerNorm.load(src, `${prefix}.sa_layer_norm`, dim),
      FeedForward.load(src, `${prefix}.ffn`, dim, hiddenDim, activation, layerIndex, backend),
      LayerNorm.load(src, `${prefix}.output_layer_norm`, dim),
      layerIndex,
    );
  }

  /** x [N, dim] → [N, dim]; x is not modified. */
  forward(ctx: ForwardContext, x: Float32Array): Float32Array {
    const { backend, rows: N, taps } = ctx;
    const dim = this.saLayerNorm.weight.length;
    // The block's output is taken first, so that everything the block allocates after it is freed at the end.
    const out = ctx.alloc(N * dim);
    const mark = ctx.mark();
    const h = this.attention.forward(ctx, x);
    backend.addInPlace(h, x, N * dim);
    this.saLayerNorm.forward(backend, h, N);
    taps?.emit(`layer.${this.layerIndex}.sa_ln.out`, h, batchShape(ctx, dim));
    this.ffn.forward(ctx, h, out);
    backend.addInPlace(out, h, N * dim);
    this.outputLayerNorm.forward(backend, out, N);
    taps?.emit(`layer.${this.layerIndex}.out`, out, batchShape(ctx, dim));
    ctx.release(mark);
    return out;
  }

  /**
   * The block's output for each span's first row only ([S, dim], S = spans), from all rows x [N, dim]: attention
   * needs every row's keys and values, and nothing after it mixes rows. Equal bit for bit to those rows of
   * forward(ctx, x). No taps (they show whole layers).
   */
  forwardFirstRows(ctx: ForwardContext, x: Float32Array): Float32Array {
    const { backend, spans } = ctx;
    const dim = this.saLayerNorm.weight.length;
    const S = spans.length;
    const out = ctx.alloc(S * dim);
    const mark = ctx.mark();
    const xq = gatherFirstRows(ctx.alloc(S * dim), x, spans, dim);
    const h = attentionForQueries(this.attention, ctx, x, xq);
    backend.addInPlace(h, xq, S * dim);
    this.saLayerNorm.forward(backend, h, S);
    this.ffn.forward({ ...ctx, rows: S, taps: null }, h, out);
    backend.addInPlace(out, h, S * dim);
    this.outputLayerNorm.forward(backend, out, S);
    ctx.release(mark);
    return out;
  }
}
