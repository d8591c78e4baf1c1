/**
 * Results files: JSONL (the input record with the result fields added) or CSV/TSV (the input columns, then the
 * result columns), written to `PATH.tmp-<pid>` and renamed to PATH only when the run succeeds, so a crash or Ctrl-C
 * never leaves a half-written file that looks complete.
 */
import { createWriteStream, unlinkSync, type WriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { dirname, extname } from "node:path";
import { FileError } from "../../errors.js";
import { formatRecord } from "./delimited.js";

export type OutputFormat = "jsonl" | "csv" | "tsv";

export function outputFormatFromPath(path: string): OutputFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".csv") return "csv";
  if (ext === ".tsv" || ext === ".tab") return "tsv";
  return undefined;
}

/** A file that appears at its path only once `commit` is called; until then it is `PATH.tmp-<pid>`. */
export class AtomicFileWriter {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly tmpPath: string,
    private readonly stream: WriteStream,
  ) {}

  static async open(path: string): Promise<AtomicFileWriter> {
    const dir = dirname(path);
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new FileError(path, `cannot be written: ${dir} is not a folder`);
    } catch (e) {
      if (e instanceof FileError) throw e;
      throw new FileError(path, `cannot be written: its folder ${dir} does not exist`, "--out in an existing folder");
    }
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw new FileError(path, "is a directory", "--out naming a file");
    } catch (e) {
      if (e instanceof FileError) throw e;
    }
    const tmpPath = `${path}.tmp-${process.pid}`;
    const stream = createWriteStream(tmpPath, { flags: "w", flush: true });
    await new Promise<void>((resolve, reject) => {
      stream.once("open", () => resolve());
      stream.once("error", (e: NodeJS.ErrnoException) => reject(new FileError(path, `cannot be written (${e.code ?? e.message})`)));
    });
    return new AtomicFileWriter(path, tmpPath, stream);
  }

  write(s: string): Promise<void> {
    return writeWithBackpressure(this.stream, s, (e) => new FileError(this.path, `cannot be written (${e.code ?? e.message})`));
  }

  /** Flush to disk, then rename into place. */
  async commit(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.stream.once("error", (e: NodeJS.ErrnoException) => reject(new FileError(this.path, `cannot be written (${e.code ?? e.message})`)));
      this.stream.end(() => resolve());
    });
    await rename(this.tmpPath, this.path);
  }

  /** Drop the temporary file; the target path is left as it was. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    await rm(this.tmpPath, { force: true });
  }

  /** For signal handlers, which cannot wait. */
  abortSync(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    try {
      unlinkSync(this.tmpPath);
    } catch {
      // Already gone.
    }
  }
}

/** Write, and when the stream's buffer is full wait for "drain" (listeners removed either way: no leak per write). */
export function writeWithBackpressure(stream: NodeJS.WritableStream, s: string, wrap: (e: NodeJS.ErrnoException) => Error = (e) => e): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(s)) return resolve();
    const onDrain = () => {
      stream.removeListener("error", onError);
      resolve();
    };
    const onError = (e: NodeJS.ErrnoException) => {
      stream.removeListener("drain", onDrain);
      reject(wrap(e));
    };
    stream.once("drain", onDrain);
    stream.once("error", onError);
  });
}

/**
 * Names for the result fields: "label", "score", … unless the input already has such a column (SST-2's gold
 * "label", say), then "predicted_label", "predicted_score", … so nothing of the input is overwritten.
 */
export function resultFieldNames(inputColumns: readonly string[], names: readonly string[]): string[] {
  const taken = new Set(inputColumns);
  return names.map((n) => {
    let name = n;
    if (taken.has(name)) name = `predicted_${n}`;
    for (let k = 2; taken.has(name); k++) name = `predicted_${n}_${k}`;
    taken.add(name);
    return name;
  });
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** Formats one output record per input record; the caller writes the text (stdout, or an AtomicFileWriter). */
export class RecordFormatter {
  private headerDone = false;
  private readonly delimiter: string;

  constructor(
    readonly format: OutputFormat,
    /** The input's columns (CSV/TSV output keeps these, in this order). */
    readonly inputColumns: readonly string[],
    /** The names of the result fields (see resultFieldNames). */
    readonly resultNames: readonly string[],
  ) {
    this.delimiter = format === "tsv" ? "\t" : ",";
  }

  /** The text for one record (with the header first, for CSV/TSV), ending in a newline. */
  format1(row: Record<string, unknown>, results: readonly unknown[]): string {
    if (this.format === "jsonl") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      this.resultNames.forEach((n, i) => Object.defineProperty(out, n, { value: results[i], enumerable: true, writable: true, configurable: true }));
      return JSON.stringify(out) + "\n";
    }
    let s = "";
    if (!this.headerDone) {
      this.headerDone = true;
      s = formatRecord([...this.inputColumns, ...this.resultNames], this.delimiter) + "\n";
    }
    return s + formatRecord([...this.inputColumns.map((c) => cell(row[c])), ...results.map(cell)], this.delimiter) + "\n";
  }

  /** The file already has its header (a resumed run): do not write it again. */
  markHeaderWritten(): void {
    this.headerDone = true;
  }

  /** A CSV/TSV file with no records still gets its header. */
  finish(): string {
    if (this.format === "jsonl" || this.headerDone) return "";
    this.headerDone = true;
    return formatRecord([...this.inputColumns, ...this.resultNames], this.delimiter) + "\n";
  }
}
