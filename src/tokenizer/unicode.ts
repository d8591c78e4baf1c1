/**
 * Per-code-point behaviour of the BERT normalizer and pre-tokenizer, computed once per code point and cached.
 *
 * Rust `tokenizers` runs clean-text, CJK isolation, NFD + Mn stripping and lowercasing as whole-string passes. Every
 * one of them is a function of a single code point (NFD's canonical reordering only moves combining marks, and the
 * ones that survive Mn stripping never form vocabulary pieces), so the whole pipeline collapses into "what does this
 * code point become", which we can answer from a table instead of running regexes in the hot loop.
 */

export interface NormalizerFlags {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

/** What a source code point turns into. */
export const K_UNSET = 0;
/** Unchanged, and part of a word. */
export const K_WORD = 1;
/** Unchanged, and a punctuation mark (a token of its own). */
export const K_PUNCT = 2;
/** A word separator. */
export const K_SPACE = 3;
/** Produces nothing (control/format/private-use chars, bare nonspacing marks). */
export const K_REMOVE = 4;
/** Unchanged CJK ideograph, isolated as its own word. */
export const K_CHINESE = 5;
/** Changes (lowercase, accent stripped, decomposed): see `CharTable.mapped`. */
export const K_MAPPED = 6;

/** Class of one normalized UTF-16 unit, as the pre-tokenizer sees it. */
export const C_WORD = 0;
export const C_SPACE = 1;
export const C_PUNCT = 2;
/** Low surrogate of an astral punctuation mark: belongs to the mark before it. */
export const C_PUNCT_CONT = 3;

export interface MappedChar {
  units: Uint16Array;
  cls: Uint8Array;
  /** CJK ideograph: the output is a word on its own. */
  isolated: boolean;
}

const RE_OTHER = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const RE_WHITE = /^\p{White_Space}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_MN = /^\p{Mn}$/u;

/**
 * The ranges of Rust `tokenizers`' `is_chinese_char`. Note 0x2B920, not the 0x2B820 of the original BERT Python code
 * (and of @huggingface/tokenizers): the fast tokenizer is the reference, so U+2B820..U+2B91F are not isolated.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isAsciiPunct(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

/** Rust's `char::is_whitespace` (the White_Space property), which the pre-tokenizer splits on. */
export function isWhitespace(cp: number): boolean {
  return RE_WHITE.test(String.fromCodePoint(cp));
}

/** Rust's `is_bert_punc`: ASCII punctuation (which includes symbols like `$+<=>^`|~`) or Unicode P*. */
export function isPunctuation(cp: number): boolean {
  return isAsciiPunct(cp) || RE_PUNCT.test(String.fromCodePoint(cp));
}

/** "\w" of Rust's regex crate, used by added tokens marked `single_word`. */
const RE_WORD_CHAR = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
export function isWordChar(cp: number): boolean {
  return RE_WORD_CHAR.test(String.fromCodePoint(cp));
}

function preTokenizerClass(cp: number): number {
  if (isWhitespace(cp)) return C_SPACE;
  if (isPunctuation(cp)) return C_PUNCT;
  return C_WORD;
}

function normalizeCodePoint(cp: number, flags: NormalizerFlags): string {
  let out = String.fromCodePoint(cp);
  // Rust order: strip accents, then lowercase. Lowercasing goes one code point at a time, as Rust's
  // `char::to_lowercase` does, so that a word-final capital sigma becomes σ and not the context-sensitive ς that
  // `String.prototype.toLowerCase` gives for a whole word.
  if (flags.stripAccents) {
    let stripped = "";
    for (const ch of out.normalize("NFD")) if (!RE_MN.test(ch)) stripped += ch;
    out = stripped;
  }
  if (flags.lowercase) {
    let lowered = "";
    for (const ch of out) lowered += ch.toLowerCase();
    out = lowered;
  }
  return out;
}

/** `CharTable.asciiClass` value of an ASCII char that is dropped. */
export const C_DROP = 255;

export class CharTable {
  /** Unit class (C_WORD, C_SPACE, C_PUNCT) of each ASCII char, or C_DROP: one lookup in the hot loop. */
  readonly asciiClass = new Uint8Array(128);
  /** The unit each kept ASCII char becomes. */
  readonly asciiUnit = new Uint16Array(128);
  readonly mapped = new Map<number, MappedChar>();
  /** Allocated on the first non-ASCII code point: English-only callers never pay the 1.1 MB. */
  private kinds: Uint8Array | null = null;

  constructor(readonly flags: NormalizerFlags) {
    for (let c = 0; c < 128; c++) {
      let kind = this.compute(c);
      let unit = c;
      if (kind === K_MAPPED) {
        // Only lowercasing changes ASCII, and it yields one ASCII letter.
        unit = this.mapped.get(c)!.units[0];
        this.mapped.delete(c);
        kind = K_WORD;
      } else if (kind === K_SPACE && flags.cleanText) {
        unit = 0x20;
      }
      this.asciiUnit[c] = unit;
      this.asciiClass[c] = kind === K_WORD ? C_WORD : kind === K_PUNCT ? C_PUNCT : kind === K_SPACE ? C_SPACE : C_DROP;
    }
  }

  kindOf(cp: number): number {
    let kinds = this.kinds;
    if (kinds === null) kinds = this.kinds = new Uint8Array(0x110000);
    const k = kinds[cp];
    if (k !== K_UNSET) return k;
    return (kinds[cp] = this.compute(cp));
  }

  private compute(cp: number): number {
    const flags = this.flags;
    if (flags.cleanText) {
      const tabOrNewline = cp === 9 || cp === 10 || cp === 13;
      if (!tabOrNewline && (cp === 0xfffd || RE_OTHER.test(String.fromCodePoint(cp)))) return K_REMOVE;
      if (tabOrNewline || isWhitespace(cp)) return K_SPACE;
    }
    const isolated = flags.handleChineseChars && isChineseChar(cp);
    // Surrogates have no decomposition or case; skipping them also keeps lone ones away from normalize().
    const out = cp >= 0xd800 && cp < 0xe000 ? String.fromCharCode(cp) : normalizeCodePoint(cp, flags);
    if (out.length === 0) return K_REMOVE;
    if (out.codePointAt(0) === cp && out.length === (cp > 0xffff ? 2 : 1)) {
      if (isolated) return K_CHINESE;
      const c = preTokenizerClass(cp);
      return c === C_SPACE ? K_SPACE : c === C_PUNCT ? K_PUNCT : K_WORD;
    }
    const units = new Uint16Array(out.length);
    const cls = new Uint8Array(out.length);
    let j = 0;
    for (const ch of out) {
      const c = preTokenizerClass(ch.codePointAt(0)!);
      units[j] = ch.charCodeAt(0);
      cls[j++] = c;
      if (ch.length === 2) {
        units[j] = ch.charCodeAt(1);
        cls[j++] = c === C_PUNCT ? C_PUNCT_CONT : c;
      }
    }
    this.mapped.set(cp, { units, cls, isolated });
    return K_MAPPED;
  }
}

const tables = new Map<string, CharTable>();

/** Tables are pure functions of the flags, so tokenizers with the same normalizer share one. */
export function charTableFor(flags: NormalizerFlags): CharTable {
  const key = `${+flags.cleanText}${+flags.handleChineseChars}${+flags.stripAccents}${+flags.lowercase}`;
  let t = tables.get(key);
  if (t === undefined) tables.set(key, (t = new CharTable(flags)));
  return t;
}
