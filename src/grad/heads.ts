/**
 * Heads of the gradient pass. A head maps the encoder's last hidden state [T, dim] to one row of outputs (the
 * objective's input) and back; the encoder's backward is shared.
 *
 * A sequence head (sequence classification, a sentence-transformers embedding) has one row per input. A token head
 * (masked LM, question answering, token classification, the bare encoder) has one per position: the pass computes
 * only the row at the objective's `position`, so its `head.*` activations are that position's, without the T axis
 * (the masked LM's vocabulary projection for one row is 1/T of the full head's work).
 */
import { described } from "../arguments.js";
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import type { DistilBertForMaskedLM, DistilBertForSequenceClassification } from "../model/heads.js";
import type { Linear } from "../layers/linear.js";
import type { GradProbe } from "./encoder.js";
import { activationBackward, activationForward, addInto, layerNormBackward, layerNormForward, type Vec } from "./kernels.js";
import type { GradOps } from "./ops.js";
import { sentenceEmbeddingHead } from "./sentence-head.js";

/** A label by index or by name (id2label; a vocabulary token for the masked LM; "start"/"end" for QA). */
export type LabelRef = number | string;

export interface HeadContext {
  /** The token head's row; null for a sequence head. */
  position: number | null;
  /** [T] 0 = padding (a sentence embedding's pooling leaves it out); null = every token. */
  keyMask: Uint8Array | null;
}

export interface GradHead {
  /** "token": one output row per position (objectives name a `position`); "sequence": one per input. */
  readonly kind: "sequence" | "token";
  /** Size of the output row (the objective's input): labels, vocabulary, 2 (QA), the embedding's width. */
  readonly outputSize: number;
  /** Named activations the head shows (for `wrt` and objectives), with their shapes. */
  activations(): { name: string; shape: number[] }[];
  /** The output index `label` names, checked. */
  outputIndex(label: LabelRef): number;
  /** The output's name for reports (the label, the token, "start"/"end", or its index). */
  outputName(index: number): string;
  /** hidden [T, dim] → outputs [outputSize], keeping what `backward` needs. */
  forward(ops: GradOps, hidden: Vec, T: number, probe: GradProbe | null, at: HeadContext): { outputs: Vec; saved: unknown };
  /** ∂L/∂outputs → ∂L/∂hidden [T, dim]. */
  backward(ops: GradOps, saved: unknown, dOutputs: Vec, T: number, probe: GradProbe | null): Vec;
}

/** The gradient head of the loaded model's head (every architecture the engine loads has one). */
export function gradHead(model: DistilBertClassifier): GradHead {
  const head = model.model;
  switch (head.architecture) {
    case "DistilBertForSequenceClassification":
      return sequenceClassificationHead(head);
    case "DistilBertForMaskedLM":
      return maskedLmHead(head, model);
    case "DistilBertForQuestionAnswering":
      return tokenLinearHead(head.linear, (i) => ["start", "end"][i], ["start", "end"], "start or end (or 0, 1)");
    case "DistilBertForTokenClassification":
      return tokenLinearHead(head.linear, (i) => model.config.labels[i], model.config.labels, `one of ${model.config.labels.join(", ")}`);
    case "DistilBertModel":
      return head.modules.length > 0 ? sentenceEmbeddingHead(head.modules, model.config.dim) : hiddenStateHead(model.config.dim);
  }
}

/** An index below `n`, or a name among `names`. */
function indexOf(label: LabelRef, n: number, names: readonly string[] | null, expected: string, what = "an output of this head"): number {
  const i = typeof label === "number" ? label : names === null ? -1 : names.indexOf(label);
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new InputError("target", `${described(label)} is not ${what}`, `${expected} (or an index below ${n})`);
  return i;
}

interface ClsSaved {
  pre: Vec; // [dim] pre_classifier output, before ReLU
}

/** DistilBertForSequenceClassification's head: logits = classifier(relu(pre_classifier(hidden[0]))). */
export function sequenceClassificationHead(model: DistilBertForSequenceClassification): GradHead {
  const { preClassifier, classifier, hooks } = model;
  const dim = preClassifier.dIn;
  const L = classifier.dOut;
  const labels = model.config.labels;
  return {
    kind: "sequence",
    outputSize: L,
    activations: () => [
      { name: hooks.pre_classifier, shape: [dim] },
      { name: hooks.relu, shape: [dim] },
      { name: hooks.logits, shape: [L] },
    ],
    outputIndex: (label) => indexOf(label, L, labels, `one of ${labels.join(", ")}`, "a label of this model"),
    outputName: (i) => labels[i] ?? String(i),
    forward(ops, hidden, _T, probe) {
      const pre = ops.alloc(dim);
      ops.linear(pre, hidden.subarray(0, dim), preClassifier.w, 1);
      probe?.forward(hooks.pre_classifier, pre, [dim]);
      const relu = ops.alloc(dim);
      for (let i = 0; i < dim; i++) relu[i] = pre[i] > 0 ? pre[i] : 0;
      probe?.forward(hooks.relu, relu, [dim]);
      const logits = ops.alloc(L);
      ops.linear(logits, relu, classifier.w, 1);
      probe?.forward(hooks.logits, logits, [L]);
      return { outputs: logits, saved: { pre } satisfies ClsSaved };
    },
    backward(ops, saved, dLogits, T, probe) {
      const { pre } = saved as ClsSaved;
      probe?.backward(hooks.logits, dLogits, [L]);
      const d = ops.alloc(dim);
      ops.linearBackwardInput(d, dLogits, classifier.w, 1);
      probe?.backward(hooks.relu, d, [dim]);
      for (let i = 0; i < dim; i++) if (!(pre[i] > 0)) d[i] = 0;
      probe?.backward(hooks.pre_classifier, d, [dim]);
      const dHidden = ops.alloc(T * dim);
      const row = ops.alloc(dim);
      ops.linearBackwardInput(row, d, preClassifier.w, 1);
      addInto(dHidden, row, dim); // only the [CLS] row is read
      return dHidden;
    },
  };
}

/** The row of hidden [T, dim] at `at.position` (token heads only). */
function rowAt(hidden: Vec, dim: number, at: HeadContext): { row: Vec; position: number } {
  if (at.position === null) throw new InputError("objective: position", "is missing", "the position of the token head's output row");
  return { row: hidden.subarray(at.position * dim, (at.position + 1) * dim), position: at.position };
}

/** ∂L/∂hidden [T, dim] that is zero but for one row. */
function scatterRow(ops: GradOps, dRow: Vec, position: number, T: number, dim: number): Vec {
  const d = ops.alloc(T * dim);
  d.set(dRow, position * dim);
  return d;
}

/** A Linear on the position's row: question answering's qa_outputs, token classification's classifier. */
function tokenLinearHead(linear: Linear, name: (i: number) => string | undefined, names: readonly string[], expected: string): GradHead {
  const { dIn: dim, dOut: W } = linear.w;
  return {
    kind: "token",
    outputSize: W,
    activations: () => [{ name: "head.logits", shape: [W] }],
    outputIndex: (label) => indexOf(label, W, names, expected),
    outputName: (i) => name(i) ?? String(i),
    forward(ops, hidden, _T, probe, at) {
      const { row, position } = rowAt(hidden, dim, at);
      const logits = ops.alloc(W);
      ops.linear(logits, row, linear.w, 1);
      probe?.forward("head.logits", logits, [W]);
      return { outputs: logits, saved: position };
    },
    backward(ops, saved, dLogits, T, probe) {
      probe?.backward("head.logits", dLogits, [W]);
      const d = ops.alloc(dim);
      ops.linearBackwardInput(d, dLogits, linear.w, 1);
      return scatterRow(ops, d, saved as number, T, dim);
    },
  };
}

/**
 * The tied projector's table as the gradient pass reads it: float32 rows, or (a q8 model's) int8 rows with one scale
 * each, dequantized as they are read so that the pass differentiates the dequantized model, as for its linears.
 */
type WordTable = Float32Array | { readonly q: ArrayLike<number>; readonly scales: ArrayLike<number> };

/** logits [V] = table · x [dim] (no bias). */
function projectRow(ops: GradOps, logits: Vec, x: Vec, E: WordTable, V: number, dim: number): void {
  if (E instanceof Float32Array) return ops.matmulTransB(logits, x, E, 1, V, dim, 1);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let c = 0, o = v * dim; c < dim; c++) s += E.q[o + c] * x[c];
    logits[v] = s * E.scales[v];
  }
}

/** dx [dim] = dLogits [V] · table. */
function projectRowBackward(ops: GradOps, dx: Vec, dLogits: Vec, E: WordTable, V: number, dim: number): void {
  if (E instanceof Float32Array) return ops.matmul(dx, dLogits, E, 1, dim, V, 1);
  const acc = new Float64Array(dim);
  for (let v = 0; v < V; v++) {
    const g = dLogits[v] * E.scales[v];
    if (g === 0) continue;
    for (let c = 0, o = v * dim; c < dim; c++) acc[c] += g * E.q[o + c];
  }
  for (let c = 0; c < dim; c++) dx[c] = acc[c];
}

interface MlmSaved {
  position: number;
  pre: Vec; // vocab_transform's output, the activation's input
  act: Vec; // vocab_layer_norm's input
  stats: Float64Array;
}

/**
 * DistilBertForMaskedLM's head at one position: logits [vocab] = vocab_layer_norm(act(vocab_transform(h))) · Eᵀ + b,
 * E the word embedding table (tied). A label is a vocabulary token (its string) or a token id.
 */
function maskedLmHead(head: DistilBertForMaskedLM, model: DistilBertClassifier): GradHead {
  const { dim, vocabSize: V, activation } = head.config;
  const E = head.distilbert.embeddings.wordEmbeddings as WordTable;
  const ln = head.vocabLayerNorm;
  const tw = head.vocabTransform.w;
  return {
    kind: "token",
    outputSize: V,
    activations: () => [
      { name: "head.vocab_transform", shape: [dim] },
      { name: "head.gelu", shape: [dim] },
      { name: "head.vocab_layer_norm", shape: [dim] },
      { name: "head.logits", shape: [V] },
    ],
    outputIndex(label) {
      const id = typeof label === "string" ? model.tokenizer.tokenToId(label) ?? -1 : label;
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new InputError("target", `${JSON.stringify(label)} is not a token of the vocabulary`, `a vocabulary token or an id below ${V}`);
      }
      return id;
    },
    outputName: (i) => model.tokenizer.idToToken(i) ?? String(i),
    forward(ops, hidden, _T, probe, at) {
      const { row, position } = rowAt(hidden, dim, at);
      const pre = ops.alloc(dim);
      ops.linear(pre, row, tw, 1);
      probe?.forward("head.vocab_transform", pre, [dim]);
      const act = ops.alloc(dim);
      activationForward(act, pre, dim, activation);
      probe?.forward("head.gelu", act, [dim]);
      const normed = ops.alloc(dim);
      const stats = new Float64Array(2);
      layerNormForward(normed, stats, act, ln.weight, ln.bias, 1, dim, ln.eps);
      probe?.forward("head.vocab_layer_norm", normed, [dim]);
      const logits = ops.alloc(V);
      projectRow(ops, logits, normed, E, V, dim);
      addInto(logits, head.projectorBias, V);
      probe?.forward("head.logits", logits, [V]);
      return { outputs: logits, saved: { position, pre, act, stats } satisfies MlmSaved };
    },
    backward(ops, saved, dLogits, T, probe) {
      const s = saved as MlmSaved;
      probe?.backward("head.logits", dLogits, [V]);
      const dNormed = ops.alloc(dim);
      projectRowBackward(ops, dNormed, dLogits, E, V, dim);
      probe?.backward("head.vocab_layer_norm", dNormed, [dim]);
      const dAct = ops.alloc(dim);
      layerNormBackward(dAct, dNormed, s.act, s.stats, ln.weight, 1, dim);
      probe?.backward("head.gelu", dAct, [dim]);
      activationBackward(dAct, dAct, s.pre, dim, activation);
      probe?.backward("head.vocab_transform", dAct, [dim]);
      const d = ops.alloc(dim);
      ops.linearBackwardInput(d, dAct, tw, 1);
      return scatterRow(ops, d, s.position, T, dim);
    },
  };
}

/** The bare encoder without sentence-transformers modules: the output row is the last hidden state at the position. */
function hiddenStateHead(dim: number): GradHead {
  return {
    kind: "token",
    outputSize: dim,
    activations: () => [],
    outputIndex: (label) => indexOf(label, dim, null, "a hidden unit"),
    outputName: (i) => String(i),
    forward(ops, hidden, _T, _probe, at) {
      const { row, position } = rowAt(hidden, dim, at);
      return { outputs: row.slice(), saved: position };
    },
    backward(ops, saved, dRow, T) {
      return scatterRow(ops, dRow, saved as number, T, dim);
    },
  };
}
