/**
 * Batch work past one machine: `--shard K/N` (every N-th record, from record K; `auto/N` takes K from Kubernetes
 * Indexed Jobs' JOB_COMPLETION_INDEX) and `--resume`, which continues an interrupted `--out` where it stopped.
 *
 * Resume keeps two files beside the target: `PATH.partial` (the results so far) and `PATH.partial.journal`: a JSON
 * line that identifies the run (input file, size, mtime, shard, options), then one "records bytes" line after each
 * batch is written. Data is written before its journal line, so after a kill at any point the last journal line
 * names a prefix of the partial file that holds whole records: a resumed run cuts the file there, skips that many
 * input records and goes on. Nothing is duplicated (the tail past the journal is cut) and nothing is lost (records
 * past the journal are read again). On success the partial file is renamed to PATH and the journal removed.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { FileError, UsageError } from "../../errors.js";
import type { InputRecord } from "./records.js";

export interface Shard {
  index: number;
  count: number;
}

/** "K/N" (K from 0) or "auto/N" (K = $JOB_COMPLETION_INDEX). */
export function parseShard(arg: string, env: Record<string, string | undefined>): Shard {
  const m = /^(auto|[0-9]+)\/([0-9]+)$/.exec(arg);
  const expected = "K/N with 0 <= K < N (e.g. 0/4), or auto/N to take K from JOB_COMPLETION_INDEX";
  if (m === null) throw new UsageError("--shard", `is ${JSON.stringify(arg)}`, expected);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError("--shard", `is ${JSON.stringify(arg)}: N must be at least 1`, expected);
  let index: number;
  if (m[1] === "auto") {
    const v = env.JOB_COMPLETION_INDEX;
    if (v === undefined || !/^[0-9]+$/.test(v)) {
      throw new UsageError("--shard", `is auto/${count} but JOB_COMPLETION_INDEX is ${v === undefined ? "not set" : JSON.stringify(v)}`, "JOB_COMPLETION_INDEX set to a whole number (Kubernetes Indexed Jobs set it), or --shard K/N");
    }
    index = Number(v);
  } else index = Number(m[1]);
  if (!(index < count)) throw new UsageError("--shard", `is ${JSON.stringify(arg)}${m[1] === "auto" ? ` with JOB_COMPLETION_INDEX=${index}` : ""}: K must be below N`, expected);
  return { index, count };
}

/** The shard's records (every count-th, from index), after the first `skip` of them (already done). */
export async function* shardRecords(records: AsyncIterable<InputRecord>, shard: Shard | undefined, skip: number): AsyncGenerator<InputRecord> {
  let i = 0;
  let kept = 0;
  for await (const r of records) {
    const mine = shard === undefined || i % shard.count === shard.index;
    i++;
    if (!mine) continue;
    if (kept++ < skip) continue;
    yield r;
  }
}

/** The `--out` writer of a resumable run (see the file comment). */
export class ResumableFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly journalFd: number,
    private records: number,
    private bytes: number,
  ) {}

  get partialPath(): string {
    return `${this.path}.partial`;
  }

  /** Opens (or continues) the partial file; `done` is how many records it already holds. */
  static open(path: string, identity: Record<string, unknown>): { file: ResumableFile; done: number } {
    const partial = `${path}.partial`;
    const journal = `${partial}.journal`;
    const idLine = JSON.stringify(identity);
    let records = 0;
    let bytes = 0;
    if (existsSync(journal) && existsSync(partial)) {
      const lines = readFileSync(journal, "utf8").split("\n");
      if (lines[0] !== idLine) {
        throw new FileError(partial, "was left by a run with another input or other options", `the same command as the interrupted run, or delete ${partial} and its .journal to start over`);
      }
      // The last whole "records bytes" line (a kill may have cut the last one short).
      for (const l of lines.slice(1)) {
        const m = /^([0-9]+) ([0-9]+)$/.exec(l);
        if (m !== null) [records, bytes] = [Number(m[1]), Number(m[2])];
      }
    }
    const fd = openOrFail(partial, records === 0 ? "w" : "r+");
    const size = fstatSync(fd).size;
    if (size < bytes) {
      closeSync(fd);
      throw new FileError(partial, `has ${size} bytes but its journal says ${bytes} were written`, `delete ${partial} and its .journal to start over`);
    }
    // Whatever follows the last journaled batch is a batch the kill interrupted: cut it, it is done again.
    ftruncateSync(fd, bytes);
    const journalFd = openOrFail(journal, records === 0 ? "w" : "a");
    if (records === 0) writeSync(journalFd, idLine + "\n");
    return { file: new ResumableFile(path, fd, journalFd, records, bytes), done: records };
  }

  /** One batch: its text, then the journal line that makes it count. */
  async write(s: string, records = 0): Promise<void> {
    const buf = Buffer.from(s, "utf8");
    for (let at = 0; at < buf.length; ) at += writeSync(this.fd, buf, at, buf.length - at, this.bytes + at);
    this.bytes += buf.length;
    this.records += records;
    writeSync(this.journalFd, `${this.records} ${this.bytes}\n`);
  }

  /** The run finished: the partial file becomes PATH, the journal goes. */
  async commit(): Promise<void> {
    if (this.closed) return;
    this.close();
    renameSync(this.partialPath, this.path);
    rmSync(`${this.partialPath}.journal`, { force: true });
  }

  /** Interrupted or failed: both files stay, for --resume. */
  async abort(): Promise<void> {
    this.close();
  }

  abortSync(): void {
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    closeSync(this.journalFd);
  }
}

function openOrFail(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (e) {
    throw new FileError(path, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
