import type { Activation, Backend, LinearWeight } from "../tensor/backend.js";
import { dequantizeRows } from "../tensor/quant.js";
import type { WeightSource } from "./weights.js";

/** nn.Linear: y [T, dOut] = x [T, dIn] · Wᵀ + b, W stored [dOut, dIn] as in the checkpoint. */
export class Linear {
  constructor(readonly w: LinearWeight) {}

  static load(src: WeightSource, prefix: string, dIn: number, dOut: number, backend: Backend): Linear {
    // q8 (an I8 checkpoint, or quantization at load): the backend's int8 path, or the dequantized f32 weight for a
    // backend that has none.
    const q8 = src.getQ8?.(`${prefix}.weight`, [dOut, dIn]) ?? null;
    // The weight before the bias: a wrong shape is reported on the matrix, which says both dimensions.
    const weight = q8 === null ? src.get(`${prefix}.weight`, [dOut, dIn]) : null;
    const bias = src.get(`${prefix}.bias`, [dOut]);
    if (q8 !== null) return new Linear(backend.prepareLinearQ8 ? backend.prepareLinearQ8(q8, bias) : backend.prepareLinear(dequantizeRows(q8), bias, dOut, dIn));
    return new Linear(backend.prepareLinear(weight!, bias, dOut, dIn));
  }

  get dIn(): number {
    return this.w.dIn;
  }

  get dOut(): number {
    return this.w.dOut;
  }

  /** y [T, dOut] = act(x [T, dIn] · Wᵀ + b), into `out` when given (at least T·dOut long). */
  forward(backend: Backend, x: Float32Array, T: number, act: Activation = "none", out?: Float32Array): Float32Array {
    const y = out ?? new Float32Array(T * this.w.dOut);
    backend.linear(y, x, this.w, T, act);
    return y;
  }
}
