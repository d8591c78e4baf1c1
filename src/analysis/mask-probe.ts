/**
 * The fill-mask probe: the bias experiment of the BERT and DistilBERT base model cards ("The White man worked as a
 * [MASK]." vs "The Black woman worked as a [MASK]."). A template with a placeholder for the value and one mask
 * token; for each value the top-k words at the mask, side by side, and the probability of chosen target words
 * (e.g. he/she). Probabilities are the fill-mask pipeline's: softmax over the whole vocabulary at the mask.
 */
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { fillMask, targetTokenIds, type FillMaskResult } from "../pipelines/fill-mask.js";
import { checkTemplate, fillTemplate } from "./probe.js";

export interface MaskCandidate {
  token: number;
  /** The word piece as the pipeline decodes it. */
  token_str: string;
  score: number;
}

export interface MaskProbeRow {
  value: string;
  /** The sentence the model read (template filled with the value). */
  text: string;
  /** The top-k words at the mask, most probable first. */
  top: MaskCandidate[];
  /** P(target) at the mask for each target, in the order of `MaskProbeResult.targets`. */
  targets: number[];
}

export interface MaskProbeTarget {
  /** The word as given. */
  word: string;
  /** The vocabulary token scored for it (the word itself, else its first word piece, as the pipeline's targets). */
  token: number;
  token_str: string;
}

export interface MaskProbeResult {
  mode: "fill-mask";
  template: string;
  topK: number;
  targets: MaskProbeTarget[];
  /** One row per value, in the order given (the comparison is side by side, not a ranking). */
  rows: MaskProbeRow[];
}

export interface MaskProbeOptions {
  /** Words per value (default 10). */
  topK?: number;
  /** Words whose probability at the mask is reported for every value, e.g. ["he", "she"]. */
  targets?: readonly string[];
}

/** Fill the template with each value and read the model's words at the mask. */
export function runMaskProbe(model: DistilBertClassifier, template: string, values: readonly string[], options: MaskProbeOptions = {}): MaskProbeResult {
  checkTemplate(template);
  if (values.length === 0) throw new InputError("values", "the list is empty", "at least one value");
  const { tokenizer } = model;
  const maskToken = tokenizer.maskId === undefined ? undefined : tokenizer.idToToken(tokenizer.maskId);
  if (maskToken === undefined) throw new InputError("probe", "the tokenizer has no mask token", "a masked language model's tokenizer");
  const topK = options.topK ?? 10;
  if (!Number.isInteger(topK) || topK < 1) throw new InputError("top-k", `is ${String(topK)}`, "a positive integer");
  const texts = values.map((v) => fillTemplate(template, v));
  texts.forEach((t, i) => {
    const n = tokenizer.encode(t, { maxLength: model.maxLength }).ids.filter((id) => id === tokenizer.maskId).length;
    if (n !== 1) {
      throw new InputError("template", `${JSON.stringify(t)} (value ${i + 1}) has ${n} ${maskToken} tokens`, `exactly one ${maskToken} where the word is predicted, e.g. "The {} worked as a ${maskToken}."`);
    }
  });
  const words = options.targets ?? [];
  const targets: MaskProbeTarget[] = words.map((word) => {
    const token = targetTokenIds(model, [word])[0];
    return { word, token, token_str: tokenizer.decode([token]) };
  });
  const top = fillMask(model, texts, { topK }) as FillMaskResult[][];
  // The pipeline with targets scores just those tokens: the same softmax over the whole vocabulary, picked at their ids.
  const scored = targets.length === 0 ? null : (fillMask(model, texts, { targets: words, topK: targets.length }) as FillMaskResult[][]);
  const rows = values.map((value, i): MaskProbeRow => ({
    value,
    text: texts[i],
    top: top[i].map((c) => ({ token: c.token, token_str: c.token_str, score: c.score })),
    targets: targets.map((t) => scored![i].find((c) => c.token === t.token)?.score ?? NaN),
  }));
  return { mode: "fill-mask", template, topK, targets, rows };
}

/**
 * CSV (RFC 4180 quoting), one line per (value, word): the top-k words (kind "top", rank 1..k) then the targets
 * (kind "target", rank empty), values in the order given.
 */
export function maskProbeCsv(r: MaskProbeResult): string {
  const q = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ["value,kind,rank,word,token_id,probability,text"];
  for (const row of r.rows) {
    row.top.forEach((c, k) => lines.push([q(row.value), "top", String(k + 1), q(c.token_str), String(c.token), c.score.toPrecision(6), q(row.text)].join(",")));
    r.targets.forEach((t, k) => lines.push([q(row.value), "target", "", q(t.word), String(t.token), row.targets[k].toPrecision(6), q(row.text)].join(",")));
  }
  return lines.join("\n") + "\n";
}
