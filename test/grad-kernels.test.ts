/**
 * Every backward kernel against central finite differences in float64 on random shapes, and the backend's float32
 * products against the float64 loops. L = Σ r ⊙ f(x) with a random r, so every output element's gradient counts.
 */
import { describe, expect, it } from "vitest";
import { GradientEngine } from "../src/grad/index.js";
import {
  activationBackward, activationForward, attentionHeadBackwardProbs, attentionHeadBackwardScores, attentionHeadForward,
  layerNormBackward, layerNormForward, softmaxBackward, softmaxForward, type Vec,
} from "../src/grad/kernels.js";
import { backendOps, f64Ops } from "../src/grad/ops.js";
import { loadModel } from "../src/model/load.js";
import { randomModel } from "../src/model/random-model.js";
import { backendCases } from "./helpers/backends.js";
import { rng } from "./helpers/random.js";

function rand(n: number, r: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Largest |analytic - numeric| / (|numeric| + 1e-6)-ish error of ∂L/∂x over every element of x. */
function checkFd(x: Float64Array, loss: () => number, analytic: ArrayLike<number>, h = 1e-5): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(analytic[i] - numeric) / (Math.abs(numeric) + 1e-3));
  }
  return worst;
}

/** erf(z) = 2/√π Σ (-1)ⁿ z^(2n+1) / (n! (2n+1)), summed until the terms vanish. */
function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-18; n++) {
    term *= (-z * z) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const ops = f64Ops();
// Central differences with h = 1e-5 in float64 leave ~1e-9 of truncation and rounding on these sizes; measured
// worst cases below are ≤ 3e-9. The gate is 1e-7.
const FD_GATE = 1e-7;

describe("backward kernels: finite differences in float64", () => {
  for (let trial = 0; trial < 4; trial++) {
    const r = rng(100 + trial);
    const T = 1 + Math.floor(r() * 5);
    const C = 2 + Math.floor(r() * 9);

    it(`LayerNorm [${T}, ${C}]`, () => {
      const x = rand(T * C, r, 2);
      const gamma = rand(C, r);
      const beta = rand(C, r);
      const w = rand(T * C, r);
      const out = new Float64Array(T * C);
      const stats = new Float64Array(2 * T);
      const loss = () => (layerNormForward(out, stats, x, gamma, beta, T, C, 1e-12), dot(out, w));
      loss();
      const dx = new Float64Array(T * C);
      layerNormBackward(dx, w, x, stats, gamma, T, C);
      expect(checkFd(x, loss, dx)).toBeLessThan(FD_GATE);
    });

    it(`softmax with a key mask [${T}, ${C}]`, () => {
      const s = rand(T * C, r, 3);
      const mask = Uint8Array.from({ length: C }, () => (r() < 0.7 ? 1 : 0));
      mask[0] = 1;
      const w = rand(T * C, r);
      const p = new Float64Array(T * C);
      const loss = () => (p.set(s), softmaxForward(p, T, C, mask), dot(p, w));
      loss();
      const ds = new Float64Array(T * C);
      softmaxBackward(ds, w, p, T, C, mask);
      expect(checkFd(s, loss, ds)).toBeLessThan(FD_GATE);
      for (let j = 0; j < C; j++) if (mask[j] === 0) for (let t = 0; t < T; t++) expect(Math.abs(ds[t * C + j])).toBe(0);
    });

    it(`relu [${T * C}]`, () => {
      const x = rand(T * C, r, 4);
      const w = rand(T * C, r);
      const y = new Float64Array(T * C);
      const loss = () => (activationForward(y, x, T * C, "relu"), dot(y, w));
      const dx = new Float64Array(T * C);
      activationBackward(dx, w, x, T * C, "relu");
      expect(checkFd(x, loss, dx)).toBeLessThan(FD_GATE);
    });

    // The engine's forward GELU goes through a 1.2e-7 erfc fit whose ripples have slopes of ~1e-5: finite
    // differences of it would measure the fit. The backward is Φ(x) + x·φ(x) with Φ from the same fit, so it is checked
    // against finite differences of exact GELU (erf from its Taylor series, exact to ~1e-15 for |x| ≤ 2.5): measured
    // worst 3.3e-7, the fit's own 1.2e-7 relative error carried by Φ; gate 1e-6.
    it(`gelu [${T * C}] against exact GELU`, () => {
      const x = rand(T * C, r, 2.5);
      const w = rand(T * C, r);
      const loss = () => {
        let s = 0;
        for (let i = 0; i < x.length; i++) s += w[i] * 0.5 * x[i] * (1 + erfSeries(x[i] * Math.SQRT1_2));
        return s;
      };
      const dx = new Float64Array(T * C);
      activationBackward(dx, w, x, T * C, "gelu");
      expect(checkFd(x, loss, dx)).toBeLessThan(1e-6);
    });

    it(`attention head L = ${T + 1}, dh = ${C}, masked`, () => {
      const L = T + 1;
      const dh = C;
      const q = rand(L * dh, r);
      const k = rand(L * dh, r);
      const v = rand(L * dh, r);
      const mask = Uint8Array.from({ length: L }, () => (r() < 0.7 ? 1 : 0));
      mask[L - 1] = 1;
      const w = rand(L * dh, r);
      const scale = 1 / Math.sqrt(dh);
      const c = new Float64Array(L * dh);
      const p = new Float64Array(L * L);
      const loss = () => (attentionHeadForward(ops, c, p, q, k, v, L, dh, scale, mask), dot(c, w));
      loss();
      const dp = new Float64Array(L * L);
      const dq = new Float64Array(L * dh);
      const dk = new Float64Array(L * dh);
      const dv = new Float64Array(L * dh);
      attentionHeadBackwardProbs(ops, dp, dv, w, p, v, L, dh);
      attentionHeadBackwardScores(ops, dq, dk, dp, p, q, k, L, dh, scale, mask);
      expect(checkFd(q, loss, dq)).toBeLessThan(FD_GATE);
      expect(checkFd(k, loss, dk)).toBeLessThan(FD_GATE);
      expect(checkFd(v, loss, dv)).toBeLessThan(FD_GATE);
    });
  }

  it("a whole random model (GELU and ReLU, random shapes): ∂logit/∂embeddings.out", async () => {
    for (const [seed, activation] of [[7, "gelu"], [8, "relu"]] as const) {
      const r = rng(seed);
      const nHeads = 1 + Math.floor(r() * 3);
      const dim = nHeads * (2 + Math.floor(r() * 3));
      const m = randomModel({ vocabSize: 40, dim, nLayers: 2, nHeads, hiddenDim: 2 * dim + 1, maxPositionEmbeddings: 16, activation, labels: ["a", "b", "c"], seed });
      const model = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights });
      const engine = new GradientEngine(model, { precision: "f64" });
      const ids = [2, 7, 11, 30, 3];
      const x = Float64Array.from(engine.embed(ids));
      const g = engine.run({ embeddings: x }, { kind: "logProb", label: 2 }, ["embeddings.out"]).grads.get("embeddings.out")!.data;
      const loss = () => engine.run({ embeddings: x }, { kind: "logProb", label: 2 }, []).value;
      expect(checkFd(x, loss, g), `${activation} dim ${dim} heads ${nHeads}`).toBeLessThan(FD_GATE * 10);
    }
  });
});

describe("the backend's float32 products against the float64 loops", () => {
  for (const bc of backendCases) {
    it(bc.name, async () => {
      const b = backendOps(await bc.create());
      const r = rng(5);
      for (let trial = 0; trial < 5; trial++) {
        const [M, N, K] = [1 + Math.floor(r() * 20), 1 + Math.floor(r() * 20), 1 + Math.floor(r() * 40)];
        const a = rand(M * K, r);
        const bm = rand(K * N, r);
        const at = rand(K * M, r);
        const cases: [string, (o: Vec, a: Vec, b: Vec, at: Vec) => void, (o: Vec, a: Vec, b: Vec, at: Vec) => void][] = [
          ["matmul", (o, x, y) => b.matmul(o, x, y, M, N, K, 0.5), (o, x, y) => ops.matmul(o, x, y, M, N, K, 0.5)],
          ["matmulTransA", (o, _x, y, z) => b.matmulTransA(o, z, y, M, N, K), (o, _x, y, z) => ops.matmulTransA(o, z, y, M, N, K)],
        ];
        for (const [what, f32, f64] of cases) {
          const o32 = new Float32Array(M * N);
          const o64 = new Float64Array(M * N);
          f32(o32, Float32Array.from(a), Float32Array.from(bm), Float32Array.from(at));
          f64(o64, Float64Array.from(Float32Array.from(a)), Float64Array.from(Float32Array.from(bm)), Float64Array.from(Float32Array.from(at)));
          for (let i = 0; i < M * N; i++) expect(Math.abs(o32[i] - o64[i]), `${what} [${M}, ${N}, ${K}]`).toBeLessThan(1e-5 * Math.sqrt(K));
        }
      }
    });
  }
});
