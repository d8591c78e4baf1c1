/**
 * Where the task commands (fill-mask, ner, embed, qa) read their inputs, as `classify` does: TEXT arguments, else
 * --file PATH (.txt one text a line; .jsonl/.csv/.tsv a field or column, default "text"), else one text per stdin
 * line, each answered as it arrives. The row rule is classify's: one output per input, in order; an empty input, or
 * a bad one skipped with --skip-bad-lines, keeps its place with `skipped` saying why; a bad input without
 * --skip-bad-lines stops the run after what came before it was written.
 */
import { DistilBertError, InputError, UsageError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, type CliIO, type Options, type Values } from "./cli-support.js";
import { inputFormat, openInput } from "./formats/batch.js";
import { decodeLine, splitLines } from "./formats/lines.js";
import { printable } from "../printable.js";
import { stdinHint } from "./cli-rules.js";
import { EMPTY_INPUT, isEmptyText } from "./commands/classify.js";
import { BadRecordLog } from "./formats/batch.js";
import { writeWithBackpressure } from "./formats/output.js";

export const INPUT_OPTIONS: Options = {
  ...MODEL_OPTIONS,
  model: { type: "string" },
  json: { type: "boolean" },
  file: { type: "string" },
  format: { type: "string" },
  field: { type: "string" },
  column: { type: "string" },
  "skip-bad-lines": { type: "boolean" },
};

export const INPUT_USAGE = [
  "  without TEXT or --file, reads one input per stdin line and answers each line as it arrives",
  "  --file: .txt is one input a line; .jsonl takes --field, .csv/.tsv take --column",
  "  --json prints one JSON value per input line, shaped as Hugging Face's pipeline output",
  MODEL_USAGE,
];

/** The row rule's usage lines (after INPUT_USAGE). */
export const ROW_USAGE = [
  "  each TEXT is a separate input; one output per input, in order: an empty input keeps its place as",
  "    `-  (skipped: empty input)` ({\"text\",\"skipped\"} with --json); a bad input (not UTF-8, a bad record, no answer",
  "    possible) stops the run after the outputs before it, unless --skip-bad-lines (--file or stdin) keeps its place",
  "    the same way, saying why",
];

export interface TaskInput {
  /** The record's fields (a .jsonl/.csv/.tsv row), or { text } for arguments, .txt lines and stdin. */
  row: Record<string, unknown>;
  text: string;
  /** Where it came from, for messages: "PATH:LINE", "stdin:LINE" or "TEXT argument N". */
  where: string;
  /** Set when the input gets no answer: "empty input", or why a bad record was skipped ("line 7: …"). */
  skipped?: string;
}

/** The inputs of a task command; `inputs` yields every one, in order, skipped ones included. */
export interface TaskInputs {
  inputs: AsyncIterable<TaskInput>;
  /** Whether bad inputs are skipped (--skip-bad-lines) rather than stopping the run. */
  skip: boolean;
  /** Where the outputs go, for the message after a stop. */
  from: "file" | "stdin" | "arguments";
}

/**
 * Opens the inputs (a --file is checked here, before the model loads); `key` is the field holding the text (default
 * "text"). `what` names one input in the terminal hint ("texts", "JSON objects").
 */
export async function taskInputs(cmd: string, values: Values, positionals: string[], io: CliIO, key = "text", what = "texts", instead?: string): Promise<TaskInputs> {
  const file = stringOpt(values, "file");
  const skip = values["skip-bad-lines"] === true;
  const stray = ["format", "field", "column"].find((o) => values[o] !== undefined);
  if (file === undefined && stray !== undefined) throw new UsageError(`--${stray}`, "only applies with --file", "--file PATH");
  if (file !== undefined && positionals.length > 0) throw new UsageError(cmd, "both --file and TEXT given", "either --file PATH or TEXT arguments");
  if (positionals.length > 0) {
    if (skip) throw new UsageError("--skip-bad-lines", "only applies to --file or stdin", "--file PATH, or inputs on stdin");
    return { inputs: fromArguments(positionals), skip, from: "arguments" };
  }
  if (file !== undefined) {
    const format = inputFormat(file, values);
    const name = stringOpt(values, "field") ?? stringOpt(values, "column") ?? key;
    const log = skip ? new BadRecordLog(file, io.stderr) : undefined;
    const reader = await openInput(file, format, { name, option: format === "jsonl" ? "--field" : "--column" }, [], log, true);
    async function* records(): AsyncGenerator<TaskInput> {
      for await (const r of reader.records()) yield { row: r.row, text: r.text, where: `${file}:${r.lineNo}`, skipped: r.skipped ?? (isEmptyText(r.text) ? EMPTY_INPUT : undefined) };
    }
    return { inputs: records(), skip, from: "file" };
  }
  stdinHint(io, what, instead);
  return { inputs: fromStdin(io, skip), skip, from: "stdin" };
}

async function* fromArguments(texts: readonly string[]): AsyncGenerator<TaskInput> {
  for (const [i, text] of texts.entries()) yield { row: { text }, text, where: `TEXT argument ${i + 1}`, skipped: isEmptyText(text) ? EMPTY_INPUT : undefined };
}

async function* fromStdin(io: CliIO, skip: boolean): AsyncGenerator<TaskInput> {
  const log = new BadRecordLog("stdin", io.stderr);
  for await (const l of splitLines(io.stdin, "stdin")) {
    const where = `stdin:${l.lineNo}`;
    const text = decodeLine(l.bytes);
    if (text === undefined) {
      if (!skip) throw new InputError(where, "is not valid UTF-8", "UTF-8 text (or --skip-bad-lines to skip such lines)");
      log.report({ lineNo: l.lineNo, problem: "is not valid UTF-8" });
      yield { row: {}, text: "", where, skipped: `line ${l.lineNo}: is not valid UTF-8` };
      continue;
    }
    yield { row: { text }, text, where, skipped: isEmptyText(text) ? EMPTY_INPUT : undefined };
  }
}

/**
 * Answers each input in order and writes it: `answer` computes (an InputError from it is a bad input: it stops the
 * run, or with --skip-bad-lines it is warned about and keeps its row), `write` prints one input's output or, when
 * `skipped` is set, its placeholder row. A stop says what was already written.
 */
export async function eachInput<R>(
  source: TaskInputs,
  io: CliIO,
  answer: (input: TaskInput) => R,
  write: (input: TaskInput, result: R | undefined, skipped: string | undefined) => Promise<void>,
  writtenTo = "the output above",
): Promise<number> {
  let done = 0;
  const stop = (e: DistilBertError): never => {
    if (done > 0) io.stderr.write(`stopped at a bad input; the outputs of the ${done} input${done === 1 ? "" : "s"} before it are in ${writtenTo}\n`);
    throw e;
  };
  const it = source.inputs[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<TaskInput>;
    try {
      next = await it.next();
    } catch (e) {
      if (e instanceof DistilBertError) stop(e);
      throw e;
    }
    if (next.done === true) break;
    const input = next.value;
    if (input.skipped !== undefined) {
      await write(input, undefined, input.skipped);
      done++;
      continue;
    }
    let result: R;
    try {
      result = answer(input);
    } catch (e) {
      // Only a pipeline's complaint about one input ("fill-mask: inputs[0]: has no [MASK] token") is a bad input;
      // anything else (a wrong model, a bad option) is the run's problem and stops it as it is.
      if (!(e instanceof InputError) || !/inputs\[\d+\]$/.test(e.where)) throw e;
      // The pipeline names its own argument; the user's input is named by file and line instead.
      const problem = e.message.startsWith(`${e.where}: `) ? e.message.slice(e.where.length + 2) : e.message;
      if (!source.skip || source.from === "arguments") stop(new InputError(input.where, problem));
      const short = problem.split("; expected ")[0];
      io.stderr.write(`warning: ${printable(input.where, 200)}: ${printable(short, 400)}; skipped\n`);
      await write(input, undefined, `line ${input.where.slice(input.where.lastIndexOf(":") + 1)}: ${short}`);
      done++;
      continue;
    }
    await write(input, result, undefined);
    done++;
  }
  return 0;
}

/** The output of an input that got no answer: plain `-  (skipped: WHY)`, or with --json {"text","skipped"}. */
export function skippedLine(io: CliIO, text: string, reason: string, json: boolean): Promise<void> {
  return writeWithBackpressure(io.stdout, (json ? JSON.stringify({ text, skipped: reason }) : `-  (skipped: ${printable(reason, 400)})`) + "\n");
}

/**
 * --model DIR, required: the default model is a sentiment classifier, and these tasks need their own heads. A model
 * with another head is refused here, before any input is read (not at the first input, after a wait on stdin).
 */
export async function loadTaskModel(cmd: string, values: Values, io: CliIO, architecture: string): Promise<DistilBertClassifier> {
  const dir = stringOpt(values, "model");
  if (dir === undefined) throw new UsageError(cmd, "--model DIR is required", `a ${cmd} model folder (e.g. from \`distilbert-ts download OWNER/NAME\`)`);
  const model = await loadCliModel(values, io);
  if (model.model.architecture !== architecture) {
    throw new InputError(dir, `holds a ${model.model.architecture}, which ${cmd} cannot use`, `a ${architecture} model folder`);
  }
  return model;
}

/** A number for a human line: fixed decimals, the sign kept. */
export function num(x: number, digits = 4): string {
  return x.toFixed(digits);
}
