import { TokenizerError } from "../errors.js";
import { describeValue, printable, quoted } from "../printable.js";
import type { AddedToken } from "./added.js";
import type { NormalizerFlags } from "./unicode.js";

/** Everything the tokenizer needs, independent of the file it came from. */
export interface TokenizerSpec {
  source: string;
  /** WordPiece model vocabulary. */
  vocab: Map<string, number>;
  added: AddedToken[];
  unkToken: string;
  continuingPrefix: string;
  maxInputCharsPerWord: number;
  flags: NormalizerFlags;
  /** `id` undefined: resolve the token through the vocabulary. */
  clsToken: { token: string; id: number | undefined };
  sepToken: { token: string; id: number | undefined };
  /** null: the file has no decoder; tokens are joined with spaces. */
  decoder: { prefix: string; cleanup: boolean } | null;
  truncationMaxLength: number | undefined;
  /** From the file's padding settings, when it has any. */
  padId: number | undefined;
  /** Names from tokenizer_config.json / special_tokens_map.json; undefined: "[PAD]", "[MASK]". */
  padToken?: string;
  maskToken?: string;
  /** tokenizer_config.json's `model_max_length`, when it gives a usable one. */
  modelMaxLength?: number;
  /** tokenizer_config.json's `clean_up_tokenization_spaces`; undefined: true. */
  cleanUpSpaces?: boolean;
  /** tokenizer.json's BertNormalizer `strip_accents` as written (null: follows lowercase); undefined: no normalizer. */
  rawStripAccents?: boolean | null;
}

/** The special tokens of a vocab.txt tokenizer, by role. */
export interface SpecialNames {
  unk: string;
  cls: string;
  sep: string;
  pad: string;
  mask: string;
}

export const BERT_SPECIAL_NAMES: Readonly<SpecialNames> = { unk: "[UNK]", cls: "[CLS]", sep: "[SEP]", pad: "[PAD]", mask: "[MASK]" };

const BERT_UNCASED: NormalizerFlags = { cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true };

/**
 * A bare vocab.txt as BertTokenizerFast builds it: lowercasing BertNormalizer, the special tokens (`names`) as
 * unnormalized special added tokens, a WordPiece decoder. `extra` adds further special tokens (tokenizer_config.json's
 * additional special tokens) that must be in the vocabulary too.
 */
export function specFromVocabText(
  text: string,
  source: string,
  names: Readonly<SpecialNames> = BERT_SPECIAL_NAMES,
  extra: readonly string[] = [],
): TokenizerSpec {
  if (typeof text !== "string") throw new TokenizerError(source, `vocab must be text, got ${typeof text}`);
  const lines = text.split("\n");
  // One final newline is the normal file ending, not an empty token.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length > 0 && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  if (lines.length === 0) throw new TokenizerError(source, "the vocabulary is empty", "one token per line");
  const vocab = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    let token = lines[i];
    if (token.endsWith("\r")) token = token.slice(0, -1);
    if (token.length === 0) {
      throw new TokenizerError(source, `line ${i + 1} is empty`, "one non-empty token per line");
    }
    const previous = vocab.get(token);
    if (previous !== undefined) {
      throw new TokenizerError(
        source,
        `duplicate token ${show(token)} on lines ${previous + 1} and ${i + 1}`,
        "each token exactly once",
      );
    }
    vocab.set(token, i);
  }
  requireToken(vocab, names.unk, source);
  requireToken(vocab, names.cls, source);
  requireToken(vocab, names.sep, source);
  for (const token of extra) requireToken(vocab, token, source);
  // What BertTokenizerFast does with a bare vocab.txt: the specials become unnormalized special added tokens.
  const added: AddedToken[] = [];
  const seen = new Set<string>();
  for (const content of [names.pad, names.unk, names.cls, names.sep, names.mask, ...extra]) {
    const id = vocab.get(content);
    if (id === undefined || seen.has(content)) continue;
    seen.add(content);
    added.push({ content, id, singleWord: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return {
    source,
    vocab,
    added,
    unkToken: names.unk,
    continuingPrefix: "##",
    maxInputCharsPerWord: 100,
    flags: BERT_UNCASED,
    clsToken: { token: names.cls, id: vocab.get(names.cls) },
    sepToken: { token: names.sep, id: vocab.get(names.sep) },
    decoder: { prefix: "##", cleanup: true },
    truncationMaxLength: undefined,
    padId: undefined,
    padToken: names.pad,
    maskToken: names.mask,
  };
}

function requireToken(vocab: Map<string, number>, token: string, source: string): void {
  // Plain ASCII names ([UNK]) read best bare; anything else (from a config file) is quoted and bounded.
  const name = /^[\x21-\x7e]{1,40}$/.test(token) ? token : show(token);
  if (!vocab.has(token)) throw new TokenizerError(source, `the vocabulary has no ${name} token`, `a line ${name}`);
}

type Json = Record<string, unknown>;

/** A value from the file, for a message: bounded, one line, never a serialised container. */
function show(v: unknown): string {
  return typeof v === "string" ? quoted(v) : describeValue(v);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function own(obj: Json, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function optBool(obj: Json, key: string, fallback: boolean, source: string, where: string): boolean {
  const v = own(obj, key);
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new TokenizerError(source, `${where}.${key} is ${show(v)}`, "a boolean");
  return v;
}

function isId(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;
}

export function specFromTokenizerJson(input: string | object, source: string): TokenizerSpec {
  let root: unknown = input;
  if (typeof input === "string") {
    try {
      root = JSON.parse(input);
    } catch (e) {
      throw new TokenizerError(source, `malformed JSON (${printable((e as Error).message)})`, "a tokenizer.json document");
    }
  }
  if (!isObject(root)) throw new TokenizerError(source, "the top level is not a JSON object", "a tokenizer.json object");

  const model = own(root, "model");
  if (!isObject(model)) throw new TokenizerError(source, "missing or invalid \"model\"", "a WordPiece model object");
  const type = own(model, "type");
  // Files written by older `tokenizers` versions omit the type; a WordPiece model is then recognised by its fields.
  const looksLikeWordPiece = type === undefined && own(model, "merges") === undefined && own(model, "vocab") !== undefined;
  if (type !== "WordPiece" && !looksLikeWordPiece) {
    throw new TokenizerError(source, `model type ${show(type ?? null)} is not supported`, "\"WordPiece\"");
  }

  const rawVocab = own(model, "vocab");
  if (!isObject(rawVocab)) throw new TokenizerError(source, "model.vocab is not an object", "a map of token to id");
  const vocab = new Map<string, number>();
  const idOwner = new Map<number, string>();
  for (const token of Object.keys(rawVocab)) {
    const id = rawVocab[token];
    if (!isId(id)) {
      throw new TokenizerError(source, `model.vocab[${show(token)}] is ${show(id)}`, "a non-negative integer id");
    }
    const other = idOwner.get(id);
    if (other !== undefined) {
      throw new TokenizerError(
        source,
        `model.vocab gives id ${id} to both ${show(other)} and ${show(token)}`,
        "unique ids",
      );
    }
    if (token.length === 0) throw new TokenizerError(source, "model.vocab contains an empty token", "non-empty tokens");
    idOwner.set(id, token);
    vocab.set(token, id);
  }
  if (vocab.size === 0) throw new TokenizerError(source, "model.vocab is empty", "a non-empty vocabulary");

  const unkToken = own(model, "unk_token") ?? "[UNK]";
  if (typeof unkToken !== "string") throw new TokenizerError(source, "model.unk_token is not a string", "a token");
  const prefix = own(model, "continuing_subword_prefix") ?? "##";
  if (typeof prefix !== "string") {
    throw new TokenizerError(source, "model.continuing_subword_prefix is not a string", "a prefix such as \"##\"");
  }
  const maxChars = own(model, "max_input_chars_per_word") ?? 100;
  if (!isId(maxChars)) {
    throw new TokenizerError(source, `model.max_input_chars_per_word is ${show(maxChars)}`, "a non-negative integer");
  }

  const added = parseAddedTokens(own(root, "added_tokens"), source);
  const addedByContent = new Map(added.map((t) => [t.content, t.id]));
  const idOf = (token: string): number | undefined => addedByContent.get(token) ?? vocab.get(token);
  if (idOf(unkToken) === undefined) {
    throw new TokenizerError(source, `the vocabulary has no unk_token ${show(unkToken)}`, "the unk token in model.vocab");
  }

  const normalizer = own(root, "normalizer");
  const flags = parseNormalizer(normalizer, source);
  const rawStrip = isObject(normalizer) ? own(normalizer, "strip_accents") : undefined;
  parsePreTokenizer(own(root, "pre_tokenizer"), source);
  const [cls, sep] = parsePostProcessor(own(root, "post_processor"), source);
  for (const special of [cls, sep]) {
    if (special.id === undefined && idOf(special.token) === undefined) {
      throw new TokenizerError(source, `the vocabulary has no ${special.token} token`, `${special.token} in model.vocab`);
    }
  }

  const decoderJson = own(root, "decoder");
  let decoder: TokenizerSpec["decoder"] = null;
  if (isObject(decoderJson)) {
    if (own(decoderJson, "type") !== "WordPiece") {
      throw new TokenizerError(source, `decoder type ${show(own(decoderJson, "type"))} is not supported`, "\"WordPiece\"");
    }
    const decPrefix = own(decoderJson, "prefix") ?? prefix;
    if (typeof decPrefix !== "string") throw new TokenizerError(source, "decoder.prefix is not a string", "a prefix");
    decoder = { prefix: decPrefix, cleanup: optBool(decoderJson, "cleanup", true, source, "decoder") };
  } else if (decoderJson !== undefined && decoderJson !== null) {
    throw new TokenizerError(source, "decoder is not an object", "a WordPiece decoder or null");
  }

  let truncationMaxLength: number | undefined;
  const truncation = own(root, "truncation");
  if (isObject(truncation)) {
    const m = own(truncation, "max_length");
    if (isId(m) && m > 0) truncationMaxLength = m;
  }
  const padding = own(root, "padding");
  const padId = isObject(padding) && isId(own(padding, "pad_id")) ? (own(padding, "pad_id") as number) : undefined;

  // The tokenizer keeps a table indexed by id, so one id of 2^31 in a 100-token file would cost 2^31 slots. Files
  // written by `tokenizers` number their tokens densely; ids up to twice the number of entries (plus 1024) leave room
  // for gaps while keeping the table linear in the file.
  const entries = vocab.size + added.length;
  const idLimit = 2 * entries + 1024;
  const tooLarge = (what: string, id: number) =>
    new TokenizerError(source, `${what} has id ${id}, far past the ${entries} tokens the file defines`, `ids below ${idLimit}`);
  for (const [token, id] of vocab) if (id >= idLimit) throw tooLarge(`model.vocab[${show(token)}]`, id);
  added.forEach((t, i) => {
    if (t.id >= idLimit) throw tooLarge(`added_tokens[${i}]`, t.id);
  });

  return {
    source,
    vocab,
    added,
    unkToken,
    continuingPrefix: prefix,
    maxInputCharsPerWord: maxChars,
    flags,
    clsToken: cls,
    sepToken: sep,
    decoder,
    truncationMaxLength,
    padId,
    rawStripAccents: isObject(normalizer) ? (typeof rawStrip === "boolean" ? rawStrip : null) : undefined,
  };
}

function parseAddedTokens(raw: unknown, source: string): AddedToken[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new TokenizerError(source, "added_tokens is not an array", "an array of added tokens");
  const out: AddedToken[] = [];
  const seen = new Set<string>();
  raw.forEach((t: unknown, i: number) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(t)) throw new TokenizerError(source, `${where} is not an object`, "{id, content, ...}");
    const content = own(t, "content");
    const id = own(t, "id");
    if (typeof content !== "string" || content.length === 0) {
      throw new TokenizerError(source, `${where}.content is ${show(content)}`, "a non-empty string");
    }
    if (!isId(id)) throw new TokenizerError(source, `${where}.id is ${show(id)}`, "a non-negative integer");
    if (seen.has(content)) return;
    seen.add(content);
    const special = optBool(t, "special", false, source, where);
    out.push({
      content,
      id,
      singleWord: optBool(t, "single_word", false, source, where),
      lstrip: optBool(t, "lstrip", false, source, where),
      rstrip: optBool(t, "rstrip", false, source, where),
      normalized: optBool(t, "normalized", !special, source, where),
      special,
    });
  });
  return out;
}

function parseNormalizer(raw: unknown, source: string): NormalizerFlags {
  if (raw === undefined || raw === null) {
    return { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  }
  if (!isObject(raw) || own(raw, "type") !== "BertNormalizer") {
    const type = isObject(raw) ? own(raw, "type") : raw;
    throw new TokenizerError(source, `normalizer ${show(type)} is not supported`, "a BertNormalizer or null");
  }
  const lowercase = optBool(raw, "lowercase", true, source, "normalizer");
  return {
    cleanText: optBool(raw, "clean_text", true, source, "normalizer"),
    handleChineseChars: optBool(raw, "handle_chinese_chars", true, source, "normalizer"),
    // null means "follow lowercase", as in Rust.
    stripAccents: optBool(raw, "strip_accents", lowercase, source, "normalizer"),
    lowercase,
  };
}

function parsePreTokenizer(raw: unknown, source: string): void {
  const type = isObject(raw) ? own(raw, "type") : raw;
  if (type !== "BertPreTokenizer") {
    throw new TokenizerError(source, `pre_tokenizer ${show(type ?? null)} is not supported`, "a BertPreTokenizer");
  }
}

type SpecialRef = { token: string; id: number | undefined };

function parsePostProcessor(raw: unknown, source: string): [SpecialRef, SpecialRef] {
  const fallback: [SpecialRef, SpecialRef] = [
    { token: "[CLS]", id: undefined },
    { token: "[SEP]", id: undefined },
  ];
  if (raw === undefined || raw === null) return fallback;
  if (!isObject(raw)) throw new TokenizerError(source, "post_processor is not an object", "a post-processor or null");
  const type = own(raw, "type");
  if (type === "BertProcessing" || type === "RobertaProcessing") {
    return [pair(own(raw, "cls"), source, "post_processor.cls"), pair(own(raw, "sep"), source, "post_processor.sep")];
  }
  if (type === "TemplateProcessing") {
    const single = own(raw, "single");
    const specials = own(raw, "special_tokens");
    const shape = "a single template [SpecialToken, Sequence A, SpecialToken]";
    if (!Array.isArray(single) || single.length !== 3 || !isObject(single[1]) || own(single[1], "Sequence") === undefined) {
      throw new TokenizerError(source, "post_processor.single has an unsupported template", shape);
    }
    const refs = [single[0], single[2]].map((piece: unknown): SpecialRef => {
      const st = isObject(piece) ? own(piece, "SpecialToken") : undefined;
      const name = isObject(st) ? own(st, "id") : undefined;
      if (typeof name !== "string") throw new TokenizerError(source, "post_processor.single has an unsupported template", shape);
      const entry = isObject(specials) ? own(specials, name) : undefined;
      const ids = isObject(entry) ? own(entry, "ids") : undefined;
      const tokens = isObject(entry) ? own(entry, "tokens") : undefined;
      if (Array.isArray(ids) && ids.length === 1 && isId(ids[0])) {
        const token = Array.isArray(tokens) && typeof tokens[0] === "string" ? tokens[0] : name;
        return { token, id: ids[0] };
      }
      return { token: name, id: undefined };
    });
    return [refs[0], refs[1]];
  }
  throw new TokenizerError(source, `post_processor ${show(type)} is not supported`, "TemplateProcessing or BertProcessing");
}

function pair(raw: unknown, source: string, where: string): SpecialRef {
  if (Array.isArray(raw) && raw.length === 2 && typeof raw[0] === "string" && isId(raw[1])) return { token: raw[0], id: raw[1] };
  throw new TokenizerError(source, `${where} is ${show(raw)}`, "[token, id]");
}
