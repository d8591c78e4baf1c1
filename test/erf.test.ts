import { describe, expect, it } from "vitest";
import { erf, gelu } from "../src/tensor/erf.js";
import { erfcReference, erfReference, geluReference } from "./helpers/erf-reference.js";

describe("the independent float64 reference (test/helpers/erf-reference.ts)", () => {
  it("matches published values of erf and erfc to 13 digits", () => {
    // Abramowitz & Stegun table 7.1 and DLMF 7.2 (erf) / known erfc tail values, to 16 significant digits (Python's math.erf and math.erfc give the same).
    const erfs: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.9995930479825550],
      [3, 0.9999779095030014],
    ];
    for (const [x, v] of erfs) {
      expect(Math.abs(erfReference(x) - v) / v, `erf(${x})`).toBeLessThan(1e-13); // the alternating series loses ~2 digits to cancellation near 3
      expect(erfReference(-x)).toBe(-erfReference(x));
    }
    const erfcs: [number, number][] = [
      [3.5, 7.430983723414128e-7],
      [4, 1.541725790028002e-8],
      [5, 1.537459794428035e-12],
      [6, 2.151973671249892e-17],
    ];
    for (const [x, v] of erfcs) expect(Math.abs(erfcReference(x) - v) / v, `erfc(${x})`).toBeLessThan(1e-13);
    expect(geluReference(0)).toBe(0);
    expect(Math.abs(geluReference(1) - 0.8413447460685429)).toBeLessThan(1e-15);
    expect(Math.abs(geluReference(-1) - -0.15865525393145707)).toBeLessThan(1e-15);
  });
});


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
      const want = geluReference(x);
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
