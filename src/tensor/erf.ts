/**
 * erf for float32 work. JavaScript has no Math.erf, and Hugging Face's "gelu" is the exact erf form, so the tanh
 * shortcut (a different activation, "gelu_new") would be wrong by up to ~5e-4 on logits.
 *
 * erfc(z) for z ≥ 0 uses the Chebyshev-fitted form from Numerical Recipes (erfcc): relative error below 1.2e-7
 * everywhere, i.e. within about one float32 ulp, for the cost of one exp and ten multiply-adds. Working through
 * erfc rather than erf keeps the relative accuracy in GELU's negative tail, where the result is tiny.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** Exact GELU, x · Φ(x) = x/2 · erfc(-x/√2), Hugging Face's "gelu". */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * Math.SQRT1_2);
}
