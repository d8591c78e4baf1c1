import type { Activation, Backend } from "../tensor/backend.js";
import type { ForwardContext } from "./context.js";
import { batchShape } from "./context.js";
import { type ActivationInfo, type HookPoints, hookNames, hookTable } from "./hooks.js";
import { Linear } from "./linear.js";
import type { WeightSource } from "./weights.js";

/** DistilBERT's FFN: lin1 [dim → hidden], activation, lin2 [hidden → dim]. */
export class FeedForward {
  static readonly HOOKS = {
    pre: { shape: ["B", "T", "hidden"], hf: "lin1", description: "lin1 output, before the activation" },
    act: { shape: ["B", "T", "hidden"], hf: "activation", description: "after GELU/ReLU" },
    out: { shape: ["B", "T", "dim"], hf: "lin2", description: "FFN output before the residual" },
  } as const satisfies HookPoints;

  /** Full names of this instance's activations. */
  readonly hooks: { readonly [K in keyof typeof FeedForward.HOOKS]: string };

  constructor(
    readonly lin1: Linear,
    readonly lin2: Linear,
    readonly activation: Exclude<Activation, "none">,
    name: string,
  ) {
    this.hooks = hookNames(FeedForward.HOOKS, name);
  }

  /** Weights under the Hugging Face module path `prefix`; activations named under `name`. */
  static load(src: WeightSource, prefix: string, name: string, dim: number, hiddenDim: number, activation: Exclude<Activation, "none">, backend: Backend): FeedForward {
    return new FeedForward(
      Linear.load(src, `${prefix}.lin1`, dim, hiddenDim, backend),
      Linear.load(src, `${prefix}.lin2`, hiddenDim, dim, backend),
      activation,
      name,
    );
  }

  static activations(name: string, hfPrefix: string): ActivationInfo[] {
    return hookTable(FeedForward.HOOKS, name, hfPrefix);
  }

  /** x [N, dim] → [N, dim], into `out` when given. */
  forward(ctx: ForwardContext, x: Float32Array, out?: Float32Array): Float32Array {
    const { backend, rows: N, taps } = ctx;
    const names = this.hooks;
    let act: Float32Array;
    if (taps !== null && taps.wants(names.pre)) {
      act = this.lin1.forward(backend, x, N, "none", ctx.alloc(N * this.lin1.dOut));
      taps.emit(names.pre, act, batchShape(ctx, this.lin1.dOut));
      backend.activate(act, act.length, this.activation);
    } else {
      // The usual path: the activation fused into lin1's output loop.
      act = this.lin1.forward(backend, x, N, this.activation, ctx.alloc(N * this.lin1.dOut));
    }
    taps?.emit(names.act, act, batchShape(ctx, this.lin1.dOut));
    const y = this.lin2.forward(backend, act, N, "none", out ?? ctx.alloc(N * this.lin2.dOut));
    taps?.emit(names.out, y, batchShape(ctx, this.lin2.dOut));
    return y;
  }
}
