/**
 * Input files as a stream of records, one at a time (constant memory whatever the file's size):
 *   .txt          one text a line (every line, empty ones too, so output row i is input line i)
 *   .jsonl        one JSON object a line; the text is one of its fields (a blank line is an empty text, as in .txt)
 *   .csv / .tsv   a header row, then records; the text is one column (blank lines are not records: a quoted field
 *                 may span lines, so output rows pair with records, not lines)
 * A record that cannot be read (not UTF-8, bad JSON, bad quoting, wrong field count, missing field) is reported with
 * the line it starts on; it stops the run unless the caller skips bad records. With `keepSkipped`, a skipped record
 * still yields a placeholder (its `skipped` says why) so that the caller's output stays aligned with the input.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname } from "node:path";
import { FileError, UsageError } from "../../errors.js";
import { DelimitedParser, DelimitedSyntaxError } from "./delimited.js";
import { decodeLine, splitLines, type RawLine } from "./lines.js";

export type InputFormat = "txt" | "jsonl" | "csv" | "tsv";
export const INPUT_FORMATS: readonly InputFormat[] = ["txt", "jsonl", "csv", "tsv"];

/** The format a file's extension names, if any (.ndjson counts as JSONL). */
export function formatFromPath(path: string): InputFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === ".txt") return "txt";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".csv") return "csv";
  if (ext === ".tsv" || ext === ".tab") return "tsv";
  return undefined;
}

export interface InputRecord {
  /** The line the record starts on (1-based). */
  lineNo: number;
  /** The record's fields in input order; a .txt line is { text }. Null-prototype: any key is an ordinary key. */
  row: Record<string, unknown>;
  /** The text to classify. */
  text: string;
  /** Set on a bad record kept as a placeholder (keepSkipped): why it was skipped, e.g. "line 7: is not valid UTF-8". */
  skipped?: string;
}

export interface BadRecord {
  lineNo: number;
  problem: string;
}

/** A field the reader must find, and the option that names it (for messages). */
export interface KeySpec {
  name: string;
  option: string;
  /** Names tried in order when `name` is absent (defaults only: a name the user gave has none). */
  alternatives?: readonly string[];
}

export interface RecordReaderOptions {
  path: string;
  format: InputFormat;
  /** The text's field (jsonl) or column (csv, tsv); ignored for txt. */
  text: KeySpec;
  /** Further fields every record must have (eval's label). */
  extra?: readonly KeySpec[];
  /** When given, bad records are reported here and skipped; otherwise the first one throws a FileError. */
  onBadRecord?: (bad: BadRecord) => void;
  /** Yield a placeholder for each skipped record (classify keeps output rows aligned with input records). */
  keepSkipped?: boolean;
}

const SKIP_HINT = "--skip-bad-lines to skip such records";

export class RecordReader {
  /** Column names: known after the header (csv, tsv) or the first record (jsonl); ["text"] for txt. */
  columns: string[] | undefined;
  /** Input bytes consumed so far. */
  bytesRead = 0;

  private constructor(
    private readonly options: RecordReaderOptions,
    /** The file's size, for progress. */
    readonly size: number,
  ) {
    if (options.format === "txt") this.columns = ["text"];
  }

  /** Checks that the file exists and is a file (so a typo fails before the model loads). */
  static async open(options: RecordReaderOptions): Promise<RecordReader> {
    const { path } = options;
    let size: number;
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw new FileError(path, "is a directory", "a text file");
      size = st.size;
    } catch (e) {
      if (e instanceof FileError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new FileError(path, code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (e as Error).message})`);
    }
    return new RecordReader(options, size);
  }

  private readonly resolvedNames = new Map<KeySpec, string>();

  /** The field a KeySpec stands for in this file (its name or the first alternative present). */
  keyName(k: KeySpec): string {
    return this.resolvedNames.get(k) ?? k.name;
  }

  /** Fixes each key's field from the first record's names; undefined when all are there, else the missing key. */
  private resolveKeys(names: ReadonlySet<string>): KeySpec | undefined {
    for (const k of [this.options.text, ...(this.options.extra ?? [])]) {
      const found = [k.name, ...(k.alternatives ?? [])].find((n) => names.has(n));
      if (found === undefined) return k;
      this.resolvedNames.set(k, found);
    }
    return undefined;
  }

  /** Reports a bad record (or throws, when bad records are not skipped); the placeholder to yield, if one is kept. */
  private bad(lineNo: number, problem: string): InputRecord | undefined {
    if (this.options.onBadRecord === undefined) throw new FileError(`${this.options.path}:${lineNo}`, problem, `a well-formed record (or ${SKIP_HINT})`);
    this.options.onBadRecord({ lineNo, problem });
    if (this.options.keepSkipped !== true) return undefined;
    return { lineNo, row: Object.create(null) as Record<string, unknown>, text: "", skipped: `line ${lineNo}: ${problem}` };
  }

  private *keep(r: InputRecord | undefined): Generator<InputRecord> {
    if (r !== undefined) yield r;
  }

  async *records(): AsyncGenerator<InputRecord> {
    const { path, format } = this.options;
    const stream = createReadStream(path, { highWaterMark: 1 << 16 });
    const lines = splitLines(readChecked(stream, path), path);
    if (format === "txt") yield* this.txt(lines);
    else if (format === "jsonl") yield* this.jsonl(lines);
    else yield* this.delimited(lines, format === "csv" ? "," : "\t");
  }

  private async *txt(lines: AsyncGenerator<RawLine>): AsyncGenerator<InputRecord> {
    for await (const l of lines) {
      this.bytesRead = l.offset;
      const text = decodeLine(l.bytes);
      if (text === undefined) {
        yield* this.keep(this.bad(l.lineNo, "is not valid UTF-8"));
        continue;
      }
      const row: Record<string, unknown> = Object.create(null);
      row.text = text;
      yield { lineNo: l.lineNo, row, text };
    }
  }

  private async *jsonl(lines: AsyncGenerator<RawLine>): AsyncGenerator<InputRecord> {
    const { text: textKey, extra = [] } = this.options;
    for await (const l of lines) {
      this.bytesRead = l.offset;
      const line = decodeLine(l.bytes);
      if (line === undefined) {
        yield* this.keep(this.bad(l.lineNo, "is not valid UTF-8"));
        continue;
      }
      if (line.trim() === "") {
        // A blank line is an empty text (as in .txt): classify marks it, so output lines pair with input lines.
        if (this.options.keepSkipped === true) yield { lineNo: l.lineNo, row: Object.create(null) as Record<string, unknown>, text: "" };
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        yield* this.keep(this.bad(l.lineNo, `is not valid JSON (${(e as Error).message})`));
        continue;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        yield* this.keep(this.bad(l.lineNo, `is ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}, not a JSON object`));
        continue;
      }
      const row: Record<string, unknown> = Object.create(null);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) row[k] = v;
      if (this.columns === undefined) {
        this.columns = Object.keys(row);
        this.resolveKeys(new Set(this.columns));
      }
      const textName = this.keyName(textKey);
      const text = row[textName];
      if (typeof text !== "string") {
        const b = this.bad(l.lineNo, text === undefined ? `has no field ${JSON.stringify(textName)} (fields: ${Object.keys(row).join(", ")}); choose one with ${textKey.option}` : `field ${JSON.stringify(textName)} is ${text === null ? "null" : typeof text}, not a string`);
        // The placeholder keeps the record's fields: only its text was unusable.
        if (b !== undefined) yield { ...b, row };
        continue;
      }
      const missing = extra.find((k) => row[this.keyName(k)] === undefined);
      if (missing !== undefined) {
        yield* this.keep(this.bad(l.lineNo, `has no field ${JSON.stringify(this.keyName(missing))} (choose one with ${missing.option})`));
        continue;
      }
      yield { lineNo: l.lineNo, row, text };
    }
  }

  private async *delimited(lines: AsyncGenerator<RawLine>, delimiter: string): AsyncGenerator<InputRecord> {
    const { path, text: textKey, extra = [] } = this.options;
    const parser = new DelimitedParser(delimiter);
    let header: string[] | undefined;
    let textIndex = -1;
    let start = 0;
    for await (const l of lines) {
      this.bytesRead = l.offset;
      if (!parser.pending) start = l.lineNo;
      const line = decodeLine(l.bytes);
      if (line === undefined) {
        if (header === undefined) throw new FileError(`${path}:${l.lineNo}`, "the header is not valid UTF-8", "a UTF-8 header row");
        // A bad line inside a multi-line record spoils that record: drop what was read of it.
        const b = this.bad(l.lineNo, "is not valid UTF-8");
        parser.reset();
        yield* this.keep(b);
        continue;
      }
      if (!parser.pending && line === "") continue;
      let fields: string[] | undefined;
      try {
        fields = parser.feed(line, l.eol);
      } catch (e) {
        if (!(e instanceof DelimitedSyntaxError)) throw e;
        parser.reset();
        if (header === undefined) throw new FileError(`${path}:${start}`, `the header row: ${e.message}`, "a CSV/TSV header row");
        yield* this.keep(this.bad(start, e.message));
        continue;
      }
      if (fields === undefined) continue;
      if (header === undefined) {
        header = fields;
        const seen = new Set<string>();
        for (const h of header) {
          if (seen.has(h)) throw new FileError(`${path}:${start}`, `the header names column ${JSON.stringify(h)} twice`, "distinct column names");
          seen.add(h);
        }
        this.columns = header;
        const missing = this.resolveKeys(seen);
        if (missing !== undefined) {
          const tried = [missing.name, ...(missing.alternatives ?? [])].map((n) => JSON.stringify(n)).join(" or ");
          throw new UsageError(missing.option, `${path} has no column ${tried} (columns: ${header.map((h) => JSON.stringify(h)).join(", ")})`, `${missing.option} NAME with one of those`);
        }
        textIndex = header.indexOf(this.keyName(textKey));
        continue;
      }
      if (fields.length !== header.length) {
        yield* this.keep(this.bad(start, `has ${fields.length} field${fields.length === 1 ? "" : "s"} but the header has ${header.length}`));
        continue;
      }
      const row: Record<string, unknown> = Object.create(null);
      header.forEach((h, i) => (row[h] = fields![i]));
      yield { lineNo: start, row, text: fields[textIndex] };
    }
    if (parser.pending) yield* this.keep(this.bad(start, "a quoted field is never closed"));
    if (header === undefined) throw new FileError(path, "is empty", `a ${delimiter === "," ? "CSV" : "TSV"} file with a header row`);
  }
}

/** The file's chunks, with read errors turned into a FileError that names the path. */
async function* readChecked(stream: AsyncIterable<Buffer>, path: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileError(path, `cannot be read (${code ?? (e as Error).message})`);
  }
}
