/**
 * A dense float32 tensor: a flat row-major Float32Array plus its shape.
 *
 * The field names (`data`, `shape`, `stride`, `offset`) are the ones the `ndarray` package uses, so
 * `ndarray(t.data, t.shape, t.stride, t.offset)` wraps one of ours without a copy (we do not depend on ndarray:
 * it compiles code with `new Function`, which sandboxed hosts forbid).
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset = 0;

  constructor(data: Float32Array, shape: readonly number[]) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RangeError(`Tensor: data has ${data.length} elements; expected ${size} for shape [${shape.join(", ")}]`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.stride = Object.freeze(rowMajorStrides(shape));
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** ndarray's name for the rank. */
  get dimension(): number {
    return this.shape.length;
  }

  get(...index: number[]): number {
    let at = 0;
    for (let d = 0; d < this.shape.length; d++) {
      const i = index[d];
      if (!(i >= 0 && i < this.shape[d])) throw new RangeError(`Tensor.get: index ${i} out of range for axis ${d} of size ${this.shape[d]}`);
      at += i * this.stride[d];
    }
    return this.data[at];
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.data, shape);
  }

  /** Nested plain arrays, for JSON output. */
  toNested(): unknown {
    const build = (dim: number, base: number): unknown => {
      const n = this.shape[dim];
      const out = new Array(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = this.data[base + i];
      } else {
        for (let i = 0; i < n; i++) out[i] = build(dim + 1, base + i * this.stride[dim]);
      }
      return out;
    };
    return this.shape.length === 0 ? this.data[0] : build(0, 0);
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

function rowMajorStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}
