import type { Activation, Backend } from "../tensor/backend.js";
import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
import { Linear } from "./linear.js";
import type { WeightSource } from "./weights.js";

/** DistilBERT's FFN: lin1 [dim → hidden], activation, lin2 [hidden → dim]. */
export class FeedForward {
  constructor(
    readonly lin1: Linear,
    readonly lin2: Linear,
    readonly activation: Exclude<Activation, "none">,
    readonly layerIndex: number,
  ) {}

  static load(src: WeightSource, prefix: string, dim: number, hiddenDim: number, activation: Exclude<Activation, "none">, layerIndex: number, backend: Backend): FeedForward {
    return new FeedForward(
      Linear.load(src, `${prefix}.lin1`, dim, hiddenDim, backend),
      Linear.load(src, `${prefix}.lin2`, hiddenDim, dim, backend),
      activation,
      layerIndex,
    );
  }

  /** x [N, dim] → [N, dim], into `out` when given. */
  forward(ctx: ForwardContext, x: Float32Array, out?: Float32Array): Float32Array {
    const { backend, rows: N, taps } = ctx;
    const name = `layer.${this.layerIndex}.ffn`;
    let act: Float32Array;
    if (taps !== null && taps.wants(`${name}.pre`)) {
      act = this.lin1.forward(backend, x, N, "none", ctx.alloc(N * this.lin1.dOut));
      taps.emit(`${name}.pre`, act, batchShape(ctx, this.lin1.dOut));
      backend.activate(act, act.length, this.activation);
    } else {
      // The usual path: the activation fused into lin1's output loop.
      act = this.lin1.forward(backend, x, N, this.activation, ctx.alloc(N * this.lin1.dOut));
    }
    taps?.emit(`${name}.act`, act, batchShape(ctx, this.lin1.dOut));
    const y = this.lin2.forward(backend, act, N, "none", out ?? ctx.alloc(N * this.lin2.dOut));
    taps?.emit(`${name}.out`, y, batchShape(ctx, this.lin2.dOut));
    return y;
  }
}
