/**
 * BERT WordPiece tokenizer that reproduces Hugging Face's fast (Rust) tokenizer: same ids, tokens, word ids and
 * sequence ids, and offsets into the original strings in UTF-16 units (`codePointOffsets` gives Python's).
 */
import { InputError, TokenizerError } from "../errors.js";
import { type AddedToken, AddedTokenMatcher } from "./added.js";
import { decodeWordPiece } from "./decode.js";
import { PieceEncoder } from "./encoder.js";
import { specFromTokenizerJson, specFromVocabText, type TokenizerSpec } from "./load.js";
import { VocabTrie } from "./trie.js";
import { charTableFor, type NormalizerFlags } from "./unicode.js";
import { checkStride, TRUNCATION_STRATEGIES, type TruncationStrategy, truncatedLengths, windowRanges } from "./windows.js";

export type { TruncationStrategy } from "./windows.js";
export type { NormalizerFlags } from "./unicode.js";

export interface Encoding {
  ids: number[];
  tokens: string[];
  /**
   * [start, end) in UTF-16 units of the text the token came from: the first text where `sequenceIds[k]` is 0, the
   * pair where it is 1 (as Hugging Face's fast tokenizers); [0, 0] for the special tokens the encoder adds.
   */
  offsets: [number, number][];
  attentionMask: number[];
  /** True if tokens were dropped by maxLength (for `encodeWindows`: if there is more than one window). */
  truncated: boolean;
  /** Length before truncation, including special tokens. */
  numTokens: number;
  /** Hugging Face's `sequence_ids()`: 0 for tokens of the text, 1 for the pair's, null for added special tokens. */
  sequenceIds: (number | null)[];
  /**
   * Hugging Face's `word_ids()`: index of the pre-tokenized word (a run of letters/digits, one punctuation mark, one
   * CJK ideograph, or one added token such as "[MASK]" typed in the text) within its own text; null for the special
   * tokens the encoder adds.
   */
  wordIds: (number | null)[];
}

export interface EncodeOptions {
  /** Default true: wrap the pieces in [CLS] … [SEP] (a pair: [CLS] text [SEP] pair [SEP]). */
  addSpecialTokens?: boolean;
  /** Default `tokenizer.modelMaxLength`; Infinity disables truncation. Counts the special tokens. */
  maxLength?: number;
  /**
   * A second text (Hugging Face's `text_pair`): question answering passes the question first, the context here. An
   * empty string is no pair, as in transformers (`tokenizer(text, "")` encodes `text` alone).
   */
  pair?: string;
  /** Which text loses tokens when a pair is too long; default "longest_first", as Hugging Face's `truncation=True`. */
  truncation?: TruncationStrategy;
}

export interface WindowOptions extends EncodeOptions {
  /** Tokens that consecutive windows share (Hugging Face's `stride`); default 0. */
  stride?: number;
  /**
   * Reproduce Rust `tokenizers` 0.23 (what transformers 5.17's fast tokenizers run on), which under truncation
   * stops tokenizing each text at the word that reaches `maxLength` tokens: the windows then cover only about the
   * first `maxLength` tokens of a long text instead of all of it (huggingface/tokenizers#2091; 0.22 covers it all).
   * Default false: every window, as `tokenizers` 0.22 and its documentation give.
   */
  stopAtMaxLength?: boolean;
}

export interface BatchEncoding {
  /** Padded with `padId` to the longest sequence (or `padTo`, if larger). */
  ids: number[][];
  attentionMask: number[][];
  /** The unpadded encodings, identical to what `encode` returns for each text. */
  encodings: Encoding[];
}

export interface TokenizerOptions {
  /** Name used in error messages; defaults to "vocab.txt" / "tokenizer.json". */
  source?: string;
  modelMaxLength?: number;
}

/** The special tokens by role, as `tokenizer_config.json` names them. */
export interface SpecialTokens {
  cls: string;
  sep: string;
  pad: string;
  unk: string;
  /** Absent from vocabularies without a mask token. */
  mask: string | undefined;
}

const DEFAULT_MODEL_MAX_LENGTH = 512;

/** One text's pieces, copied out of the encoder. */
interface Pieces {
  ids: number[];
  starts: number[];
  ends: number[];
  words: number[];
}

export class WordPieceTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly maskId: number | undefined;
  /** The special tokens by role (their ids: `clsId`, `sepId`, …). */
  readonly specialTokens: Readonly<SpecialTokens>;
  /** What the normalizer does: lowercase, strip accents, isolate CJK ideographs, clean control characters. */
  readonly normalizer: Readonly<NormalizerFlags>;
  /** Default maxLength of `encode`, including special tokens. */
  modelMaxLength: number;

  private readonly idToTokenTable: (string | undefined)[];
  private readonly tokenIds: Map<string, number>;
  private readonly specialIds: Set<number>;
  private readonly encoder: PieceEncoder;
  private readonly decoder: TokenizerSpec["decoder"];
  private readonly cleanUpSpaces: boolean;

  static fromVocab(vocabText: string, options?: TokenizerOptions): WordPieceTokenizer {
    const source = options?.source ?? "vocab.txt";
    return new WordPieceTokenizer(specFromVocabText(vocabText, source), options);
  }

  static fromTokenizerJson(json: string | object, options?: TokenizerOptions): WordPieceTokenizer {
    const source = options?.source ?? "tokenizer.json";
    if (typeof json !== "string" && (typeof json !== "object" || json === null)) {
      throw new TokenizerError(source, `expected JSON text or an object, got ${json === null ? "null" : typeof json}`);
    }
    return new WordPieceTokenizer(specFromTokenizerJson(json, source), options);
  }

  /** @internal Built by `loadTokenizer` from a spec it has already adjusted to tokenizer_config.json. */
  static fromSpec(spec: TokenizerSpec, options?: TokenizerOptions): WordPieceTokenizer {
    return new WordPieceTokenizer(spec, options);
  }

  private constructor(spec: TokenizerSpec, options: TokenizerOptions | undefined) {
    const { source } = spec;
    this.tokenIds = new Map(spec.vocab);
    // Added tokens win over the model vocabulary, as in Rust's AddedVocabulary::token_to_id.
    for (const t of spec.added) this.tokenIds.set(t.content, t.id);
    let maxId = -1;
    for (const id of this.tokenIds.values()) if (id > maxId) maxId = id;
    for (const id of spec.vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.idToTokenTable = [];
    for (let id = 0; id < this.vocabSize; id++) this.idToTokenTable.push(undefined);
    for (const [token, id] of spec.vocab) this.idToTokenTable[id] = token;
    for (const t of spec.added) this.idToTokenTable[t.id] = t.content;
    this.specialIds = new Set(spec.added.filter((t) => t.special).map((t) => t.id));

    const idOf = (token: string, what: string): number => {
      const id = this.tokenIds.get(token);
      if (id === undefined) throw new TokenizerError(source, `the vocabulary has no ${what} ${JSON.stringify(token)}`);
      return id;
    };
    this.unkId = idOf(spec.unkToken, "unk token");
    this.clsId = spec.clsToken.id ?? idOf(spec.clsToken.token, "classifier token");
    this.sepId = spec.sepToken.id ?? idOf(spec.sepToken.token, "separator token");
    const padToken = spec.padToken ?? "[PAD]";
    // Padded positions are masked out, so a vocabulary without [PAD] still works with id 0.
    this.padId = spec.padId ?? this.tokenIds.get(padToken) ?? 0;
    const maskToken = spec.maskToken ?? "[MASK]";
    this.maskId = this.tokenIds.get(maskToken);
    for (const [what, id] of [["classifier", this.clsId], ["separator", this.sepId], ["padding", this.padId]] as const) {
      if (this.idToTokenTable[id] === undefined) {
        throw new TokenizerError(source, `the ${what} token id ${id} is not in the vocabulary`, `an id below ${this.vocabSize}`);
      }
    }
    this.specialTokens = Object.freeze({
      cls: this.idToTokenTable[this.clsId]!,
      sep: this.idToTokenTable[this.sepId]!,
      pad: this.idToTokenTable[this.padId]!,
      unk: spec.unkToken,
      mask: this.maskId === undefined ? undefined : maskToken,
    });
    this.normalizer = Object.freeze({ ...spec.flags });
    this.decoder = spec.decoder;
    this.cleanUpSpaces = spec.cleanUpSpaces ?? true;
    this.modelMaxLength = checkMaxLength(
      options?.modelMaxLength ?? spec.modelMaxLength ?? spec.truncationMaxLength ?? DEFAULT_MODEL_MAX_LENGTH,
      "modelMaxLength",
      0,
    );

    const trie = new VocabTrie(spec.vocab, spec.continuingPrefix);
    const table = charTableFor(spec.flags);
    const raw = spec.added.filter((t) => !t.normalized);
    const normalized = spec.added.filter((t) => t.normalized);
    this.encoder = new PieceEncoder({
      table,
      trie,
      unkId: this.unkId,
      maxInputCharsPerWord: spec.maxInputCharsPerWord,
      rawAdded: new AddedTokenMatcher(raw),
    });
    if (normalized.length > 0) {
      const contents = new Map<AddedToken, string>(normalized.map((t) => [t, this.encoder.normalizedText(t.content)]));
      this.encoder.normalizedAdded = new AddedTokenMatcher(normalized, (t) => contents.get(t)!);
    }
  }

  /**
   * One text, or a pair with `pair`, as Hugging Face's `tokenizer(text, text_pair, truncation=…, max_length=…)`:
   * the first window only; `truncated` says whether tokens were dropped. `encodeWindows` returns them all.
   */
  encode(text: string, options?: EncodeOptions): Encoding {
    return this.encodeAll(text, options, false)[0];
  }

  /**
   * Every window of a text (or of a pair's truncated text) that is too long, as Hugging Face's
   * `return_overflowing_tokens=True` with `stride`: the first window is `encode`'s, the others overlap the one before
   * by `stride` tokens and keep the other text of a pair whole. Offsets stay in each token's own text. A pair needs
   * `truncation` "only_first" or "only_second" (question answering: the question first, "only_second").
   */
  encodeWindows(text: string, options?: WindowOptions): Encoding[] {
    return this.encodeAll(text, options, true);
  }

  private encodeAll(text: string, options: WindowOptions | undefined, overflowing: boolean): Encoding[] {
    checkText(text, "text");
    if (options?.pair !== undefined) checkText(options.pair, "pair");
    // An empty pair is no pair, as in transformers' tokenizer(text, text_pair) (`if text_pair`).
    const pair = options?.pair === "" ? undefined : options?.pair;
    const addSpecial = options?.addSpecialTokens ?? true;
    if (typeof addSpecial !== "boolean") throw new InputError("addSpecialTokens", `is ${String(addSpecial)}`, "a boolean");
    const strategy = options?.truncation ?? "longest_first";
    if (!TRUNCATION_STRATEGIES.includes(strategy)) {
      throw new InputError("truncation", `is ${JSON.stringify(strategy)}`, TRUNCATION_STRATEGIES.map((t) => `"${t}"`).join(", "));
    }
    const specials = addSpecial ? (pair === undefined ? 2 : 3) : 0;
    const maxLength = checkMaxLength(options?.maxLength ?? this.modelMaxLength, "maxLength", specials);
    const early = options?.stopAtMaxLength ?? false;
    if (typeof early !== "boolean") throw new InputError("stopAtMaxLength", `is ${String(early)}`, "a boolean");
    const limit = overflowing && early ? maxLength : Infinity;

    const a = this.pieces(text, limit);
    const b = pair === undefined ? undefined : this.pieces(pair, limit);
    const lenA = a.ids.length;
    const lenB = b?.ids.length;
    const numTokens = lenA + (lenB ?? 0) + specials;
    const [keepA, keepB] = truncatedLengths(lenA, lenB, maxLength - specials, strategy);
    if (!overflowing || (keepA === lenA && keepB === lenB)) {
      const truncated = keepA < lenA || keepB !== lenB;
      return [this.assemble(a, [0, keepA], b, b === undefined ? undefined : [0, keepB!], addSpecial, truncated, numTokens)];
    }
    if (b !== undefined && strategy === "longest_first") {
      throw new InputError("truncation", "is \"longest_first\", which cuts both texts of a pair", '"only_first" or "only_second" for the windows of a pair');
    }
    // Exactly one sequence is cut into windows; the other (of a pair) is repeated whole in each.
    const cutB = b !== undefined && strategy === "only_second";
    const size = cutB ? keepB! : keepA;
    const stride = checkStride(options?.stride ?? 0, size);
    const ranges = windowRanges(cutB ? lenB! : lenA, size, stride);
    return ranges.map((r) =>
      cutB
        ? this.assemble(a, [0, lenA], b, r, addSpecial, true, numTokens)
        : this.assemble(a, r, b, b === undefined ? undefined : [0, lenB!], addSpecial, true, numTokens),
    );
  }

  encodeBatch(texts: string[], options?: EncodeOptions & { padTo?: number }): BatchEncoding {
    if (!Array.isArray(texts)) throw new InputError("texts", `is ${typeof texts}`, "an array of strings");
    texts.forEach((t, i) => checkText(t, `texts[${i}]`));
    const padTo = options?.padTo ?? 0;
    if (!Number.isInteger(padTo) || padTo < 0) throw new InputError("padTo", `is ${String(padTo)}`, "a non-negative integer");
    const encodings = texts.map((t) => this.encode(t, options));
    let width = padTo;
    for (const e of encodings) if (e.ids.length > width) width = e.ids.length;
    const ids: number[][] = [];
    const attentionMask: number[][] = [];
    for (const e of encodings) {
      const row = e.ids.slice();
      const mask = e.attentionMask.slice();
      for (let k = e.ids.length; k < width; k++) {
        row.push(this.padId);
        mask.push(0);
      }
      ids.push(row);
      attentionMask.push(mask);
    }
    return { ids, attentionMask, encodings };
  }

  /** WordPiece pieces without specials or truncation, for long-text windowing. */
  tokenizeToIds(text: string): { ids: number[]; offsets: [number, number][] } {
    checkText(text, "text");
    const p = this.pieces(text, Infinity);
    return { ids: p.ids, offsets: p.starts.map((s, k): [number, number] => [s, p.ends[k]]) };
  }

  /**
   * Hugging Face's `decode`: the WordPiece decoder ("##" pieces glued to the one before), then the cleanup of
   * spaces before punctuation and contractions unless tokenizer_config.json turns `clean_up_tokenization_spaces` off.
   */
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string {
    return decodeWordPiece(this.convertIdsToTokens(ids, options), this.decoder, this.cleanUpSpaces);
  }

  /** Hugging Face's `convert_ids_to_tokens`; throws an InputError naming the first id outside the vocabulary. */
  convertIdsToTokens(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string[] {
    if (ids === null || typeof ids !== "object" || typeof ids.length !== "number") {
      throw new InputError("ids", `is ${ids === null ? "null" : typeof ids}`, "an array of token ids");
    }
    const skip = options?.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.idToTokenTable[id] : undefined;
      if (token === undefined) {
        throw new InputError("ids", `ids[${i}] is ${String(id)}`, `a token id in [0, ${this.vocabSize})`);
      }
      if (skip && this.specialIds.has(id)) continue;
      tokens.push(token);
    }
    return tokens;
  }

  /** True for the ids of special tokens ([CLS], [SEP], [PAD], [MASK], [UNK] and added special tokens). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Tokens → text with the tokenizer's decoder (HF's convert_tokens_to_string): pieces joined, cleanup applied. */
  decodeTokens(tokens: readonly string[]): string {
    return decodeWordPiece(tokens, this.decoder);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.idToTokenTable[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  private pieces(text: string, limit: number): Pieces {
    const enc = this.encoder;
    enc.run(text, limit);
    const n = enc.count;
    // Built with push so that V8 keeps the arrays packed.
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const words: number[] = [];
    for (let k = 0; k < n; k++) {
      ids.push(enc.ids[k]);
      starts.push(enc.starts[k]);
      ends.push(enc.ends[k]);
      words.push(enc.words[k]);
    }
    return { ids, starts, ends, words };
  }

  /** [CLS] a[ra] [SEP] (b[rb] [SEP]), or the bare pieces without special tokens. */
  private assemble(
    a: Pieces,
    ra: [number, number],
    b: Pieces | undefined,
    rb: [number, number] | undefined,
    addSpecial: boolean,
    truncated: boolean,
    numTokens: number,
  ): Encoding {
    const table = this.idToTokenTable;
    const e: Encoding = { ids: [], tokens: [], offsets: [], attentionMask: [], truncated, numTokens, sequenceIds: [], wordIds: [] };
    const special = (id: number) => {
      e.ids.push(id);
      e.tokens.push(table[id]!);
      e.offsets.push([0, 0]);
      e.attentionMask.push(1);
      e.sequenceIds.push(null);
      e.wordIds.push(null);
    };
    const part = (p: Pieces, [from, to]: [number, number], seq: number) => {
      for (let k = from; k < to; k++) {
        const id = p.ids[k];
        e.ids.push(id);
        e.tokens.push(table[id]!);
        e.offsets.push([p.starts[k], p.ends[k]]);
        e.attentionMask.push(1);
        e.sequenceIds.push(seq);
        e.wordIds.push(p.words[k]);
      }
    };
    if (addSpecial) special(this.clsId);
    part(a, ra, 0);
    if (addSpecial) special(this.sepId);
    if (b !== undefined && rb !== undefined) {
      part(b, rb, 1);
      if (addSpecial) special(this.sepId);
    }
    return e;
  }
}

/**
 * The offsets of `encoding` in code points instead of UTF-16 units, i.e. the character positions Python (and so
 * Hugging Face's pipelines, `start`/`end`) reports. `pair` is the second text when the encoding is of a pair.
 */
export function codePointOffsets(encoding: Encoding, text: string, pair?: string): [number, number][] {
  const maps = [codePointMap(text), pair === undefined ? null : codePointMap(pair)];
  return encoding.offsets.map(([s, e], k): [number, number] => {
    const seq = encoding.sequenceIds[k];
    const map = seq === null ? null : maps[seq];
    if (map === null || map === undefined) return [s, e];
    return [map[s], map[e]];
  });
}

/** Code-point index of every UTF-16 position 0..length (a position inside a pair maps to the pair's start). */
function codePointMap(text: string): Int32Array {
  const map = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    map[i] = cp;
    const c = text.charCodeAt(i);
    const lowFollows = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (lowFollows) map[++i] = cp;
    cp++;
  }
  map[text.length] = cp;
  return map;
}

function checkText(text: unknown, where: string): void {
  if (typeof text !== "string") throw new InputError(where, `is ${text === null ? "null" : typeof text}`, "a string");
}

function checkMaxLength(value: unknown, where: string, specials: number): number {
  if (value === Infinity) return value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < specials) {
    const room = specials > 0 ? ` (room for the ${specials} special tokens)` : "";
    throw new InputError(where, `is ${String(value)}`, `an integer >= ${specials}${room}, or Infinity`);
  }
  return value;
}

export { loadTokenizer, type TokenizerFiles, type LoadTokenizerOptions } from "./files.js";
