/**
 * Half-precision conversions. Inputs of the `f32To*` functions are first rounded to float32 (Math.fround) so that
 * the result is what a float32 tensor cast with torch's `.half()` / `.bfloat16()` gives; rounding a float64 straight
 * to 16 bits could differ from that in rare double-rounding cases.
 */

// Shared scratch for reinterpreting float32 bits; both views alias the same 4 bytes, so endianness cancels out.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bits → IEEE binary16 bits, round to nearest, ties to even; NaN → sign | 0x7e00 (as torch). */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  const b = scratchU32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;

  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 : sign | 0x7c00;
  // 2^16 and above is beyond even the rounding range of the largest half (65504 + 16).
  if (exp > 142) return sign | 0x7c00;

  if (exp >= 113) {
    // Normal half: rebias the exponent (127 → 15) and drop 13 mantissa bits. A carry out of the mantissa correctly
    // bumps the exponent, and out of the top exponent yields 0x7c00 = infinity.
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }

  // Subnormal half (or zero): the value is M · 2^(exp-150) with the implicit bit made explicit, i.e.
  // M · 2^(exp-126) units of 2^-24. Float32 subnormals (exp 0) are far below half's smallest subnormal.
  if (exp === 0) return sign;
  const shift = 126 - exp; // ≥ 14 here
  if (shift > 24) return sign; // < 2^-25 · (2 - ε): below half of the smallest subnormal
  const m = mant | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

const TWO_POW_M24 = 2 ** -24;

/** IEEE binary16 bits → number (exact; every half is a float32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * TWO_POW_M24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  // (1024 + mant) · 2^(exp - 25): a power-of-two scaling, hence exact.
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** float32 → bfloat16 bits (upper half of the float32), round to nearest even; NaN → 0x7fc0 (as torch). */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const b = scratchU32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  // Adding 0x7fff plus the lowest kept bit rounds half-way cases to the even neighbour; carries may round up to inf.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → number (exact). */
export function bf16BitsToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

let f16Table: Float32Array | null = null;

/** All 65536 halves decoded once (256 KiB): table lookup is several times faster than decoding per element. */
export function f16LookupTable(): Float32Array {
  if (f16Table === null) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32(h);
    f16Table = t;
  }
  return f16Table;
}
