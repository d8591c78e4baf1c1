/**
 * token-classification (NER), as transformers' TokenClassificationPipeline: per-token softmax, then aggregation
 * "none" (each token), "simple" (B-/I- runs grouped), or word-level "first" / "average" / "max" (a word's word pieces
 * decided together, then grouped). Entities labelled "O" are left out (ignore_labels). Offsets are into the text
 * in UTF-16 units (the JavaScript string's own indices).
 */
import { InputError } from "../errors.js";
import { headRows, type PretrainedModel, requireHead, softmax64, texts } from "./common.js";

export type Aggregation = "none" | "simple" | "first" | "average" | "max";
export const AGGREGATIONS: readonly Aggregation[] = ["none", "simple", "first", "average", "max"];

export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

export interface TokenClassificationOptions {
  /** Default "none" (as HF's pipeline). */
  aggregation?: Aggregation;
  /** Labels left out of the result (default ["O"]). */
  ignoreLabels?: readonly string[];
}

interface PreEntity {
  word: string;
  scores: Float64Array;
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

interface WordEntity {
  entity: string;
  score: number;
  word: string;
  start: number;
  end: number;
  index?: number;
}

export function tokenClassification(model: PretrainedModel, input: string, options?: TokenClassificationOptions): (TokenEntity | EntityGroup)[];
export function tokenClassification(model: PretrainedModel, input: readonly string[], options?: TokenClassificationOptions): (TokenEntity | EntityGroup)[][];
export function tokenClassification(model: PretrainedModel, input: string | readonly string[], options: TokenClassificationOptions = {}): (TokenEntity | EntityGroup)[] | (TokenEntity | EntityGroup)[][] {
  requireHead(model, "token-classification", "DistilBertForTokenClassification");
  const { list, single } = texts(input, "token-classification");
  const aggregation = options.aggregation ?? "none";
  if (!AGGREGATIONS.includes(aggregation)) throw new InputError("token-classification: aggregation", `is ${JSON.stringify(aggregation)}`, AGGREGATIONS.join(", "));
  const ignore = options.ignoreLabels ?? ["O"];
  const { tokenizer } = model;
  const labels = model.config.labels;
  const encodings = list.map((t) => tokenizer.encode(t, { maxLength: model.maxLength }));
  const logits = headRows(model, encodings.map((e) => e.ids));
  const L = model.model.width;
  const out = encodings.map((e, i) => {
    const text = list[i];
    const pre: PreEntity[] = [];
    e.ids.forEach((id, t) => {
      // The tokenizer's special tokens ([CLS], [SEP]) are the ones with no characters behind them.
      if (id === tokenizer.clsId || id === tokenizer.sepId || id === tokenizer.padId) return;
      const [start, end] = e.offsets[t];
      let word = e.tokens[t];
      const ref = text.slice(start, end);
      // A WordPiece tokenizer knows its pieces: one that is not the whole of its characters is a continuation.
      let isSubword = word.length !== ref.length;
      if (id === tokenizer.unkId) {
        word = ref;
        isSubword = false;
      }
      pre.push({ word, scores: softmax64(logits[i].subarray(t * L, (t + 1) * L)), start, end, index: t, isSubword });
    });
    const words: WordEntity[] = aggregation === "none" || aggregation === "simple"
      ? pre.map((p) => {
          const j = argmax(p.scores);
          return { entity: labels[j], score: p.scores[j], index: p.index, word: p.word, start: p.start, end: p.end };
        })
      : aggregateWords(pre, aggregation, labels, (tokens) => tokenizer.decodeTokens(tokens));
    if (aggregation === "none") {
      return words.filter((w) => !ignore.includes(w.entity)).map((w): TokenEntity => ({ entity: w.entity, score: w.score, index: w.index!, word: w.word, start: w.start, end: w.end }));
    }
    return groupEntities(words, (tokens) => tokenizer.decodeTokens(tokens)).filter((g) => !ignore.includes(g.entity_group));
  });
  return single ? out[0] : out;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Word pieces → words (a piece marked isSubword joins the word before it), each decided by `how`. */
function aggregateWords(pre: PreEntity[], how: "first" | "average" | "max", labels: readonly string[], join: (tokens: string[]) => string): WordEntity[] {
  const words: PreEntity[][] = [];
  for (const p of pre) {
    if (words.length > 0 && p.isSubword) words[words.length - 1].push(p);
    else words.push([p]);
  }
  return words.map((group) => {
    let scores: Float64Array;
    if (how === "first") scores = group[0].scores;
    else if (how === "max") {
      // The piece whose best score is highest decides (the first such piece on ties, as Python's max).
      let best = group[0];
      for (const p of group) if (Math.max(...p.scores) > Math.max(...best.scores)) best = p;
      scores = best.scores;
    } else {
      scores = new Float64Array(group[0].scores.length);
      for (const p of group) for (let j = 0; j < scores.length; j++) scores[j] += p.scores[j];
      for (let j = 0; j < scores.length; j++) scores[j] /= group.length;
    }
    const j = argmax(scores);
    return { entity: labels[j], score: scores[j], word: join(group.map((p) => p.word)), start: group[0].start, end: group[group.length - 1].end };
  });
}

/** "B-PER" → [B, PER]; "I-PER" → [I, PER]; anything else (e.g. "O") → [I, itself], as HF's get_tag. */
function tag(entity: string): [string, string] {
  if (entity.startsWith("B-")) return ["B", entity.slice(2)];
  if (entity.startsWith("I-")) return ["I", entity.slice(2)];
  return ["I", entity];
}

/** Adjacent entities of one tag, each after the first not a B-, become one group; its score is their mean. */
function groupEntities(entities: WordEntity[], join: (tokens: string[]) => string): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let run: WordEntity[] = [];
  const close = () => {
    if (run.length === 0) return;
    const name = run[0].entity.split("-").slice(1).join("-") || run[0].entity;
    let sum = 0;
    for (const e of run) sum += e.score;
    groups.push({ entity_group: name, score: sum / run.length, word: join(run.map((e) => e.word)), start: run[0].start, end: run[run.length - 1].end });
  };
  for (const e of entities) {
    if (run.length > 0) {
      const [bi, t] = tag(e.entity);
      const [, lastTag] = tag(run[run.length - 1].entity);
      if (!(t === lastTag && bi !== "B")) {
        close();
        run = [];
      }
    }
    run.push(e);
  }
  close();
  return groups;
}
