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

/**
 * Byte order marks of the encodings a text editor may save in (UTF-32 first: its LE mark starts with UTF-16 LE's).
 * Such a file is refused by name, rather than with "is not valid UTF-8" on a line that looks fine in the editor.
 */
const FOREIGN_BOMS: readonly [string, readonly number[], string][] = [
  ["UTF-32 LE", [0xff, 0xfe, 0x00, 0x00], "UTF-32LE"],
  ["UTF-32 BE", [0x00, 0x00, 0xfe, 0xff], "UTF-32BE"],
  ["UTF-16 LE", [0xff, 0xfe], "UTF-16LE"],
  ["UTF-16 BE", [0xfe, 0xff], "UTF-16BE"],
];

/** The encoding a byte order mark at the start of `head` names, unless it is UTF-8's (or there is none). */
export function foreignBom(head: Uint8Array): { name: string; iconv: string } | undefined {
  for (const [name, bom, iconv] of FOREIGN_BOMS) {
    if (head.length >= bom.length && bom.every((b, i) => head[i] === b)) return { name, iconv };
  }
  return undefined;
}

/**
 * Lines of `input`; a UTF-8 byte order mark at the very start is dropped, a UTF-16 or UTF-32 one is refused with the
 * encoding named. `source` names the input in errors.
 */
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
      const bom = foreignBom(chunk);
      if (bom !== undefined) {
        const file = source === "stdin" ? "FILE" : source;
        throw new FileError(source, `is ${bom.name} text (it starts with a ${bom.name} byte order mark), not UTF-8`, `UTF-8 text; convert it with: iconv -f ${bom.iconv} -t UTF-8 ${file} > converted.txt`);
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
