/**
 * Lines of a byte stream, split on LF (CRLF tolerated), with their 1-based line numbers and the byte offset reached,
 * holding no more than one line in memory. Lines stay bytes until `decodeLine`, so that a line that is not UTF-8 can
 * be reported by number (and skipped) instead of silently turning into U+FFFD.
 */
import { FileError } from "../../errors.js";

export interface RawLine {
  bytes: Uint8Array;
  /** 1-based. */
  lineNo: number;
  /** The line ending that followed: "\n", "\r\n", or "" for a last line without one. */
  eol: string;
  /** Input bytes consumed up to the end of this line (progress through a file). */
  offset: number;
}

/** No text is this long; a longer "line" is a binary file or a file without newlines, and would exhaust memory. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Lines of `input`; a UTF-8 byte order mark at the very start is dropped. `source` names the input in errors. */
export async function* splitLines(input: AsyncIterable<Uint8Array | string>, source: string): AsyncGenerator<RawLine> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineNo = 0;
  let offset = 0;
  let first = true;
  const take = (tail: Uint8Array): Uint8Array => {
    if (pending.length === 0) return tail;
    const all = Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    return all;
  };
  for await (const piece of input) {
    const chunk = typeof piece === "string" ? Buffer.from(piece, "utf8") : piece;
    let start = 0;
    if (first && chunk.length > 0) {
      first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        start = 3;
        offset += 3;
      }
    }
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = take(chunk.subarray(start, nl));
      offset += nl + 1 - start;
      let eol = "\n";
      if (line.length > 0 && line[line.length - 1] === 0x0d) {
        line = line.subarray(0, line.length - 1);
        eol = "\r\n";
      }
      yield { bytes: line, lineNo: ++lineNo, eol, offset };
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      offset += rest.length;
      if (pendingBytes > MAX_LINE_BYTES) {
        throw new FileError(`${source}:${lineNo + 1}`, `line is longer than ${MAX_LINE_BYTES} bytes`, "a text file with one record per line");
      }
      // A copy: the stream may reuse its chunk buffers.
      pending.push(Uint8Array.prototype.slice.call(rest));
    }
  }
  if (pendingBytes > 0) {
    let line = take(new Uint8Array(0));
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    yield { bytes: line, lineNo: ++lineNo, eol: "", offset };
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The line as text, or undefined when its bytes are not valid UTF-8. */
export function decodeLine(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
