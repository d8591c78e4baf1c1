import { isWhitespace, isWordChar } from "./unicode.js";

export interface AddedToken {
  content: string;
  id: number;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  /** Matched in the normalized text rather than the raw text. */
  normalized: boolean;
  special: boolean;
}

/** Half-open span of the searched string that one added token covers (including stripped whitespace). */
export interface AddedMatch {
  start: number;
  end: number;
  id: number;
}

/**
 * Finds added tokens the way Rust `tokenizers` does: leftmost-longest, non-overlapping, then the `single_word`,
 * `lstrip` and `rstrip` rules. Offsets are UTF-16 units of the searched string.
 */
export class AddedTokenMatcher {
  /** Patterns by first UTF-16 unit, longest first so that the first hit at a position is the longest. */
  private readonly byFirst = new Map<number, { content: string; token: AddedToken }[]>();
  private readonly firsts: string[];

  constructor(tokens: readonly AddedToken[], contentOf: (t: AddedToken) => string = (t) => t.content) {
    for (const token of tokens) {
      const content = contentOf(token);
      if (content.length === 0) continue;
      const first = content.charCodeAt(0);
      let list = this.byFirst.get(first);
      if (list === undefined) this.byFirst.set(first, (list = []));
      list.push({ content, token });
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
    this.firsts = [...this.byFirst.keys()].map((u) => String.fromCharCode(u));
  }

  get isEmpty(): boolean {
    return this.firsts.length === 0;
  }

  find(text: string): AddedMatch[] {
    const matches: AddedMatch[] = [];
    if (this.firsts.length === 0 || text.length === 0) return matches;
    // Searching with native indexOf for the few distinct first characters (BERT's are all "[") skips plain text
    // far faster than inspecting every unit in JS.
    const useIndexOf = this.firsts.length <= 8;
    const next = useIndexOf ? this.firsts.map((f) => text.indexOf(f)) : [];
    let pos = 0;
    let prevEnd = 0;
    for (;;) {
      let at = -1;
      if (useIndexOf) {
        for (const p of next) if (p >= 0 && (at < 0 || p < at)) at = p;
      } else {
        for (let i = pos; i < text.length; i++) {
          if (this.byFirst.has(text.charCodeAt(i))) {
            at = i;
            break;
          }
        }
      }
      if (at < 0) break;
      const hit = this.longestAt(text, at);
      if (hit === null) {
        pos = at + 1;
      } else {
        let start = at;
        let end = at + hit.content.length;
        pos = end;
        const t = hit.token;
        // A rejected single-word match still consumes its text, as Rust's non-overlapping iterator does.
        if (!t.singleWord || this.standsAlone(text, start, end)) {
          if (t.lstrip) {
            while (start > prevEnd && isWhitespace(text.charCodeAt(start - 1))) start--;
          }
          if (t.rstrip) {
            while (end < text.length && isWhitespace(text.charCodeAt(end))) end++;
          }
          matches.push({ start, end, id: t.id });
          prevEnd = end;
          pos = end;
        }
      }
      if (useIndexOf) {
        for (let k = 0; k < next.length; k++) {
          if (next[k] >= 0 && next[k] < pos) next[k] = text.indexOf(this.firsts[k], pos);
        }
      }
    }
    return matches;
  }

  private longestAt(text: string, at: number): { content: string; token: AddedToken } | null {
    const list = this.byFirst.get(text.charCodeAt(at));
    if (list === undefined) return null;
    for (const entry of list) if (text.startsWith(entry.content, at)) return entry;
    return null;
  }

  private standsAlone(text: string, start: number, end: number): boolean {
    if (start > 0) {
      let i = start - 1;
      const low = text.charCodeAt(i);
      if (low >= 0xdc00 && low < 0xe000 && i > 0) {
        const high = text.charCodeAt(i - 1);
        if (high >= 0xd800 && high < 0xdc00) i--;
      }
      if (isWordChar(text.codePointAt(i)!)) return false;
    }
    if (end < text.length && isWordChar(text.codePointAt(end)!)) return false;
    return true;
  }
}
