import { describe, expect, it } from "vitest";
import { erf, gelu } from "../src/tensor/erf.js";

/** erfc(z), z ≥ 0, in float64: 1 - series up to 3 (erfc(3) ≈ 2e-5 keeps 11 digits), the continued fraction beyond. */
function erfcReference(z: number): number {
  if (z <= 3) return 1 - erfReference(z);
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf by its Maclaurin series for |x| ≤ 3 and the continued fraction for erfc beyond, in float64. */
function erfReference(x: number): number {
  const z = Math.abs(x);
  if (z <= 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcReference(z));
}

describe("erf and exact GELU", () => {
  it("erf is within 1.2e-7 (float32 ulp scale) of a float64 reference on [-6, 6]", () => {
    let worst = 0;
    for (let x = -6; x <= 6; x += 0.001) worst = Math.max(worst, Math.abs(erf(x) - erfReference(x)));
    console.log(`erf max abs error on [-6, 6]: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1.2e-7);
  });

  it("GELU = x·Φ(x) with relative error below 2e-7, including the negative tail", () => {
    let worst = 0;
    for (let x = -12; x <= 12; x += 0.0007) {
      const want = x < 0 ? 0.5 * x * erfcReference(-x * Math.SQRT1_2) : 0.5 * x * (1 + erfReference(x * Math.SQRT1_2));
      if (want === 0) continue;
      worst = Math.max(worst, Math.abs(gelu(x) - want) / Math.abs(want));
    }
    console.log(`gelu max relative error on [-12, 12]: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-7);
    expect(gelu(0)).toBe(0);
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 7);
    expect(gelu(-1)).toBeCloseTo(-0.15865525393145707, 7);
  });
});
