/**
 * Truncation of one text or a pair, as Rust `tokenizers` does it (`truncate_encodings` and `Encoding::truncate`,
 * direction right): how many pieces of each text a window keeps, and where each overflowing window starts.
 */
import { InputError } from "../errors.js";

/** Hugging Face's truncation strategies for a pair (a single text is always cut at its end). */
export type TruncationStrategy = "longest_first" | "only_first" | "only_second";

export const TRUNCATION_STRATEGIES: readonly TruncationStrategy[] = ["longest_first", "only_first", "only_second"];

/**
 * Pieces kept of each text when `budget` pieces fit (the special tokens already taken out of the maximum length).
 * `lenB` undefined: a single text. Returns the lengths Rust's `truncate_encodings` cuts to, or the text lengths
 * themselves when everything fits; throws (as Rust does) when only_first / only_second cannot make the pair fit.
 */
export function truncatedLengths(
  lenA: number,
  lenB: number | undefined,
  budget: number,
  strategy: TruncationStrategy,
): [number, number | undefined] {
  const total = lenA + (lenB ?? 0);
  if (total <= budget) return [lenA, lenB];
  const toRemove = total - budget;
  if (lenB === undefined) return [lenA - toRemove, undefined];
  if (strategy === "longest_first") {
    // Rust: the shorter text keeps what it has when the longer one can take the cut alone, else both get half.
    let n1 = Math.min(lenA, lenB);
    let n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
    if (n1 + n2 > budget) {
      n1 = Math.floor(budget / 2);
      n2 = n1 + (budget % 2);
    }
    n1 = Math.min(n1, Math.min(lenA, lenB));
    n2 = Math.min(n2, Math.max(lenA, lenB));
    return lenA > lenB ? [n2, n1] : [n1, n2];
  }
  const first = strategy === "only_first";
  const target = first ? lenA : lenB;
  if (target <= toRemove) {
    const which = first ? "first text" : "second text (the pair)";
    throw new InputError(
      "truncation",
      `${strategy} must remove ${toRemove} tokens but the ${which} has only ${target}`,
      `a maxLength that leaves room for the other text (it has ${first ? lenB : lenA} tokens) plus the special tokens`,
    );
  }
  return first ? [target - toRemove, lenB] : [lenA, target - toRemove];
}

/**
 * [start, end) of each window over `len` pieces, `size` pieces each, consecutive windows sharing `stride` pieces:
 * Rust's `Encoding::truncate` (the first range is what truncation keeps, the rest its `overflowing`). A size of 0
 * keeps nothing and overflows everything, as in Rust.
 */
export function windowRanges(len: number, size: number, stride: number): [number, number][] {
  if (size >= len) return [[0, len]];
  if (size === 0) return [[0, 0], [0, len]];
  const step = size - stride;
  const out: [number, number][] = [];
  for (let start = 0; ; start += step) {
    const end = Math.min(start + size, len);
    out.push([start, end]);
    if (end === len) return out;
  }
}

export function checkStride(stride: unknown, size: number): number {
  if (typeof stride !== "number" || !Number.isInteger(stride) || stride < 0) {
    throw new InputError("stride", `is ${String(stride)}`, "a non-negative integer");
  }
  if (size > 0 && stride >= size) {
    throw new InputError("stride", `is ${stride}, but windows of this text hold only ${size} tokens`, `a stride below ${size}`);
  }
  return stride;
}
