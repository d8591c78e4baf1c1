/**
 * Gradients of a scalar with respect to named activations, for one sequence at a time.
 *
 * Memory: by default (`recompute`) the first pass keeps only each block's input [T, dim]; the backward recomputes
 * one block's forward at a time, with what its backward needs, right before going back through it. That costs one
 * more forward and keeps the peak at n_layers · T · dim plus one block's activations, instead of all of them.
 */
import { described, labelRef, loadedModel, numberRows, optionalBoolean, optionalChoice, optionsObject, stringArray, tokenIds } from "../arguments.js";
import { InputError } from "../errors.js";
import { compilePattern } from "../model/activations.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { Tensor } from "../tensor/tensor.js";
import { blockBackward, blockForward, embeddingsForward, savedBytes, type BlockSaved, type GradProbe } from "./encoder.js";
import { gradHead, type GradHead, type LabelRef } from "./heads.js";
import { addInto, type Vec } from "./kernels.js";
import { backendOps, f64Ops, type GradOps } from "./ops.js";

export type { LabelRef };

/**
 * The scalar to differentiate, a function of the head's output row. `logit`, `prob` (softmax over the row) and
 * `logProb` (log-softmax) of a label, `logitDiff` = logit(label) - logit(other); `outputs`: any function of the row
 * given with its gradient (e.g. a sentence embedding's cosine similarity with another); or `activations`: a sum of
 * functions of named activations, each given with its own gradient (same layout as the activation).
 *
 * A token head (masked LM, QA, token classification, the bare encoder) needs `position`: the row it is taken at. A
 * label is an id2label name or index; for the masked LM a vocabulary token or id; for QA "start" or "end".
 */
export type Objective = (
  | { kind: "logit"; label: LabelRef }
  | { kind: "prob"; label: LabelRef }
  | { kind: "logProb"; label: LabelRef }
  | { kind: "logitDiff"; label: LabelRef; other: LabelRef }
  | { kind: "outputs"; fn: (outputs: Float64Array) => { value: number; grad: ArrayLike<number> } }
  | { kind: "activations"; terms: Record<string, (value: Tensor) => { value: number; grad: ArrayLike<number> }> }
) & { position?: number };

export interface GradientOptions {
  /** "f32" (default): the model backend's float32 kernels for the products; "f64": plain float64 loops everywhere. */
  precision?: "f32" | "f64";
  /** Recompute each block's activations during the backward instead of keeping them all (default true). */
  recompute?: boolean;
}

export interface GradientInput {
  /** Token ids [T] ([CLS] … [SEP]). */
  ids?: readonly number[];
  /** Or start from embeddings.out itself [T·dim] (integrated gradients moves along a path of these). */
  embeddings?: ArrayLike<number>;
  /** [T] 1 = attend, 0 = masked key (Hugging Face's attention_mask); default all ones. */
  attentionMask?: readonly number[];
}

export interface RawGradients {
  value: number;
  /** The head's outputs (logits) of this pass. */
  outputs: Float64Array;
  /** embeddings.out [T, dim] of this pass. */
  embeddings: Vec;
  /** ∂value/∂activation by name, in the ops' precision. */
  grads: Map<string, { data: Vec; shape: number[] }>;
  /** Bytes of activations held at the peak (block inputs + one block's saved activations). */
  peakSavedBytes: number;
}

export interface GradientResult {
  value: number;
  logits: number[];
  /** ∂value/∂activation by name, float32, shapes without the batch axis (embeddings.out: [T, dim]). */
  gradients: Record<string, Tensor>;
  peakSavedBytes: number;
}

export class GradientEngine {
  readonly ops: GradOps;
  readonly head: GradHead;
  readonly recompute: boolean;

  constructor(readonly model: DistilBertClassifier, options: GradientOptions = {}) {
    loadedModel(model, "GradientEngine: model");
    optionsObject(options, "GradientEngine: options", ["precision", "recompute"]);
    const precision = optionalChoice(options.precision, "gradients: precision", ["f32", "f64"] as const, "f32");
    const recompute = options.recompute === undefined ? true : optionalBoolean(options.recompute, "GradientEngine: recompute");
    this.ops = precision === "f64" ? f64Ops() : backendOps(model.backend);
    this.head = gradHead(model);
    this.recompute = recompute;
  }

  /** Every name gradients can be taken with respect to, for T tokens, with its shape. */
  activationNames(T: number): { name: string; shape: number[] }[] {
    const max = this.model.config.maxPositionEmbeddings;
    if (typeof T !== "number" || !Number.isInteger(T) || T < 1 || T > max) throw new InputError("activationNames: T", `is ${described(T)}`, `a number of tokens from 1 to ${max}`);
    const { dim, nHeads: H, hiddenDim } = this.model.config;
    const { embeddings, layers } = this.model.encoder;
    const out = [{ name: embeddings.hooks.out, shape: [T, dim] }];
    for (const { attention: a, ffn, hooks } of layers) {
      out.push(
        { name: a.hooks.probs, shape: [H, T, T] },
        { name: a.hooks.context, shape: [T, dim] },
        { name: a.hooks.out, shape: [T, dim] },
        { name: hooks["sa_ln.out"], shape: [T, dim] },
        { name: ffn.hooks.pre, shape: [T, hiddenDim] },
        { name: ffn.hooks.act, shape: [T, hiddenDim] },
        { name: ffn.hooks.out, shape: [T, dim] },
        { name: hooks.out, shape: [T, dim] },
      );
    }
    return [...out, ...this.head.activations()];
  }

  /** The output index of a LabelRef (a label, a vocabulary token, start/end), checked. */
  labelIndex(label: LabelRef): number {
    return this.head.outputIndex(label);
  }

  /** The gradients of `objective` w.r.t. the activations named by `wrt` (names or patterns). */
  gradients(input: GradientInput, objective: Objective, wrt: readonly string[]): GradientResult {
    const raw = this.run(input, objective, wrt);
    const gradients: Record<string, Tensor> = {};
    for (const [name, g] of raw.grads) gradients[name] = new Tensor(Float32Array.from(g.data), g.shape);
    return { value: raw.value, logits: Array.from(raw.outputs), gradients, peakSavedBytes: raw.peakSavedBytes };
  }

  /** The same in the ops' own precision (what attribution methods accumulate from). */
  run(input: GradientInput, objective: Objective, wrt: readonly string[]): RawGradients {
    const { ops, head, model } = this;
    this.checkCall(input, objective, wrt);
    const { config } = model;
    const { dim } = config;
    const x0 = this.startingPoint(input);
    const T = x0.length / dim;
    const keyMask = this.keyMask(input.attentionMask, T);
    const position = this.position(objective, T);
    const names = this.activationNames(T);
    const wanted = new Set<string>();
    for (const p of wrt) {
      const re = compilePattern(p);
      const hit = names.filter((n) => re.test(n.name));
      if (hit.length === 0) throw new InputError("gradients: wrt", `${described(p)} matches no activation the gradient pass has`, `a name or pattern among embeddings.out, layer.{i}.out, layer.{i}.attn.probs, … head.logits`);
      for (const n of hit) wanted.add(n.name);
    }

    // Objective terms on activations are evaluated as the forward reaches them; their gradients become seeds.
    const seeds = new Map<string, Vec>();
    let termValue = 0;
    const terms = objective.kind === "activations" ? this.checkTerms(objective.terms, names) : null;
    const grads = new Map<string, { data: Vec; shape: number[] }>();
    const forwardProbe: GradProbe | null = terms === null ? null : {
      forward(name, value, shape) {
        const fn = terms.get(name);
        if (fn === undefined) return;
        const r = fn(new Tensor(Float32Array.from(value), shape));
        if (typeof r?.value !== "number" || r.grad?.length !== value.length) {
          throw new InputError(`objective term ${name}`, "returned no {value, grad} of the activation's size", `grad of ${value.length} values, shape [${shape.join(", ")}]`);
        }
        termValue += r.value;
        const g = ops.alloc(value.length);
        for (let i = 0; i < g.length; i++) g[i] = r.grad[i];
        seeds.set(name, g);
      },
      backward() {},
    };
    const backwardProbe: GradProbe = {
      forward() {},
      backward(name, grad, shape) {
        const seed = seeds.get(name);
        if (seed !== undefined) addInto(grad, seed, grad.length);
        if (wanted.has(name)) grads.set(name, { data: grad.slice(), shape: [...shape] });
      },
    };

    forwardProbe?.forward(model.encoder.embeddings.hooks.out, x0, [T, dim]);
    const layers = model.encoder.layers;
    const inputs: Vec[] = [];
    const saved: BlockSaved[] = [];
    let keptBytes = 0;
    let peak = 0;
    let h = x0;
    for (const block of layers) {
      inputs.push(h);
      const r = blockForward(ops, block, h, T, keyMask, forwardProbe);
      if (this.recompute) keptBytes += h.byteLength;
      else {
        saved.push(r.saved);
        keptBytes += savedBytes(r.saved);
      }
      peak = Math.max(peak, keptBytes + (this.recompute ? savedBytes(r.saved) : 0));
      h = r.out;
    }
    // A token head without a position (an objective on activations only) is left out of the pass.
    const skipHead = head.kind === "token" && position === null;
    const { outputs, saved: headSaved } = skipHead ? { outputs: ops.alloc(0), saved: null } : head.forward(ops, h, T, forwardProbe, { position, keyMask });
    const out64 = Float64Array.from(outputs);
    const { value, dOutputs } = this.headObjective(objective, out64);

    let g = skipHead ? ops.alloc(T * dim) : head.backward(ops, headSaved, dOutputs, T, backwardProbe);
    for (let i = layers.length - 1; i >= 0; i--) {
      const s = this.recompute ? blockForward(ops, layers[i], inputs[i], T, keyMask, null).saved : saved[i];
      g = blockBackward(ops, layers[i], s, g, keyMask, backwardProbe);
      if (!this.recompute) saved.pop();
    }
    backwardProbe.backward(model.encoder.embeddings.hooks.out, g, [T, dim]);
    return { value: value + termValue, outputs: out64, embeddings: x0, grads, peakSavedBytes: peak };
  }

  /** The arguments of run/gradients, each named when wrong (the objective's labels are checked when it is evaluated). */
  private checkCall(input: unknown, objective: unknown, wrt: unknown): void {
    optionsObject(input, "gradients: input", ["ids", "embeddings", "attentionMask"]);
    if (input === undefined) throw new InputError("gradients: input", "is missing", "{ ids } or { embeddings }");
    const { attentionMask } = input as GradientInput;
    if (attentionMask !== undefined) numberRows([attentionMask], "attention_mask");
    if (objective === null || typeof objective !== "object" || Array.isArray(objective)) {
      throw new InputError("gradients: objective", `is ${described(objective)}`, '{ kind: "logit" | "prob" | "logProb" | "logitDiff" | "activations" | "outputs", … }');
    }
    const o = objective as { kind?: unknown; terms?: unknown };
    optionalChoice(o.kind, "gradients: objective.kind", ["logit", "prob", "logProb", "logitDiff", "activations", "outputs"] as const, "logit");
    if (o.kind === undefined) throw new InputError("gradients: objective.kind", "is missing", '"logit", "prob", "logProb", "logitDiff", "activations" or "outputs"');
    if (o.kind === "activations" && (o.terms === null || typeof o.terms !== "object" || Array.isArray(o.terms))) {
      throw new InputError("gradients: objective.terms", `is ${described(o.terms)}`, "an object of activation name → function");
    }
    stringArray(wrt, "gradients: wrt", ' of activation names or patterns, e.g. ["embeddings.out"]');
  }

  /** embeddings.out for token ids, in the ops' precision. */
  embed(ids: readonly number[]): Vec {
    ids = tokenIds(ids, "input_ids", this.model.config.vocabSize, this.model.config.maxPositionEmbeddings);
    return embeddingsForward(this.ops, this.model.encoder.embeddings, ids);
  }

  /** The token head's row the objective is taken at (null for a sequence head), checked. */
  private position(objective: Objective, T: number): number | null {
    const p = objective.position;
    if (this.head.kind === "sequence") {
      if (p !== undefined) throw new InputError("objective: position", `is ${String(p)} but the ${this.model.head.architecture} head has one output per input`, "no position");
      return null;
    }
    if (p === undefined) {
      if (objective.kind === "activations") return null;
      throw new InputError("objective: position", `is missing: the ${this.model.head.architecture} head has one output row per token`, `a position from 0 to ${T - 1}`);
    }
    if (!Number.isInteger(p) || p < 0 || p >= T) throw new InputError("objective: position", `is ${String(p)}`, `an integer from 0 to ${T - 1}`);
    return p;
  }

  private startingPoint(input: GradientInput): Vec {
    const { dim } = this.model.config;
    if ((input.ids === undefined) === (input.embeddings === undefined)) throw new InputError("gradients", "needs exactly one of ids or embeddings");
    if (input.ids !== undefined) return this.embed(input.ids);
    const e = input.embeddings!;
    if (e === null || typeof e !== "object" || typeof e.length !== "number") throw new InputError("gradients: embeddings", `is ${described(e)}`, "an array or Float32Array/Float64Array of T·dim numbers");
    const T = e.length / dim;
    if (!Number.isInteger(T) || T < 1 || T > this.model.config.maxPositionEmbeddings) {
      throw new InputError("gradients: embeddings", `has ${e.length} values`, `T·dim values (dim = ${dim}, 1 ≤ T ≤ ${this.model.config.maxPositionEmbeddings})`);
    }
    const x = this.ops.alloc(e.length);
    for (let i = 0; i < x.length; i++) {
      const v: unknown = e[i];
      if (typeof v !== "number" || !Number.isFinite(v)) throw new InputError("gradients: embeddings", `${described(v)} at index ${i} (row ${Math.floor(i / dim)}, column ${i % dim})`, "finite numbers");
      x[i] = v;
    }
    return x;
  }

  private keyMask(mask: readonly number[] | undefined, T: number): Uint8Array | null {
    if (mask === undefined) return null;
    if (mask.length !== T) throw new InputError("attention_mask", `has ${mask.length} values for ${T} tokens`, `${T} values`);
    return mask.every((m) => m !== 0) ? null : Uint8Array.from(mask, (m) => (m !== 0 ? 1 : 0));
  }

  private checkTerms(terms: Record<string, unknown>, names: { name: string }[]): Map<string, (value: Tensor) => { value: number; grad: ArrayLike<number> }> {
    const known = new Set(names.map((n) => n.name));
    const m = new Map<string, (value: Tensor) => { value: number; grad: ArrayLike<number> }>();
    for (const [name, fn] of Object.entries(terms)) {
      if (!known.has(name)) throw new InputError("objective", `${described(name)} is not an activation the gradient pass has`, "an exact name like layer.2.out");
      if (typeof fn !== "function") throw new InputError("objective", `term ${described(name)} is not a function`);
      m.set(name, fn as (value: Tensor) => { value: number; grad: ArrayLike<number> });
    }
    return m;
  }

  /** The objective's value on the head outputs and its gradient ∂value/∂outputs (float64: few numbers). */
  private headObjective(objective: Objective, logits: Float64Array): { value: number; dOutputs: Vec } {
    const d = this.ops.alloc(logits.length);
    if (objective.kind === "activations") return { value: 0, dOutputs: d };
    if (objective.kind === "outputs") {
      if (typeof objective.fn !== "function") throw new InputError("objective", "kind outputs without a function fn");
      const r = objective.fn(logits.slice());
      if (typeof r?.value !== "number" || r.grad?.length !== logits.length) {
        throw new InputError("objective: outputs", "fn returned no {value, grad} of the output row's size", `grad of ${logits.length} values`);
      }
      for (let i = 0; i < d.length; i++) d[i] = r.grad[i];
      return { value: r.value, dOutputs: d };
    }
    const j = this.labelIndex(objective.label);
    if (objective.kind === "logit") {
      d[j] = 1;
      return { value: logits[j], dOutputs: d };
    }
    if (objective.kind === "logitDiff") {
      const k = this.labelIndex(objective.other);
      d[j] += 1;
      d[k] -= 1;
      return { value: logits[j] - logits[k], dOutputs: d };
    }
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const p = Array.from(logits, (v) => Math.exp(v - max) / sum);
    if (objective.kind === "logProb") {
      // ∂ log p_j / ∂z = e_j - p
      for (let i = 0; i < d.length; i++) d[i] = (i === j ? 1 : 0) - p[i];
      return { value: logits[j] - max - Math.log(sum), dOutputs: d };
    }
    if (objective.kind === "prob") {
      for (let i = 0; i < d.length; i++) d[i] = p[j] * ((i === j ? 1 : 0) - p[i]);
      return { value: p[j], dOutputs: d };
    }
    throw new InputError("objective", `kind ${described((objective as { kind: unknown }).kind)} is unknown`, "logit, prob, logProb, logitDiff or activations");
  }
}
