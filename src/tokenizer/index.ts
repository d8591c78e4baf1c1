/**
 * BERT WordPiece tokenizer that reproduces Hugging Face's fast (Rust) tokenizer for bert-base-uncased: same ids,
 * and offsets into the original string in UTF-16 units.
 */
import { optionalOf } from "../arguments.js";
import { InputError, TokenizerError } from "../errors.js";
import { type AddedToken, AddedTokenMatcher } from "./added.js";
import { decodeWordPiece } from "./decode.js";
import { PieceEncoder } from "./encoder.js";
import { specFromTokenizerJson, specFromVocabText, type TokenizerSpec } from "./load.js";
import { VocabTrie } from "./trie.js";
import { charTableFor } from "./unicode.js";

export interface Encoding {
  ids: number[];
  tokens: string[];
  /** [start, end) into the original string in UTF-16 units; [0, 0] for the [CLS]/[SEP] the encoder adds. */
  offsets: [number, number][];
  attentionMask: number[];
  /** True if tokens were dropped by maxLength. */
  truncated: boolean;
  /** Length before truncation, including special tokens. */
  numTokens: number;
}

export interface EncodeOptions {
  /** Default true: wrap the pieces in [CLS] … [SEP]. */
  addSpecialTokens?: boolean;
  /** Default `tokenizer.modelMaxLength`; Infinity disables truncation. Counts the special tokens. */
  maxLength?: number;
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

const DEFAULT_MODEL_MAX_LENGTH = 512;

export class WordPieceTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly maskId: number | undefined;
  /** Default maxLength of `encode`, including special tokens. */
  modelMaxLength: number;

  private readonly idToTokenTable: (string | undefined)[];
  private readonly tokenIds: Map<string, number>;
  private readonly specialIds: Set<number>;
  private readonly encoder: PieceEncoder;
  private readonly decoder: TokenizerSpec["decoder"];

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
    // Padded positions are masked out, so a vocabulary without [PAD] still works with id 0.
    this.padId = spec.padId ?? this.tokenIds.get("[PAD]") ?? 0;
    this.maskId = this.tokenIds.get("[MASK]");
    for (const [what, id] of [["classifier", this.clsId], ["separator", this.sepId], ["padding", this.padId]] as const) {
      if (this.idToTokenTable[id] === undefined) {
        throw new TokenizerError(source, `the ${what} token id ${id} is not in the vocabulary`, `an id below ${this.vocabSize}`);
      }
    }
    this.decoder = spec.decoder;
    this.modelMaxLength = checkMaxLength(
      options?.modelMaxLength ?? spec.truncationMaxLength ?? DEFAULT_MODEL_MAX_LENGTH,
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

  encode(text: string, options?: EncodeOptions): Encoding {
    checkText(text, "text");
    optionalOf(options, "encode: options", (v) => typeof v === "object" && v !== null && !Array.isArray(v), "an object with addSpecialTokens and/or maxLength");
    const addSpecial = options?.addSpecialTokens ?? true;
    if (typeof addSpecial !== "boolean") throw new InputError("addSpecialTokens", `is ${String(addSpecial)}`, "a boolean");
    const specials = addSpecial ? 2 : 0;
    const maxLength = checkMaxLength(options?.maxLength ?? this.modelMaxLength, "maxLength", specials);

    const enc = this.encoder;
    enc.run(text);
    const pieces = enc.count;
    const kept = Math.min(pieces, maxLength - specials);
    const table = this.idToTokenTable;
    // Built with push so that V8 keeps the arrays packed.
    const ids: number[] = [];
    const tokens: string[] = [];
    const offsets: [number, number][] = [];
    const attentionMask: number[] = [];
    if (addSpecial) {
      ids.push(this.clsId);
      tokens.push(table[this.clsId]!);
      offsets.push([0, 0]);
      attentionMask.push(1);
    }
    const encIds = enc.ids;
    const starts = enc.starts;
    const ends = enc.ends;
    for (let k = 0; k < kept; k++) {
      const id = encIds[k];
      ids.push(id);
      tokens.push(table[id]!);
      offsets.push([starts[k], ends[k]]);
      attentionMask.push(1);
    }
    if (addSpecial) {
      ids.push(this.sepId);
      tokens.push(table[this.sepId]!);
      offsets.push([0, 0]);
      attentionMask.push(1);
    }
    return { ids, tokens, offsets, attentionMask, truncated: kept < pieces, numTokens: pieces + specials };
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
    const enc = this.encoder;
    enc.run(text);
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (let k = 0; k < enc.count; k++) {
      ids.push(enc.ids[k]);
      offsets.push([enc.starts[k], enc.ends[k]]);
    }
    return { ids, offsets };
  }

  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string {
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
    return decodeWordPiece(tokens, this.decoder);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.idToTokenTable[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenIds.get(token);
  }
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
