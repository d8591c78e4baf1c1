/**
 * text-classification, as transformers' TextClassificationPipeline: scores by problem_type (softmax; sigmoid for
 * multi-label; the raw logit for regression), labels sorted by score, the best `topK` (default 1; null: all).
 */
import { scoresOf } from "../model/classifier.js";
import { callOptions, type HeadPlan, oneOf, type PretrainedModel, positiveInt, requireHead, runPlan, texts } from "./common.js";

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
  const { list, single } = texts(input, "text-classification");
  const out = runPlan(model, textClassificationPlan(model, list, options));
  return single ? out[0] : out;
}

/** The pipeline around its model call; see HeadPlan. */
export function textClassificationPlan(model: PretrainedModel, list: readonly string[], options: TextClassificationOptions = {}): HeadPlan<LabelScore[]> {
  requireHead(model, "text-classification", "DistilBertForSequenceClassification");
  options = callOptions(options, "text-classification", ["topK", "functionToApply"]);
  const labels = model.config.labels;
  const k = options.topK === null ? labels.length : Math.min(labels.length, positiveInt(options.topK, "text-classification: topK", 1));
  const fn = options.functionToApply === undefined ? undefined : oneOf(options.functionToApply, "text-classification: functionToApply", ["softmax", "sigmoid", "none"] as const, "softmax");
  const problem = fn === undefined ? model.config.problemType : fn === "sigmoid" ? "multi_label_classification" : fn === "none" ? "regression" : "single_label_classification";
  const encodings = list.map((t) => model.tokenizer.encode(t, { maxLength: model.maxLength }));
  const finish = (rows: readonly Float32Array[]) =>
    rows.map((logits) => {
      const scores = scoresOf(logits, problem);
      const all = labels.map((label, j) => ({ label, score: scores[j] }));
      // Array.prototype.sort is stable: equal scores keep the labels' order, as Python's sorted.
      return all.sort((a, b) => b.score - a.score).slice(0, k);
    });
  return { sequences: encodings.map((e) => e.ids), truncated: encodings.map((e) => e.truncated), finish };
}
