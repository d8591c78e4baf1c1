import type { Activation, Backend } from "../tensor/backend.js";
import { MultiHeadSelfAttention, rowCount, type QueryRows } from "./attention.js";
import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
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

  /**
   * x [N, dim] → [N, dim]; x is not modified. With `queries`, only those rows → [rows, dim] (attention reads every
   * row's keys and values, and nothing after it mixes rows): bit for bit those rows of the whole block, no taps.
   */
  forward(ctx: ForwardContext, x: Float32Array, queries?: QueryRows): Float32Array {
    const dim = this.saLayerNorm.weight.length;
    const xq = queries?.x ?? x;
    // What the block computes after attention: the query rows only, and taps only when they are every row.
    const rowsCtx: ForwardContext = queries === undefined ? ctx : { ...ctx, rows: rowCount(queries.rows), taps: null };
    const { backend, rows: N, taps } = rowsCtx;
    // The block's output is taken first, so that everything the block allocates after it is freed at the end.
    const out = ctx.alloc(N * dim);
    const mark = ctx.mark();
    const h = this.attention.forward(ctx, x, queries);
    backend.addInPlace(h, xq, N * dim);
    this.saLayerNorm.forward(backend, h, N);
    taps?.emit(`layer.${this.layerIndex}.sa_ln.out`, h, batchShape(ctx, dim));
    this.ffn.forward(rowsCtx, h, out);
    backend.addInPlace(out, h, N * dim);
    this.outputLayerNorm.forward(backend, out, N);
    taps?.emit(`layer.${this.layerIndex}.out`, out, batchShape(ctx, dim));
    ctx.release(mark);
    return out;
  }
}
