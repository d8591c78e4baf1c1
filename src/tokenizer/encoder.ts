import type { AddedTokenMatcher } from "./added.js";
import type { VocabTrie } from "./trie.js";
import {
  C_DROP,
  C_PUNCT,
  C_PUNCT_CONT,
  C_SPACE,
  C_WORD,
  type CharTable,
  K_CHINESE,
  K_MAPPED,
  K_PUNCT,
  K_REMOVE,
  K_SPACE,
} from "./unicode.js";

/**
 * Word -> pieces cache: direct-mapped (a colliding word simply replaces the old one), so its size is fixed, and
 * keyed by the normalized units themselves, so a hit needs no string to be built. Exact, hence invisible in results.
 */
const CACHE_SLOTS = 8192;
const CACHE_MAX_UNITS = 24;

class PieceCache {
  /** Word length in units; 0 = empty slot. */
  readonly len = new Uint8Array(CACHE_SLOTS);
  readonly hash = new Int32Array(CACHE_SLOTS);
  readonly pieces = new Uint8Array(CACHE_SLOTS);
  readonly units = new Uint16Array(CACHE_SLOTS * CACHE_MAX_UNITS);
  readonly ids = new Int32Array(CACHE_SLOTS * CACHE_MAX_UNITS);
  /** End of each piece, in units from the start of the word. */
  readonly ends = new Uint8Array(CACHE_SLOTS * CACHE_MAX_UNITS);
}

/** Spare units kept free in the normalization buffers: more than any one code point expands to. */
const SLACK = 16;

export interface EncoderConfig {
  table: CharTable;
  trie: VocabTrie;
  unkId: number;
  maxInputCharsPerWord: number;
  rawAdded: AddedTokenMatcher;
}

/**
 * Text to WordPiece ids and offsets, without special tokens: added-token split, normalization, pre-tokenization and
 * WordPiece, in that order, as Rust `tokenizers` does it.
 *
 * Results land in reusable typed buffers (`ids`, `starts`, `ends`, first `count` entries) so that the hot path
 * allocates nothing per character or per word; the caller copies them out. Not re-entrant, which is fine because
 * nothing in here calls back into user code.
 */
export class PieceEncoder {
  ids = new Int32Array(256);
  starts = new Int32Array(256);
  ends = new Int32Array(256);
  /** Index of the pre-tokenized word (or added token) each piece belongs to: Hugging Face's `word_ids`. */
  words = new Int32Array(256);
  count = 0;
  /** Words (pre-tokenizer splits and added tokens) started so far in this run. */
  private wordCount = 0;
  /** Word of the pieces being emitted. */
  private word = 0;
  /** `run` stops before a word once this many pieces exist (see `run`). */
  private limit = Infinity;

  /** The normalized text of the current segment, one entry per UTF-16 unit. */
  private units = new Uint16Array(1024);
  private cls = new Uint8Array(1024);
  /** Source span (UTF-16 units of the original text) each normalized unit came from. */
  private srcStart = new Int32Array(1024);
  private srcEnd = new Int32Array(1024);

  private readonly cache = new PieceCache();
  private readonly pieceEnds = new Int32Array(CACHE_MAX_UNITS);

  /** Added tokens marked `normalized`, matched after normalization; set once the normalizer exists to build it. */
  normalizedAdded: AddedTokenMatcher | null = null;

  constructor(private readonly cfg: EncoderConfig) {}

  /**
   * Pieces of `text`. With a finite `limit`, no word is started once `limit` pieces exist (the word that crosses it is
   * finished): what Rust `tokenizers` 0.23 does under right truncation, whose overflow then covers only that much.
   */
  run(text: string, limit = Infinity): void {
    this.count = 0;
    this.wordCount = 0;
    this.limit = limit;
    let pos = 0;
    if (!this.cfg.rawAdded.isEmpty) {
      for (const m of this.cfg.rawAdded.find(text)) {
        if (m.start > pos) this.segment(text, pos, m.start);
        if (this.count >= this.limit) return;
        this.word = this.wordCount++;
        this.emit(m.id, m.start, m.end);
        pos = m.end;
      }
    }
    if (pos < text.length && this.count < this.limit) this.segment(text, pos, text.length);
  }

  /** The normalized form of `text` (used to prepare normalized added tokens). */
  normalizedText(text: string): string {
    return this.unitsToString(this.normalize(text, 0, text.length));
  }

  private unitsToString(n: number): string {
    let out = "";
    // Chunked: spreading a huge array into one call would overflow the argument stack.
    for (let i = 0; i < n; i += 4096) out += String.fromCharCode(...this.units.subarray(i, Math.min(n, i + 4096)));
    return out;
  }

  private segment(text: string, from: number, to: number): void {
    const n = this.normalize(text, from, to);
    const added = this.normalizedAdded;
    if (added === null || added.isEmpty) {
      this.preTokenize(0, n);
      return;
    }
    let pos = 0;
    for (const m of added.find(this.unitsToString(n))) {
      if (m.start > pos) this.preTokenize(pos, m.start);
      if (this.count >= this.limit) return;
      this.word = this.wordCount++;
      this.emit(m.id, this.srcStart[m.start], this.srcEnd[m.end - 1]);
      pos = m.end;
    }
    if (pos < n) this.preTokenize(pos, n);
  }

  private grow(min: number): void {
    let size = this.units.length * 2;
    while (size < min) size *= 2;
    const units = new Uint16Array(size);
    units.set(this.units);
    this.units = units;
    const cls = new Uint8Array(size);
    cls.set(this.cls);
    this.cls = cls;
    const s = new Int32Array(size);
    s.set(this.srcStart);
    this.srcStart = s;
    const e = new Int32Array(size);
    e.set(this.srcEnd);
    this.srcEnd = e;
  }

  /** Normalizes text[from, to) into the unit buffers; returns the number of units written. */
  private normalize(text: string, from: number, to: number): number {
    const table = this.cfg.table;
    const asciiClass = table.asciiClass;
    const asciiUnit = table.asciiUnit;
    // Invariant: room for (to - i) more units plus SLACK, so ASCII (one unit in, at most one out) needs no check.
    if (to - from + SLACK > this.units.length) this.grow(to - from + SLACK);
    let units = this.units;
    let cls = this.cls;
    let srcStart = this.srcStart;
    let srcEnd = this.srcEnd;
    let n = 0;
    let i = from;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        const k = asciiClass[c];
        if (k !== C_DROP) {
          units[n] = asciiUnit[c];
          cls[n] = k;
          srcStart[n] = i;
          srcEnd[n] = i + 1;
          n++;
        }
        i++;
      } else {
        // Kept out of line so that the ASCII loop stays small enough to optimize well.
        n = this.normalizeNonAscii(text, i, to, n);
        i = this.resumeAt;
        units = this.units;
        cls = this.cls;
        srcStart = this.srcStart;
        srcEnd = this.srcEnd;
      }
    }
    return n;
  }

  /** Where `normalizeNonAscii` stopped reading. */
  private resumeAt = 0;

  /** Normalizes the non-ASCII code point at text[i] into the buffers at n; returns the new n. */
  private normalizeNonAscii(text: string, i: number, to: number, n: number): number {
    const table = this.cfg.table;
    const c = text.charCodeAt(i);
    let cp = c;
    let len = 1;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < to) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        len = 2;
      }
    }
    const end = i + len;
    this.resumeAt = end;
    const k = table.kindOf(cp);
    if (k === K_REMOVE) return n;
    const m = k === K_MAPPED ? table.mapped.get(cp)! : null;
    const needed = n + (m === null ? 4 : m.units.length + 2) + (to - end) + SLACK;
    if (needed > this.units.length) this.grow(needed);
    const units = this.units;
    const cls = this.cls;
    const srcStart = this.srcStart;
    const srcEnd = this.srcEnd;
    if (k === K_SPACE) {
      units[n] = table.flags.cleanText ? 0x20 : c;
      cls[n] = C_SPACE;
      srcStart[n] = i;
      srcEnd[n] = end;
      return n + 1;
    }
    const isolated = k === K_CHINESE || (m !== null && m.isolated);
    if (isolated) n = this.space(n, i, end);
    if (m !== null) {
      for (let j = 0; j < m.units.length; j++) {
        units[n] = m.units[j];
        cls[n] = m.cls[j];
        srcStart[n] = i;
        srcEnd[n] = end;
        n++;
      }
    } else {
      const unitCls = k === K_PUNCT ? C_PUNCT : C_WORD;
      units[n] = c;
      cls[n] = unitCls;
      srcStart[n] = i;
      srcEnd[n] = end;
      n++;
      if (len === 2) {
        units[n] = text.charCodeAt(i + 1);
        cls[n] = unitCls === C_PUNCT ? C_PUNCT_CONT : unitCls;
        srcStart[n] = i;
        srcEnd[n] = end;
        n++;
      }
    }
    if (isolated) n = this.space(n, i, end);
    return n;
  }

  /** The spaces Rust puts around a CJK ideograph; they are aligned to the ideograph, as in Rust. */
  private space(n: number, start: number, end: number): number {
    this.units[n] = 0x20;
    this.cls[n] = C_SPACE;
    this.srcStart[n] = start;
    this.srcEnd[n] = end;
    return n + 1;
  }

  /** BertPreTokenizer: split on whitespace, isolate each punctuation mark, WordPiece every resulting word. */
  private preTokenize(from: number, to: number): void {
    const cls = this.cls;
    let wordStart = -1;
    for (let k = from; k < to; k++) {
      const c = cls[k];
      if (c === C_WORD) {
        if (wordStart < 0) wordStart = k;
        continue;
      }
      if (wordStart >= 0) {
        if (!this.startWord()) return;
        this.wordPiece(wordStart, k);
        wordStart = -1;
      }
      if (c === C_PUNCT) {
        const end = k + 1 < to && cls[k + 1] === C_PUNCT_CONT ? k + 2 : k + 1;
        if (!this.startWord()) return;
        this.wordPiece(k, end);
        k = end - 1;
      }
    }
    if (wordStart >= 0 && this.startWord()) this.wordPiece(wordStart, to);
  }

  /** Numbers the next word; false once the piece limit is reached (no more words then). */
  private startWord(): boolean {
    if (this.count >= this.limit) return false;
    this.word = this.wordCount++;
    return true;
  }

  /** Greedy longest-match-first WordPiece over normalized units [from, to). */
  private wordPiece(from: number, to: number): void {
    const cfg = this.cfg;
    const units = this.units;
    const len = to - from;
    if (len > cfg.maxInputCharsPerWord) {
      let chars = 0;
      for (let k = from; k < to; k++) {
        const u = units[k];
        if (!(u >= 0xdc00 && u < 0xe000 && k > from && units[k - 1] >= 0xd800 && units[k - 1] < 0xdc00)) chars++;
      }
      if (chars > cfg.maxInputCharsPerWord) {
        this.emit(cfg.unkId, this.srcStart[from], this.srcEnd[to - 1]);
        return;
      }
    }
    if (len > CACHE_MAX_UNITS) {
      this.splitWord(from, to);
      return;
    }
    const cache = this.cache;
    let h = 0x811c9dc5 | 0;
    for (let k = from; k < to; k++) h = Math.imul(h ^ units[k], 0x01000193);
    const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1);
    const base = slot * CACHE_MAX_UNITS;
    if (cache.len[slot] === len && cache.hash[slot] === h) {
      let same = true;
      for (let k = 0; k < len; k++) {
        if (cache.units[base + k] !== units[from + k]) {
          same = false;
          break;
        }
      }
      if (same) {
        let start = from;
        for (let j = 0; j < cache.pieces[slot]; j++) {
          const end = from + cache.ends[base + j];
          this.emit(cache.ids[base + j], this.srcStart[start], this.srcEnd[end - 1]);
          start = end;
        }
        return;
      }
    }
    const first = this.count;
    this.splitWord(from, to);
    // Pieces of a cached word are at most its length, so they fit in the slot.
    const pieces = this.count - first;
    cache.len[slot] = len;
    cache.hash[slot] = h;
    cache.pieces[slot] = pieces;
    for (let k = 0; k < len; k++) cache.units[base + k] = units[from + k];
    for (let j = 0; j < pieces; j++) {
      cache.ids[base + j] = this.ids[first + j];
      cache.ends[base + j] = this.pieceEnds[j];
    }
  }

  /** The WordPiece split proper; also leaves each piece's end (relative to `from`) in `pieceEnds` for the cache. */
  private splitWord(from: number, to: number): void {
    const cfg = this.cfg;
    const units = this.units;
    const trie = cfg.trie;
    const term = trie.term;
    const firstOut = this.count;
    const pieceEnds = this.pieceEnds;
    let p = from;
    while (p < to) {
      let node = (p === from ? trie.rootTable : trie.continuationTable)[units[p]];
      let bestEnd = -1;
      let bestId = -1;
      let q = p;
      while (node >= 0) {
        const id = term[node];
        // A piece may not end between the halves of a surrogate pair.
        if (id >= 0 && !(q + 1 < to && units[q + 1] >= 0xdc00 && units[q + 1] < 0xe000 && units[q] >= 0xd800 && units[q] < 0xdc00)) {
          bestEnd = q + 1;
          bestId = id;
        }
        if (++q >= to) break;
        node = trie.child(node, units[q]);
      }
      if (bestId < 0) {
        // Any unmatched remainder makes the whole word unknown.
        this.count = firstOut;
        this.emit(cfg.unkId, this.srcStart[from], this.srcEnd[to - 1]);
        pieceEnds[0] = to - from;
        return;
      }
      if (this.count - firstOut < CACHE_MAX_UNITS) pieceEnds[this.count - firstOut] = bestEnd - from;
      this.emit(bestId, this.srcStart[p], this.srcEnd[bestEnd - 1]);
      p = bestEnd;
    }
  }

  private emit(id: number, start: number, end: number): void {
    const n = this.count;
    if (n === this.ids.length) {
      const size = n * 2;
      const ids = new Int32Array(size);
      ids.set(this.ids);
      this.ids = ids;
      const s = new Int32Array(size);
      s.set(this.starts);
      this.starts = s;
      const e = new Int32Array(size);
      e.set(this.ends);
      this.ends = e;
      const w = new Int32Array(size);
      w.set(this.words);
      this.words = w;
    }
    this.ids[n] = id;
    this.starts[n] = start;
    this.ends[n] = end;
    this.words[n] = this.word;
    this.count = n + 1;
  }
}
