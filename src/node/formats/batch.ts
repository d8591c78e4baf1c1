/** What `classify --file` and `eval` share: reading options, opening the input, reporting skipped records. */
import type { Writable } from "node:stream";
import { UsageError } from "../../errors.js";
import type { ClassifyOptions } from "../../model/classifier.js";
import { stringOpt, type Values } from "../cli-support.js";
import { formatFromPath, INPUT_FORMATS, RecordReader, type BadRecord, type InputFormat, type KeySpec } from "./records.js";

export const LONG_OPTIONS = {
  long: { type: "string" },
  stride: { type: "string" },
} as const;

/** --long truncate|window and --stride N → ClassifyOptions. */
export function longOptions(values: Values): Pick<ClassifyOptions, "long" | "stride"> {
  const long = stringOpt(values, "long") ?? "truncate";
  if (long !== "truncate" && long !== "window") throw new UsageError("--long", `is ${JSON.stringify(long)}`, "truncate (the default) or window");
  const strideArg = stringOpt(values, "stride");
  if (strideArg === undefined) return { long };
  if (long !== "window") throw new UsageError("--stride", "only applies with --long window", "--long window --stride N");
  return { long, stride: positiveInt(strideArg, "--stride") };
}

export function positiveInt(s: string, option: string): number {
  if (!/^[0-9]+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) throw new UsageError(option, `is ${JSON.stringify(s)}`, "a positive integer");
  return Number(s);
}

export function inputFormat(path: string, values: Values): InputFormat {
  const given = stringOpt(values, "format");
  if (given !== undefined) {
    if (!(INPUT_FORMATS as readonly string[]).includes(given)) throw new UsageError("--format", `is ${JSON.stringify(given)}`, INPUT_FORMATS.join(", "));
    return given as InputFormat;
  }
  const f = formatFromPath(path);
  if (f === undefined) throw new UsageError("--file", `cannot tell the format of ${JSON.stringify(path)} from its extension`, `a .txt, .jsonl, .csv or .tsv file, or --format ${INPUT_FORMATS.join("|")}`);
  return f;
}

/** Bad records skipped with --skip-bad-lines: each is counted, the first few are shown on stderr. */
export class BadRecordLog {
  count = 0;

  constructor(
    private readonly path: string,
    private readonly stderr: Writable,
    private readonly show = 10,
  ) {}

  readonly report = (bad: BadRecord): void => {
    this.count++;
    if (this.count <= this.show) this.stderr.write(`warning: ${this.path}:${bad.lineNo}: ${bad.problem}; skipped\n`);
    if (this.count === this.show + 1) this.stderr.write(`warning: more bad records are skipped without a message (the summary counts them)\n`);
  };
}

export function openInput(path: string, format: InputFormat, text: KeySpec, extra: readonly KeySpec[], badLog: BadRecordLog | undefined, keepSkipped = false): Promise<RecordReader> {
  return RecordReader.open({ path, format, text, extra, onBadRecord: badLog?.report, keepSkipped });
}
