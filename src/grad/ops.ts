/**
 * Who computes the gradient pass's matrix products: `f64Ops()` (plain float64 loops, the reference and the
 * finite-difference oracle) or `backendOps(backend)` (the backend's float32 kernels, for speed: the products are
 * ~all of the work). Everything else in the backward is the plain-JS kernels of kernels.ts in either case.
 */
import { isQ8, type Backend, type LinearWeight } from "../tensor/backend.js";
import type { MatOps, Vec } from "./kernels.js";

export interface GradOps extends MatOps {
  /** "f64": Float64Array buffers; "f32": Float32Array. */
  readonly precision: "f32" | "f64";
  /** y [T, dOut] = x [T, dIn] · Wᵀ + b, W the layer's [dOut, dIn] weight. */
  linear(y: Vec, x: Vec, w: LinearWeight, T: number): void;
  /** dx [T, dIn] = dy [T, dOut] · W (the input's gradient; W's own gradient would be dyᵀ · x). */
  linearBackwardInput(dx: Vec, dy: Vec, w: LinearWeight, T: number): void;
}

/**
 * A LinearWeight's [dOut, dIn] matrix read once: some backends rebuild `weight` from packed panels on each access
 * (the wasm backend keeps no plain copy), so the gradient pass keeps its own, once per layer and only while the
 * weight lives.
 */
const plainWeights = new WeakMap<LinearWeight, Float32Array>();
function plainWeight(w: LinearWeight): Float32Array {
  let m = plainWeights.get(w);
  if (m === undefined) {
    m = w.weight;
    plainWeights.set(w, m);
  }
  return m;
}

export function f64Ops(): GradOps {
  return {
    name: "f64",
    precision: "f64",
    alloc: (n) => new Float64Array(n),
    matmulTransB(out, a, b, M, N, K, alpha) {
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
          out[m * N + n] = alpha * s;
        }
      }
    },
    matmul(out, a, b, M, N, K, alpha) {
      // Row by row, k outer: b's rows are read contiguously.
      const acc = new Float64Array(N);
      for (let m = 0; m < M; m++) {
        acc.fill(0);
        for (let k = 0; k < K; k++) {
          const av = a[m * K + k];
          if (av === 0) continue;
          for (let n = 0; n < N; n++) acc[n] += av * b[k * N + n];
        }
        for (let n = 0; n < N; n++) out[m * N + n] = alpha * acc[n];
      }
    },
    matmulTransA(out, a, b, M, N, K) {
      out.fill(0, 0, M * N);
      for (let k = 0; k < K; k++) {
        for (let m = 0; m < M; m++) {
          const av = a[k * M + m];
          if (av === 0) continue;
          for (let n = 0; n < N; n++) out[m * N + n] += av * b[k * N + n];
        }
      }
    },
    linear(y, x, w, T) {
      const { dIn, dOut, bias } = w;
      const W = plainWeight(w);
      for (let t = 0; t < T; t++) {
        for (let o = 0; o < dOut; o++) {
          let s = bias ? bias[o] : 0;
          for (let i = 0; i < dIn; i++) s += x[t * dIn + i] * W[o * dIn + i];
          y[t * dOut + o] = s;
        }
      }
    },
    linearBackwardInput(dx, dy, w, T) {
      this.matmul(dx, dy, plainWeight(w), T, w.dIn, w.dOut, 1);
    },
  };
}

/** The backend's float32 kernels for every product; buffers are Float32Array. */
export function backendOps(backend: Backend): GradOps {
  let tmp = new Float32Array(0);
  const f32 = (v: Vec): Float32Array => {
    if (!(v instanceof Float32Array)) throw new TypeError("backendOps works on Float32Array buffers");
    return v;
  };
  return {
    name: backend.name,
    precision: "f32",
    alloc: (n) => new Float32Array(n),
    matmulTransB(out, a, b, M, N, K, alpha) {
      backend.matmulTransB(f32(out), f32(a), f32(b), M, N, K, alpha);
    },
    matmul(out, a, b, M, N, K, alpha) {
      backend.matmul(f32(out), f32(a), f32(b), M, N, K);
      if (alpha !== 1) for (let i = 0; i < M * N; i++) out[i] *= alpha;
    },
    matmulTransA(out, a, b, M, N, K) {
      // aᵀ [M, K] copied once, then the backend's plain product.
      if (tmp.length < M * K) tmp = new Float32Array(M * K);
      for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) tmp[m * K + k] = a[k * M + m];
      backend.matmul(f32(out), tmp.subarray(0, M * K), f32(b), M, N, K);
    },
    linear(y, x, w, T) {
      if (!isQuantized(w)) return backend.linear(f32(y), f32(x), w, T, "none");
      // A q8 weight's own linear quantizes its input per row (a step function of x, with no useful gradient): the
      // gradient pass runs the dequantized weight forward as well as backward, so that its gradients are those of
      // the value it reports (the dequantized model's), not of a different function.
      backend.matmulTransB(f32(y), f32(x), plainWeight(w), T, w.dOut, w.dIn, 1);
      if (w.bias !== null) for (let t = 0; t < T; t++) for (let o = 0; o < w.dOut; o++) y[t * w.dOut + o] += w.bias[o];
    },
    linearBackwardInput(dx, dy, w, T) {
      backend.matmul(f32(dx), f32(dy), plainWeight(w), T, w.dIn, w.dOut);
    },
  };
}

/** A weight a backend computes with in int8 (a q8 model's; `weight` is then its dequantized float32 matrix). */
export function isQuantized(w: LinearWeight): boolean {
  return isQ8(w);
}
