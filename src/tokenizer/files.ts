/**
 * A tokenizer from a model's own files, as `AutoTokenizer.from_pretrained` builds it: tokenizer.json when there is
 * one, else vocab.txt shaped by tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars,
 * model_max_length, the special tokens) and special_tokens_map.json. Text in, no file system: src/node reads folders.
 */
import { InputError, TokenizerError } from "../errors.js";
import { describeValue, printable, quoted } from "../printable.js";
import type { AddedToken } from "./added.js";
import { WordPieceTokenizer } from "./index.js";
import { BERT_SPECIAL_NAMES, type SpecialNames, specFromTokenizerJson, specFromVocabText, type TokenizerSpec } from "./load.js";
import type { NormalizerFlags } from "./unicode.js";

export interface TokenizerFiles {
  /** tokenizer.json, as text or parsed: used whenever given (vocab.txt is then not needed). */
  tokenizerJson?: string | object;
  /** vocab.txt: used when there is no tokenizer.json. */
  vocab?: string;
  /** tokenizer_config.json, as text or parsed. */
  tokenizerConfig?: string | object;
  /** special_tokens_map.json, as text or parsed: its special tokens win over tokenizer_config.json's. */
  specialTokensMap?: string | object;
}

export interface LoadTokenizerOptions {
  /** File names used in error messages. */
  sources?: { tokenizerJson?: string; vocab?: string; tokenizerConfig?: string; specialTokensMap?: string };
  /** Default maxLength of `encode`; wins over the files. */
  modelMaxLength?: number;
  /** The model's max_position_embeddings: the default maxLength never exceeds it. */
  maxPositions?: number;
}

/** tokenizer_config.json (with special_tokens_map.json applied), each field checked; undefined = not given. */
export interface TokenizerConfig {
  doLowerCase: boolean | undefined;
  /** null: the file says null (follow do_lower_case). */
  stripAccents: boolean | null | undefined;
  tokenizeChineseChars: boolean | undefined;
  /** undefined also for Hugging Face's "no limit" (1e30). */
  modelMaxLength: number | undefined;
  cleanUpTokenizationSpaces: boolean | undefined;
  tokenizerClass: string | undefined;
  specials: Partial<SpecialNames>;
  additionalSpecialTokens: string[];
  /** added_tokens_decoder entries (used with vocab.txt; tokenizer.json lists its own). */
  addedTokens: AddedToken[];
}

/** The tokenizer classes that are BERT's WordPiece over vocab.txt. */
const WORDPIECE_CLASS = /^(Bert|DistilBert|Electra|MobileBert|SqueezeBert|LayoutLM)Tokenizer(Fast)?$/;
/** Above this a model_max_length is Hugging Face's "unlimited" marker (int(1e30)), not a length. */
const UNLIMITED = 2 ** 31;
const ROLES: readonly (keyof SpecialNames)[] = ["unk", "cls", "sep", "pad", "mask"];

export function loadTokenizer(files: TokenizerFiles, options: LoadTokenizerOptions = {}): WordPieceTokenizer {
  if (files === null || typeof files !== "object") {
    throw new InputError("loadTokenizer", `files are ${files === null ? "null" : typeof files}`, "{ tokenizerJson } or { vocab, tokenizerConfig? }");
  }
  const src = options.sources ?? {};
  const configSource = src.tokenizerConfig ?? "tokenizer_config.json";
  const config = parseTokenizerConfig(files.tokenizerConfig, configSource);
  if (files.specialTokensMap !== undefined) {
    const map = parseTokenizerConfig(files.specialTokensMap, src.specialTokensMap ?? "special_tokens_map.json");
    Object.assign(config.specials, map.specials);
    if (map.additionalSpecialTokens.length > 0) config.additionalSpecialTokens = map.additionalSpecialTokens;
  }
  let spec: TokenizerSpec;
  if (files.tokenizerJson !== undefined) {
    const source = src.tokenizerJson ?? "tokenizer.json";
    if (typeof files.tokenizerJson !== "string" && (typeof files.tokenizerJson !== "object" || files.tokenizerJson === null)) {
      throw new TokenizerError(source, `expected JSON text or an object, got ${files.tokenizerJson === null ? "null" : typeof files.tokenizerJson}`);
    }
    spec = specFromTokenizerJson(files.tokenizerJson, source);
    spec.flags = overrideNormalizer(spec, config);
  } else if (files.vocab !== undefined) {
    const source = src.vocab ?? "vocab.txt";
    const cls = config.tokenizerClass;
    if (cls !== undefined && !WORDPIECE_CLASS.test(cls)) {
      throw new TokenizerError(configSource, `tokenizer_class ${quoted(cls)} is not a WordPiece (BERT) tokenizer`, "BertTokenizer or DistilBertTokenizer, or a tokenizer.json");
    }
    const names: SpecialNames = { ...BERT_SPECIAL_NAMES, ...config.specials };
    spec = specFromVocabText(files.vocab, source, names, config.additionalSpecialTokens);
    const lowercase = config.doLowerCase ?? true;
    spec.flags = {
      cleanText: true,
      handleChineseChars: config.tokenizeChineseChars ?? true,
      stripAccents: config.stripAccents ?? lowercase,
      lowercase,
    };
    addDeclaredTokens(spec, config.addedTokens, configSource);
  } else {
    throw new InputError("loadTokenizer", "neither tokenizerJson nor vocab was given", "the text of tokenizer.json, or of vocab.txt");
  }
  // Roles tokenizer.json does not fix (its post-processor names [CLS] and [SEP], its model the unk token).
  if (config.specials.pad !== undefined) spec.padToken = config.specials.pad;
  if (config.specials.mask !== undefined) spec.maskToken = config.specials.mask;
  if (config.cleanUpTokenizationSpaces !== undefined) spec.cleanUpSpaces = config.cleanUpTokenizationSpaces;
  let maxLength = config.modelMaxLength;
  const cap = options.maxPositions;
  if (cap !== undefined) maxLength = Math.min(maxLength ?? cap, cap);
  if (maxLength !== undefined) spec.modelMaxLength = maxLength;
  return WordPieceTokenizer.fromSpec(spec, { source: spec.source, modelMaxLength: options.modelMaxLength });
}

/**
 * What BertTokenizerFast does on load: the normalizer settings tokenizer_config.json states win over the ones in
 * tokenizer.json when they differ. Only settings the file states count (transformers 4 would also impose its
 * defaults, lowercasing a cased tokenizer.json whose config omits do_lower_case; that is not followed here).
 */
function overrideNormalizer(spec: TokenizerSpec, config: TokenizerConfig): NormalizerFlags {
  const json = spec.flags;
  if (spec.rawStripAccents === undefined) return json; // no BertNormalizer in the file: nothing to adjust
  const differs =
    (config.doLowerCase !== undefined && config.doLowerCase !== json.lowercase) ||
    (config.stripAccents !== undefined && config.stripAccents !== spec.rawStripAccents) ||
    (config.tokenizeChineseChars !== undefined && config.tokenizeChineseChars !== json.handleChineseChars);
  if (!differs) return json;
  const lowercase = config.doLowerCase ?? json.lowercase;
  const strip = config.stripAccents !== undefined ? config.stripAccents : spec.rawStripAccents;
  return {
    cleanText: json.cleanText,
    handleChineseChars: config.tokenizeChineseChars ?? json.handleChineseChars,
    stripAccents: strip ?? lowercase,
    lowercase,
  };
}

/** added_tokens_decoder of tokenizer_config.json, over a vocab.txt: tokens beyond the vocabulary, or flags on its own. */
function addDeclaredTokens(spec: TokenizerSpec, declared: AddedToken[], source: string): void {
  for (const t of declared) {
    const i = spec.added.findIndex((a) => a.content === t.content);
    if (i >= 0) spec.added[i] = t;
    else spec.added.push(t);
  }
  const idLimit = 2 * (spec.vocab.size + spec.added.length) + 1024;
  for (const t of spec.added) {
    if (t.id >= idLimit) {
      throw new TokenizerError(source, `added_tokens_decoder gives ${quoted(t.content)} id ${t.id}, far past the ${spec.vocab.size} tokens of the vocabulary`, `ids below ${idLimit}`);
    }
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function own(obj: Json, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function show(v: unknown): string {
  return typeof v === "string" ? quoted(v) : describeValue(v);
}

/** Parses tokenizer_config.json or special_tokens_map.json (they share the special-token fields). */
export function parseTokenizerConfig(input: string | object | undefined, source: string): TokenizerConfig {
  const config: TokenizerConfig = {
    doLowerCase: undefined,
    stripAccents: undefined,
    tokenizeChineseChars: undefined,
    modelMaxLength: undefined,
    cleanUpTokenizationSpaces: undefined,
    tokenizerClass: undefined,
    specials: {},
    additionalSpecialTokens: [],
    addedTokens: [],
  };
  if (input === undefined) return config;
  let root: unknown = input;
  if (typeof input === "string") {
    try {
      root = JSON.parse(input);
    } catch (e) {
      throw new TokenizerError(source, `malformed JSON (${printable((e as Error).message)})`, "a JSON object");
    }
  }
  if (!isObject(root)) throw new TokenizerError(source, `the top level is ${describeValue(root)}`, "a JSON object");

  const bool = (key: string): boolean | undefined => {
    const v = own(root as Json, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw new TokenizerError(source, `${key} is ${show(v)}`, "true, false or null");
    return v;
  };
  config.doLowerCase = bool("do_lower_case");
  config.tokenizeChineseChars = bool("tokenize_chinese_chars");
  config.cleanUpTokenizationSpaces = bool("clean_up_tokenization_spaces");
  const strip = own(root, "strip_accents");
  config.stripAccents = strip === null ? null : bool("strip_accents");

  const maxLength = own(root, "model_max_length");
  if (maxLength !== undefined && maxLength !== null) {
    if (typeof maxLength !== "number" || !(maxLength >= 1) || (maxLength < UNLIMITED && !Number.isInteger(maxLength))) {
      throw new TokenizerError(source, `model_max_length is ${show(maxLength)}`, "a positive integer");
    }
    if (maxLength < UNLIMITED) config.modelMaxLength = maxLength;
  }
  const cls = own(root, "tokenizer_class");
  if (cls !== undefined && cls !== null) {
    if (typeof cls !== "string") throw new TokenizerError(source, `tokenizer_class is ${show(cls)}`, "a class name");
    config.tokenizerClass = cls;
  }

  for (const role of ROLES) {
    const key = `${role}_token`;
    const v = own(root, key);
    if (v === undefined || v === null) continue;
    config.specials[role] = tokenContent(v, source, key);
  }
  const extra = own(root, "additional_special_tokens");
  if (extra !== undefined && extra !== null) {
    if (!Array.isArray(extra)) throw new TokenizerError(source, `additional_special_tokens is ${show(extra)}`, "an array of tokens");
    config.additionalSpecialTokens = extra.map((t: unknown, i: number) => tokenContent(t, source, `additional_special_tokens[${i}]`));
  }
  const decoder = own(root, "added_tokens_decoder");
  if (decoder !== undefined && decoder !== null) {
    if (!isObject(decoder)) throw new TokenizerError(source, `added_tokens_decoder is ${show(decoder)}`, "an object of id → token");
    for (const key of Object.keys(decoder)) {
      const where = `added_tokens_decoder[${quoted(key)}]`;
      if (!/^(0|[1-9][0-9]{0,9})$/.test(key) || Number(key) > 0x7fffffff) {
        throw new TokenizerError(source, `${where} is not a token id`, "keys that are non-negative integers");
      }
      const t = decoder[key];
      if (!isObject(t)) throw new TokenizerError(source, `${where} is ${show(t)}`, "{content, special, ...}");
      const content = tokenContent(t, source, where);
      const flag = (name: string, fallback: boolean): boolean => {
        const v = own(t, name);
        if (v === undefined || v === null) return fallback;
        if (typeof v !== "boolean") throw new TokenizerError(source, `${where}.${name} is ${show(v)}`, "a boolean");
        return v;
      };
      const special = flag("special", false);
      config.addedTokens.push({
        content,
        id: Number(key),
        singleWord: flag("single_word", false),
        lstrip: flag("lstrip", false),
        rstrip: flag("rstrip", false),
        normalized: flag("normalized", !special),
        special,
      });
    }
  }
  return config;
}

/** A token as the config files write it: a string, or an AddedToken object with its `content`. */
function tokenContent(v: unknown, source: string, where: string): string {
  const content = isObject(v) ? own(v, "content") : v;
  if (typeof content !== "string" || content.length === 0) {
    throw new TokenizerError(source, `${where} is ${show(isObject(v) ? content : v)}`, "a non-empty token string (or {\"content\": ...})");
  }
  return content;
}
