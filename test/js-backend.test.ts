/**
 * The plain-JS GEMM beyond kernels.test.ts's small random shapes: several row blocks, every tile/tail combination,
 * and the property the packed batches rely on: a row's output is bit-identical whichever rows share its call.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsBackend } from "../src/tensor/js-backend.js";
import { naiveBackend } from "../src/tensor/naive.js";
import { maxUlpDiff, randomArray } from "./helpers/random.js";

describe("js backend GEMM", () => {
  // Both sum in float64 in k order; only the bias is added at a different point (see ULPS in kernels.test.ts).
  it("spans several row blocks (M 150, K 2048) and matches the naive float64 kernel within 2 float32 ulps", () => {
    const [M, N, K] = [150, 21, 2048];
    const x = randomArray(M * K, 1);
    const w = randomArray(N * K, 2, 0.05);
    const b = randomArray(N, 3);
    const be = new JsBackend();
    const got = new Float32Array(M * N);
    be.linear(got, x, be.prepareLinear(w, b, N, K), M, "gelu");
    const want = new Float32Array(M * N);
    naiveBackend.linear(want, x, naiveBackend.prepareLinear(w, b, N, K), M, "gelu");
    const ulps = maxUlpDiff(got, want);
    console.log(`[js] M 150, N 21, K 2048 linear+GELU vs naive: ${ulps} ulps at most`);
    expect(ulps).toBeLessThanOrEqual(2);
  });

  it("a row's output does not depend on the other rows of its call, bit for bit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 50 }), fc.nat(), (M, N, K, seed) => {
        const be = new JsBackend();
        const x = randomArray(M * K, seed);
        const w = randomArray(N * K, seed + 1);
        const b = randomArray(N, seed + 2);
        const lw = be.prepareLinear(w, b, N, K);
        const all = new Float32Array(M * N);
        be.linear(all, x, lw, M, "gelu");
        // Each row alone (the tail kernels) and each suffix (rows moved to other tile positions).
        const m = seed % M;
        const alone = new Float32Array(N);
        be.linear(alone, x.subarray(m * K, (m + 1) * K), lw, 1, "gelu");
        expect(Array.from(alone)).toEqual(Array.from(all.subarray(m * N, (m + 1) * N)));
        const rest = new Float32Array((M - m) * N);
        be.linear(rest, x.subarray(m * K), lw, M - m, "gelu");
        expect(Array.from(rest)).toEqual(Array.from(all.subarray(m * N)));
        // The fused activation equals activate() on the stored pre-activation (taps rely on it).
        const pre = new Float32Array(M * N);
        be.linear(pre, x, lw, M, "none");
        be.activate(pre, M * N, "gelu");
        expect(Array.from(pre)).toEqual(Array.from(all));
      }),
      { numRuns: 150 },
    );
  });
});
