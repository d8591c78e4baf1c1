import type { Activation, Backend, LinearWeight } from "../tensor/backend.js";
import type { WeightSource } from "./weights.js";

/** nn.Linear: y [T, dOut] = x [T, dIn] · Wᵀ + b, W stored [dOut, dIn] as in the checkpoint. */
export class Linear {
  constructor(readonly w: LinearWeight) {}

  static load(src: WeightSource, prefix: string, dIn: number, dOut: number, backend: Backend): Linear {
    const weight = src.get(`${prefix}.weight`, [dOut, dIn]);
    const bias = src.get(`${prefix}.bias`, [dOut]);
    return new Linear(backend.prepareLinear(weight, bias, dOut, dIn));
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
