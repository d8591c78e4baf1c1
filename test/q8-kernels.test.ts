/**
 * The q8 Linear (src/tensor/quant.ts's scheme) in every backend against the naive reference, with equality: the
 * integer sums are exact and the rescale is the same float32 operations, so every backend, tile, thread split and
 * batch must give the same bits. Also: the activation codes of the wasm kernel against quant.ts, and the float32
 * GELU port (geluF32) against the wasm kernels' GELU over a dense grid.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Activation } from "../src/tensor/backend.js";
import { naiveLinearQ8 } from "../src/tensor/naive.js";
import { geluF32, quantizeActivationRow, quantizeRows, roundEven } from "../src/tensor/quant.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { backendCases } from "./helpers/backends.js";
import { randomArray } from "./helpers/random.js";

const acts: Activation[] = ["none", "gelu", "relu"];

/** Bits of a float32 array, so that equality also tells -0 from 0 and compares NaN payloads. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("q8 rules (quant.ts)", () => {
  it("roundEven rounds half to even, as WebAssembly's nearest", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -3.5].map(roundEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -4]);
  });

  it("weights: symmetric per row within ±127, the row's largest magnitude mapped to 127, all-zero rows scale 1", () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0, 0, 0, 3, 2.9, -0.01]);
    const q = quantizeRows(w, 3, 3);
    expect(Array.from(q.q)).toEqual([64, -127, 32, 0, 0, 0, 127, 123, 0]);
    expect(Array.from(q.scales)).toEqual([Math.fround(1 / 127), 1, Math.fround(3 / 127)]);
    expect(() => quantizeRows(Float32Array.from([1, NaN]), 1, 2, "w")).toThrow(/row 0 holds NaN at column 1/);
  });

  it("activations: 7-bit codes with a zero point per row; 0 is exactly representable", () => {
    const x = Float32Array.from([-1, 0, 0.5, 2.54]);
    const codes = new Uint8Array(4);
    const zp = new Int32Array(1);
    const s = quantizeActivationRow(x, 0, 4, codes, 0, zp, 0);
    expect(s).toBe(Math.fround(Math.fround(3.54) / 127));
    expect(zp[0]).toBe(36);
    expect(codes[1]).toBe(zp[0]);
    expect(Math.max(...codes)).toBeLessThanOrEqual(127);
    expect(Array.from(codes)).toEqual([0, 36, 54, 127]);
  });

  it("geluF32 is the wasm kernels' GELU bit for bit on a dense grid, the tails and specials", async () => {
    const be = await WasmBackend.create({ relaxed: false });
    const xs: number[] = [];
    for (let x = -14; x <= 14; x += 0.000731) xs.push(x);
    xs.push(0, -0, 1e-30, -1e-30, 1e-40, 40, -40, Infinity, -Infinity, NaN, 13, -13, 3.4e38, -3.4e38);
    const x = Float32Array.from(xs);
    const got = x.slice();
    be.activate(got, got.length, "gelu");
    const want = x.map(geluF32);
    expect(bits(want)).toEqual(bits(got));
  });
});

for (const bc of backendCases) {
  describe(`q8 linear: ${bc.name} backend vs naive, bit for bit`, () => {
    it("random shapes (tails of every tile), activations and biases", async () => {
      const be = await bc.create();
      if (be.prepareLinearQ8 === undefined) throw new Error(`${bc.name} has no q8 path`);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2 }), fc.boolean(), fc.nat(), (T, dIn, dOut, a, withBias, seed) => {
          const act = acts[a];
          // Offsets make the rows' ranges skewed (zero points away from the middle), as after a GELU.
          const x = randomArray(T * dIn, seed, 3).map((v, i) => v + ((i % 7) - 2) * 0.3);
          const w = quantizeRows(randomArray(dOut * dIn, seed + 1, 0.5), dOut, dIn);
          const b = withBias ? randomArray(dOut, seed + 2) : null;
          const want = new Float32Array(T * dOut);
          naiveLinearQ8(want, x, w, b, T, act);
          const got = new Float32Array(T * dOut);
          be.linear(got, x, be.prepareLinearQ8!(w, b), T, act);
          expect(bits(got)).toEqual(bits(want));
        }),
        { numRuns: 120 },
      );
    });

    it("activations with NaN, a subnormal range (1/scale overflows) and both signs of zero: bit for bit", async () => {
      const be = await bc.create();
      const [T, dIn, dOut] = [6, 37, 9];
      const x = randomArray(T * dIn, 21, 2);
      for (let k = 0; k < dIn; k += 5) x[k] = NaN; // row 0: NaNs among finite values (quant.ts passes them over)
      for (let k = 0; k < dIn; k++) x[dIn + k] = (k % 3) * 1e-40; // row 1: hi - lo subnormal, 1/scale = Infinity
      for (let k = 0; k < dIn; k++) x[2 * dIn + k] = k % 2 === 0 ? -0 : 0; // row 2: all zeros
      x[3 * dIn + dIn - 1] = NaN; // row 3: a NaN in the scalar tail (dIn is not a multiple of 4)
      const w = quantizeRows(randomArray(dOut * dIn, 22, 0.5), dOut, dIn);
      const b = randomArray(dOut, 23);
      const want = new Float32Array(T * dOut);
      naiveLinearQ8(want, x, w, b, T, "none");
      const got = new Float32Array(T * dOut);
      be.linear(got, x, be.prepareLinearQ8!(w, b), T, "none");
      expect(want.every(Number.isFinite)).toBe(true);
      expect(bits(got)).toEqual(bits(want));
    });

    it("linear never reads the weight's q8 rows (the wasm backend builds them on access: a matrix per call)", async () => {
      const be = await bc.create();
      const [T, dIn, dOut] = [5, 48, 24];
      const x = randomArray(T * dIn, 11, 2);
      const w = quantizeRows(randomArray(dOut * dIn, 12, 0.5), dOut, dIn);
      const lw = be.prepareLinearQ8!(w, null);
      let reads = 0;
      const spied = Object.defineProperty({ ...lw }, "q8", { enumerable: true, get: () => (reads++, lw.q8) });
      const want = new Float32Array(T * dOut);
      naiveLinearQ8(want, x, w, null, T, "none");
      const got = new Float32Array(T * dOut);
      for (let i = 0; i < 3; i++) be.linear(got, x, spied, T, "none");
      expect(bits(got)).toEqual(bits(want));
      // the js backend keeps the rows themselves (reading them is free); a wasm backend must use its own panels
      if (bc.name !== "js") expect(reads).toBe(0);
    });

    it("the real shapes (768 → 3072 GELU, 3072 → 768) at 37 rows", async () => {
      const be = await bc.create();
      for (const [dIn, dOut, act] of [[768, 3072, "gelu"], [3072, 768, "none"]] as const) {
        const T = 37;
        const x = randomArray(T * dIn, dIn, 2);
        const w = quantizeRows(randomArray(dOut * dIn, dOut, 0.1), dOut, dIn);
        const b = randomArray(dOut, 5, 0.1);
        const want = new Float32Array(T * dOut);
        naiveLinearQ8(want, x, w, b, T, act);
        const got = new Float32Array(T * dOut);
        be.linear(got, x, be.prepareLinearQ8!(w, b), T, act);
        expect(bits(got)).toEqual(bits(want));
      }
    }, 120_000);
  });
}
