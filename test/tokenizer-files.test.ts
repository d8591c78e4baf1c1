/**
 * Tokenizers from a model's own files, against ../shared/fixtures/heads (transformers 5.17's fast tokenizer): ids,
 * tokens, offsets and sequence ids of every case, the question-answering windows, the fill-mask decodes, the NER
 * offsets; then what tokenizer_config.json and special_tokens_map.json change, and the folder rules.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, TokenizerError } from "../src/errors.js";
import { findModelFiles, findTokenizerFiles, loadTokenizerFromDir } from "../src/node/model-dir.js";
import { codePointOffsets, type Encoding, loadTokenizer, type WordPieceTokenizer } from "../src/tokenizer/index.js";
import { runCli } from "./helpers/cli.js";
import { sharedDir } from "./helpers/shared.js";

const shared = sharedDir();
const HEADS = shared === null ? null : join(shared, "fixtures/heads");
if (HEADS !== null && !existsSync(HEADS) && process.env.CI) throw new Error(`${HEADS} is missing (required when CI is set)`);
const heads = HEADS !== null && existsSync(HEADS) ? HEADS : null;
if (heads === null) console.warn("tokenizer-files: ../shared/fixtures/heads is missing, skipping the fixture tests");

const read = (...p: string[]) => readFileSync(join(heads!, ...p), "utf8");
const json = <T>(...p: string[]) => JSON.parse(read(...p)) as T;

interface TokCase {
  tokenizer: "cased" | "uncased";
  text: string;
  input_ids: number[];
  tokens: string[];
  offsets: [number, number][];
}
interface QaWindow {
  input_ids: number[];
  sequence_ids: (number | null)[];
  offsets: [number, number][];
}
interface QaCase {
  question: string;
  context: string;
  windows: QaWindow[];
}
interface QaExpected {
  params: { max_seq_len: number; doc_stride: number };
  cases: QaCase[];
}
interface FillMask {
  token: number;
  token_str: string;
  sequence: string;
}
interface MlmCase {
  text: string;
  input_ids: number[];
  mask_positions: number[];
  pipeline: FillMask[] | FillMask[][];
}
interface NerEntity {
  index: number;
  word: string;
  start: number;
  end: number;
}
interface NerCase {
  text: string;
  input_ids: number[];
  pipeline: { none: NerEntity[] };
}

/** What the fixtures hold of one encoding: ids, tokens, Python (code point) offsets, sequence ids. */
function asFixture(tok: WordPieceTokenizer, e: Encoding, text: string, pair?: string) {
  return {
    input_ids: e.ids,
    tokens: tok.convertIdsToTokens(e.ids),
    offsets: codePointOffsets(e, text, pair),
    sequence_ids: e.sequenceIds,
  };
}

describe.skipIf(heads === null)("fixtures/heads: tokenizers from each folder's own files", () => {
  const cases = heads === null ? [] : json<{ cases: TokCase[] }>("tokenizers/expected.json").cases;
  const folder = (name: string) => join(heads!, "tokenizers", name);

  it("every tokenizers/expected.json case: ids, tokens, offsets, sequence ids (tokenizer.json, as AutoTokenizer)", async () => {
    const toks = { cased: await loadTokenizerFromDir(folder("cased")), uncased: await loadTokenizerFromDir(folder("uncased")) };
    expect(toks.cased.normalizer.lowercase).toBe(false);
    expect(toks.uncased.normalizer.lowercase).toBe(true);
    for (const c of cases) {
      const e = toks[c.tokenizer].encode(c.text);
      const n = c.input_ids.length;
      const want = { input_ids: c.input_ids, tokens: c.tokens, offsets: c.offsets, sequence_ids: [null, ...Array<number>(n - 2).fill(0), null] };
      expect(asFixture(toks[c.tokenizer], e, c.text), `${c.tokenizer} ${JSON.stringify(c.text)}`).toEqual(want);
      expect(e.tokens).toEqual(c.tokens);
    }
    expect(cases.length).toBeGreaterThan(0);
  });

  it("the same from vocab.txt + tokenizer_config.json alone (the fixture's stated reference)", () => {
    for (const name of ["cased", "uncased"] as const) {
      const tok = loadTokenizer({ vocab: read("tokenizers", name, "vocab.txt"), tokenizerConfig: read("tokenizers", name, "tokenizer_config.json") });
      for (const c of cases.filter((x) => x.tokenizer === name)) {
        const e = tok.encode(c.text);
        expect({ ids: e.ids, tokens: e.tokens, offsets: codePointOffsets(e, c.text) }, `${name} ${JSON.stringify(c.text)}`).toEqual({
          ids: c.input_ids,
          tokens: c.tokens,
          offsets: c.offsets,
        });
      }
    }
  });

  it("multilingual (cased): accents and case kept, Cyrillic whole, each CJK ideograph its own word", async () => {
    const tok = await loadTokenizerFromDir(folder("cased"));
    const e = tok.encode("Zürich 東京大阪 привет");
    expect(e.tokens).toEqual(["[CLS]", "Zürich", "東", "京", "大", "阪", "привет", "[SEP]"]);
    expect(e.wordIds).toEqual([null, 0, 1, 2, 3, 4, 5, null]);
    // tokenize_chinese_chars false: the ideographs stay one word (then WordPiece splits it as it can).
    const off = loadTokenizer({
      vocab: read("tokenizers/cased/vocab.txt"),
      tokenizerConfig: { ...json<object>("tokenizers/cased/tokenizer_config.json"), tokenize_chinese_chars: false },
    }).encode("Zürich 東京大阪 привет");
    expect(off.tokens[1]).toBe("Zürich");
    expect(new Set(off.wordIds.slice(2, -2))).toEqual(new Set([1]));
    expect(off.tokens.at(-2)).toBe("привет");
  });

  it("question answering: every window of every case exactly (question first, only_second, stride)", async () => {
    const qa = json<QaExpected>("qa-cased/expected.json");
    const tok = await loadTokenizerFromDir(join(heads!, "qa-cased"));
    const { max_seq_len: maxLength, doc_stride: stride } = qa.params;
    let windows = 0;
    for (const c of qa.cases) {
      const opts = { pair: c.context, truncation: "only_second" as const, maxLength, stride };
      // transformers 5.17's tokenizers stop at the word reaching max_seq_len: the fixture's windows end there.
      const early = tok.encodeWindows(c.question, { ...opts, stopAtMaxLength: true });
      const want = c.windows.map((w) => ({
        input_ids: w.input_ids,
        tokens: tok.convertIdsToTokens(w.input_ids),
        offsets: w.offsets,
        sequence_ids: w.sequence_ids,
      }));
      expect(early.map((w) => asFixture(tok, w, c.question, c.context)), c.question).toEqual(want);
      windows += early.length;
      // Every window: question whole, at most maxLength tokens, and the first one is what encode() keeps.
      const full = tok.encodeWindows(c.question, opts);
      expect(full[0]).toEqual(tok.encode(c.question, opts));
      expect(asFixture(tok, full[0], c.question, c.context)).toEqual(want[0]);
      for (const w of full) expect(w.ids.length).toBeLessThanOrEqual(maxLength);
      // The full windows cover the whole context, consecutive ones sharing `stride` tokens; the early-stopped ones
      // are fewer.
      const inContext = full.map((w) => w.sequenceIds.filter((s) => s === 1).length);
      const covered = inContext.reduce((sum, n, i) => sum + (i === 0 ? n : n - stride), 0);
      expect(covered).toBe(tok.tokenizeToIds(c.context).ids.length);
      expect(full.length).toBeGreaterThanOrEqual(early.length);
    }
    expect(windows).toBeGreaterThan(qa.cases.length); // the long context has more than one window
  });

  it("fill-mask: the input ids, and decode gives each token_str and sequence (mask replaced, specials skipped for one mask)", async () => {
    const mlm = json<{ cases: MlmCase[] }>("mlm-uncased/expected.json");
    const tok = await loadTokenizerFromDir(join(heads!, "mlm-uncased"));
    let checked = 0;
    for (const c of mlm.cases) {
      expect(tok.encode(c.text).ids, c.text).toEqual(c.input_ids);
      expect(c.input_ids.filter((id) => id === tok.maskId).length).toBe(c.mask_positions.length);
      const perMask = (c.mask_positions.length === 1 ? [c.pipeline] : c.pipeline) as FillMask[][];
      perMask.forEach((preds, m) => {
        for (const p of preds) {
          expect(tok.decode([p.token])).toBe(p.token_str);
          const ids = c.input_ids.slice();
          ids[c.mask_positions[m]] = p.token;
          expect(tok.decode(ids, { skipSpecialTokens: c.mask_positions.length === 1 })).toBe(p.sequence);
          checked++;
        }
      });
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("token classification: input ids, and each entity's start/end are its token's offsets (in characters)", async () => {
    const ner = json<{ cases: NerCase[] }>("ner-cased/expected.json");
    const tok = await loadTokenizerFromDir(join(heads!, "ner-cased"));
    for (const c of ner.cases) {
      const e = tok.encode(c.text);
      expect(e.ids, c.text).toEqual(c.input_ids);
      const offsets = codePointOffsets(e, c.text);
      for (const ent of c.pipeline.none) expect(offsets[ent.index], `${c.text} #${ent.index}`).toEqual([ent.start, ent.end]);
    }
  });

  it("embed: model_max_length 128 from its tokenizer_config.json (its tokenizer.json says nothing of it)", async () => {
    expect((await loadTokenizerFromDir(join(heads!, "embed"))).modelMaxLength).toBe(128);
  });

  it("a folder: tokenizer.json is chosen over vocab.txt; a tokenizer-only folder needs no config.json", async () => {
    const qaFiles = await findTokenizerFiles(join(heads!, "qa-cased"));
    expect(qaFiles).toEqual({
      tokenizerJson: join(heads!, "qa-cased/tokenizer.json"),
      tokenizerConfig: join(heads!, "qa-cased/tokenizer_config.json"),
      specialTokensMap: undefined,
    });
    const model = await findModelFiles(join(heads!, "qa-cased"));
    expect(model.tokenizerFiles).toEqual(qaFiles);
    expect(model.tokenizerKind).toBe("tokenizerJson");
    await expect(findModelFiles(folder("cased"))).rejects.toThrow("config.json");
    const tok = await loadTokenizerFromDir(folder("cased"));
    expect(tok.encode("Hello World").tokens).toEqual(["[CLS]", "Hell", "##o", "World", "[SEP]"]);
  });

  it("CLI: tokenize --model on a tokenizer-only folder, with a pair", () => {
    const r = runCli(["tokenize", "--json", "--model", folder("cased"), "--pair", "in Zürich", "Hello World"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens).toEqual(["[CLS]", "Hell", "##o", "World", "[SEP]", "in", "Zürich", "[SEP]"]);
    expect(out.sequence_ids).toEqual([null, 0, 0, 0, null, 1, 1, null]);
    expect(out.word_ids).toEqual([null, 0, 0, 1, null, 0, 1, null]);
    expect(out.offsets).toEqual([[0, 0], [0, 4], [4, 5], [6, 11], [0, 0], [0, 2], [3, 9], [0, 0]]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// tokenizer_config.json / special_tokens_map.json, on small vocabularies that need no fixture.

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<pad>", "<unk>", "<s>", "</s>", "<mask>", "hello", "Hello",
  "world", "cafe", "café", "don", "'", "t", ".", "##s", "a", "b"].join("\n") + "\n";

describe("tokenizer_config.json", () => {
  it("without one, vocab.txt is uncased BERT (transformers' default do_lower_case); do_lower_case false keeps case and accents", () => {
    expect(loadTokenizer({ vocab: VOCAB }).encode("Hello Café").tokens).toEqual(["[CLS]", "hello", "cafe", "[SEP]"]);
    const cased = loadTokenizer({ vocab: VOCAB, tokenizerConfig: '{"do_lower_case": false}' });
    expect(cased.encode("Hello café").tokens).toEqual(["[CLS]", "Hello", "café", "[SEP]"]);
    const stripped = loadTokenizer({ vocab: VOCAB, tokenizerConfig: { do_lower_case: false, strip_accents: true } });
    expect(stripped.encode("Hello café").tokens).toEqual(["[CLS]", "Hello", "cafe", "[SEP]"]);
    expect(stripped.normalizer).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: false });
  });

  it("special tokens by role, as strings or AddedToken objects; special_tokens_map.json wins", () => {
    const config = { unk_token: "<unk>", cls_token: { content: "<s>", lstrip: false }, sep_token: "</s>", pad_token: "<pad>", mask_token: "[MASK]" };
    const tok = loadTokenizer({ vocab: VOCAB, tokenizerConfig: config, specialTokensMap: '{"mask_token": {"content": "<mask>"}}' });
    expect(tok.specialTokens).toEqual({ cls: "<s>", sep: "</s>", pad: "<pad>", unk: "<unk>", mask: "<mask>" });
    const e = tok.encode("hello <mask> zzz", { pair: "world" });
    expect(e.tokens).toEqual(["<s>", "hello", "<mask>", "<unk>", "</s>", "world", "</s>"]);
    expect([tok.clsId, tok.sepId, tok.padId, tok.unkId, tok.maskId]).toEqual([7, 8, 5, 6, 9]);
    expect(tok.decode(e.ids, { skipSpecialTokens: true })).toBe("hello world");
  });

  it("model_max_length is the default maxLength; 1e30 (no limit) falls back to the model's positions", () => {
    const text = "a b a b a b a b a b";
    expect(loadTokenizer({ vocab: VOCAB, tokenizerConfig: { model_max_length: 6 } }).encode(text).ids.length).toBe(6);
    const unlimited = { model_max_length: 1e30 };
    expect(loadTokenizer({ vocab: VOCAB, tokenizerConfig: unlimited }).modelMaxLength).toBe(512);
    expect(loadTokenizer({ vocab: VOCAB, tokenizerConfig: unlimited }, { maxPositions: 128 }).modelMaxLength).toBe(128);
    expect(loadTokenizer({ vocab: VOCAB, tokenizerConfig: { model_max_length: 64 } }, { maxPositions: 128 }).modelMaxLength).toBe(64);
    expect(loadTokenizer({ vocab: VOCAB, tokenizerConfig: { model_max_length: 1024 } }, { maxPositions: 128 }).modelMaxLength).toBe(128);
    expect(loadTokenizer({ vocab: VOCAB }, { maxPositions: 128, modelMaxLength: 9 }).modelMaxLength).toBe(9);
  });

  it("added_tokens_decoder adds tokens past the vocabulary; clean_up_tokenization_spaces false keeps the spaces", () => {
    const added = { added_tokens_decoder: { "22": { content: "<new>", special: true, normalized: false } } };
    const tok = loadTokenizer({ vocab: VOCAB, tokenizerConfig: added });
    const e = tok.encode("a <new> b");
    expect(e.ids).toEqual([2, 20, 22, 21, 3]);
    expect(e.wordIds).toEqual([null, 0, 1, 2, null]);
    expect(tok.decode(e.ids, { skipSpecialTokens: true })).toBe("a b");
    expect(tok.isSpecialId(22)).toBe(true);
    const ids = tok.encode("don't.").ids;
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe("don't.");
    const raw = loadTokenizer({ vocab: VOCAB, tokenizerConfig: { clean_up_tokenization_spaces: false } });
    expect(raw.decode(ids, { skipSpecialTokens: true })).toBe("don ' t.");
  });

  it("with tokenizer.json, a normalizer setting the config states and the file contradicts follows the config (BertTokenizerFast)", () => {
    const vocab = Object.fromEntries(VOCAB.trimEnd().split("\n").map((t, i) => [t, i]));
    const file = {
      model: { type: "WordPiece", vocab, unk_token: "[UNK]" },
      normalizer: { type: "BertNormalizer", lowercase: true, strip_accents: null, handle_chinese_chars: true, clean_text: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
    };
    expect(loadTokenizer({ tokenizerJson: file }).encode("Hello").tokens[1]).toBe("hello");
    expect(loadTokenizer({ tokenizerJson: file, tokenizerConfig: { do_lower_case: true } }).encode("Hello").tokens[1]).toBe("hello");
    expect(loadTokenizer({ tokenizerJson: file, tokenizerConfig: {} }).encode("Hello").tokens[1]).toBe("hello");
    const cased = loadTokenizer({ tokenizerJson: JSON.stringify(file), tokenizerConfig: { do_lower_case: false } });
    expect(cased.encode("Hello café").tokens).toEqual(["[CLS]", "Hello", "café", "[SEP]"]);
    // tokenizer.json decides the model: a non-BERT tokenizer_class is no objection then, but is for vocab.txt.
    expect(loadTokenizer({ tokenizerJson: file, tokenizerConfig: { tokenizer_class: "RobertaTokenizer" } }).vocabSize).toBe(22);
    expect(() => loadTokenizer({ vocab: VOCAB, tokenizerConfig: { tokenizer_class: "RobertaTokenizer" } })).toThrow(TokenizerError);
  });

  it("every field is checked: a wrong type is a TokenizerError naming the file and the field", () => {
    const bad: [unknown, string][] = [
      ["{", "malformed JSON"],
      ["[]", "top level is an array"],
      [{ do_lower_case: "false" }, 'do_lower_case is "false"'],
      [{ strip_accents: 1 }, "strip_accents is 1"],
      [{ tokenize_chinese_chars: [] }, "tokenize_chinese_chars is an array"],
      [{ model_max_length: -1 }, "model_max_length is -1"],
      [{ model_max_length: 2.5 }, "model_max_length is 2.5"],
      [{ model_max_length: "512" }, 'model_max_length is "512"'],
      [{ unk_token: 7 }, "unk_token is 7"],
      [{ mask_token: { content: "" } }, 'mask_token is ""'],
      [{ unk_token: "<nope>" }, "no <nope> token"],
      [{ additional_special_tokens: "x" }, 'additional_special_tokens is "x"'],
      [{ additional_special_tokens: ["<zz>"] }, "no <zz> token"],
      [{ added_tokens_decoder: { x: { content: "y" } } }, 'added_tokens_decoder["x"] is not a token id'],
      [{ added_tokens_decoder: { "5": "y" } }, 'added_tokens_decoder["5"] is "y"'],
      [{ added_tokens_decoder: { "5": { content: "y", special: "yes" } } }, 'added_tokens_decoder["5"].special is "yes"'],
      [{ added_tokens_decoder: { "2000000000": { content: "y" } } }, "far past the 22 tokens"],
      [{ tokenizer_class: 3 }, "tokenizer_class is 3"],
    ];
    for (const [config, fragment] of bad) {
      const text = typeof config === "string" ? config : JSON.stringify(config);
      let error: unknown = null;
      try {
        loadTokenizer({ vocab: VOCAB, tokenizerConfig: text }, { sources: { tokenizerConfig: "dir/tokenizer_config.json" } });
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(TokenizerError);
      expect((error as Error).message, text).toContain(fragment);
      if (!fragment.startsWith("no ")) expect((error as Error).message, text).toContain("dir/tokenizer_config.json");
    }
    expect(() => loadTokenizer({})).toThrow(InputError);
  });
});
