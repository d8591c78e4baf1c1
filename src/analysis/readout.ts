/**
 * What the study of one input reads from the model, for every head: a short list of named outcomes with their
 * probabilities (the study's `labels` and `probs`), the same outcomes read through each layer's hidden state (the
 * logit lens) and read again with tokens removed (occlusion).
 *
 * - sequence classifier: the labels, at [CLS] (the head on each layer's [CLS] row);
 * - masked LM: the top-k words at the [MASK], softmax over the whole vocabulary; the lens is the real logit lens, the
 *   masked-LM head (vocab_transform → activation → vocab_layer_norm → vocab_projector) on each layer's [MASK] row;
 * - token classification: the labels of one token (default the first word piece);
 * - question answering: P(start) and P(end) of the best answer span, softmax over the context's tokens;
 * - embeddings: the cosine of each layer's sentence vector (and of the input without a token) with the final one.
 */
import { InputError } from "../errors.js";
import type { Span } from "../layers/context.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { packSequences, scoresOf, softmax } from "../model/classifier.js";
import type { Architecture } from "../model/config.js";
import type { Tensor } from "../tensor/tensor.js";

export type ReadoutKind = "sequence-classification" | "masked-lm" | "question-answering" | "token-classification" | "embedding";

export interface Readout {
  kind: ReadoutKind;
  architecture: Architecture;
  /** The token row read: [CLS] (0), the [MASK], the chosen token; null for a span (QA) or a whole sequence (embeddings). */
  position: number | null;
  /** Question answering: the answer's first and last token. */
  span: [number, number] | null;
  /** What `labels`/`probs` are, in words. */
  what: string;
  /** What the logit lens applies to each layer, in words. */
  lens: string;
}

export interface LensTop {
  label: string;
  prob: number;
}

export interface LensRow {
  /** 0 = embeddings output, i = output of block i-1 (Hugging Face's hidden_states index). */
  layer: number;
  /** The study's labels read at this layer (for a masked LM: the final top-k words' logits and probabilities). */
  logits: number[];
  probs: number[];
  /** This layer's own best outcomes when they are not a fixed list: a masked LM's top words, QA's best span. */
  top?: LensTop[];
}

export interface ReadoutOptions {
  /** Token position read by a masked LM (default: the first [MASK]) or a token classifier (default: the first word piece). */
  position?: number;
  /** Masked LM: words shown (default 10). */
  topK?: number;
  /** Question answering: longest answer in tokens (default 15, as the pipeline). */
  maxAnswerLen?: number;
}

/** The head of one study, bound to its input. */
export interface Reader {
  readout: Readout;
  labels: string[];
  logits: number[];
  probs: number[];
  /** Index into `labels` of a label the user named (each kind has its own vocabulary), or undefined. */
  labelIndex(name: string): number | undefined;
  lens(hiddenStates: readonly Tensor[]): LensRow[];
  /** Positions occlusion never removes (specials are always kept): the [MASK], the token read, the answer. */
  keep: ReadonlySet<number>;
  /** Probabilities over `labels` of shortened inputs; `removed[i]` holds the positions cut from the full input. */
  occluded(rows: readonly number[][], removed: readonly (readonly number[])[], headMask: Float32Array | null): number[][];
}

/** The head's outputs for sequences, computed only at the rows `select` picks (all for sequence heads). */
function headOutputs(model: DistilBertClassifier, seqs: readonly number[][], select: readonly number[] | null, headMask: Float32Array | null): Float32Array[] {
  const head = model.model;
  const batch = packSequences(seqs);
  const rows = select === null ? undefined : batch.spans.map((s, b) => s.start + select[b]);
  const y = head.forward(model.backend, batch, null, headMask, rows === undefined ? {} : { select: rows });
  const W = head.width;
  if (head.output === "sequence" || rows !== undefined) return seqs.map((_, b) => y.slice(b * W, (b + 1) * W));
  return batch.spans.map((s) => y.slice(s.start * W, (s.start + s.len) * W));
}

const shift = (p: number, removed: readonly number[]) => p - removed.filter((r) => r < p).length;

function top(probs: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, k);
}

export function makeReader(model: DistilBertClassifier, ids: readonly number[], tokens: readonly string[], out: { logits: Tensor; probs: Tensor }, options: ReadoutOptions = {}): Reader {
  const head = model.model;
  switch (head.architecture) {
    case "DistilBertForSequenceClassification":
      return sequenceReader(model, out);
    case "DistilBertForMaskedLM":
      return maskedLmReader(model, ids, out, options);
    case "DistilBertForTokenClassification":
      return tokenReader(model, ids, tokens, out, options);
    case "DistilBertForQuestionAnswering":
      return qaReader(model, ids, tokens, out, options);
    case "DistilBertModel":
      return embeddingReader(model, ids, out);
  }
}

function sequenceReader(model: DistilBertClassifier, out: { logits: Tensor; probs: Tensor }): Reader {
  const head = model.model;
  if (head.architecture !== "DistilBertForSequenceClassification") throw new Error("unreachable");
  const { labels, problemType, dim } = model.config;
  return {
    readout: { kind: "sequence-classification", architecture: head.architecture, position: 0, span: null, what: `the labels' probabilities (${problemType === "multi_label_classification" ? "sigmoid" : "softmax"}) from the [CLS] row`, lens: "the classification head (pre_classifier → ReLU → classifier) applied to the [CLS] vector after each layer" },
    labels: [...labels],
    logits: Array.from(out.logits.data),
    probs: Array.from(out.probs.data),
    labelIndex: (name) => (labels.includes(name) ? labels.indexOf(name) : undefined),
    lens: (hs) => hs.map((h, layer) => {
      const pre = head.preClassifier.forward(model.backend, h.data.slice(0, dim), 1);
      model.backend.activate(pre, pre.length, "relu");
      const logits = Array.from(head.classifier.forward(model.backend, pre, 1));
      return { layer, logits, probs: Array.from(scoresOf(logits, problemType)) };
    }),
    keep: new Set(),
    occluded: (rows, _removed, headMask) => headOutputs(model, rows as number[][], null, headMask).map((l) => Array.from(scoresOf(l, problemType))),
  };
}

function maskedLmReader(model: DistilBertClassifier, ids: readonly number[], out: { logits: Tensor }, options: ReadoutOptions): Reader {
  const head = model.model;
  if (head.architecture !== "DistilBertForMaskedLM") throw new Error("unreachable");
  const { tokenizer } = model;
  const V = model.config.vocabSize;
  const maskToken = tokenizer.maskId === undefined ? "[MASK]" : tokenizer.idToToken(tokenizer.maskId);
  const p = options.position ?? ids.findIndex((id) => id === tokenizer.maskId);
  if (p < 0) throw new InputError("study", `the input has no ${maskToken} token`, `a text with ${maskToken} where the word is predicted, or a position to read`);
  checkPosition(p, ids.length);
  const k = options.topK ?? 10;
  const word = (id: number) => tokenizer.idToToken(id) ?? `[${id}]`;
  const finalLogits = out.logits.data.subarray(p * V, (p + 1) * V);
  const candidates = top(softmax(finalLogits), k);
  const final = { logits: candidates.map((c) => finalLogits[c]), probs: Array.from(candidates, (c) => softmax(finalLogits)[c]) };
  const reader: Reader = {
    readout: { kind: "masked-lm", architecture: head.architecture, position: p, span: null, what: `the top ${k} words at ${word(ids[p])} (position ${p}), softmax over the ${V}-token vocabulary`, lens: `the masked-LM head (vocab_transform → ${model.config.activation} → vocab_layer_norm → vocab_projector) applied to the vector at position ${p} after each layer: the real logit lens` },
    labels: candidates.map(word),
    logits: final.logits,
    probs: final.probs,
    labelIndex(name) {
      const id = tokenizer.tokenToId(name);
      if (id === undefined) return undefined;
      // A word outside the top k joins the list, so the lens and occlusion can follow it too.
      if (!candidates.includes(id)) {
        candidates.push(id);
        reader.labels.push(word(id));
        reader.logits.push(finalLogits[id]);
        reader.probs.push(softmax(finalLogits)[id]);
      }
      return candidates.indexOf(id);
    },
    lens: (hs) => maskedLmLens(model, hs, p, { words: candidates }),
    keep: new Set([p]),
    occluded: (rows, removed, headMask) =>
      headOutputs(model, rows as number[][], removed.map((r) => shift(p, r)), headMask).map((l) => {
        const probs = softmax(l);
        return candidates.map((c) => probs[c]);
      }),
  };
  return reader;
}

/**
 * The logit lens of a masked LM at one position: the masked-LM head applied to row `position` of every hidden state
 * (batch row `b`). Each row gives the logits and probabilities of `words` (token ids; default the last layer's top
 * `topK`) and the layer's own `top` most probable words. The last row is the model's own prediction.
 */
export function maskedLmLens(
  model: DistilBertClassifier,
  hiddenStates: readonly Tensor[],
  position: number,
  options: { words?: readonly number[]; topK?: number; top?: number; b?: number } = {},
): LensRow[] {
  const head = model.model;
  if (head.architecture !== "DistilBertForMaskedLM") throw new InputError("maskedLmLens", `the model is a ${head.architecture}`, "a DistilBertForMaskedLM");
  const { dim } = model.config;
  const word = (id: number) => model.tokenizer.idToToken(id) ?? `[${id}]`;
  const b = options.b ?? 0;
  const rows = hiddenStates.map((h) => {
    const T = h.shape[1];
    checkPosition(position, T);
    const at = (b * T + position) * dim;
    return softmaxWithLogits(head.project(model.backend, h.data.slice(at, at + dim), 1));
  });
  const words = options.words ?? top(rows[rows.length - 1].probs, options.topK ?? 10);
  return rows.map((r, layer) => ({
    layer,
    logits: words.map((id) => r.logits[id]),
    probs: words.map((id) => r.probs[id]),
    top: top(r.probs, options.top ?? 5).map((id) => ({ label: word(id), prob: r.probs[id] })),
  }));
}

function softmaxWithLogits(logits: Float32Array): { logits: Float32Array; probs: Float64Array } {
  return { logits, probs: softmax(logits) };
}

function tokenReader(model: DistilBertClassifier, ids: readonly number[], tokens: readonly string[], out: { logits: Tensor }, options: ReadoutOptions): Reader {
  const head = model.model;
  if (head.architecture !== "DistilBertForTokenClassification") throw new Error("unreachable");
  const { labels, dim } = model.config;
  const L = labels.length;
  const p = options.position ?? Math.max(0, tokens.findIndex((t, i) => i > 0 && !isSpecial(model, ids[i])));
  checkPosition(p, ids.length);
  const row = (logits: ArrayLike<number>) => ({ logits: Array.from(logits), probs: Array.from(softmax(logits)) });
  const final = row(out.logits.data.subarray(p * L, (p + 1) * L));
  return {
    readout: { kind: "token-classification", architecture: head.architecture, position: p, span: null, what: `the labels of token ${JSON.stringify(tokens[p])} (position ${p}), softmax`, lens: `the token classifier applied to the vector at position ${p} after each layer` },
    labels: [...labels],
    ...final,
    labelIndex: (name) => (labels.includes(name) ? labels.indexOf(name) : undefined),
    lens: (hs) => hs.map((h, layer) => ({ layer, ...row(head.linear.forward(model.backend, h.data.slice(p * dim, (p + 1) * dim), 1)) })),
    keep: new Set([p]),
    occluded: (rows, removed, headMask) => headOutputs(model, rows as number[][], removed.map((r) => shift(p, r)), headMask).map((l) => row(l).probs),
  };
}

/** Context positions of a QA input: between the first and the last [SEP] (a single text: every non-special token). */
function contextOf(model: DistilBertClassifier, ids: readonly number[]): boolean[] {
  const seps = ids.flatMap((id, t) => (id === model.tokenizer.sepId ? [t] : []));
  if (seps.length >= 2) return ids.map((_, t) => t > seps[0] && t < seps[seps.length - 1]);
  return ids.map((id) => !isSpecial(model, id));
}

/** Start and end probabilities over the context (others at -10000, as the pipeline), and the best span. */
function spanScores(logits: ArrayLike<number>, context: readonly boolean[], maxLen: number) {
  const T = context.length;
  const s = softmax(Array.from({ length: T }, (_, t) => (context[t] ? logits[2 * t] : -10000)));
  const e = softmax(Array.from({ length: T }, (_, t) => (context[t] ? logits[2 * t + 1] : -10000)));
  let best: [number, number] = [0, 0];
  let score = -1;
  for (let i = 0; i < T; i++) {
    if (!context[i]) continue;
    for (let j = i; j < Math.min(T, i + maxLen); j++) if (context[j] && s[i] * e[j] > score) [best, score] = [[i, j], s[i] * e[j]];
  }
  return { start: s, end: e, best, score };
}

function qaReader(model: DistilBertClassifier, ids: readonly number[], tokens: readonly string[], out: { logits: Tensor }, options: ReadoutOptions): Reader {
  const head = model.model;
  if (head.architecture !== "DistilBertForQuestionAnswering") throw new Error("unreachable");
  const maxLen = options.maxAnswerLen ?? 15;
  const context = contextOf(model, ids);
  if (!context.some(Boolean)) throw new InputError("study", "the input has no context tokens", "a question and a context (e.g. inspect --context C QUESTION)");
  const final = spanScores(out.logits.data, context, maxLen);
  const [s0, e0] = final.best;
  const spanText = (a: number, b: number) => tokens.slice(a, b + 1).join(" ").replace(/ ##/g, "");
  return {
    readout: { kind: "question-answering", architecture: head.architecture, position: null, span: [s0, e0], what: `P(start) and P(end) of the best answer “${spanText(s0, e0)}” (tokens ${s0}–${e0}), softmax over the context's tokens`, lens: "qa_outputs applied to every token after each layer: P(start) and P(end) of the final answer's tokens, and each layer's own best span" },
    labels: ["start", "end"],
    logits: [out.logits.data[2 * s0], out.logits.data[2 * e0 + 1]],
    probs: [final.start[s0], final.end[e0]],
    labelIndex: (name) => ["start", "end"].indexOf(name) >= 0 ? ["start", "end"].indexOf(name) : undefined,
    lens: (hs) => hs.map((h, layer) => {
      const l = head.linear.forward(model.backend, h.data, ids.length);
      const r = spanScores(l, context, maxLen);
      return { layer, logits: [l[2 * s0], l[2 * e0 + 1]], probs: [r.start[s0], r.end[e0]], top: [{ label: spanText(r.best[0], r.best[1]), prob: r.score }] };
    }),
    keep: new Set(Array.from({ length: e0 - s0 + 1 }, (_, i) => s0 + i)),
    occluded: (rows, removed, headMask) => headOutputs(model, rows as number[][], null, headMask).map((l, i) => {
      const r = spanScores(l, contextOf(model, rows[i]), maxLen);
      return [r.start[shift(s0, removed[i])], r.end[shift(e0, removed[i])]];
    }),
  };
}

function embeddingReader(model: DistilBertClassifier, ids: readonly number[], out: { logits: Tensor }): Reader {
  const head = model.model;
  if (head.architecture !== "DistilBertModel") throw new Error("unreachable");
  const T = ids.length;
  const dim = model.config.dim;
  // A bare encoder has no sentence vector of its own: the mean of its token vectors stands in for one.
  const vector = (hidden: Float32Array, len: number): Float32Array => {
    if (head.modules.length > 0) return head.sentence(model.backend, hidden, [{ start: 0, len, keyMask: null } satisfies Span]);
    const m = new Float32Array(dim);
    for (let t = 0; t < len; t++) for (let c = 0; c < dim; c++) m[c] += hidden[t * dim + c] / len;
    return m;
  };
  const final = head.modules.length > 0 ? out.logits.data.slice() : vector(out.logits.data, T);
  const cos = (v: ArrayLike<number>) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < final.length; i++) [ab, aa, bb] = [ab + v[i] * final[i], aa + v[i] * v[i], bb + final[i] * final[i]];
    return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
  };
  const what = head.modules.length > 0 ? "the sentence embedding (modules.json: " + head.modules.map((m) => m.type).join(" → ") + ")" : "the mean of the last hidden state over the tokens";
  return {
    readout: { kind: "embedding", architecture: head.architecture, position: null, span: null, what: `cosine similarity with ${what}`, lens: `the same sentence vector computed from each layer's hidden state, and its cosine with the final one` },
    labels: ["cosine"],
    logits: [1],
    probs: [1],
    labelIndex: (name) => (name === "cosine" ? 0 : undefined),
    lens: (hs) => hs.map((h, layer) => {
      const c = cos(vector(h.data, T));
      return { layer, logits: [c], probs: [c] };
    }),
    keep: new Set(),
    occluded: (rows, _removed, headMask) => headOutputs(model, rows as number[][], null, headMask).map((y, i) => [cos(head.modules.length > 0 ? y : vector(y, rows[i].length))]),
  };
}

function isSpecial(model: DistilBertClassifier, id: number): boolean {
  const t = model.tokenizer;
  return id === t.clsId || id === t.sepId || id === t.padId;
}

function checkPosition(p: number, T: number): void {
  if (!Number.isInteger(p) || p < 0 || p >= T) throw new InputError("position", `${String(p)} is not a token of the input`, `0 ≤ position < ${T}`);
}
