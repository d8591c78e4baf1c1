/**
 * The sentence-transformers modules after a bare DistilBertModel (src/model/sentence.ts), forward and backward:
 * Pooling (every mode, padding left out as sentence-transformers does), Dense (linear then identity, tanh, ReLU,
 * GELU or sigmoid) and Normalize. The output row is the embedding; objectives are functions of it (a component, or
 * e.g. the cosine similarity with another embedding through `{ kind: "outputs" }`).
 */
import type { DenseActivation, SentenceModule } from "../model/sentence.js";
import type { GradHead } from "./heads.js";
import { geluGrad, type Vec } from "./kernels.js";
import { erfc } from "../tensor/erf.js";
import { InputError } from "../errors.js";

type Step =
  | { type: "pooling"; in: number; count: number; weights: number; last: number; argmax: Int32Array; keyMask: Uint8Array | null }
  | { type: "dense"; in: Vec; out: Vec }
  | { type: "normalize"; out: Vec; norm: number };

function activate(v: number, act: DenseActivation): number {
  switch (act) {
    case "identity": return v;
    case "tanh": return Math.tanh(v);
    case "relu": return v > 0 ? v : 0;
    case "sigmoid": return 1 / (1 + Math.exp(-v));
    case "gelu": return 0.5 * v * erfc(-v * Math.SQRT1_2);
  }
}

/** d act / dx from the input x and the output y. */
function activateGrad(x: number, y: number, act: DenseActivation): number {
  switch (act) {
    case "identity": return 1;
    case "tanh": return 1 - y * y;
    case "relu": return x > 0 ? 1 : 0;
    case "sigmoid": return y * (1 - y);
    case "gelu": return geluGrad(x);
  }
}

export function sentenceEmbeddingHead(modules: readonly SentenceModule[], dim: number): GradHead {
  const names: { name: string; shape: number[] }[] = [];
  let width = dim;
  modules.forEach((m, i) => {
    if (m.type === "pooling") {
      width *= m.modes.length;
      names.push({ name: `head.${i + 1}.pooling`, shape: [width] });
    } else if (m.type === "dense") {
      width = m.linear.dOut;
      names.push({ name: `head.${i + 1}.dense`, shape: [width] });
    } else names.push({ name: `head.${i + 1}.normalize`, shape: [width] });
  });
  const outputSize = width;
  return {
    kind: "sequence",
    outputSize,
    activations: () => names.map((n) => ({ name: n.name, shape: [...n.shape] })),
    outputIndex(label) {
      if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= outputSize) {
        throw new InputError("target", `${JSON.stringify(label)} is not a component of the embedding`, `an index below ${outputSize}`);
      }
      return label;
    },
    outputName: (i) => String(i),
    forward(ops, hidden, T, probe, at) {
      const steps: Step[] = [];
      let x: Vec = hidden;
      modules.forEach((m, i) => {
        const name = names[i].name;
        if (m.type === "pooling") {
          const on = (t: number) => at.keyMask === null || at.keyMask[t] !== 0;
          const out = ops.alloc(dim * m.modes.length);
          const argmax = new Int32Array(dim * m.modes.length).fill(-1);
          let count = 0;
          let weights = 0;
          let last = 0;
          for (let t = 0; t < T; t++) {
            if (!on(t)) continue;
            count++;
            weights += t + 1;
            last = t;
          }
          m.modes.forEach((mode, mi) => {
            const o = mi * dim;
            for (let c = 0; c < dim; c++) {
              if (mode === "cls") out[o + c] = hidden[c];
              else if (mode === "lasttoken") out[o + c] = hidden[last * dim + c];
              else if (mode === "max") {
                let best = -Infinity;
                for (let t = 0; t < T; t++) {
                  if (on(t) && hidden[t * dim + c] > best) {
                    best = hidden[t * dim + c];
                    argmax[o + c] = t;
                  }
                }
                out[o + c] = best;
              } else {
                let s = 0;
                for (let t = 0; t < T; t++) if (on(t)) s += (mode === "weightedmean" ? t + 1 : 1) * hidden[t * dim + c];
                out[o + c] = s / poolDivisor(mode, count, weights);
              }
            }
          });
          steps.push({ type: "pooling", in: T, count, weights, last, argmax, keyMask: at.keyMask });
          x = out;
        } else if (m.type === "dense") {
          const pre = ops.alloc(m.linear.dOut);
          ops.linear(pre, x, m.linear.w, 1);
          const out = ops.alloc(pre.length);
          for (let j = 0; j < pre.length; j++) out[j] = activate(pre[j], m.activation);
          steps.push({ type: "dense", in: pre, out });
          x = out;
        } else {
          let ss = 0;
          for (let j = 0; j < x.length; j++) ss += x[j] * x[j];
          const norm = Math.max(Math.sqrt(ss), 1e-12);
          const out = ops.alloc(x.length);
          for (let j = 0; j < x.length; j++) out[j] = x[j] / norm;
          steps.push({ type: "normalize", out, norm: Math.sqrt(ss) });
          x = out;
        }
        probe?.forward(name, x, [x.length]);
      });
      return { outputs: x, saved: steps };
    },
    backward(ops, saved, dOut, T, probe) {
      const steps = saved as Step[];
      let d: Vec = dOut;
      for (let i = modules.length - 1; i >= 0; i--) {
        const m = modules[i];
        const s = steps[i];
        probe?.backward(names[i].name, d, [d.length]);
        if (m.type === "dense" && s.type === "dense") {
          const dPre = ops.alloc(s.in.length);
          for (let j = 0; j < dPre.length; j++) dPre[j] = d[j] * activateGrad(s.in[j], s.out[j], m.activation);
          const dx = ops.alloc(m.linear.dIn);
          ops.linearBackwardInput(dx, dPre, m.linear.w, 1);
          d = dx;
        } else if (m.type === "normalize" && s.type === "normalize") {
          // y = x / max(‖x‖, ε): dx = (dy − y (y·dy)) / ‖x‖ above ε; below it the divisor is a constant.
          const dx = ops.alloc(d.length);
          if (s.norm > 1e-12) {
            let dot = 0;
            for (let j = 0; j < d.length; j++) dot += s.out[j] * d[j];
            for (let j = 0; j < d.length; j++) dx[j] = (d[j] - s.out[j] * dot) / s.norm;
          } else for (let j = 0; j < d.length; j++) dx[j] = d[j] / 1e-12;
          d = dx;
        } else if (m.type === "pooling" && s.type === "pooling") {
          const dHidden = ops.alloc(T * dim);
          const on = (t: number) => s.keyMask === null || s.keyMask[t] !== 0;
          m.modes.forEach((mode, mi) => {
            const o = mi * dim;
            for (let c = 0; c < dim; c++) {
              const g = d[o + c];
              if (mode === "cls") dHidden[c] += g;
              else if (mode === "lasttoken") dHidden[s.last * dim + c] += g;
              else if (mode === "max") {
                if (s.argmax[o + c] >= 0) dHidden[s.argmax[o + c] * dim + c] += g;
              } else {
                const div = poolDivisor(mode, s.count, s.weights);
                for (let t = 0; t < T; t++) if (on(t)) dHidden[t * dim + c] += ((mode === "weightedmean" ? t + 1 : 1) * g) / div;
              }
            }
          });
          d = dHidden;
        }
      }
      return d;
    },
  };
}

/** What a summing pooling mode divides by (sentence-transformers clamps the counts at 1e-9). */
function poolDivisor(mode: string, count: number, weights: number): number {
  if (mode === "mean") return Math.max(count, 1e-9);
  if (mode === "mean_sqrt_len_tokens") return Math.sqrt(Math.max(count, 1e-9));
  if (mode === "weightedmean") return Math.max(weights, 1e-9);
  return 1;
}
