import type { Q8Rows } from "../tensor/quant.js";

/** Where layers get their parameters from at load; the model folder binds Hugging Face tensor names to it. */
export interface WeightSource {
  /** The tensor `name` as float32, checked to have exactly `shape`. Throws a WeightsError naming it otherwise. */
  get(name: string, shape: readonly number[]): Float32Array;
  /**
   * Optional: the matrix `name` [rows, cols] as q8 rows (src/tensor/quant.ts) when the model runs in q8 (an I8
   * tensor in the file, or quantization asked for at load), else null: the caller then uses `get`.
   */
  getQ8?(name: string, shape: readonly [number, number]): Q8Rows | null;
}
