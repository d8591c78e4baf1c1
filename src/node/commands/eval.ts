import { FileError, UsageError } from "../../errors.js";
import { matchLabel } from "../../analysis/probe.js";
import type { DistilBertClassifier } from "../../model/classifier.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { BadRecordLog, inputFormat, LONG_OPTIONS, longOptions, openInput, positiveInt } from "../formats/batch.js";
import type { InputRecord } from "../formats/records.js";
import { classifyProgressLine, formatCount, formatDuration, StatusLine } from "../progress.js";

export interface ClassMetrics {
  precision: number | null;
  recall: number | null;
  f1: number | null;
  support: number;
}

export interface EvalReport {
  accuracy: number;
  correct: number;
  total: number;
  labels: string[];
  /** confusion[true][predicted] */
  confusion: number[][];
  per_class: Record<string, ClassMetrics>;
  macro_f1: number | null;
  truncated: number;
  skipped: number;
  seconds: number;
  examples_per_second: number;
  /** Mean wall time of one model call (a batch of batch_size texts). */
  mean_latency_ms: number;
  batch_size: number;
}

/** Precision, recall and F1 per class from a confusion matrix; null where a ratio has nothing to divide by. */
export function metricsFromConfusion(labels: readonly string[], confusion: readonly (readonly number[])[]): { perClass: Record<string, ClassMetrics>; macroF1: number | null; correct: number; total: number } {
  const perClass: Record<string, ClassMetrics> = Object.create(null);
  let correct = 0;
  let total = 0;
  const f1s: number[] = [];
  labels.forEach((label, k) => {
    const tp = confusion[k][k];
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < labels.length; j++) {
      predicted += confusion[j][k];
      support += confusion[k][j];
    }
    correct += tp;
    total += support;
    const precision = predicted > 0 ? tp / predicted : null;
    const recall = support > 0 ? tp / support : null;
    const f1 = precision !== null && recall !== null ? (precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0) : null;
    if (f1 !== null) f1s.push(f1);
    perClass[label] = { precision, recall, f1, support };
  });
  return { perClass, macroF1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : null, correct, total };
}

/**
 * A gold label as a class index: a class id ("0", "1", or a JSON number) or a label name from config.json (exact,
 * else ignoring case, so "positive" matches POSITIVE). undefined when it is neither.
 */
export function labelIndex(value: unknown, model: Pick<DistilBertClassifier, "config">): number | undefined {
  const { labels, label2id } = model.config;
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 && value < labels.length ? value : undefined;
  if (typeof value !== "string") return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v) && Number(v) < labels.length) return Number(v);
  const exact = label2id.get(v);
  if (exact !== undefined) return exact;
  // The same case rule as probe --label.
  const name = matchLabel(labels, v);
  return name === undefined ? undefined : labels.indexOf(name);
}

const num = (v: number | null) => (v === null ? "n/a" : v.toFixed(4));

export function formatReport(r: EvalReport): string {
  const w = Math.max(9, ...r.labels.map((l) => l.length)) + 2;
  const lines = [`accuracy ${r.accuracy.toFixed(4)} (${r.correct}/${r.total})`, "", "confusion matrix (rows: true label, columns: predicted)"];
  lines.push(" ".repeat(w) + r.labels.map((l) => l.padStart(w)).join(""));
  r.labels.forEach((l, i) => lines.push(l.padEnd(w) + r.confusion[i].map((n) => String(n).padStart(w)).join("")));
  lines.push("", "class".padEnd(w) + ["precision", "recall", "f1", "support"].map((h) => h.padStart(11)).join(""));
  for (const l of r.labels) {
    const m = r.per_class[l];
    lines.push(l.padEnd(w) + [num(m.precision), num(m.recall), num(m.f1), String(m.support)].map((c) => c.padStart(11)).join(""));
  }
  lines.push("macro avg".padEnd(w) + ["", "", num(r.macro_f1), String(r.total)].map((c) => c.padStart(11)).join(""));
  lines.push("");
  lines.push(`${formatCount(r.total)} examples in ${formatDuration(r.seconds)}: ${r.examples_per_second.toFixed(1)} examples/s, mean latency ${r.mean_latency_ms.toFixed(1)} ms per model call (batch size ${r.batch_size})`);
  const notes: string[] = [];
  if (r.truncated > 0) notes.push(`${formatCount(r.truncated)} text${r.truncated === 1 ? " was" : "s were"} truncated to the model's maximum length`);
  if (r.skipped > 0) notes.push(`${formatCount(r.skipped)} bad record${r.skipped === 1 ? "" : "s"} skipped`);
  if (notes.length > 0) lines.push(notes.join("; "));
  return lines.join("\n");
}

export const evalCommand: Command = {
  name: "eval",
  summary: "measure accuracy, confusion matrix, precision/recall/F1 and speed on a labelled file",
  usage: [
    "distilbert-ts eval --file PATH [--model DIR] [--text-column NAME] [--label-column NAME] [--json]",
    "                   [--format jsonl|csv|tsv] [--batch-size N] [--skip-bad-lines] [--quiet] [--long truncate|window [--stride N]]",
    "  PATH: .tsv/.csv with a header row, or .jsonl; the text column defaults to \"text\", else \"sentence\" (SST-2), the label to \"label\"",
    "  labels may be class ids (0, 1) or names from the model's config (NEGATIVE, POSITIVE; case ignored)",
    "  e.g. distilbert-ts eval --file sst2-dev.tsv   # the Hub's model: accuracy 0.9106 (794/872)",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    file: { type: "string" },
    format: { type: "string" },
    "text-column": { type: "string" },
    "label-column": { type: "string" },
    json: { type: "boolean" },
    "batch-size": { type: "string" },
    "skip-bad-lines": { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    ...LONG_OPTIONS,
  },
  async run(values: Values, _positionals: string[], io: CliIO): Promise<number> {
    const path = stringOpt(values, "file");
    if (path === undefined) throw new UsageError("eval", "no --file given", "--file PATH (a labelled .tsv, .csv or .jsonl file)");
    const long = longOptions(values);
    const format = inputFormat(path, values);
    if (format === "txt") throw new UsageError("--file", "a .txt file has no labels", "a .tsv, .csv or .jsonl file with a text and a label column");
    const batchSize = positiveInt(stringOpt(values, "batch-size") ?? "32", "--batch-size");
    const textChoice = stringOpt(values, "text-column");
    const textKey = { name: textChoice ?? "text", option: "--text-column", alternatives: textChoice === undefined ? ["sentence"] : [] };
    const labelKey = { name: stringOpt(values, "label-column") ?? "label", option: "--label-column" };
    const badLog = values["skip-bad-lines"] === true ? new BadRecordLog(path, io.stderr) : undefined;
    const reader = await openInput(path, format, textKey, [labelKey], badLog);
    const model = await loadCliModel(values, io);

    const L = model.config.labels.length;
    const confusion = Array.from({ length: L }, () => new Array<number>(L).fill(0));
    let truncated = 0;
    let calls = 0;
    let modelMs = 0;
    let seen = 0;
    const started = Date.now();
    const status = values.quiet === true || !io.isTTY ? undefined : new StatusLine(io.stderr);
    const run = (batch: { record: InputRecord; gold: number }[]) => {
      if (batch.length === 0) return;
      const t0 = performance.now();
      const results = model.classifySync(batch.map((b) => b.record.text), long);
      modelMs += performance.now() - t0;
      calls++;
      results.forEach((c, i) => {
        confusion[batch[i].gold][model.config.label2id.get(c.label) ?? model.config.labels.indexOf(c.label)]++;
        if (c.truncated) truncated++;
      });
      seen += batch.length;
      status?.update(() => classifyProgressLine({ texts: seen, bytesRead: reader.bytesRead, totalBytes: reader.size, elapsedMs: Date.now() - started }));
    };
    let batch: { record: InputRecord; gold: number }[] = [];
    try {
      for await (const record of reader.records()) {
        const raw = record.row[reader.keyName(labelKey)];
        const gold = labelIndex(raw, model);
        if (gold === undefined) {
          const problem = `label ${JSON.stringify(raw)} is neither a class id (0..${L - 1}) nor a label name (${model.config.labels.join(", ")})`;
          if (badLog === undefined) throw new FileError(`${path}:${record.lineNo}`, problem, "labels the model knows (or --skip-bad-lines to skip such records)");
          badLog.report({ lineNo: record.lineNo, problem });
          continue;
        }
        batch.push({ record, gold });
        if (batch.length >= batchSize) {
          run(batch);
          batch = [];
        }
      }
      run(batch);
    } finally {
      status?.finish();
    }
    const { perClass, macroF1, correct, total } = metricsFromConfusion(model.config.labels, confusion);
    if (total === 0) throw new UsageError("--file", `${path} has no labelled records`, "at least one text with a label");
    const seconds = modelMs / 1000;
    const report: EvalReport = {
      accuracy: correct / total,
      correct,
      total,
      labels: [...model.config.labels],
      confusion,
      per_class: perClass,
      macro_f1: macroF1,
      truncated,
      skipped: badLog?.count ?? 0,
      seconds,
      examples_per_second: seconds > 0 ? total / seconds : 0,
      mean_latency_ms: calls > 0 ? modelMs / calls : 0,
      batch_size: batchSize,
    };
    await writeLine(io.stdout, values.json === true ? JSON.stringify(report) : formatReport(report));
    return 0;
  },
};
