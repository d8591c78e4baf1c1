/**
 * A template probe: fill "This film was filmed in {}." with each value of a list, classify every sentence, and
 * summarise how much P(label) moves with nothing but the value changing. With a neutral template, any spread is
 * bias the model learned (the experiment the model card of distilbert-base-uncased-finetuned-sst-2-english asks
 * users to run).
 */
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";

export interface ProbeRow {
  value: string;
  text: string;
  /** P(label) for this value. */
  prob: number;
  /** The predicted label and its probability. */
  predicted: string;
  score: number;
  /** WordPiece tokens of the value alone (how the model sees it; [UNK] shows a word it cannot read). */
  valueTokens: string[];
}

export interface ProbeStats {
  n: number;
  min: { value: string; prob: number };
  max: { value: string; prob: number };
  /** max - min */
  spread: number;
  mean: number;
  /** Population standard deviation (the list is the whole population probed). */
  std: number;
  median: number;
}

export interface ProbeResult {
  template: string;
  label: string;
  /** Sorted by prob, highest first; ties keep the input order. */
  rows: ProbeRow[];
  stats: ProbeStats;
}

export const PLACEHOLDER = "{}";

export function fillTemplate(template: string, value: string): string {
  return template.split(PLACEHOLDER).join(value);
}

export function checkTemplate(template: string): void {
  if (!template.includes(PLACEHOLDER)) {
    throw new InputError("template", `${JSON.stringify(template)} has no ${PLACEHOLDER}`, `a sentence with ${PLACEHOLDER} where each value goes, e.g. "This film was filmed in {}."`);
  }
}

/** Values from a list file's text: one per line; blank lines and lines starting with '#' are skipped. */
export function parseValueList(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const v = raw.trim();
    if (v === "" || v.startsWith("#") || seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

export function defaultProbeLabel(labels: readonly string[]): string {
  return labels.find((l) => l.toUpperCase() === "POSITIVE") ?? labels[labels.length - 1];
}

/**
 * A label name as the user typed it → the model's label: exact, else ignoring case ("positive" is POSITIVE), the rule
 * eval applies to gold labels too. undefined when neither matches (or the case-blind match is ambiguous).
 */
export function matchLabel(labels: readonly string[], name: string): string | undefined {
  if (labels.includes(name)) return name;
  const folded = labels.filter((l) => l.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

export function runProbe(model: DistilBertClassifier, template: string, values: readonly string[], label?: string): ProbeResult {
  checkTemplate(template);
  if (values.length === 0) throw new InputError("values", "the list is empty", "at least one value");
  const labels = model.config.labels;
  const target = label === undefined ? defaultProbeLabel(labels) : matchLabel(labels, label);
  if (target === undefined) throw new InputError("label", `${JSON.stringify(label)} is not a label of this model`, `one of ${labels.join(", ")} (case is ignored)`);
  const texts = values.map((v) => fillTemplate(template, v));
  const results = model.classifySync(texts);
  const rows: ProbeRow[] = values.map((value, i) => ({
    value,
    text: texts[i],
    prob: results[i].scores[target],
    predicted: results[i].label,
    score: results[i].score,
    valueTokens: model.tokenizer.encode(value, { addSpecialTokens: false }).tokens,
  }));
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => b.r.prob - a.r.prob || a.i - b.i).map((x) => x.r);
  return { template, label: target, rows: sorted, stats: probeStats(rows) };
}

export function probeStats(rows: readonly { value: string; prob: number }[]): ProbeStats {
  if (rows.length === 0) throw new InputError("probeStats", "no rows");
  let lo = rows[0];
  let hi = rows[0];
  let sum = 0;
  for (const r of rows) {
    if (r.prob < lo.prob) lo = r;
    if (r.prob > hi.prob) hi = r;
    sum += r.prob;
  }
  const mean = sum / rows.length;
  let ss = 0;
  for (const r of rows) ss += (r.prob - mean) ** 2;
  const ps = rows.map((r) => r.prob).sort((a, b) => a - b);
  const mid = ps.length >> 1;
  const median = ps.length % 2 ? ps[mid] : (ps[mid - 1] + ps[mid]) / 2;
  return {
    n: rows.length,
    min: { value: lo.value, prob: lo.prob },
    max: { value: hi.value, prob: hi.prob },
    spread: hi.prob - lo.prob,
    mean,
    std: Math.sqrt(ss / rows.length),
    median,
  };
}

/** CSV (RFC 4180 quoting), sorted as the result. */
export function probeCsv(result: ProbeResult): string {
  const q = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [`rank,value,p_${result.label},predicted,score,text`];
  result.rows.forEach((r, i) => lines.push([String(i + 1), q(r.value), r.prob.toFixed(6), q(r.predicted), r.score.toFixed(6), q(r.text)].join(",")));
  return lines.join("\n") + "\n";
}
