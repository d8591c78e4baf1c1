import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  SafetensorsFile,
  writeSafetensors,
} from "../src/safetensors/index.js";

/** Decodes a half straight from the IEEE definition, independently of the implementation's exact arithmetic. */
function naiveF16(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * Math.pow(2, -24);
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * Math.pow(2, e - 15);
}

function f32FromBits(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits >>> 0);
  return dv.getFloat32(0);
}

// Every finite non-negative half in increasing order: bit patterns 0x0000..0x7bff are already sorted by value.
const POSITIVE_HALVES = Array.from({ length: 0x7c00 }, (_, h) => naiveF16(h));

/** Nearest half by search over all halves (ties to the even pattern): a reference that shares no code with the bit tricks. */
function nearestF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 = 65504 + half an ulp: from there on the nearest even candidate is the "next" pattern, 0x7c00 = inf.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = POSITIVE_HALVES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (POSITIVE_HALVES[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (POSITIVE_HALVES[lo] === a) return sign | lo;
  const below = POSITIVE_HALVES[lo];
  const above = lo + 1 < POSITIVE_HALVES.length ? POSITIVE_HALVES[lo + 1] : 65536;
  const dBelow = a - below;
  const dAbove = above - a;
  const pick = dBelow < dAbove ? lo : dAbove < dBelow ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  return sign | pick;
}

/** Nearest bfloat16 among the two bracketing candidates, ties to even. */
function nearestBf16(bits: number): number {
  const x = f32FromBits(bits);
  if (Number.isNaN(x)) return 0x7fc0;
  const lo = bits >>> 16;
  const hiBits = lo + 1;
  const vLo = f32FromBits(lo << 16);
  if (vLo === x) return lo;
  // For the largest finite bf16, the pattern above is infinity; its "distance" uses the would-be next exponent step.
  const vHi = (hiBits & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : f32FromBits(hiBits << 16);
  const dLo = Math.abs(x - vLo);
  const dHi = Math.abs(vHi - x);
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hiBits & 0xffff;
  return lo % 2 === 0 ? lo : hiBits & 0xffff;
}

describe("f16", () => {
  it("decodes all 65536 bit patterns exactly as the IEEE definition", () => {
    for (let h = 0; h < 65536; h++) {
      const got = f16BitsToF32(h);
      const want = naiveF16(h);
      if (!Object.is(got, want)) expect.fail(`f16BitsToF32(0x${h.toString(16)}) = ${got}, want ${want}`);
    }
  });

  it("getFloat32 of an F16 tensor holding all 65536 patterns matches the definition (table path)", () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const file = SafetensorsFile.parse(writeSafetensors([{ name: "all", dtype: "F16", shape: [65536], data: bits }]));
    const got = file.getFloat32("all");
    for (let h = 0; h < 65536; h++) {
      const want = Math.fround(naiveF16(h));
      if (!Object.is(got[h], want)) expect.fail(`pattern 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
    }
    expect(file.findNonFinite("all")).toEqual({ count: 2 * 1024, firstIndex: 0x7c00 });
  });

  it("f32ToF16Bits(f16BitsToF32(h)) === h for every non-NaN pattern; NaN stays NaN", () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16Bits(f16BitsToF32(h));
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) {
        if ((back & 0x7c00) !== 0x7c00 || (back & 0x3ff) === 0) expect.fail(`NaN 0x${h.toString(16)} -> 0x${back.toString(16)}`);
      } else if (back !== h) {
        expect.fail(`0x${h.toString(16)} -> 0x${back.toString(16)}`);
      }
    }
  });

  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest half
    [65519.99, 0x7bff],
    [65520, 0x7c00], // half-way to 2^16 rounds to even = infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [NaN, 0x7e00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: ties to even = 0
    [2 ** -25 * (1 + 2 ** -23), 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // 1.5 ulps: tie, to even 2
    [5 * 2 ** -25, 0x0002], // 2.5 ulps: tie, to even 2
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -25, 0x0400], // tie between 0x3ff and 0x400: even is 0x400
    [2 ** -14 - 3 * 2 ** -25, 0x03fe], // tie between 0x3fe and 0x3ff: even 0x3fe
    [1 + 2 ** -11, 0x3c00], // tie: even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even mantissa 2
    [1 + 2 ** -11 + 2 ** -23, 0x3c01], // just above the tie
    [2048 + 1, 0x6800], // 2049 is a tie between 2048 and 2050
    [2048 + 3, 0x6802],
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
    [2 ** -149, 0x0000], // float32 subnormal
  ])("f32ToF16Bits(%d) = %i", (x, want) => {
    expect(f32ToF16Bits(x)).toBe(want);
    expect(nearestF16(Math.fround(x))).toBe(want); // the reference agrees on the tricky cases too
  });

  it("f32ToF16Bits rounds every float32 to the nearest half, ties to even (vs exhaustive-search reference)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const x = f32FromBits(bits);
        const got = f32ToF16Bits(x);
        if (Number.isNaN(x)) return (got & 0x7fff) === 0x7e00;
        return got === nearestF16(x);
      }),
      { numRuns: 20000 },
    );
    // Random bit patterns rarely hit the half range; sample it densely too.
    fc.assert(
      fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (d) => {
        const x = Math.fround(d);
        return f32ToF16Bits(x) === nearestF16(x);
      }),
      { numRuns: 20000 },
    );
    fc.assert(
      fc.property(fc.double({ min: -(2 ** -13), max: 2 ** -13, noNaN: true }), (d) => {
        const x = Math.fround(d);
        return f32ToF16Bits(x) === nearestF16(x);
      }),
      { numRuns: 10000 },
    );
  });
});

describe("bf16", () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3f80],
    [-2, 0xc000],
    [3, 0x4040],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [NaN, 0x7fc0],
    [f32FromBits(0x3f808000), 0x3f80], // tie, lower is even
    [f32FromBits(0x3f818000), 0x3f82], // tie, upper is even
    [f32FromBits(0x3f808001), 0x3f81], // just above the tie
    [f32FromBits(0x3f807fff), 0x3f80], // just below
    [f32FromBits(0x7f7fffff), 0x7f80], // largest float rounds up to inf (as torch)
    [f32FromBits(0x7f7f7fff), 0x7f7f],
    [f32FromBits(0x00000001), 0x0000], // float32 subnormals round like any other value
    [f32FromBits(0x00008000), 0x0000],
    [f32FromBits(0x00018000), 0x0002],
  ])("f32ToBf16Bits(%d) = %i", (x, want) => {
    expect(f32ToBf16Bits(x)).toBe(want);
  });

  it("f32ToBf16Bits is round-to-nearest-even for random float32 bit patterns", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => f32ToBf16Bits(f32FromBits(bits)) === nearestBf16(bits)),
      { numRuns: 50000 },
    );
  });

  it("bf16BitsToF32 is the upper half of a float32, for all patterns", () => {
    for (let h = 0; h < 65536; h++) {
      const got = bf16BitsToF32(h);
      const want = f32FromBits(h << 16);
      if (!Object.is(got, want)) expect.fail(`0x${h.toString(16)}: ${got} vs ${want}`);
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (!isNaN && f32ToBf16Bits(got) !== h) expect.fail(`round trip 0x${h.toString(16)}`);
    }
  });
});
