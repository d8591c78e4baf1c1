import type { Activation, Backend } from "../tensor/backend.js";
import { MultiHeadSelfAttention, rowCount, type QueryRows } from "./attention.js";
import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
import { type ActivationInfo, type HookPoints, hookNames, hookTable, joinPath } from "./hooks.js";
import { FeedForward } from "./feed-forward.js";
import { LayerNorm } from "./layer-norm.js";
import type { WeightSource } from "./weights.js";

/**
 * DistilBERT's TransformerBlock, post-LN:
 *   h   = sa_layer_norm(attention(x) + x)
 *   out = output_layer_norm(ffn(h) + h)      (the residual is the normalised h, not x)
 */
export class TransformerBlock {
  /** The block's own activations, after its attention and after its FFN respectively. */
  static readonly HOOKS = {
    "sa_ln.out": { shape: ["B", "T", "dim"], hf: "sa_layer_norm", description: "sa_layer_norm(attn.out + x)" },
    out: { shape: ["B", "T", "dim"], hf: "output_layer_norm", description: "block output = hidden_states[i+1]" },
  } as const satisfies HookPoints;

  /** Its submodules: [activation name, Hugging Face module], each relative to the block's. */
  static readonly ATTENTION = ["attn", "attention"] as const;
  static readonly FFN = ["ffn", "ffn"] as const;

  /** Full names of this instance's own activations. */
  readonly hooks: { readonly [K in keyof typeof TransformerBlock.HOOKS]: string };

  constructor(
    readonly attention: MultiHeadSelfAttention,
    readonly saLayerNorm: LayerNorm,
    readonly ffn: FeedForward,
    readonly outputLayerNorm: LayerNorm,
    readonly layerIndex: number,
    name: string,
  ) {
    this.hooks = hookNames(TransformerBlock.HOOKS, name);
  }

  /** Weights under the Hugging Face module path `prefix`; activations named under `name`. */
  static load(
    src: WeightSource, prefix: string, name: string, dim: number, nHeads: number, hiddenDim: number,
    activation: Exclude<Activation, "none">, layerIndex: number, backend: Backend,
  ): TransformerBlock {
    const [attnName, attnHf] = TransformerBlock.ATTENTION;
    const [ffnName, ffnHf] = TransformerBlock.FFN;
    return new TransformerBlock(
      MultiHeadSelfAttention.load(src, joinPath(prefix, attnHf), joinPath(name, attnName), dim, nHeads, layerIndex, backend),
      LayerNorm.load(src, `${prefix}.sa_layer_norm`, dim),
      FeedForward.load(src, joinPath(prefix, ffnHf), joinPath(name, ffnName), dim, hiddenDim, activation, backend),
      LayerNorm.load(src, `${prefix}.output_layer_norm`, dim),
      layerIndex,
      name,
    );
  }

  /** Every activation of a block named `name` at the Hugging Face path `hfPrefix`, in the order they are emitted. */
  static activations(name: string, hfPrefix: string): ActivationInfo[] {
    const [saLn, out] = hookTable(TransformerBlock.HOOKS, name, hfPrefix);
    const [attnName, attnHf] = TransformerBlock.ATTENTION;
    const [ffnName, ffnHf] = TransformerBlock.FFN;
    return [
      ...MultiHeadSelfAttention.activations(joinPath(name, attnName), joinPath(hfPrefix, attnHf)),
      saLn,
      ...FeedForward.activations(joinPath(name, ffnName), joinPath(hfPrefix, ffnHf)),
      out,
    ];
  }

  /**
   * x [N, dim] → [N, dim]; x is not modified. With `queries`, only those rows → [rows, dim] (attention reads every
   * row's keys and values, and nothing after it mixes rows): bit for bit those rows of the whole block, no taps.
   * `into`: the output buffer (not x), else one is allocated.
   */
  forward(ctx: ForwardContext, x: Float32Array, queries?: QueryRows, into?: Float32Array): Float32Array {
    const dim = this.saLayerNorm.weight.length;
    const xq = queries?.x ?? x;
    // What the block computes after attention: the query rows only, and taps only when they are every row.
    const rowsCtx: ForwardContext = queries === undefined ? ctx : { ...ctx, rows: rowCount(queries.rows), taps: null };
    const { backend, rows: N, taps } = rowsCtx;
    // The block's output is taken first, so that everything the block allocates after it is freed at the end.
    const out = into ?? ctx.alloc(N * dim);
    const mark = ctx.mark();
    const h = this.attention.forward(ctx, x, queries);
    backend.addInPlace(h, xq, N * dim);
    this.saLayerNorm.forward(backend, h, N);
    taps?.emit(this.hooks["sa_ln.out"], h, batchShape(ctx, dim));
    this.ffn.forward(rowsCtx, h, out);
    backend.addInPlace(out, h, N * dim);
    this.outputLayerNorm.forward(backend, out, N);
    taps?.emit(this.hooks.out, out, batchShape(ctx, dim));
    ctx.release(mark);
    return out;
  }
}
