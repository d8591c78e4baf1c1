import type { Backend } from "../tensor/backend.js";
import type { WeightSource } from "./weights.js";

/** DistilBERT hard-codes eps = 1e-12 in every LayerNorm; it is not a config field. */
export const LAYER_NORM_EPS = 1e-12;

/** nn.LayerNorm over the last axis: out [T, C] = (x - mean) / sqrt(var + eps) · weight + bias. */
export class LayerNorm {
  constructor(
    readonly weight: Float32Array,
    readonly bias: Float32Array,
    readonly eps = LAYER_NORM_EPS,
  ) {}

  static load(src: WeightSource, prefix: string, dim: number): LayerNorm {
    return new LayerNorm(src.get(`${prefix}.weight`, [dim]), src.get(`${prefix}.bias`, [dim]));
  }

  /** In place over x [T, C]. */
  forward(backend: Backend, x: Float32Array, T: number): Float32Array {
    backend.layerNorm(x, x, this.weight, this.bias, T, this.weight.length, this.eps);
    return x;
  }
}
