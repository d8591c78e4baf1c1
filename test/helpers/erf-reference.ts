/**
 * erf, erfc and the exact GELU in float64, written here from their textbook definitions and sharing nothing with
 * src/tensor/erf.ts (the code under test): the Maclaurin series erf(z) = 2/√π Σ (-1)ⁿ z²ⁿ⁺¹ / (n! (2n+1)) for
 * |z| ≤ 3, and the continued fraction erfc(z) = e^(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))) beyond.
 * test/erf.test.ts checks these against published values (Abramowitz & Stegun table 7.1, to 15 digits).
 */

/** erfc(z), z ≥ 0: 1 - series up to 3 (erfc(3) ≈ 2e-5 keeps 11 digits), the continued fraction beyond. */
export function erfcReference(z: number): number {
  if (z <= 3) return 1 - erfReference(z);
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf by its Maclaurin series for |x| ≤ 3 and the continued fraction for erfc beyond. */
export function erfReference(x: number): number {
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

/** GELU(x) = x·Φ(x) = x/2 · erfc(-x/√2), through erfc for x < 0 so the negative tail keeps its digits. */
export function geluReference(x: number): number {
  return x < 0 ? 0.5 * x * erfcReference(-x * Math.SQRT1_2) : 0.5 * x * (1 + erfReference(x * Math.SQRT1_2));
}
