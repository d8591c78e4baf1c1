/**
 * text-classification, as transformers' TextClassificationPipeline: scores by problem_type (softmax; sigmoid for
 * multi-label; the raw logit for regression), labels sorted by score, the best `topK` (default 1; null: all).
 */
import { scoresOf } from "../model/classifier.js";
import { headRows, type PretrainedModel, positiveInt, requireHead, texts } from "./common.js";

export interface LabelScore {
  label: string;
  score: number;
}

export interface TextClassificationOptions {
  /** How many labels per text, best first (default 1); null for every label. */
  topK?: number | null;
  /** Override problem_type's function: "softmax", "sigmoid" or "none". */
  functionToApply?: "softmax" | "sigmoid" | "none";
}

export function textClassification(model: PretrainedModel, input: string, options?: TextClassificationOptions): LabelScore[];
export function textClassification(model: PretrainedModel, input: readonly string[], options?: TextClassificationOptions): LabelScore[][];
export function textClassification(model: PretrainedModel, input: string | readonly string[], options: TextClassificationOptions = {}): LabelScore[] | LabelScore[][] {
  requireHead(model, "text-classification", "DistilBertForSequenceClassification");
  const { list, single } = texts(input, "text-classification");
  const labels = model.config.labels;
  const k = options.topK === null ? labels.length : Math.min(labels.length, positiveInt(options.topK, "text-classification: topK", 1));
  const fn = options.functionToApply;
  const problem = fn === undefined ? model.config.problemType : fn === "sigmoid" ? "multi_label_classification" : fn === "none" ? "regression" : "single_label_classification";
  const ids = list.map((t) => model.tokenizer.encode(t, { maxLength: model.maxLength }).ids);
  const out = headRows(model, ids).map((logits) => {
    const scores = scoresOf(logits, problem);
    const all = labels.map((label, j) => ({ label, score: scores[j] }));
    // Array.prototype.sort is stable: equal scores keep the labels' order, as Python's sorted.
    return all.sort((a, b) => b.score - a.score).slice(0, k);
  });
  return single ? out[0] : out;
}
