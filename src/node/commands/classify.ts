import { DistilBertError, InputError, UsageError } from "../../errors.js";
import type { Classification, ClassifyOptions, DistilBertClassifier } from "../../model/classifier.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, writeLine, type CliIO, type Command, type Values } from "../cli-support.js";
import { BadRecordLog, inputFormat, LONG_OPTIONS, longOptions, openInput, positiveInt } from "../formats/batch.js";
import { decodeLine, splitLines } from "../formats/lines.js";
import { AtomicFileWriter, outputFormatFromPath, RecordFormatter, resultFieldNames, writeWithBackpressure } from "../formats/output.js";
import type { InputRecord } from "../formats/records.js";
import { parseShard, ResumableFile, shardRecords } from "../formats/resume.js";
import { classifyProgressLine, formatCount, formatDuration, StatusLine } from "../progress.js";

export function formatClassification(text: string, c: Classification, json: boolean): string {
  if (json) {
    const obj: Record<string, unknown> = { text, label: c.label, score: c.score, scores: c.scores, logits: c.logits, tokens: c.tokens, truncated: c.truncated };
    if (c.windows !== undefined) obj.windows = c.windows;
    return JSON.stringify(obj);
  }
  const flag = c.truncated ? " (truncated)" : c.windows !== undefined && c.windows > 1 ? ` (${c.windows} windows)` : "";
  return `${c.label} ${c.score.toFixed(4)}${flag}  ${text}`;
}

/**
 * The empty-input rule, the same for TEXT arguments, stdin lines and every --file format: a text that is empty or only
 * whitespace is not classified (the model would label "[CLS] [SEP]" with confidence); its output row is kept, so
 * output rows pair with input rows, with no label and `skipped: "empty input"`.
 */
export const EMPTY_INPUT = "empty input";

export function isEmptyText(text: string): boolean {
  return text.trim() === "";
}

/** The output line of a text that was not classified (empty input, or a bad record kept in place). */
export function formatSkipped(text: string, reason: string, json: boolean): string {
  if (json) return JSON.stringify({ text, label: null, score: null, scores: null, logits: null, tokens: null, truncated: null, skipped: reason });
  return `-  (skipped: ${reason})`;
}

/** Classifies the non-empty texts; empty ones get formatSkipped's line. One output line per text, in order. */
async function classifyLines(model: DistilBertClassifier, texts: readonly string[], long: ClassifyOptions, json: boolean): Promise<string[]> {
  const live = texts.filter((t) => !isEmptyText(t));
  const results = live.length > 0 ? await model.classify(live, long) : [];
  let k = 0;
  return texts.map((t) => (isEmptyText(t) ? formatSkipped(t, EMPTY_INPUT, json) : formatClassification(t, results[k++], json)));
}

/** Texts per model call with --file: big enough to batch well, small enough for a lively progress bar. */
const DEFAULT_BATCH = 32;

const FILE_ONLY = ["format", "field", "column", "out", "batch-size", "quiet", "shard", "resume"] as const;

export const classifyCommand: Command = {
  name: "classify",
  summary: "label texts (arguments, stdin lines, or a .txt/.jsonl/.csv/.tsv file) with the model",
  usage: [
    "distilbert-ts classify [--model DIR] [--json] [--long truncate|window [--stride N]] [TEXT ...]",
    "       distilbert-ts classify [--model DIR] --file PATH [--column NAME | --field NAME] [--out PATH] [--json] [--format txt|jsonl|csv|tsv]",
    "                              [--batch-size N] [--skip-bad-lines] [--quiet] [--long truncate|window [--stride N]]",
    "                              [--shard K/N | --shard auto/N] [--resume]",
    "  without TEXT or --file, reads one text per stdin line and answers each line as it arrives",
    "  --model defaults to the model `distilbert-ts download` fetched",
    "  --file: .txt is one text a line; .jsonl takes --field (default text); .csv/.tsv take --column (default text)",
    "  --out PATH.jsonl|.csv|.tsv keeps the input's fields and adds label, score, truncated (predicted_label… if taken);",
    "    written to PATH.tmp-<pid> and renamed when complete. Without --out, results go to stdout (--json: JSONL).",
    "  --long window reads texts longer than the model's maximum in overlapping windows and averages their logits;",
    "    the default, truncate, cuts them (flagged \"truncated\"). --stride N: word pieces between window starts.",
    "  --skip-bad-lines skips records that are not UTF-8 or not well-formed (reported with their line number)",
    "  --shard K/N takes every N-th record from record K (K from 0; auto/N: K = $JOB_COMPLETION_INDEX);",
    "  --resume (with --out) writes PATH.partial and a journal, and continues them if a run was interrupted",
    MODEL_USAGE,
  ].join("\n"),
  options: {
    ...MODEL_OPTIONS,
    model: { type: "string" },
    json: { type: "boolean" },
    file: { type: "string" },
    format: { type: "string" },
    field: { type: "string" },
    column: { type: "string" },
    out: { type: "string" },
    "batch-size": { type: "string" },
    "skip-bad-lines": { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    shard: { type: "string" },
    resume: { type: "boolean" },
    ...LONG_OPTIONS,
  },
  positionals: true,
  async run(values: Values, texts: string[], io: CliIO): Promise<number> {
    const long = longOptions(values);
    const file = stringOpt(values, "file");
    if (file === undefined) {
      const stray = FILE_ONLY.find((o) => values[o] !== undefined);
      if (stray !== undefined) throw new UsageError(`--${stray}`, "only applies with --file", "--file PATH");
    } else if (texts.length > 0) {
      throw new UsageError("classify", "both --file and TEXT given", "either --file PATH or TEXT arguments");
    }
    if (file !== undefined) return classifyFile(file, values, long, io);
    if (texts.length > 0) {
      if (values["skip-bad-lines"] === true) throw new UsageError("--skip-bad-lines", "only applies to --file or stdin", "--file PATH, or texts on stdin");
      const model = await loadCliModel(values, io);
      for (const line of await classifyLines(model, texts, long, values.json === true)) await writeLine(io.stdout, line);
      return 0;
    }
    return classifyStdin(values, long, io);
  },
};

/** Line in, line out: each stdin line is answered as soon as it arrives (no batching, no waiting for more). */
async function classifyStdin(values: Values, long: ClassifyOptions, io: CliIO): Promise<number> {
  // A person who typed `classify` alone would otherwise face a silent wait (for the model, then for their typing).
  if ((io.stdin as { isTTY?: boolean }).isTTY === true) {
    io.stderr.write("reading texts from the terminal, one a line; Ctrl-D ends (or give TEXT arguments, or --file PATH)\n");
  }
  const model = await loadCliModel(values, io);
  const skip = values["skip-bad-lines"] === true;
  const log = new BadRecordLog("stdin", io.stderr);
  for await (const l of splitLines(io.stdin, "stdin")) {
    const text = decodeLine(l.bytes);
    if (text === undefined) {
      if (!skip) throw new InputError(`stdin:${l.lineNo}`, "is not valid UTF-8", "UTF-8 text (or --skip-bad-lines to skip such lines)");
      log.report({ lineNo: l.lineNo, problem: "is not valid UTF-8" });
      continue;
    }
    if (isEmptyText(text)) {
      await writeLine(io.stdout, formatSkipped(text, EMPTY_INPUT, values.json === true));
      continue;
    }
    const [c] = model.classifySync([text], long);
    await writeLine(io.stdout, formatClassification(text, c, values.json === true));
  }
  return 0;
}

async function classifyFile(path: string, values: Values, long: ClassifyOptions, io: CliIO): Promise<number> {
  const format = inputFormat(path, values);
  const field = stringOpt(values, "field");
  const column = stringOpt(values, "column");
  if (field !== undefined && column !== undefined) throw new UsageError("classify", "both --field and --column given", "one of them (they mean the same)");
  const chosen = field ?? column;
  // Without a choice: "text", else "sentence" (GLUE's SST-2 files).
  const textKey = { name: chosen ?? "text", option: format === "jsonl" ? "--field" : "--column", alternatives: chosen === undefined ? ["sentence"] : [] };
  if (format === "txt" && (field ?? column) !== undefined) throw new UsageError(textKey.option, "does not apply to a .txt file (one text a line)", "a .jsonl, .csv or .tsv file");
  const batchSize = positiveInt(stringOpt(values, "batch-size") ?? String(DEFAULT_BATCH), "--batch-size");
  const outPath = stringOpt(values, "out");
  const outFormat = outPath === undefined ? (values.json === true ? "jsonl" : "plain") : outputFormatFromPath(outPath);
  if (outFormat === undefined) throw new UsageError("--out", `cannot tell the format of ${JSON.stringify(outPath)} from its extension`, "a .jsonl, .csv or .tsv path");
  if (outPath !== undefined && values.json === true) throw new UsageError("--json", "does not apply with --out (its extension sets the format)", "--out PATH.jsonl");
  const quiet = values.quiet === true;
  const badLog = values["skip-bad-lines"] === true ? new BadRecordLog(path, io.stderr) : undefined;
  const shardArg = stringOpt(values, "shard");
  const shard = shardArg === undefined ? undefined : parseShard(shardArg, io.env);
  const resume = values.resume === true;
  if (resume && outPath === undefined) throw new UsageError("--resume", "needs --out (it continues an output file)", "--out PATH.jsonl|.csv|.tsv");

  // Everything that can be checked without the model is checked first: a typo should not wait for 268 MB to load.
  const reader = await openInput(path, format, textKey, [], badLog, true);
  const model = await loadCliModel(values, io);
  // --resume: the partial file and its journal name the run by its input and options; a different run refuses them.
  const identity = { input: path, size: reader.size, format, text: textKey.name, shard: shardArg ?? null, long };
  const resumed = resume && outPath !== undefined ? ResumableFile.open(outPath, identity) : undefined;
  const out = resumed?.file ?? (outPath === undefined ? undefined : await AtomicFileWriter.open(outPath));
  // Ctrl-C, a kill or a closed terminal: drop the temporary file, then die of the same signal (the shell sees the
  // usual status). Re-raising, not process.exit: exit waits for a read blocked in the thread pool (a FIFO, say).
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    out?.abortSync();
    for (const s of signals) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };
  if (out !== undefined) for (const s of signals) process.once(s, onSignal);
  try {
    const summary = await runBatches(model, shard === undefined && resumed === undefined ? reader.records() : shardRecords(reader.records(), shard, resumed?.done ?? 0), {
      batchSize,
      long,
      write: (s, records) => (out !== undefined ? out.write(s, records) : writeText(io, s)),
      headerWritten: (resumed?.done ?? 0) > 0,
      outFormat,
      columns: () => reader.columns ?? [reader.keyName(textKey)],
      progress: quiet || !io.isTTY ? undefined : (texts, elapsedMs) => classifyProgressLine({ texts, bytesRead: reader.bytesRead, totalBytes: reader.size, elapsedMs }),
      stderr: io.stderr,
    });
    await out?.commit();
    if (summary.stopped !== undefined) {
      // What was done is kept: the results before the bad record, aligned with the input, committed like a full run.
      const done = summary.count + summary.empty;
      if (done > 0) io.stderr.write(`stopped at a bad record; the results of the ${formatCount(done)} record${done === 1 ? "" : "s"} before it are in ${outPath ?? "the output above"}\n`);
      throw summary.stopped;
    }
    if (!quiet) io.stderr.write(summaryLine(summary, model, badLog?.count ?? 0, outPath) + "\n");
    return 0;
  } catch (e) {
    await out?.abort();
    throw e;
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
  }
}

function writeText(io: CliIO, s: string): Promise<void> {
  return writeWithBackpressure(io.stdout, s);
}

interface RunOptions {
  batchSize: number;
  long: ClassifyOptions;
  /** One batch's text and its number of records (a resumable --out journals them). */
  write: (s: string, records: number) => Promise<void>;
  /** A resumed --out already has its CSV/TSV header. */
  headerWritten?: boolean;
  outFormat: "plain" | "jsonl" | "csv" | "tsv";
  /** The input's columns, asked once the first record is read (a header comes first). */
  columns: () => string[];
  progress?: (texts: number, elapsedMs: number) => string;
  stderr: CliIO["stderr"];
}

export interface RunSummary {
  /** Texts classified. */
  count: number;
  /** Empty texts, kept as rows but not classified. */
  empty: number;
  /** The bad record that ended the run (without --skip-bad-lines), after the results before it were written. */
  stopped?: DistilBertError;
  byLabel: Map<string, number>;
  truncated: number;
  seconds: number;
}

/**
 * The result fields of --file output. JSONL: label, score, scores {label: p}, logits [..]; CSV/TSV: label, score and
 * one score_<LABEL> column per label (a table cell holds one number). Then truncated, windows (--long window) and
 * skipped (why a row has no result: "empty input", or a bad record's line and problem; absent/empty otherwise).
 */
function resultFields(labels: readonly string[], format: "jsonl" | "csv" | "tsv", windowed: boolean): string[] {
  const scores = format === "jsonl" ? ["scores", "logits"] : labels.map((l) => `score_${l}`);
  return ["label", "score", ...scores, "truncated", ...(windowed ? ["windows"] : []), "skipped"];
}

function resultValues(c: Classification, format: "jsonl" | "csv" | "tsv", windowed: boolean): unknown[] {
  const scores = format === "jsonl" ? [plainScores(c), c.logits] : Object.values(c.scores);
  return [c.label, c.score, ...scores, c.truncated, ...(windowed ? [c.windows] : []), undefined];
}

/** A fresh object holding the scores (label names are data: defineProperty keeps "__proto__" an ordinary key). */
function plainScores(c: Classification): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.scores)) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

function skippedValues(nLabels: number, format: "jsonl" | "csv" | "tsv", windowed: boolean, reason: string): unknown[] {
  const scores = format === "jsonl" ? [null, null] : new Array<null>(nLabels).fill(null);
  return [null, null, ...scores, null, ...(windowed ? [null] : []), reason];
}

/**
 * Reads records, classifies them a batch at a time, writes each batch's results before reading on. A bad record that
 * stops the run (no --skip-bad-lines) is returned as `stopped`, after the records before it were classified and written.
 */
async function runBatches(model: DistilBertClassifier, records: AsyncIterable<InputRecord>, o: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const status = o.progress === undefined ? undefined : new StatusLine(o.stderr);
  const labels = model.config.labels;
  const summary: RunSummary = { count: 0, empty: 0, byLabel: new Map(labels.map((l) => [l, 0])), truncated: 0, seconds: 0 };
  const windowed = o.long.long === "window";
  let formatter: RecordFormatter | undefined;
  // Made on first use: a CSV/TSV header, or a JSONL file's first record, has to be read before the columns are known.
  const formatterFor = (format: "jsonl" | "csv" | "tsv") => {
    if (formatter === undefined) {
      formatter = new RecordFormatter(format, o.columns(), resultFieldNames(o.columns(), resultFields(labels, format, windowed)));
      if (o.headerWritten === true) formatter.markHeaderWritten();
    }
    return formatter;
  };
  const flush = async (batch: InputRecord[]) => {
    if (batch.length === 0) return;
    const reasons = batch.map((r) => r.skipped ?? (isEmptyText(r.text) ? EMPTY_INPUT : undefined));
    const live = batch.filter((_, i) => reasons[i] === undefined);
    const results = live.length > 0 ? model.classifySync(live.map((r) => r.text), o.long) : [];
    let text = "";
    let k = 0;
    for (let i = 0; i < batch.length; i++) {
      const reason = reasons[i];
      if (reason !== undefined) {
        if (batch[i].skipped === undefined) summary.empty++;
        text += o.outFormat === "plain" ? formatSkipped(batch[i].text, reason, false) + "\n" : formatterFor(o.outFormat).format1(batch[i].row, skippedValues(labels.length, o.outFormat, windowed, reason));
        continue;
      }
      const c = results[k++];
      if (o.outFormat === "plain") {
        text += formatClassification(batch[i].text.replace(/\r\n|\r|\n/g, " "), c, false) + "\n";
      } else {
        text += formatterFor(o.outFormat).format1(batch[i].row, resultValues(c, o.outFormat, windowed));
      }
      summary.byLabel.set(c.label, (summary.byLabel.get(c.label) ?? 0) + 1);
      if (c.truncated) summary.truncated++;
      summary.count++;
    }
    await o.write(text, batch.length);
    if (status !== undefined) status.update(() => o.progress!(summary.count, Date.now() - started));
  };
  let batch: InputRecord[] = [];
  const it = records[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<InputRecord>;
      try {
        next = await it.next();
      } catch (e) {
        // Only the input's own errors (a bad record, a read error) stop with what was done kept; bugs propagate.
        if (!(e instanceof DistilBertError)) throw e;
        summary.stopped = e;
        break;
      }
      if (next.done === true) break;
      batch.push(next.value);
      if (batch.length >= o.batchSize) {
        await flush(batch);
        batch = [];
      }
    }
    await flush(batch);
    if (o.outFormat !== "plain") {
      const tail = formatterFor(o.outFormat).finish();
      if (tail !== "") await o.write(tail, 0);
    }
  } finally {
    status?.finish();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

export function summaryLine(s: RunSummary, model: DistilBertClassifier, skipped: number, outPath: string | undefined): string {
  const rate = s.seconds > 0 ? s.count / s.seconds : 0;
  const dist = model.config.labels
    .map((l) => {
      const n = s.byLabel.get(l) ?? 0;
      return `${l} ${formatCount(n)} (${s.count > 0 ? ((100 * n) / s.count).toFixed(1) : "0.0"}%)`;
    })
    .join(", ");
  const parts = [`classified ${formatCount(s.count)} texts in ${formatDuration(s.seconds)} (${rate.toFixed(1)} texts/s): ${dist}`, `${formatCount(s.truncated)} truncated`];
  if (s.empty > 0) parts.push(`${formatCount(s.empty)} empty input${s.empty === 1 ? "" : "s"} not classified`);
  if (skipped > 0) parts.push(`${formatCount(skipped)} bad record${skipped === 1 ? "" : "s"} skipped`);
  if (outPath !== undefined) parts.push(`results in ${outPath}`);
  return parts.join("; ");
}
