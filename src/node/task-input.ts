/**
 * Where the task commands (fill-mask, ner, embed, qa) read their inputs, as `classify` does: TEXT arguments, else
 * --file PATH (.txt one text a line; .jsonl/.csv/.tsv a field or column, default "text"), else one text per stdin
 * line, each answered as it arrives.
 */
import { InputError, UsageError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { MODEL_OPTIONS, MODEL_USAGE, loadCliModel, stringOpt, type CliIO, type Options, type Values } from "./cli-support.js";
import { inputFormat, openInput } from "./formats/batch.js";
import { decodeLine, splitLines } from "./formats/lines.js";

export const INPUT_OPTIONS: Options = {
  ...MODEL_OPTIONS,
  model: { type: "string" },
  json: { type: "boolean" },
  file: { type: "string" },
  format: { type: "string" },
  field: { type: "string" },
  column: { type: "string" },
};

export const INPUT_USAGE = [
  "  without TEXT or --file, reads one input per stdin line and answers each line as it arrives",
  "  --file: .txt is one input a line; .jsonl takes --field, .csv/.tsv take --column",
  "  --json prints one JSON value per input line, shaped as Hugging Face's pipeline output",
  MODEL_USAGE,
];

export interface TaskInput {
  /** The record's fields (a .jsonl/.csv/.tsv row), or { text } for arguments, .txt lines and stdin. */
  row: Record<string, unknown>;
  text: string;
}

/** The inputs, one at a time; `key` is the field holding the text (default "text"). */
export async function* taskInputs(cmd: string, values: Values, positionals: string[], io: CliIO, key = "text"): AsyncGenerator<TaskInput> {
  const file = stringOpt(values, "file");
  const stray = ["format", "field", "column"].find((o) => values[o] !== undefined);
  if (file === undefined && stray !== undefined) throw new UsageError(`--${stray}`, "only applies with --file", "--file PATH");
  if (file !== undefined && positionals.length > 0) throw new UsageError(cmd, "both --file and TEXT given", "either --file PATH or TEXT arguments");
  if (positionals.length > 0) {
    for (const text of positionals) yield { row: { text }, text };
    return;
  }
  if (file !== undefined) {
    const format = inputFormat(file, values);
    const name = stringOpt(values, "field") ?? stringOpt(values, "column") ?? key;
    const reader = await openInput(file, format, { name, option: format === "jsonl" ? "--field" : "--column" }, [], undefined);
    for await (const r of reader.records()) yield { row: r.row, text: r.text };
    return;
  }
  for await (const l of splitLines(io.stdin, "stdin")) {
    const text = decodeLine(l.bytes);
    if (text === undefined) throw new InputError(`stdin:${l.lineNo}`, "is not valid UTF-8", "UTF-8 text");
    yield { row: { text }, text };
  }
}

/** --model DIR, required: the default model is a sentiment classifier, and these tasks need their own heads. */
export async function loadTaskModel(cmd: string, values: Values, io: CliIO): Promise<DistilBertClassifier> {
  if (stringOpt(values, "model") === undefined) throw new UsageError(cmd, "--model DIR is required", `a ${cmd} model folder (e.g. from \`distilbert-ts download OWNER/NAME\`)`);
  return loadCliModel(values, io);
}

/** A number for a human line: fixed decimals, the sign kept. */
export function num(x: number, digits = 4): string {
  return x.toFixed(digits);
}
