/** Where layers get their parameters from at load; the model folder binds Hugging Face tensor names to it. */
export interface WeightSource {
  /** The tensor `name` as float32, checked to have exactly `shape`. Throws a WeightsError naming it otherwise. */
  get(name: string, shape: readonly number[]): Float32Array;
}
