/**
 * Per-token attributions for one input: integrated gradients, gradient × input, saliency (from the gradient pass,
 * src/grad), attention rollout and occlusion (from forward passes only). Runtime-agnostic, like study.ts.
 */
import { described, labelRef, loadedModel, optionalChoice, optionsObject, textOrIds, tokenIds } from "../arguments.js";
import { InputError } from "../errors.js";
import { GradientEngine, type GradientOptions, type Objective } from "../grad/engine.js";
import type { Vec } from "../grad/kernels.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { occlusion } from "./study.js";

export type AttributionMethod = "ig" | "gradxinput" | "saliency" | "rollout" | "occlusion";
export const ATTRIBUTION_METHODS: readonly AttributionMethod[] = ["ig", "gradxinput", "saliency", "rollout", "occlusion"];
export type Baseline = "pad" | "mask" | "zero";
/** Integration rule of IG: right Riemann sums, or Gauss–Legendre (Captum's default). */
export type IgRule = "riemann-right" | "gauss-legendre";

export interface AttributionOptions {
  method?: AttributionMethod;
  /**
   * Output whose logit is attributed: a label (name or index), for a masked LM a vocabulary token (or id), for QA
   * start or end; default the predicted one (the largest logit). Rollout ignores it.
   */
  target?: string | number;
  /**
   * A token head's row (masked LM, QA, token classification): the position whose output is attributed. Default for
   * a masked LM: the first [MASK]; the other token heads need it.
   */
  position?: number;
  /**
   * A sentence-embedding model: F = the cosine similarity between this input's embedding and `similarTo`'s (a text,
   * or token ids): which tokens make the two alike. Required for such a model, refused for the others.
   */
  similarTo?: string | readonly number[];
  /** IG's steps m (default 32). */
  steps?: number;
  rule?: IgRule;
  /** IG's baseline x′ (default "pad"): embeddings.out of the ids with every token but [CLS]/[SEP] replaced by [PAD]
   * ("mask": by [MASK]), or "zero": x′ = 0. Gradient × input uses it too (x - x′ in place of x). */
  baseline?: Baseline;
  /** Gradient precision (default "f32", the model backend's kernels). */
  precision?: GradientOptions["precision"];
  /** An engine to reuse (its precision wins). */
  engine?: GradientEngine;
}

export interface Attribution {
  method: AttributionMethod;
  tokens: string[];
  ids: number[];
  /** The attributed output's index and name (a label, a vocabulary token, start/end). */
  target: number;
  label: string;
  /** The predicted output (the largest logit; at `position` for a token head). */
  predicted: string;
  /** A token head's row that was attributed. */
  position?: number;
  /** [T] one number per token. */
  attributions: number[];
  /**
   * Σ attributions - (F(x) - F(x′)), F = the target's logit: how far the attributions are from accounting for the
   * logit's change from the baseline (IG: → 0 as steps grow; gradient × input: exact only for a linear model).
   * null for methods that do not decompose F (saliency, rollout, occlusion).
   */
  completeness_gap: number | null;
  /** F(x) and F(x′), for the methods that have them. */
  f_input?: number;
  f_baseline?: number;
  steps?: number;
  rule?: IgRule;
  baseline?: Baseline;
  /** What the numbers are, in one line (for the CLI and the report). */
  meaning: string;
}

/** Nodes in (0, 1) and weights (summing to 1) of m-point Gauss–Legendre quadrature. */
export function gaussLegendre01(m: number): { alphas: number[]; weights: number[] } {
  const alphas: number[] = [];
  const weights: number[] = [];
  // Legendre P_m and P_{m-1} at x by the three-term recurrence.
  const legendre = (x: number): [number, number] => {
    let p = 1;
    let prev = 0;
    for (let j = 1; j <= m; j++) [prev, p] = [p, ((2 * j - 1) * x * p - (j - 1) * prev) / j];
    return [p, prev];
  };
  for (let i = 0; i < m; i++) {
    // Newton's method from the usual first guess of the i-th root.
    let x = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const [p, prev] = legendre(x);
      const dx = p / ((m * (x * p - prev)) / (x * x - 1));
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    const [p, prev] = legendre(x);
    const dp = (m * (x * p - prev)) / (x * x - 1);
    alphas.push((x + 1) / 2);
    weights.push(1 / ((1 - x * x) * dp * dp)); // 2 / ((1 - x²) P'ₘ(x)²) on [-1, 1], halved for [0, 1]
  }
  return { alphas: alphas.reverse(), weights: weights.reverse() };
}

/** Attributions of one input (a text, or ids with their tokens). */
export function attribute(
  model: DistilBertClassifier,
  input: { text: string } | { ids: number[]; tokens: string[] },
  options: AttributionOptions = {},
): Attribution {
  loadedModel(model, "attribute: model");
  input = textOrIds(input, "attribute: input", model.config.vocabSize, model.maxLength);
  optionsObject(options, "attribute: options", ["method", "target", "position", "similarTo", "steps", "rule", "baseline", "precision", "engine"]);
  const method = optionalChoice(options.method, "attribute: method", ATTRIBUTION_METHODS, "ig");
  if (options.engine !== undefined && !(options.engine instanceof GradientEngine)) throw new InputError("attribute: engine", `is ${described(options.engine)}`, "a GradientEngine over this model");
  if (options.engine !== undefined && options.engine.model !== model) throw new InputError("attribute: engine", "was made for another model", "a GradientEngine over this model");
  const baseline = optionalChoice(options.baseline, "attribute: baseline", ["pad", "mask", "zero"] as const, "pad");
  const rule = optionalChoice(options.rule, "attribute: rule", ["riemann-right", "gauss-legendre"] as const, "riemann-right");
  const steps = options.steps ?? 32;
  if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > 4096) throw new InputError("attribute: steps", `is ${described(steps)}`, "an integer from 1 to 4096");
  // target is checked by the head it names an output of (a label, a vocabulary token, start/end): engine.labelIndex.
  if (options.similarTo !== undefined && typeof options.similarTo !== "string" && !Array.isArray(options.similarTo)) {
    throw new InputError("attribute: similarTo", `is ${described(options.similarTo)}`, "a text, or an embedding (an array of numbers)");
  }
  let ids: number[];
  let tokens: string[];
  if ("text" in input) {
    const e = model.tokenizer.encode(input.text, { maxLength: model.maxLength });
    ids = e.ids;
    tokens = e.tokens;
  } else {
    ids = input.ids;
    tokens = input.tokens;
  }
  const engine = options.engine ?? new GradientEngine(model, { precision: options.precision });
  const { head } = engine;
  const architecture = model.head.architecture;
  const embedding = architecture === "DistilBertModel" && head.kind === "sequence";
  if (embedding !== (options.similarTo !== undefined)) {
    throw embedding
      ? new InputError("attribute", "the model is a sentence embedding: one output vector, no label to attribute", "similarTo (--similar-to TEXT): the cosine similarity with another text's embedding is attributed")
      : new InputError("similarTo", `is for sentence-embedding models (the model is a ${architecture})`, "target (and position) instead");
  }
  if (embedding) return similarityAttribution(model, engine, method, ids, tokens, options);
  const position = head.kind === "token" ? tokenPosition(model, ids, options.position) : undefined;
  if (head.kind === "sequence" && options.position !== undefined) throw new InputError("position", `is ${options.position} but the ${architecture} head has one output per input`, "no position");
  const outputs = engine.run({ ids }, { kind: "logit", label: 0, position }, []).outputs;
  let predicted = 0;
  for (let i = 1; i < outputs.length; i++) if (outputs[i] > outputs[predicted]) predicted = i;
  const target = options.target === undefined ? predicted : engine.labelIndex(options.target);
  const name = (i: number) => head.outputName(i);
  const common = { tokens, ids, target, label: name(target), predicted: name(predicted), ...(position === undefined ? {} : { position }) };
  const at = position === undefined ? "" : ` at position ${position}`;

  if (method === "rollout") {
    const row = position ?? 0;
    return {
      method, ...common, attributions: rollout(model, ids)[row], completeness_gap: null,
      meaning: `attention rollout: how much ${row === 0 ? "[CLS]" : `position ${row}`} at the last layer draws on each input token (rows sum to 1; label-independent)`,
    };
  }
  if (method === "occlusion") {
    if (architecture !== "DistilBertForSequenceClassification") {
      throw new InputError("method occlusion", `is for sequence classifiers (the model is a ${architecture}: removing a token moves every position)`, "ig, gradxinput, saliency or rollout");
    }
    const probs = Array.from(model.forward([ids]).probs.data);
    const labels = model.config.labels;
    const rows = occlusion(model, ids, tokens, target, probs[target], null);
    const attributions = new Array<number>(ids.length).fill(0);
    for (const r of rows) for (let i = r.index; i < r.index + r.count; i++) attributions[i] = r.delta;
    return { method, ...common, attributions, completeness_gap: null, meaning: `occlusion: P(${labels[target]}) with the full input minus P without the token ([CLS]/[SEP] stay: 0)` };
  }

  const objective = { kind: "logit", label: target, position } as const;
  return { ...common, ...pathAttribution(engine, model, method, ids, objective, `logit(${name(target)})${at}`, options) };
}

type PathMethod = Omit<Attribution, "tokens" | "ids" | "target" | "label" | "predicted" | "position">;

/** Saliency, gradient × input and IG of the scalar `objective` (described as F) w.r.t. embeddings.out. */
function pathAttribution(engine: GradientEngine, model: DistilBertClassifier, method: AttributionMethod, ids: number[], objective: Objective, F: string, options: AttributionOptions): PathMethod {
  const { dim } = model.config;
  const T = ids.length;
  const x = engine.embed(ids);
  if (method === "saliency") {
    const g = engine.run({ embeddings: x }, objective, ["embeddings.out"]).grads.get("embeddings.out")!.data;
    return { method, attributions: perToken(g, T, dim, (v) => v * v).map(Math.sqrt), completeness_gap: null, meaning: `saliency: ‖∂ ${F} / ∂ embeddings.out‖₂ of each token` };
  }

  // (attribute() checked these options.)
  const baseline = options.baseline ?? "pad";
  const steps = options.steps ?? 32;
  const rule = options.rule ?? "riemann-right";
  const xb = baselineEmbeddings(engine, model, ids, baseline);
  const diff = new Float64Array(T * dim);
  for (let i = 0; i < diff.length; i++) diff[i] = x[i] - xb[i];
  const fx = engine.run({ embeddings: x }, objective, []).value;
  const fb = engine.run({ embeddings: xb }, objective, []).value;

  if (method === "gradxinput") {
    const g = engine.run({ embeddings: x }, objective, ["embeddings.out"]).grads.get("embeddings.out")!.data;
    const attributions = perToken(g, T, dim, (v, i) => v * diff[i]);
    return {
      method, attributions, completeness_gap: sum(attributions) - (fx - fb), f_input: fx, f_baseline: fb, baseline,
      meaning: `gradient × (input − baseline): Σ over dim of (x − x′) ⊙ ∂ ${F} / ∂x at x = embeddings.out`,
    };
  }

  const { alphas, weights } = rule === "gauss-legendre"
    ? gaussLegendre01(steps)
    : { alphas: Array.from({ length: steps }, (_, k) => (k + 1) / steps), weights: new Array<number>(steps).fill(1 / steps) };
  const total = new Float64Array(T * dim);
  const point = new Float64Array(T * dim);
  alphas.forEach((a, k) => {
    for (let i = 0; i < point.length; i++) point[i] = xb[i] + a * diff[i];
    const g = engine.run({ embeddings: point }, objective, ["embeddings.out"]).grads.get("embeddings.out")!.data;
    for (let i = 0; i < total.length; i++) total[i] += weights[k] * g[i];
  });
  const attributions = perToken(total, T, dim, (v, i) => v * diff[i]);
  return {
    method, attributions, completeness_gap: sum(attributions) - (fx - fb), f_input: fx, f_baseline: fb, steps, rule, baseline,
    meaning: `integrated gradients of ${F} w.r.t. embeddings.out from the ${baseline} baseline (${rule}, ${steps} steps), summed over dim`,
  };
}

/** The cosine similarity of an embedding e with the unit vector u, and its gradient (u − cos·e/‖e‖)/‖e‖. */
function cosineTo(u: Float64Array): (e: Float64Array) => { value: number; grad: Float64Array } {
  return (e) => {
    let ee = 0;
    let eu = 0;
    for (let i = 0; i < e.length; i++) {
      ee += e[i] * e[i];
      eu += e[i] * u[i];
    }
    const n = Math.max(Math.sqrt(ee), 1e-12);
    const cos = eu / n;
    return { value: cos, grad: Float64Array.from(e, (v, i) => (u[i] - (cos * v) / n) / n) };
  };
}

/** attribute() for a sentence-embedding model: F = cos(embedding(input), embedding(similarTo)). */
function similarityAttribution(model: DistilBertClassifier, engine: GradientEngine, method: AttributionMethod, ids: number[], tokens: string[], options: AttributionOptions): Attribution {
  if (options.target !== undefined || options.position !== undefined) throw new InputError("target", "is given for a sentence embedding", "similarTo alone");
  if (method === "occlusion") throw new InputError("method occlusion", "is for sequence classifiers (the model is a sentence embedding)", "ig, gradxinput, saliency or rollout");
  const other = typeof options.similarTo === "string" ? model.tokenizer.encode(options.similarTo, { maxLength: model.maxLength }).ids : Array.from(options.similarTo!);
  const o = engine.run({ ids: other }, { kind: "outputs", fn: (e) => ({ value: 0, grad: new Float64Array(e.length) }) }, []).outputs;
  const norm = Math.max(Math.hypot(...o), 1e-12);
  const u = Float64Array.from(o, (v) => v / norm);
  const objective = { kind: "outputs", fn: cosineTo(u) } as const;
  const what = `cos(embedding, embedding of ${typeof options.similarTo === "string" ? JSON.stringify(options.similarTo.slice(0, 60)) : "the other ids"})`;
  const common = { tokens, ids, target: 0, label: "similarity", predicted: "similarity" };
  if (method === "rollout") {
    return { method, ...common, attributions: rollout(model, ids)[0], completeness_gap: null, meaning: "attention rollout: how much [CLS] at the last layer draws on each input token (rows sum to 1)" };
  }
  return { ...pathAttribution(engine, model, method, ids, objective, what, options), ...common };
}

/** A token head's position: the one given (checked), or a masked LM's first [MASK]. */
function tokenPosition(model: DistilBertClassifier, ids: readonly number[], given: number | undefined): number {
  if (given !== undefined) {
    if (!Number.isInteger(given) || given < 0 || given >= ids.length) throw new InputError("position", `is ${String(given)}`, `a token position from 0 to ${ids.length - 1}`);
    return given;
  }
  const { maskId } = model.tokenizer;
  const first = maskId === undefined ? -1 : ids.indexOf(maskId);
  if (model.head.architecture === "DistilBertForMaskedLM" && first >= 0) return first;
  throw new InputError("position", `is needed: the ${model.head.architecture} head has one output per token${model.head.architecture === "DistilBertForMaskedLM" ? " and the input has no [MASK]" : ""}`, `a token position from 0 to ${ids.length - 1}`);
}

/** embeddings.out of the baseline: ids with every token but [CLS]/[SEP] replaced by [PAD] or [MASK], or zeros. */
export function baselineEmbeddings(engine: GradientEngine, model: DistilBertClassifier, ids: readonly number[], baseline: Baseline): Vec {
  const { tokenizer } = model;
  if (baseline === "zero") return engine.ops.alloc(ids.length * model.config.dim);
  let fill: number;
  if (baseline === "pad") fill = tokenizer.padId;
  else if (baseline === "mask") {
    if (tokenizer.maskId === undefined) throw new InputError("baseline", "the vocabulary has no [MASK] token", "pad or zero");
    fill = tokenizer.maskId;
  } else throw new InputError("baseline", `is ${described(baseline)}`, '"pad", "mask" or "zero"');
  const keep = new Set([tokenizer.clsId, tokenizer.sepId]);
  return engine.embed(ids.map((id) => (keep.has(id) ? id : fill)));
}

/**
 * Attention rollout (Abnar & Zuidema 2020): per layer A = 0.5 · mean over heads of the attention + 0.5 · I, rows
 * renormalised; R = A_L · … · A_1. Returns R [T][T] (row = query at the last layer, column = input token).
 */
export function rollout(model: DistilBertClassifier, ids: readonly number[]): number[][] {
  loadedModel(model, "rollout: model");
  ids = tokenIds(ids, "rollout: ids", model.config.vocabSize, model.maxLength);
  const out = model.forward([Array.from(ids)], undefined, { outputAttentions: true });
  const { nHeads: H } = model.config;
  const T = ids.length;
  let R: Float64Array | null = null;
  for (const att of out.attentions!) {
    const A = new Float64Array(T * T);
    for (let h = 0; h < H; h++) for (let i = 0; i < T * T; i++) A[i] += att.data[h * T * T + i] / H;
    for (let i = 0; i < T; i++) {
      let s = 0;
      for (let j = 0; j < T; j++) s += A[i * T + j] = 0.5 * A[i * T + j] + (i === j ? 0.5 : 0);
      for (let j = 0; j < T; j++) A[i * T + j] /= s;
    }
    if (R === null) R = A;
    else {
      const next = new Float64Array(T * T);
      for (let i = 0; i < T; i++) for (let k = 0; k < T; k++) {
        const a = A[i * T + k];
        for (let j = 0; j < T; j++) next[i * T + j] += a * R[k * T + j];
      }
      R = next;
    }
  }
  const r = R ?? Float64Array.from({ length: T * T }, (_, i) => (Math.floor(i / T) === i % T ? 1 : 0));
  return Array.from({ length: T }, (_, i) => Array.from(r.subarray(i * T, (i + 1) * T)));
}

function perToken(g: ArrayLike<number>, T: number, dim: number, f: (v: number, i: number) => number): number[] {
  return Array.from({ length: T }, (_, t) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += f(g[t * dim + c], t * dim + c);
    return s;
  });
}

function sum(a: readonly number[]): number {
  return a.reduce((s, v) => s + v, 0);
}

