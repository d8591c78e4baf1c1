/**
 * The object `loadModel` returns: tokenizer + a DistilBERT with its head (heads.ts) + a backend, with the call
 * most users of a classifier want (`classify`) and the one people who study the model want (`forward`). The other
 * heads' tasks are the pipelines (src/pipelines), built on `forward`/`run`.
 */
import { DisposedError, InputError } from "../errors.js";
import type { Span } from "../layers/context.js";
import type { Backend } from "../tensor/backend.js";
import { Tensor } from "../tensor/tensor.js";
import type { WordPieceTokenizer } from "../tokenizer/index.js";
import { ForwardTaps, type Hook } from "./activations.js";
import type { DistilBertConfig } from "./config.js";
import type { PackedBatch } from "./distilbert.js";
import type { DistilBertHead, HeadForwardOptions } from "./heads.js";
import type { LoadReport } from "./weights.js";
import "./disposable.js";
import { nextMacrotask } from "./yield.js";

export interface Classification {
  /** The most probable label's name (from id2label). */
  label: string;
  /** Its probability. */
  score: number;
  /** Probability of every label, by name. */
  scores: Record<string, number>;
  logits: number[];
  /** The WordPiece tokens the model saw, [CLS] and [SEP] included. */
  tokens: string[];
  /** True when the text was longer than the model's maximum and its end was cut off. */
  truncated: boolean;
  /** With `long: "window"`: how many windows the text was read in (1 for a text that fits); absent otherwise. */
  windows?: number;
}

export type IdRows = ArrayLike<number> | readonly ArrayLike<number>[];

export interface ForwardOptions {
  /** Return hidden_states: n_layers + 1 tensors [B, T, dim], embeddings output first (as Hugging Face). */
  outputHiddenStates?: boolean;
  /** Return attentions: n_layers tensors [B, H, T, T] (as Hugging Face). */
  outputAttentions?: boolean;
  /** [n_layers][n_heads] or [n_heads] (every layer) multipliers of the attention probabilities, as HF's head_mask. */
  headMask?: ArrayLike<number> | readonly ArrayLike<number>[];
  /** Names or patterns ("layer.*.attn.probs") of activations to copy out into `captured`. */
  capture?: readonly string[];
  /** Name or pattern → hook that may read or replace the activation. */
  hooks?: Record<string, Hook>;
  /** Sequence classifier: compute every row of the last layer (same logits; see ClassifyOptions.fullLastLayer). */
  fullLastLayer?: boolean;
}

export interface ForwardOutput {
  /**
   * The head's output: [B, labels] for a sequence classifier, [B, T, width] for a token head (masked LM: vocab;
   * question answering: 2, start and end; token classification: labels), [B, T, dim] (the last hidden state) for a
   * bare DistilBertModel, [B, width] for a sentence-transformers model (the embeddings).
   */
  logits: Tensor;
  /**
   * The scores HF's pipelines take from the logits over the last axis: softmax, or sigmoid for a multi-label classifier
   * (none for regression: the logits). A bare encoder or sentence-transformers model has no scores: a copy of logits.
   */
  probs: Tensor;
  hiddenStates?: Tensor[];
  attentions?: Tensor[];
  /** Captured activations by name (copies). */
  captured: Record<string, Tensor>;
}

export interface ClassifyOptions {
  /** Most tokens per internal batch (sequences are packed without padding). Results do not depend on it. */
  maxBatchTokens?: number;
  /**
   * Texts longer than the model's maximum: "truncate" (default, as Hugging Face's pipeline: the end is cut off and
   * `truncated` is set) or "window": the text is read in windows of maxLength-2 word pieces, each framed with
   * [CLS] … [SEP], and the windows' logits are averaged (`windows` says how many; `truncated` stays false).
   */
  long?: "truncate" | "window";
  /** With long: "window", how far each window starts after the previous one, in word pieces; default half a window. */
  stride?: number;
  /** Compute every row of the last layer, not just the [CLS] rows the head reads (same logits; to measure the saving). */
  fullLastLayer?: boolean;
}

export interface ClassifierOptions {
  /** dispose() also disposes the backend (loadModel sets it when it made the backend). */
  ownsBackend?: boolean;
}

export class DistilBertClassifier {
  private disposed = false;
  /** The tail of the async calls' queue: they run one after another, so one forward at a time per model. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly ownsBackend: boolean;

  constructor(
    readonly config: DistilBertConfig,
    readonly tokenizer: WordPieceTokenizer,
    readonly model: DistilBertHead,
    readonly backend: Backend,
    readonly loadReport: LoadReport,
    options: ClassifierOptions = {},
  ) {
    this.ownsBackend = options.ownsBackend === true;
  }

  /**
   * Stop the model: the backend's worker pool, if loadModel started one, is stopped (a backend passed in by the
   * caller is the caller's to dispose). Idempotent. Every later call, and every async call still queued or between
   * its batches, fails with a DisposedError. Not needed for a Node process to exit (idle pool workers never keep it
   * alive); it frees the threads and memory sooner.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // No forward can be running here: forwards are synchronous, and async calls only pause between batches.
    if (this.ownsBackend) (this.backend as { dispose?: () => void }).dispose?.();
  }

  /** `using model = await loadModel(…)`: dispose() at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** `await using model = …`: waits for the async calls already made to settle, then dispose(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.queue;
    this.dispose();
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private alive(where: string): void {
    if (this.disposed) throw new DisposedError(where, "the model was disposed", "a model that dispose() has not been called on");
  }

  /** The longest input, in tokens with [CLS] and [SEP]: the model's position table. */
  get maxLength(): number {
    return this.config.maxPositionEmbeddings;
  }

  /** The encoder under the head. */
  get encoder(): DistilBertHead["distilbert"] {
    return this.model.distilbert;
  }

  /**
   * Classify a text or texts. Calls on one model are queued (one forward at a time), and a call of several internal
   * batches gives the event loop a turn between them, so timers and I/O run during a long call; each result is the
   * same, bit for bit, as the text alone (and as classifySync). With a thread pool the caller's thread still takes
   * part in each batch's matrix products, so a single batch is not interrupted.
   */
  classify(text: string, options?: ClassifyOptions): Promise<Classification>;
  classify(texts: readonly string[], options?: ClassifyOptions): Promise<Classification[]>;
  async classify(input: string | readonly string[], options: ClassifyOptions = {}): Promise<Classification | Classification[]> {
    if (typeof input !== "string" && !Array.isArray(input)) throw new InputError("classify", `got ${typeof input}`, "a string or an array of strings");
    this.alive("classify");
    const texts = typeof input === "string" ? [input] : input;
    const plan = this.plan(texts, options);
    const run = this.queue.then(async () => {
      this.alive("classify");
      const logits: Float32Array[] = new Array(plan.sequences.length);
      let first = true;
      for (const members of batches(plan.sequences, plan.maxBatchTokens)) {
        if (!first) {
          await nextMacrotask();
          this.alive("classify");
        }
        first = false;
        this.runBatch(plan.sequences, members, logits, { fullLastLayer: plan.fullLastLayer });
      }
      return plan.finish(logits);
    });
    this.queue = run.catch(() => undefined);
    const results = await run;
    return typeof input === "string" ? results[0] : results;
  }

  /** Synchronous classify, for callers that cannot await (workers, sandboxes). */
  classifySync(texts: readonly string[], options: ClassifyOptions = {}): Classification[] {
    this.alive("classifySync");
    const plan = this.plan(texts, options);
    return plan.finish(this.logitsOf(plan.sequences, plan.maxBatchTokens, { fullLastLayer: plan.fullLastLayer }));
  }

  /** The token-id sequences a classify call runs, and how their logits become its results. */
  private plan(texts: readonly string[], options: ClassifyOptions): { sequences: ArrayLike<number>[]; maxBatchTokens: number; fullLastLayer?: boolean; finish: (logits: Float32Array[]) => Classification[] } {
    if (this.model.architecture !== "DistilBertForSequenceClassification") {
      throw new InputError("classify", `the model is a ${this.model.architecture}, not a sequence classifier`, "a DistilBertForSequenceClassification (other heads: pipeline())");
    }
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new InputError(`classify: texts[${i}]`, `is ${t === null ? "null" : typeof t}`, "a string");
    });
    const maxBatchTokens = options.maxBatchTokens ?? 8192;
    const long = options.long ?? "truncate";
    if (long === "window") return { ...this.planWindows(texts, options), maxBatchTokens, fullLastLayer: options.fullLastLayer };
    if (long !== "truncate") throw new InputError("classify: long", `is ${JSON.stringify(long)}`, '"truncate" or "window"');
    const encodings = texts.map((t) => this.tokenizer.encode(t, { maxLength: this.maxLength }));
    return {
      sequences: encodings.map((e) => e.ids),
      maxBatchTokens,
      fullLastLayer: options.fullLastLayer,
      finish: (logits) => encodings.map((e, i) => this.toClassification(logits[i], e.tokens, e.truncated)),
    };
  }

  /** long: "window" — every window of every text is one sequence of the call, so batching still applies. */
  private planWindows(texts: readonly string[], options: ClassifyOptions): { sequences: number[][]; finish: (logits: Float32Array[]) => Classification[] } {
    const { tokenizer } = this;
    const width = this.maxLength - 2;
    if (width < 1) throw new InputError("classify: long", `the model's maximum length ${this.maxLength} leaves no room for text`, "a maximum length of at least 3");
    const stride = options.stride ?? Math.max(1, Math.floor(width / 2));
    if (!Number.isInteger(stride) || stride < 1 || stride > width) {
      throw new InputError("classify: stride", `is ${String(stride)}`, `an integer from 1 to ${width} (the window's word pieces)`);
    }
    const sequences: number[][] = [];
    const owner: number[] = [];
    const pieces = texts.map((t, i) => {
      const ids = tokenizer.tokenizeToIds(t).ids;
      // Windows start at 0, stride, 2·stride, … until one reaches the end; a text that fits is one window.
      for (let start = 0; ; start += stride) {
        sequences.push([tokenizer.clsId, ...ids.slice(start, start + width), tokenizer.sepId]);
        owner.push(i);
        if (start + width >= ids.length) break;
      }
      return ids;
    });
    const finish = (logits: Float32Array[]): Classification[] => {
      const L = this.config.labels.length;
      const sums = texts.map(() => new Float64Array(L));
      const counts = new Array<number>(texts.length).fill(0);
      logits.forEach((l, s) => {
        const sum = sums[owner[s]];
        for (let j = 0; j < L; j++) sum[j] += l[j];
        counts[owner[s]]++;
      });
      return texts.map((_, i) => {
        const mean = Array.from(sums[i], (v) => v / counts[i]);
        const tokens = [tokenizer.idToToken(tokenizer.clsId)!, ...pieces[i].map((id) => tokenizer.idToToken(id)!), tokenizer.idToToken(tokenizer.sepId)!];
        return { ...this.toClassification(mean, tokens, false), windows: counts[i] };
      });
    };
    return { sequences, finish };
  }

  /**
   * The head's output for each token-id sequence (no padding anywhere): [width] per sequence for a sequence head,
   * [len · width] (row-major) for a token head. Sequences are sorted by length and packed into batches of about
   * `maxBatchTokens` tokens; each sequence's output is the same whatever it is batched with.
   */
  logitsOf(sequences: readonly ArrayLike<number>[], maxBatchTokens = 8192, options: HeadForwardOptions = {}): Float32Array[] {
    this.alive("logitsOf");
    const out = new Array<Float32Array>(sequences.length);
    for (const members of batches(sequences, maxBatchTokens)) this.runBatch(sequences, members, out, options);
    return out;
  }

  /** One forward over the sequences `members`, their logits stored at their indices in `out`. */
  private runBatch(sequences: readonly ArrayLike<number>[], members: readonly number[], out: Float32Array[], options: HeadForwardOptions = {}): void {
    const L = this.model.width;
    const batch = packSequences(members.map((m) => sequences[m]));
    const logits = this.model.forward(this.backend, batch, null, null, options);
    const perToken = this.model.output === "token";
    members.forEach((m, b) => {
      const s = batch.spans[b];
      out[m] = perToken ? logits.slice(s.start * L, (s.start + s.len) * L) : logits.slice(b * L, (b + 1) * L);
    });
  }

  toClassification(logits: ArrayLike<number>, tokens: string[], truncated: boolean): Classification {
    const probs = scoresOf(logits, this.config.problemType);
    let best = 0;
    for (let j = 1; j < probs.length; j++) if (probs[j] > probs[best]) best = j;
    // A plain object (console.log shows it as one); label names come from config.json, so each is defined as an own
    // property: assignment would make a label called "__proto__" set the prototype instead.
    const scores: Record<string, number> = {};
    this.config.labels.forEach((name, j) => Object.defineProperty(scores, name, { value: probs[j], enumerable: true, writable: true, configurable: true }));
    return { label: this.config.labels[best], score: probs[best], scores, logits: Array.from(logits), tokens, truncated };
  }

  /**
   * Hugging Face's forward: input_ids [B, T] (or one sequence [T]), attention_mask likewise (default all ones).
   * Positions are 0..T-1 in every row, whatever the mask, as in Hugging Face.
   */
  forward(inputIds: IdRows, attentionMask?: IdRows, options: ForwardOptions = {}): ForwardOutput {
    this.alive("forward");
    const ids = toRows(inputIds, "input_ids");
    const mask = attentionMask === undefined ? ids.map((r) => new Array<number>(r.length).fill(1)) : toRows(attentionMask, "attention_mask");
    const B = ids.length;
    const T = B > 0 ? ids[0].length : 0;
    ids.forEach((r, b) => {
      if (r.length !== T) throw new InputError("input_ids", `row ${b} has ${r.length} ids but row 0 has ${T}`, "a rectangular [batch, seq] array (pad it)");
    });
    if (mask.length !== B || mask.some((r) => r.length !== T)) {
      throw new InputError("attention_mask", `shape differs from input_ids [${B}, ${T}]`, `[${B}, ${T}]`);
    }
    if (T === 0 && B > 0) throw new InputError("input_ids", "rows are empty", "at least one token per row (e.g. [CLS] [SEP])");

    const { config } = this;
    const capture = options.capture ?? [];
    const hooks = options.hooks ?? {};
    const full = !!options.outputHiddenStates || !!options.outputAttentions || capture.length > 0 || Object.keys(hooks).length > 0;
    let taps: ForwardTaps | null = null;
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    if (full) {
      taps = new ForwardTaps(config, capture, hooks, this.model);
      if (options.outputHiddenStates) {
        taps.collect("embeddings.out", (t) => (hiddenStates[0] = t));
        for (let i = 0; i < config.nLayers; i++) taps.collect(`layer.${i}.out`, (t) => (hiddenStates[i + 1] = t));
      }
      if (options.outputAttentions) {
        for (let i = 0; i < config.nLayers; i++) taps.collect(`layer.${i}.attn.probs`, (t) => (attentions[i] = t));
      }
    }
    const headMask = options.headMask === undefined ? null : parseHeadMask(options.headMask, config);
    // Only a sequence classifier may skip padded rows: every other head's output has a row for each position.
    const sequenceHead = this.model.architecture === "DistilBertForSequenceClassification";
    const batch = packRows(ids, mask, full || !sequenceHead);
    const logits = this.model.forward(this.backend, batch, taps, headMask, { fullLastLayer: options.fullLastLayer });
    const L = this.model.width;
    const probs = new Float32Array(logits.length);
    const problem = sequenceHead ? config.problemType : "single_label_classification";
    for (let r = 0; r < logits.length / L; r++) {
      const row = logits.subarray(r * L, (r + 1) * L);
      probs.set(this.model.architecture === "DistilBertModel" ? row : scoresOf(row, problem), r * L);
    }
    const shape = this.model.output === "sequence" ? [B, L] : [B, T, L];
    const result: ForwardOutput = {
      logits: new Tensor(logits, shape),
      probs: new Tensor(probs, shape),
      captured: taps?.captured ?? {},
    };
    if (options.outputHiddenStates) result.hiddenStates = hiddenStates;
    if (options.outputAttentions) result.attentions = attentions;
    return result;
  }
}

/**
 * The sequences' indices in internal batches: sorted by length, longest first, about `maxBatchTokens` tokens per
 * batch (a longer sequence is a batch of its own). Sorting keeps sequences of similar length together.
 */
function batches(sequences: readonly ArrayLike<number>[], maxBatchTokens: number): number[][] {
  const order = sequences.map((_, i) => i).sort((a, b) => sequences[b].length - sequences[a].length);
  const out: number[][] = [];
  for (let i = 0; i < order.length; ) {
    const members: number[] = [];
    let tokens = 0;
    while (i < order.length && (members.length === 0 || tokens + sequences[order[i]].length <= maxBatchTokens)) {
      tokens += sequences[order[i]].length;
      members.push(order[i++]);
    }
    out.push(members);
  }
  return out;
}

/** Sequences laid end to end, each keeping all its rows, positions 0..len-1, every key attendable. */
export function packSequences(sequences: readonly ArrayLike<number>[]): PackedBatch {
  let N = 0;
  for (const s of sequences) N += s.length;
  const ids = new Int32Array(N);
  const positions = new Int32Array(N);
  const spans: Span[] = [];
  let at = 0;
  for (const s of sequences) {
    if (s.length === 0) throw new InputError("input_ids", "a sequence is empty", "at least one token");
    for (let t = 0; t < s.length; t++) {
      ids[at + t] = checkId(s[t]);
      positions[at + t] = t;
    }
    spans.push({ start: at, len: s.length, keyMask: null });
    at += s.length;
  }
  return { ids, positions, spans };
}

/**
 * Padded rows + mask → packed rows. Fast layout (`full` false): a row keeps position 0 (the head reads it) and the
 * positions whose mask is set; the rest cannot change anything HF returns for kept rows, so they are not computed.
 * Full layout: every position is computed, as HF does, so hidden states and attentions have HF's [B, T, ...] shape.
 */
function packRows(ids: number[][], mask: number[][], full: boolean): PackedBatch {
  const rows: { ids: number[]; positions: number[]; keyMask: number[] }[] = [];
  for (let b = 0; b < ids.length; b++) {
    const keep = { ids: [] as number[], positions: [] as number[], keyMask: [] as number[] };
    const anyOn = mask[b].some((m) => m !== 0);
    for (let t = 0; t < ids[b].length; t++) {
      const on = mask[b][t] !== 0;
      if (full || !anyOn || on || t === 0) {
        keep.ids.push(ids[b][t]);
        keep.positions.push(t);
        keep.keyMask.push(on ? 1 : 0);
      }
    }
    rows.push(keep);
  }
  let N = 0;
  for (const r of rows) N += r.ids.length;
  const packedIds = new Int32Array(N);
  const positions = new Int32Array(N);
  const spans: Span[] = [];
  let at = 0;
  for (const r of rows) {
    r.ids.forEach((id, t) => (packedIds[at + t] = checkId(id)));
    positions.set(r.positions, at);
    const keyMask = r.keyMask.every((m) => m === 1) ? null : Uint8Array.from(r.keyMask);
    spans.push({ start: at, len: r.ids.length, keyMask });
    at += r.ids.length;
  }
  return { ids: packedIds, positions, spans };
}

function checkId(id: number): number {
  if (!Number.isInteger(id)) throw new InputError("input_ids", `${String(id)} is not an integer id`);
  return id;
}

function toRows(x: IdRows, what: string): number[][] {
  if (x === null || typeof x !== "object" || typeof (x as ArrayLike<unknown>).length !== "number") {
    throw new InputError(what, `got ${x === null ? "null" : typeof x}`, "an array of numbers or an array of such arrays");
  }
  const arr = x as ArrayLike<unknown>;
  if (arr.length > 0 && typeof arr[0] === "object" && arr[0] !== null) {
    return Array.from(arr as ArrayLike<ArrayLike<unknown>>, (r, b) => toNumbers(r, `${what}[${b}]`));
  }
  return arr.length === 0 ? [] : [toNumbers(arr, what)];
}

function toNumbers(r: ArrayLike<unknown>, what: string): number[] {
  if (r === null || typeof r !== "object" || typeof r.length !== "number") throw new InputError(what, "is not an array");
  const out = Array.from(r as ArrayLike<unknown>, (v, i) => {
    if (typeof v !== "number" && typeof v !== "bigint") throw new InputError(`${what}[${i}]`, `is ${typeof v}`, "a number");
    return Number(v);
  });
  return out;
}

function parseHeadMask(m: ArrayLike<number> | readonly ArrayLike<number>[], config: DistilBertConfig): Float32Array {
  const { nLayers, nHeads } = config;
  const rows = toRows(m as IdRows, "headMask");
  const out = new Float32Array(nLayers * nHeads);
  if (rows.length === 1 && rows[0].length === nHeads) {
    for (let l = 0; l < nLayers; l++) out.set(rows[0], l * nHeads);
  } else if (rows.length === nLayers && rows.every((r) => r.length === nHeads)) {
    rows.forEach((r, l) => out.set(r, l * nHeads));
  } else if (rows.length === 1 && rows[0].length === nLayers * nHeads) {
    out.set(rows[0]);
  } else {
    throw new InputError("headMask", `shape does not fit ${nLayers} layers × ${nHeads} heads`, `[${nLayers}][${nHeads}] or [${nHeads}]`);
  }
  for (const v of out) if (!Number.isFinite(v)) throw new InputError("headMask", `value ${v} is not finite`);
  return out;
}

/** A classifier's scores from its logits, as HF's text-classification pipeline applies them by problem_type. */
export function scoresOf(logits: ArrayLike<number>, problem: DistilBertConfig["problemType"]): Float64Array {
  if (problem === "multi_label_classification") return Float64Array.from(logits as ArrayLike<number>, (x) => 1 / (1 + Math.exp(-x)));
  if (problem === "regression") return Float64Array.from(logits as ArrayLike<number>);
  return softmax(logits);
}

/** softmax in float64 (the logits are few; precision is free here). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}
