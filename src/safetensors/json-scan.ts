/**
 * A second look at header text that JSON.parse has already accepted, for two things JSON.parse hides:
 *
 * - duplicate keys (JSON.parse silently keeps the last one, so a file could show one tensor to us and another to a
 *   different reader);
 * - numbers not written as plain non-negative integers (`1.0`, `1e2`, `-0` parse to integers in JS, but the Rust
 *   reader deserialises shapes and offsets as usize and rejects them).
 *
 * It relies on the text being valid JSON, so it only tracks strings, brackets, commas and number tokens, and keeps
 * its own stack (no recursion: nesting depth is attacker-controlled).
 */

export interface DuplicateKey {
  /** Keys of the enclosing objects, outermost first ([] for a top-level key). */
  path: string[];
  key: string;
}

export interface NonIntegerNumber {
  /** Keys of the enclosing objects, outermost first, including the key the number belongs to. */
  path: string[];
  literal: string;
}

export interface ScanResult {
  duplicate: DuplicateKey | null;
  /** The first offending number literal, if any. */
  nonInteger: NonIntegerNumber | null;
}

const PLAIN_INTEGER = /^(?:0|[1-9][0-9]*)$/;

function isNumberChar(c: number): boolean {
  // digits, '+', '-', '.', 'e', 'E'
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45;
}

function enclosingKeys(current: (string | null)[], upTo: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < upTo; k++) {
    const key = current[k];
    if (key !== null) out.push(key);
  }
  return out;
}

/** Scans valid JSON text; stops at the first duplicate key. */
export function scanJson(text: string): ScanResult {
  // One frame per open container: the keys seen so far (null for arrays) and the key currently being valued.
  const seen: (Set<string> | null)[] = [];
  const current: (string | null)[] = [];
  let expectKey = false;
  let nonInteger: NonIntegerNumber | null = null;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) {
          break;
        } else {
          j++;
        }
      }
      if (expectKey) {
        // Escapes must be decoded before comparing: "a" and "\u0061" are the same key.
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const depth = seen.length;
        const keys = seen[depth - 1] as Set<string>;
        if (keys.has(key)) return { duplicate: { path: enclosingKeys(current, depth - 1), key }, nonInteger };
        keys.add(key);
        current[depth - 1] = key;
        expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x7b /* { */) {
      seen.push(new Set());
      current.push(null);
      expectKey = true;
      i++;
    } else if (c === 0x5b /* [ */) {
      seen.push(null);
      current.push(null);
      expectKey = false;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      seen.pop();
      current.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      expectKey = seen.length > 0 && seen[seen.length - 1] !== null;
      i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      if (nonInteger === null) {
        const literal = text.slice(i, j);
        if (!PLAIN_INTEGER.test(literal)) nonInteger = { path: enclosingKeys(current, current.length), literal };
      }
      i = j;
    } else {
      i++;
    }
  }
  return { duplicate: null, nonInteger };
}
