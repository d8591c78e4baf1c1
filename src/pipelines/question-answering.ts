/**
 * question-answering, as transformers 4.x's QuestionAnsweringPipeline (5.x has none): the context cut into windows
 * of maxSeqLen tokens overlapping by docStride (the question whole in each), per window the start and end logits of
 * everything but the context set to -10000, softmax,
 * score(i, j) = p_start(i) · p_end(j) for i ≤ j < i + maxAnswerLen, the window's top_k spans, the best top_k over all
 * windows (a stable sort: ties keep window order), each widened to whole words (alignToWords) and cut from the
 * context by character offsets.
 */
import { InputError } from "../errors.js";
import { headRows, type PretrainedModel, positiveInt, requireHead } from "./common.js";

export interface QaInput {
  question: string;
  context: string;
}

export interface QaAnswer {
  score: number;
  start: number;
  end: number;
  answer: string;
}

export interface QaOptions {
  /** Answers returned (default 1: one object; more: a list). */
  topK?: number;
  /** Tokens per window, question and specials included (default min(384, the model's maximum)). */
  maxSeqLen?: number;
  /** Tokens shared by consecutive windows (default min(maxSeqLen / 2, 128)). */
  docStride?: number;
  /** Longest answer, in tokens (default 15). */
  maxAnswerLen?: number;
  /** Widen each answer to whole words (default true). */
  alignToWords?: boolean;
  /** Also offer the empty answer, scored by [CLS] (default false). */
  handleImpossibleAnswer?: boolean;
  /**
   * Windows as tokenizers 0.23 cuts them (transformers 5.17): only about the first maxSeqLen tokens of the context
   * are read (huggingface/tokenizers#2091). Default false: the whole context, as the 4.x pipeline read it.
   */
  stopAtMaxLength?: boolean;
}

/** One window: token ids, which sequence each token is from (0 question, 1 context, null special), offsets. */
export interface QaWindow {
  ids: number[];
  sequenceIds: (number | null)[];
  /** [start, end) into the question or the context (by sequence id); [0, 0] for specials. */
  offsets: [number, number][];
  /** Word index of each token inside its sequence (null for specials); derived from the word pieces when absent. */
  wordIds?: (number | null)[];
}

export interface QaSpan extends QaAnswer {
  window: number;
  startToken: number;
  endToken: number;
}

export function questionAnswering(model: PretrainedModel, input: QaInput, options?: QaOptions): QaAnswer | QaAnswer[];
export function questionAnswering(model: PretrainedModel, input: readonly QaInput[], options?: QaOptions): (QaAnswer | QaAnswer[])[];
export function questionAnswering(model: PretrainedModel, input: QaInput | readonly QaInput[], options: QaOptions = {}): QaAnswer | QaAnswer[] | (QaAnswer | QaAnswer[])[] {
  requireHead(model, "question-answering", "DistilBertForQuestionAnswering");
  const single = !Array.isArray(input);
  const list = (single ? [input] : input) as readonly QaInput[];
  list.forEach((q, i) => {
    if (q === null || typeof q !== "object" || typeof q.question !== "string" || typeof q.context !== "string") {
      throw new InputError(`question-answering: inputs[${i}]`, "is not { question, context }", "an object with question and context strings");
    }
  });
  const maxSeqLen = positiveInt(options.maxSeqLen, "question-answering: maxSeqLen", Math.min(384, model.maxLength));
  if (maxSeqLen > model.maxLength) throw new InputError("question-answering: maxSeqLen", `is ${maxSeqLen}`, `at most the model's maximum length ${model.maxLength}`);
  const docStride = options.docStride === undefined ? Math.min(Math.floor(maxSeqLen / 2), 128) : options.docStride;
  if (!Number.isInteger(docStride) || docStride < 0) throw new InputError("question-answering: docStride", `is ${String(docStride)}`, "a non-negative integer");
  const topK = positiveInt(options.topK, "question-answering: topK", 1);
  const maxAnswerLen = positiveInt(options.maxAnswerLen, "question-answering: maxAnswerLen", 15);
  const windows = list.map((q) => qaWindows(model, q.question, q.context, maxSeqLen, docStride, options.stopAtMaxLength === true));
  const flat = windows.flat();
  const logits = headRows(model, flat.map((w) => w.ids));
  let at = 0;
  const out = list.map((q, i) => {
    const spans = bestSpans(windows[i], logits.slice(at, (at += windows[i].length)), q.context, { topK, maxAnswerLen, alignToWords: options.alignToWords ?? true, handleImpossibleAnswer: options.handleImpossibleAnswer ?? false }, model.tokenizer.clsId);
    const answers = spans.map(({ score, start, end, answer }) => ({ score, start, end, answer }));
    return answers.length === 1 ? answers[0] : answers;
  });
  return single ? out[0] : out;
}

/**
 * [CLS] question [SEP] context-part [SEP] windows, as the fast tokenizer's
 * `tokenizer(question, context, truncation="only_second", max_length, stride, return_overflowing_tokens=True)`.
 * stopAtMaxLength: as tokenizers 0.23 (transformers 5.17), whose windows stop after about max_length tokens of the
 * context (huggingface/tokenizers#2091); the default reads the whole context, as 0.22 and the 4.x pipeline did.
 */
export function qaWindows(model: PretrainedModel, question: string, context: string, maxSeqLen: number, docStride: number, stopAtMaxLength = false): QaWindow[] {
  const encodings = model.tokenizer.encodeWindows(question, { pair: context, truncation: "only_second", maxLength: maxSeqLen, stride: docStride, stopAtMaxLength });
  return encodings.map((e) => ({ ids: e.ids, sequenceIds: e.sequenceIds, offsets: e.offsets, wordIds: e.wordIds }));
}

/** The 4.x span selection over the windows of one question (see the module comment). logits: [T, 2] per window. */
export function bestSpans(
  windows: readonly QaWindow[],
  logits: readonly Float32Array[],
  context: string,
  o: { topK: number; maxAnswerLen: number; alignToWords: boolean; handleImpossibleAnswer: boolean },
  clsId: number,
): QaSpan[] {
  const answers: QaSpan[] = [];
  let minNull = 1e6;
  windows.forEach((win, wi) => {
    const T = win.ids.length;
    // The fixture's rule (README of fixtures/heads): everything but the context at -10000, [CLS] included. 4.x kept
    // [CLS] in the softmax (p_mask 0) and then zeroed it; that matters only for the empty answer, so it is kept
    // only when the empty answer is asked for.
    const allowed = win.sequenceIds.map((s, t) => s === 1 || (o.handleImpossibleAnswer && win.ids[t] === clsId));
    const start = new Float64Array(T);
    const end = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      start[t] = allowed[t] ? logits[wi][2 * t] : -10000;
      end[t] = allowed[t] ? logits[wi][2 * t + 1] : -10000;
    }
    softmaxInPlace(start);
    softmaxInPlace(end);
    if (o.handleImpossibleAnswer) minNull = Math.min(minNull, start[0] * end[0]);
    start[0] = end[0] = 0;
    // Context tokens only ([CLS] was allowed into the softmax, not into an answer).
    const ok = (t: number) => win.sequenceIds[t] === 1;
    const cands: [number, number, number][] = [];
    for (let i = 0; i < T; i++) {
      for (let j = i; j < Math.min(T, i + o.maxAnswerLen); j++) cands.push([i, j, start[i] * end[j]]);
    }
    // numpy's top-k over the whole [T, T] score matrix (zeros included), then the spans outside the context dropped.
    const flatIndex = (c: [number, number, number]) => c[0] * T + c[1];
    cands.sort((a, b) => b[2] - a[2] || flatIndex(a) - flatIndex(b));
    for (const [i, j, score] of cands.slice(0, o.topK)) {
      if (!ok(i) || !ok(j)) continue;
      const [s, e] = charSpan(win, i, j, o.alignToWords);
      answers.push({ score, start: s, end: e, answer: context.slice(s, e), window: wi, startToken: i, endToken: j });
    }
  });
  if (o.handleImpossibleAnswer) answers.push({ score: minNull, start: 0, end: 0, answer: "", window: -1, startToken: 0, endToken: 0 });
  return answers.sort((a, b) => b.score - a.score).slice(0, o.topK);
}

/** Characters of tokens i..j; with alignToWords, from the start of i's word to the end of j's word (within the window). */
function charSpan(win: QaWindow, i: number, j: number, align: boolean): [number, number] {
  if (!align || win.wordIds === undefined) return [win.offsets[i][0], win.offsets[j][1]];
  const words = win.wordIds;
  let a = i;
  while (a > 0 && win.sequenceIds[a - 1] === 1 && words[a - 1] === words[i]) a--;
  let b = j;
  while (b + 1 < words.length && win.sequenceIds[b + 1] === 1 && words[b + 1] === words[j]) b++;
  return [win.offsets[a][0], win.offsets[b][1]];
}

function softmaxInPlace(x: Float64Array): void {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] = Math.exp(x[i] - max);
  for (let i = 0; i < x.length; i++) x[i] /= sum;
}
