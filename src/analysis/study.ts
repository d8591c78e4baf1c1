/**
 * What the HTML report shows about one input, computed with the engine only (no Node, no DOM), so a browser page
 * can build the same report: prediction, attentions, hidden-state norms, a logit lens and occlusion attributions.
 */
import { described, labelRef, loadedModel, optionalBoolean, optionalInteger, optionsObject, textOrIds } from "../arguments.js";
import { InputError } from "../errors.js";
import { attribute, rollout, type Attribution } from "./attribution.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { softmax } from "../model/classifier.js";
import type { Tensor } from "../tensor/tensor.js";
import { makeReader, type LensRow, type Readout, type Reader, type ReadoutOptions } from "./readout.js";

export type { LensRow, Readout } from "./readout.js";

export interface OcclusionRow {
  /** Position of the (first) removed token in the full sequence. */
  index: number;
  /** How many consecutive tokens were removed (1 unless the input has more than `maxRuns` removable tokens). */
  count: number;
  /** The removed token(s), joined by spaces. */
  token: string;
  /** P(target label) with the token removed. */
  prob: number;
  /** P(target) of the full input minus `prob`: > 0 when the token pushed toward the target label. */
  delta: number;
  /** The label predicted without the token. */
  label: string;
  /** Every label's probability without the token (config order): which label a token supported, for 3+ labels too. */
  probs: number[];
}

export interface Study {
  /** What the labels, probabilities, lens and occlusion read for this model's head (readout.ts). */
  readout: Readout;
  text: string | null;
  /** The second text of a pair (question answering: the context), or null. */
  pair: string | null;
  tokens: string[];
  ids: number[];
  labels: string[];
  logits: number[];
  probs: number[];
  /** The predicted label, and the label occlusion and the lens report on. */
  label: string;
  labelIndex: number;
  headMask: number[][] | null;
  config: { nLayers: number; nHeads: number; dim: number; hiddenDim: number };
  /** [n_layers][n_heads][T][T] (query row, key column), after the head mask, as Hugging Face returns them. */
  attentions: Float32Array[][];
  /** [n_layers + 1][T]: L2 norm of each token's hidden state (0 = embeddings output). */
  hiddenNorms: number[][];
  /** The head applied to each hidden_states[l] where it reads (readout.lens says how). */
  lens: LensRow[];
  /** One row per removable token ([CLS] and [SEP] stay); empty when there is none. */
  occlusion: OcclusionRow[];
  /** Integrated gradients (for `label`) and attention rollout; absent when turned off. */
  attributions?: Attribution[];
}

export interface StudyOptions extends ReadoutOptions {
  /** [n_layers][n_heads] multipliers (see ForwardOptions.headMask); applied everywhere in the study. */
  headMask?: number[][];
  /** Label the lens and occlusion follow; default the predicted label. */
  label?: string;
  /** Skip the occlusion runs (one forward per token). */
  occlusion?: boolean;
  /** Most tokens per batch in the occlusion runs. */
  maxBatchTokens?: number;
  /**
   * Most occlusion runs (default 64): past that many removable tokens, runs of consecutive tokens are removed
   * together (each run as long as needed to stay within the limit), so a 512-token input costs 64 forwards, not 510.
   */
  maxOcclusionRuns?: number;
  /** Integrated gradients' steps for the report (default 16; 0 = no IG); rollout is always added. */
  igSteps?: number;
}

const SPECIAL = new Set(["[CLS]", "[SEP]", "[PAD]"]);

/** Run one input (a text, or token ids with their tokens) and collect everything the report shows. */
export function studyInput(
  model: DistilBertClassifier,
  input: { text: string; pair?: string } | { ids: number[]; tokens: string[] },
  options: StudyOptions = {},
): Study {
  loadedModel(model, "studyInput: model");
  const givenPair = typeof input === "object" && input !== null && "pair" in input ? input.pair : undefined;
  if (givenPair !== undefined && typeof givenPair !== "string") throw new InputError("studyInput: input.pair", `is ${described(givenPair)}`, "a string (QA's context)");
  input = textOrIds(input, "studyInput: input", model.config.vocabSize, model.maxLength);
  if (givenPair !== undefined && "text" in input) input = { text: input.text, pair: givenPair };
  optionsObject(options, "studyInput: options", ["headMask", "label", "occlusion", "maxBatchTokens", "maxOcclusionRuns", "igSteps", "position", "topK", "maxAnswerLen"]);
  optionalInteger(options.position, "studyInput: position", 0, 0);
  optionalInteger(options.topK, "studyInput: topK", 10, 1);
  optionalInteger(options.maxAnswerLen, "studyInput: maxAnswerLen", 15, 1);
  if (options.label !== undefined && typeof options.label !== "string") throw new InputError("studyInput: label", `is ${described(options.label)}`, "a label name");
  if (options.occlusion !== undefined) optionalBoolean(options.occlusion, "studyInput: occlusion");
  optionalInteger(options.maxBatchTokens, "studyInput: maxBatchTokens", 8192, 1, true);
  optionalInteger(options.maxOcclusionRuns, "studyInput: maxOcclusionRuns", 64, 1);
  optionalInteger(options.igSteps, "studyInput: igSteps", 16, 0);
  let ids: number[];
  let tokens: string[];
  let text: string | null = null;
  let pair: string | null = null;
  if ("text" in input) {
    const e = model.tokenizer.encode(input.text, { maxLength: model.maxLength, pair: input.pair });
    ids = e.ids;
    tokens = e.tokens;
    text = input.text;
    pair = input.pair === undefined || input.pair === "" ? null : input.pair;
  } else {
    ids = input.ids;
    tokens = input.tokens;
  }
  const { config } = model;
  const { nLayers, nHeads, dim, hiddenDim } = config;
  const headMask = options.headMask ?? null;
  const out = model.forward([ids], undefined, { outputHiddenStates: true, outputAttentions: true, headMask: headMask ?? undefined });
  const reader = makeReader(model, ids, tokens, out, options);
  let labelIndex = argmax(reader.probs);
  if (options.label !== undefined) {
    const j = reader.labelIndex(options.label);
    if (j === undefined) throw new InputError("studyInput: label", `${described(options.label)} is not a label of this study`, reader.readout.kind === "masked-lm" ? "a word of the vocabulary" : `one of ${reader.labels.join(", ")}`);
    labelIndex = j;
  }
  const { labels, logits, probs } = reader;
  const T = ids.length;
  const attentions = out.attentions!.map((a) =>
    Array.from({ length: nHeads }, (_, h) => a.data.slice(h * T * T, (h + 1) * T * T)),
  );
  const hiddenStates = out.hiddenStates!;
  const hiddenNorms = hiddenStates.map((hs) =>
    Array.from({ length: T }, (_, t) => {
      let s = 0;
      for (let c = 0; c < dim; c++) s += hs.data[t * dim + c] ** 2;
      return Math.sqrt(s);
    }),
  );
  const igSteps = options.igSteps ?? 16;
  const attributions: Attribution[] = [];
  const classifier = model.head.architecture === "DistilBertForSequenceClassification";
  // The gradient pass has no head mask: with one, IG would describe another model than the page, so it is left out.
  // A masked LM's and a token classifier's IG is of the label's logit at the row the page reads.
  const { kind, position } = reader.readout;
  const tokenIg = (kind === "masked-lm" || kind === "token-classification") && position !== null;
  if (igSteps > 0 && headMask === null && (classifier || tokenIg)) {
    attributions.push(classifier
      ? attribute(model, { ids, tokens }, { method: "ig", steps: igSteps, target: labelIndex })
      : attribute(model, { ids, tokens }, { method: "ig", steps: igSteps, target: labels[labelIndex], position: position! }));
  }
  if (classifier) attributions.push(attribute(model, { ids, tokens }, { method: "rollout" }));
  else {
    // Rollout from the row the head reads (the [MASK], the chosen token), else from [CLS].
    const row = reader.readout.position ?? 0;
    attributions.push({
      method: "rollout", tokens, ids, target: labelIndex, label: labels[labelIndex], predicted: labels[argmax(probs)],
      attributions: rollout(model, ids)[row], completeness_gap: null,
      meaning: `attention rollout: how much ${tokens[row]} (position ${row}) at the last layer draws on each input token (rows sum to 1; label-independent)`,
    });
  }
  const flatMask = headMask === null ? null : Float32Array.from(headMask.flat());
  return {
    readout: reader.readout,
    attributions,
    text,
    pair,
    tokens,
    ids,
    labels,
    logits,
    probs,
    label: labels[labelIndex],
    labelIndex,
    headMask,
    config: { nLayers, nHeads, dim, hiddenDim },
    attentions,
    hiddenNorms,
    lens: reader.lens(hiddenStates),
    occlusion:
      options.occlusion === false
        ? []
        : occludeWith(reader, ids, tokens, labelIndex, flatMask, options.maxBatchTokens ?? 8192, options.maxOcclusionRuns ?? 64),
  };
}

/**
 * "Logit lens" for a classifier: the head (pre_classifier → ReLU → classifier) applied to the [CLS] row of every
 * hidden state of batch row `b`. The last entry equals the model's own logits.
 */
export function logitLens(model: DistilBertClassifier, hiddenStates: readonly Tensor[], b = 0): LensRow[] {
  loadedModel(model, "logitLens: model");
  const { dim: D } = model.config;
  if (!Array.isArray(hiddenStates)) throw new InputError("logitLens: hiddenStates", `is ${described(hiddenStates)}`, "forward(…, { outputHiddenStates: true }).hiddenStates");
  hiddenStates.forEach((hs: unknown, i) => {
    const t = hs as { shape?: unknown; data?: unknown } | null;
    if (t === null || typeof t !== "object" || !Array.isArray(t.shape) || t.shape.length !== 3 || t.shape[2] !== D || !(t.data instanceof Float32Array)) {
      throw new InputError(`logitLens: hiddenStates[${i}]`, `is ${described(hs)}`, `a Tensor [B, T, ${D}]`);
    }
  });
  const B = hiddenStates.length === 0 ? 1 : (hiddenStates[0].shape[0] as number);
  if (!Number.isInteger(b) || b < 0 || b >= B) throw new InputError("logitLens: b", `is ${described(b)}`, `a batch row from 0 to ${B - 1}`);
  const { backend } = model;
  const head = model.model;
  if (head.architecture !== "DistilBertForSequenceClassification") throw new InputError("logit lens", `the model is a ${head.architecture}`, "a sequence classifier (masked LMs: maskedLmLens)");
  const { preClassifier, classifier } = head;
  const dim = model.config.dim;
  return hiddenStates.map((hs, layer) => {
    const T = hs.shape[1];
    const cls = hs.data.slice(b * T * dim, b * T * dim + dim);
    const pre = preClassifier.forward(backend, cls, 1);
    backend.activate(pre, pre.length, "relu");
    const logits = Array.from(classifier.forward(backend, pre, 1));
    return { layer, logits, probs: Array.from(softmax(logits)) };
  });
}

/**
 * Remove one token at a time (never [CLS]/[SEP]) and measure P(label) without it. With more than `maxRuns`
 * removable tokens, consecutive removable tokens are removed in groups of ⌈n / maxRuns⌉.
 */
export function occlusion(
  model: DistilBertClassifier,
  ids: readonly number[],
  tokens: readonly string[],
  labelIndex: number,
  fullProb: number,
  headMask: number[][] | null,
  maxBatchTokens = 8192,
  maxRuns = 64,
): OcclusionRow[] {
  loadedModel(model, "occlusion: model");
  const checked = textOrIds({ ids, tokens }, "occlusion", model.config.vocabSize, model.maxLength) as { ids: number[]; tokens: string[] };
  ids = checked.ids;
  tokens = checked.tokens;
  // What labelIndex indexes depends on the head (a label, or a word of the vocabulary for a masked LM).
  optionalInteger(labelIndex, "occlusion: labelIndex", 0, 0);
  if (typeof fullProb !== "number" || !(fullProb >= 0 && fullProb <= 1)) throw new InputError("occlusion: fullProb", `is ${described(fullProb)}`, "a probability from 0 to 1");
  optionalInteger(maxBatchTokens, "occlusion: maxBatchTokens", 8192, 1, true);
  optionalInteger(maxRuns, "occlusion: maxRuns", 64, 1);
  const out = model.forward([Array.from(ids)], undefined, headMask ? { headMask } : {});
  const reader = makeReader(model, ids, tokens, out);
  if (labelIndex >= reader.probs.length) {
    throw new InputError("occlusion: labelIndex", `is ${labelIndex}`, `an index below ${reader.probs.length} (what this model's study reads)`);
  }
  const rows = occludeWith(reader, ids, tokens, labelIndex, headMask === null ? null : Float32Array.from(headMask.flat()), maxBatchTokens, maxRuns);
  return rows.map((r) => ({ ...r, delta: fullProb - r.prob }));
}

/** Occlusion through a reader: the positions it keeps are never removed, and it reads each shortened input. */
function occludeWith(reader: Reader, ids: readonly number[], tokens: readonly string[], labelIndex: number, headMask: Float32Array | null, maxBatchTokens: number, maxRuns: number): OcclusionRow[] {
  const positions = tokens.map((t, i) => i).filter((i) => !SPECIAL.has(tokens[i]) && !reader.keep.has(i));
  if (ids.length < 2 || positions.length === 0) return [];
  const fullProb = reader.probs[labelIndex];
  const size = Math.max(1, Math.ceil(positions.length / Math.max(1, maxRuns)));
  const groups: number[][] = [];
  for (let g = 0; g < positions.length; g += size) groups.push(positions.slice(g, g + size));
  // Sequences of equal length batch together; only the last group may differ.
  const byLength = new Map<number, number[]>();
  groups.forEach((grp, g) => {
    const n = ids.length - grp.length;
    byLength.set(n, [...(byLength.get(n) ?? []), g]);
  });
  const result = new Array<OcclusionRow>(groups.length);
  for (const [len, members] of byLength) {
    const per = Math.max(1, Math.floor(maxBatchTokens / len));
    for (let s = 0; s < members.length; s += per) {
      const chunk = members.slice(s, s + per);
      const rows = chunk.map((g) => ids.filter((_, j) => !groups[g].includes(j)));
      const probs = reader.occluded(rows, chunk.map((g) => groups[g]), headMask);
      chunk.forEach((g, k) => {
        const p = probs[k];
        const grp = groups[g];
        result[g] = {
          index: grp[0],
          count: grp.length,
          token: grp.map((i) => tokens[i]).join(" "),
          prob: p[labelIndex],
          delta: fullProb - p[labelIndex],
          label: reader.labels[argmax(p)],
          probs: p,
        };
      });
    }
  }
  return result;
}

function argmax(a: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
