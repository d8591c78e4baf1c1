import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError, TokenizerError } from "../src/errors.js";
import { type Encoding, WordPieceTokenizer } from "../src/tokenizer/index.js";
import { sharedDir } from "./helpers/shared.js";

const shared = sharedDir();
if (shared === null) {
  console.warn("tokenizer tests: ../shared is missing, skipping the reference-data tests (set CI to make this fatal)");
}
const dataDir = shared === null ? null : join(shared, "data");

interface DevRow {
  i: number;
  text: string;
  input_ids: number[];
}
interface EdgeRow extends DevRow {
  name: string;
  tokens: string[];
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

/** A tiny vocabulary for tests that must not depend on ../shared. */
const MINI_TOKENS = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  ..."abcdefghijklmnopqrstuvwxyz0123456789".split(""),
  ..."abcdefghijklmnopqrstuvwxyz0123456789".split("").map((c) => "##" + c),
  ..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".split(""),
  "hello",
  "world",
  "un",
  "##aff",
  "##able",
  "cafe",
  "constructor",
  "__proto__",
  "tostring",
  "中",
  "σ",
  "ο",
  "##ο",
  "##σ",
  "##δ",
];
const MINI_VOCAB = MINI_TOKENS.join("\n") + "\n";
const mini = WordPieceTokenizer.fromVocab(MINI_VOCAB);

const bertVocab = dataDir === null ? null : readFileSync(join(dataDir, "bert-base-uncased-vocab.txt"), "utf8");
const bertJson = dataDir === null ? null : readFileSync(join(dataDir, "tokenizer.json"), "utf8");
const fromVocab = bertVocab === null ? null : WordPieceTokenizer.fromVocab(bertVocab);
const fromJson = bertJson === null ? null : WordPieceTokenizer.fromTokenizerJson(bertJson);
/** The real tokenizer when available, the mini one otherwise (properties hold for both). */
const anyTok = fromVocab ?? mini;

/** Why the offsets of `e` are wrong for `text`, or null. Plain checks: `expect` per token is too slow here. */
function offsetProblem(text: string, e: Encoding): string | null {
  let prevStart = 0;
  let prevEnd = 0;
  for (let k = 0; k < e.offsets.length; k++) {
    const [s, end] = e.offsets[k];
    if (!Number.isInteger(s) || !Number.isInteger(end) || s < 0 || end > text.length || s > end) {
      return `token ${k} has offsets [${s}, ${end}] outside the text of length ${text.length}`;
    }
    const addedSpecial = (k === 0 || k === e.offsets.length - 1) && s === 0 && end === 0;
    if (addedSpecial) continue;
    if (s < prevStart || end < prevEnd) return `token ${k} offsets [${s}, ${end}] go back from [${prevStart}, ${prevEnd}]`;
    prevStart = s;
    prevEnd = end;
  }
  return null;
}

function checkOffsets(text: string, e: Encoding): void {
  expect(offsetProblem(text, e)).toBeNull();
}

/** Tokens whose source slice is plain ASCII must be that slice lowercased; returns [checked, mismatches]. */
function asciiSliceMismatches(text: string, e: Encoding): [number, string[]] {
  let checked = 0;
  const bad: string[] = [];
  e.tokens.forEach((token, k) => {
    const [s, end] = e.offsets[k];
    const slice = text.slice(s, end);
    if (token === "[UNK]" || s === end || !/^[\x21-\x7e]+$/.test(slice) || /\[(CLS|SEP|PAD|UNK|MASK)\]/.test(slice)) return;
    if (slice.toLowerCase() !== (token.startsWith("##") ? token.slice(2) : token)) bad.push(`${token} <- ${slice}`);
    checked++;
  });
  return [checked, bad];
}

describe.skipIf(dataDir === null)("reference data (../shared/data)", () => {
  const dev = dataDir === null ? [] : readJsonl<DevRow>(join(dataDir, "sst2-dev.tokens.jsonl"));
  const edge = dataDir === null ? [] : readJsonl<EdgeRow>(join(dataDir, "tokenizer-edge-cases.jsonl"));

  it("has the expected number of rows", () => {
    expect(dev.length).toBe(872);
    expect(edge.length).toBe(94);
  });

  for (const [name, tok] of [
    ["vocab.txt", fromVocab],
    ["tokenizer.json", fromJson],
  ] as const) {
    it(`SST-2 dev: 872/872 input_ids from ${name}`, () => {
      const wrong = dev.filter((r) => JSON.stringify(tok!.encode(r.text).ids) !== JSON.stringify(r.input_ids));
      expect(wrong.map((r) => r.i)).toEqual([]);
    });

    it(`edge cases: 94/94 input_ids and tokens from ${name}`, () => {
      const wrong: string[] = [];
      for (const r of edge) {
        const e = tok!.encode(r.text, { maxLength: Infinity });
        if (JSON.stringify(e.ids) !== JSON.stringify(r.input_ids) || JSON.stringify(e.tokens) !== JSON.stringify(r.tokens)) {
          wrong.push(`${r.name}: ${JSON.stringify(e.tokens)}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it("vocab.txt and tokenizer.json agree on ids, special ids and size", () => {
    const a = fromVocab!;
    const b = fromJson!;
    expect([a.vocabSize, a.clsId, a.sepId, a.padId, a.unkId, a.maskId]).toEqual([30522, 101, 102, 0, 100, 103]);
    expect([b.vocabSize, b.clsId, b.sepId, b.padId, b.unkId, b.maskId]).toEqual([30522, 101, 102, 0, 100, 103]);
    expect(a.tokenToId("hello")).toBe(7592);
    expect(a.idToToken(30521)).toBe("##～");
  });

  it("offsets lie within the text, never decrease, and slice back to ASCII tokens", () => {
    let checked = 0;
    const problems: string[] = [];
    for (const r of [...dev, ...edge]) {
      for (const tok of [fromVocab!, fromJson!]) {
        const e = tok.encode(r.text, { maxLength: Infinity });
        const problem = offsetProblem(r.text, e);
        if (problem !== null) problems.push(`${JSON.stringify(r.text)}: ${problem}`);
        const [n, bad] = asciiSliceMismatches(r.text, e);
        checked += n;
        for (const b of bad) problems.push(`${JSON.stringify(r.text)}: ${b}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40000);
  });

  it("maps offsets of transformed text back to the original span", () => {
    const tok = fromVocab!;
    const text = "Ångström CAFÉ 한 a𠮷b ΟΔΟΣ x[MASK]y";
    const e = tok.encode(text);
    const spans = e.tokens.map((t, k) => [t, text.slice(...e.offsets[k])]);
    expect(spans).toEqual([
      ["[CLS]", ""],
      ["ang", "Ång"],
      ["##strom", "ström"],
      ["cafe", "CAFÉ"],
      ["ᄒ", "한"],
      ["##ᅡ", "한"],
      ["##ᆫ", "한"],
      ["a", "a"],
      ["[UNK]", "𠮷"],
      ["b", "b"],
      ["ο", "Ο"],
      ["##δ", "Δ"],
      ["##ο", "Ο"],
      ["##σ", "Σ"],
      ["x", "x"],
      ["[MASK]", "[MASK]"],
      ["y", "y"],
      ["[SEP]", ""],
    ]);
  });

  it("uses Rust's CJK ranges: U+2B820..U+2B91F are not isolated, U+2B920 is", () => {
    const tok = fromVocab!;
    expect(tok.encode("a\u{2B820}b").tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
    expect(tok.encode("a\u{2B920}b").tokens).toEqual(["[CLS]", "a", "[UNK]", "b", "[SEP]"]);
  });

  it("decodes like transformers' BertTokenizerFast.decode", () => {
    const tok = fromVocab!;
    const ids = tok.encode("Hello, my dog isn't cute! It's 3.14 C++ unaffable.").ids;
    expect(tok.decode(ids)).toBe("[CLS] hello, my dog isn't cute! it's 3. 14 c + + unaffable. [SEP]");
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe("hello, my dog isn't cute! it's 3. 14 c + + unaffable.");
    expect(tok.decode([])).toBe("");
  });

  it("truncates to maxLength keeping [SEP]", () => {
    const tok = fromVocab!;
    const e = tok.encode("the quick brown fox jumps", { maxLength: 4 });
    expect(e.tokens).toEqual(["[CLS]", "the", "quick", "[SEP]"]);
    expect(e.truncated).toBe(true);
    expect(e.numTokens).toBe(7);
    const long = "word ".repeat(1000);
    const d = tok.encode(long);
    expect(d.ids.length).toBe(512);
    expect(d.ids[511]).toBe(102);
    expect(d.numTokens).toBe(1002);
    tok.modelMaxLength = 128;
    try {
      expect(tok.encode(long).ids.length).toBe(128);
    } finally {
      tok.modelMaxLength = 512;
    }
    expect(tok.encode(long, { maxLength: Infinity }).ids.length).toBe(1002);
  });
});

describe("encoding (mini vocabulary)", () => {
  it("loads ids from line numbers", () => {
    expect(mini.vocabSize).toBe(MINI_TOKENS.length);
    expect([mini.padId, mini.unkId, mini.clsId, mini.sepId, mini.maskId]).toEqual([0, 1, 2, 3, 4]);
    expect(mini.tokenToId("hello")).toBe(MINI_TOKENS.indexOf("hello"));
    expect(mini.idToToken(MINI_TOKENS.indexOf("##able"))).toBe("##able");
    expect(mini.idToToken(-1)).toBeUndefined();
    expect(mini.idToToken(1.5)).toBeUndefined();
    expect(mini.idToToken(mini.vocabSize)).toBeUndefined();
  });

  it("greedy longest-match WordPiece with ## continuation", () => {
    expect(mini.encode("Unaffable hello").tokens).toEqual(["[CLS]", "un", "##aff", "##able", "hello", "[SEP]"]);
    expect(mini.encode("ab").tokens).toEqual(["[CLS]", "a", "##b", "[SEP]"]);
    expect(mini.encode("aé!").tokens).toEqual(["[CLS]", "a", "##e", "!", "[SEP]"]);
    // A word with one unknown character is one [UNK] as a whole.
    expect(mini.encode("abλcd ok").tokens).toEqual(["[CLS]", "[UNK]", "o", "##k", "[SEP]"]);
  });

  it("counts the 100-character limit in normalized code points", () => {
    expect(mini.encode("a".repeat(100)).ids.length).toBe(102);
    expect(mini.encode("a".repeat(101)).tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
    expect(mini.encode("e\u0301".repeat(100), { maxLength: Infinity }).ids.length).toBe(102);
    expect(mini.encode("😀".repeat(60)).tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
  });

  it("matches literal special tokens case-sensitively before normalization", () => {
    expect(mini.encode("x[MASK]y").tokens).toEqual(["[CLS]", "x", "[MASK]", "y", "[SEP]"]);
    expect(mini.encode("[mask]").tokens).toEqual(["[CLS]", "[", "m", "##a", "##s", "##k", "]", "[SEP]"]);
    expect(mini.encode("[CLS]").ids).toEqual([2, 2, 3]);
    const e = mini.encode("a [SEP] b");
    expect(e.offsets[2]).toEqual([2, 7]);
  });

  it("lowercases one code point at a time (Greek final sigma stays σ)", () => {
    expect(mini.encode("ΟΔΟΣ").tokens).toEqual(["[CLS]", "ο", "##δ", "##ο", "##σ", "[SEP]"]);
  });

  it("isolates CJK ideographs, including astral ones", () => {
    expect(mini.encode("a中b").tokens).toEqual(["[CLS]", "a", "中", "b", "[SEP]"]);
    const e = mini.encode("a𠮷b");
    expect(e.tokens).toEqual(["[CLS]", "a", "[UNK]", "b", "[SEP]"]);
    expect(e.offsets[2]).toEqual([1, 3]);
  });

  it("cleans text: drops Cc/Cf/Co/U+FFFD/lone surrogates, keeps Cn, maps whitespace", () => {
    expect(mini.encode("a\u200bb\u0000c\ufffdd\ue000e\ud800f").tokens).toEqual([
      "[CLS]", "a", "##b", "##c", "##d", "##e", "##f", "[SEP]",
    ]);
    expect(mini.encode("a\u0378b").tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
    expect(mini.encode("a\u3000b\u2028c\u00a0d\te").tokens).toEqual(["[CLS]", "a", "b", "c", "d", "e", "[SEP]"]);
  });

  it("treats ASCII symbols and Unicode P* as punctuation, other symbols as letters", () => {
    expect(mini.encode("a$b~c").tokens).toEqual(["[CLS]", "a", "$", "b", "~", "c", "[SEP]"]);
    expect(mini.encode("a«b").tokens).toEqual(["[CLS]", "a", "[UNK]", "b", "[SEP]"]);
    expect(mini.encode("a±b").tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
  });

  it("addSpecialTokens: false and empty input", () => {
    expect(mini.encode("hello", { addSpecialTokens: false }).tokens).toEqual(["hello"]);
    expect(mini.encode("").ids).toEqual([2, 3]);
    expect(mini.encode("", { addSpecialTokens: false }).ids).toEqual([]);
    expect(mini.encode(" \n\t ").ids).toEqual([2, 3]);
  });

  it("truncation without specials and invalid maxLength", () => {
    const e = mini.encode("hello world hello", { addSpecialTokens: false, maxLength: 2 });
    expect(e.tokens).toEqual(["hello", "world"]);
    expect(e.truncated).toBe(true);
    expect(e.numTokens).toBe(3);
    expect(mini.encode("hello", { maxLength: 2 }).tokens).toEqual(["[CLS]", "[SEP]"]);
    expect(() => mini.encode("hello", { maxLength: 1 })).toThrow(InputError);
    expect(() => mini.encode("hello", { maxLength: 2.5 })).toThrow(InputError);
    expect(() => mini.encode("hello", { maxLength: Number.NaN })).toThrow(InputError);
    expect(() => mini.encode(42 as unknown as string)).toThrow(InputError);
  });

  it("tokenizeToIds gives the pieces without specials or truncation", () => {
    const text = "hello world ".repeat(400);
    const t = mini.tokenizeToIds(text);
    expect(t.ids.length).toBe(800);
    expect(t.offsets[1]).toEqual([6, 11]);
    expect(mini.encode(text, { maxLength: Infinity }).ids.slice(1, -1)).toEqual(t.ids);
  });

  it("batch encoding pads with padId and masks padding", () => {
    const b = mini.encodeBatch(["hello", "hello world", ""]);
    expect(b.ids).toEqual([
      [2, 42, 3, 0],
      [2, 42, 43, 3],
      [2, 3, 0, 0],
    ].map((row) => row.map((id) => (id === 42 ? mini.tokenToId("hello")! : id === 43 ? mini.tokenToId("world")! : id))));
    expect(b.attentionMask).toEqual([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
      [1, 1, 0, 0],
    ]);
    expect(b.encodings[0]).toEqual(mini.encode("hello"));
    expect(mini.encodeBatch(["hello"], { padTo: 6 }).ids[0]).toEqual([2, mini.tokenToId("hello"), 3, 0, 0, 0]);
    expect(mini.encodeBatch([]).ids).toEqual([]);
    expect(() => mini.encodeBatch(["a", 3 as unknown as string])).toThrow(InputError);
    expect(() => mini.encodeBatch(["a"], { padTo: -1 })).toThrow(InputError);
  });

  it("decode joins ## pieces, cleans up spaces and can skip specials", () => {
    const ids = mini.encode("Unaffable, hello! don't").ids;
    expect(mini.decode(ids)).toBe("[CLS] unaffable, hello! don't [SEP]");
    expect(mini.decode(Int32Array.from(ids), { skipSpecialTokens: true })).toBe("unaffable, hello! don't");
    expect(() => mini.decode([mini.vocabSize])).toThrow(InputError);
    expect(() => mini.decode([-1])).toThrow(InputError);
    expect(() => mini.decode([0.5])).toThrow(InputError);
  });

  it("treats __proto__, constructor and toString as ordinary tokens", () => {
    expect(mini.tokenToId("__proto__")).toBe(MINI_TOKENS.indexOf("__proto__"));
    expect(mini.tokenToId("toString")).toBeUndefined();
    expect(mini.tokenToId("hasOwnProperty")).toBeUndefined();
    expect(mini.encode("constructor toString").tokens).toEqual(["[CLS]", "constructor", "tostring", "[SEP]"]);
    const json = JSON.stringify({
      model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0, "[CLS]": 1, "[SEP]": 2, valueOf: 3, toString: 4 } },
      normalizer: null,
      pre_tokenizer: { type: "BertPreTokenizer" },
    }).replace('"valueOf"', '"__proto__"');
    const tok = WordPieceTokenizer.fromTokenizerJson(json);
    expect(tok.tokenToId("__proto__")).toBe(3);
    expect(tok.tokenToId("toString")).toBe(4);
    expect(tok.encode("toString").ids).toEqual([1, 4, 2]);
    expect(tok.encode("constructor").ids).toEqual([1, 0, 2]);
  });

  it("tolerates CRLF, a missing final newline and a BOM in vocab.txt", () => {
    const crlf = WordPieceTokenizer.fromVocab("\ufeff" + MINI_TOKENS.join("\r\n") + "\r\n");
    const bare = WordPieceTokenizer.fromVocab(MINI_TOKENS.join("\n"));
    for (const tok of [crlf, bare]) {
      expect(tok.vocabSize).toBe(MINI_TOKENS.length);
      expect(tok.encode("Unaffable hello").ids).toEqual(mini.encode("Unaffable hello").ids);
      expect(tok.tokenToId("[PAD]")).toBe(0);
    }
  });

  it("honours added tokens from tokenizer.json: normalized, lstrip/rstrip, single_word", () => {
    const vocab: Record<string, number> = {};
    MINI_TOKENS.forEach((t, i) => (vocab[t] = i));
    const n = MINI_TOKENS.length;
    const tok = WordPieceTokenizer.fromTokenizerJson({
      model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
      added_tokens: [
        { id: 2, content: "[CLS]", special: true, normalized: false },
        { id: 3, content: "[SEP]", special: true, normalized: false },
        { id: n, content: "<Hi>", special: false, normalized: true },
        { id: n + 1, content: "<ws>", special: true, normalized: false, lstrip: true, rstrip: true },
        { id: n + 2, content: "zz", special: false, normalized: false, single_word: true },
      ],
    });
    expect(tok.vocabSize).toBe(n + 3);
    expect(tok.encode("a<HI>b").tokens).toEqual(["[CLS]", "a", "<Hi>", "b", "[SEP]"]);
    const e = tok.encode("a  <ws>  b");
    expect(e.tokens).toEqual(["[CLS]", "a", "<ws>", "b", "[SEP]"]);
    expect(e.offsets[2]).toEqual([1, 9]);
    expect(tok.encode("zz azz zz").tokens).toEqual(["[CLS]", "zz", "a", "##z", "##z", "zz", "[SEP]"]);
    expect(tok.decode(tok.encode("a <ws> b").ids, { skipSpecialTokens: true })).toBe("a b");
  });
});

describe("robustness", () => {
  it("never throws on hostile strings and stays linear on 1 MB inputs", () => {
    const cases = [
      "\u0000".repeat(1000),
      "\ud800\udc00\udfff\ud800",
      "😀".repeat(100_000),
      "[".repeat(100_000),
      "[MASK".repeat(20_000),
      "中".repeat(100_000),
      "é".repeat(100_000),
    ];
    for (const text of cases) expect(() => anyTok.encode(text)).not.toThrow();
    const words = "the quick, brown fox jumps over the lazy dog. ".repeat(23_000);
    const big = words.slice(0, 1 << 20);
    const t0 = performance.now();
    const r = anyTok.tokenizeToIds(big);
    const t1 = performance.now();
    expect(r.ids.length).toBeGreaterThan(200_000);
    const one = anyTok.tokenizeToIds("a".repeat(1 << 20));
    expect(one.ids).toEqual([anyTok.unkId]);
    expect(one.offsets).toEqual([[0, 1 << 20]]);
    expect(t1 - t0).toBeLessThan(2000);
  });

  it("gives results that do not depend on what was encoded before (word cache)", () => {
    const probes = ["unaffable hello", "Hello, World!", "abc abd abe", "ΟΔΟΣ café 中"];
    const cold = WordPieceTokenizer.fromVocab(MINI_VOCAB);
    const expected = probes.map((p) => cold.encode(p));
    const warm = WordPieceTokenizer.fromVocab(MINI_VOCAB);
    // Thousands of distinct words force collisions and evictions in the fixed-size cache.
    const words: string[] = [];
    for (let i = 0; i < 30_000; i++) words.push(i.toString(36) + "x" + ((i * 7919) % 1000).toString(36));
    warm.encode(words.join(" "), { maxLength: Infinity });
    expect(probes.map((p) => warm.encode(p))).toEqual(expected);
    warm.encode(words.reverse().join(" "), { maxLength: Infinity });
    expect(probes.map((p) => warm.encode(p))).toEqual(expected);
  });

  const fullUnicode = fc.string({ unit: "binary", maxLength: 80 });
  const withSurrogates = fc
    .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0x10000, max: 0x10ffff })), { maxLength: 60 })
    .map((cps) => cps.map((cp) => (cp <= 0xffff ? String.fromCharCode(cp) : String.fromCodePoint(cp))).join(""));
  const mixed = fc
    .array(
      fc.oneof(
        fc.constantFrom("[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", " ", "\t", "hello", "Ünaffable", "中", "𠮷"),
        fullUnicode,
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join(""));
  const texts = fc.oneof(fullUnicode, withSurrogates, mixed);

  it("property: ids in range, offsets in the string, deterministic", () => {
    for (const tok of [anyTok, mini]) {
      fc.assert(
        fc.property(texts, (text) => {
          const a = tok.encode(text, { maxLength: Infinity });
          const b = tok.encode(text, { maxLength: Infinity });
          expect(b).toEqual(a);
          expect(a.ids.length).toBe(a.tokens.length);
          expect(a.ids.length).toBe(a.offsets.length);
          for (const id of a.ids) expect(id >= 0 && id < tok.vocabSize && Number.isInteger(id)).toBe(true);
          a.tokens.forEach((t, k) => expect(tok.tokenToId(t)).toBe(a.ids[k]));
          checkOffsets(text, a);
          expect(typeof tok.decode(a.ids)).toBe("string");
        }),
        { numRuns: 300 },
      );
    }
  });

  it("property: batch encoding equals single encodings padded", () => {
    fc.assert(
      fc.property(fc.array(texts, { maxLength: 5 }), fc.integer({ min: 2, max: 40 }), (batch, maxLength) => {
        const b = anyTok.encodeBatch(batch, { maxLength });
        const singles = batch.map((t) => anyTok.encode(t, { maxLength }));
        const width = Math.max(0, ...singles.map((s) => s.ids.length));
        expect(b.encodings).toEqual(singles);
        singles.forEach((s, i) => {
          const pad = width - s.ids.length;
          expect(b.ids[i]).toEqual([...s.ids, ...new Array(pad).fill(anyTok.padId)]);
          expect(b.attentionMask[i]).toEqual([...s.attentionMask, ...new Array(pad).fill(0)]);
          expect(s.ids.length).toBeLessThanOrEqual(maxLength);
          expect(s.ids[s.ids.length - 1]).toBe(anyTok.sepId);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe("loading errors", () => {
  const expectError = (fn: () => unknown, ...parts: (string | RegExp)[]): void => {
    let error: unknown;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenizerError);
    for (const p of parts) expect((error as Error).message).toMatch(p);
  };

  it("rejects bad vocab.txt files, naming the source", () => {
    expectError(() => WordPieceTokenizer.fromVocab(""), /^vocab\.txt: /, "empty");
    expectError(() => WordPieceTokenizer.fromVocab("\n"), "vocab.txt", "empty");
    expectError(() => WordPieceTokenizer.fromVocab("[CLS]\n[SEP]\na\n"), "vocab.txt", "[UNK]");
    expectError(() => WordPieceTokenizer.fromVocab("[UNK]\n[SEP]\na\n"), "vocab.txt", "[CLS]");
    expectError(() => WordPieceTokenizer.fromVocab("[UNK]\n[CLS]\na\n"), "vocab.txt", "[SEP]");
    expectError(
      () => WordPieceTokenizer.fromVocab("[UNK]\n[CLS]\n[SEP]\nhello\nworld\nhello\n", { source: "my/vocab.txt" }),
      /^my\/vocab\.txt: /,
      "duplicate",
      '"hello"',
      "lines 4 and 6",
    );
    expectError(() => WordPieceTokenizer.fromVocab("[UNK]\n\n[CLS]\n[SEP]\n"), "vocab.txt", "line 2 is empty");
  });

  const minimalJson = () => ({
    model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0, "[CLS]": 1, "[SEP]": 2, a: 3 } },
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
  });

  it("accepts a minimal tokenizer.json", () => {
    const tok = WordPieceTokenizer.fromTokenizerJson(minimalJson());
    expect(tok.encode("A b").ids).toEqual([1, 3, 0, 2]);
    expect(tok.padId).toBe(0);
    expect(tok.maskId).toBeUndefined();
  });

  it("rejects bad tokenizer.json files, naming the source", () => {
    expectError(() => WordPieceTokenizer.fromTokenizerJson("{ not json"), /^tokenizer\.json: /, "malformed JSON");
    expectError(() => WordPieceTokenizer.fromTokenizerJson("[1, 2]", { source: "t.json" }), /^t\.json: /, "object");
    const bpe = { ...minimalJson(), model: { type: "BPE", vocab: { a: 0 }, merges: [] } };
    expectError(() => WordPieceTokenizer.fromTokenizerJson(bpe), "tokenizer.json", "BPE", "WordPiece");
    expectError(() => WordPieceTokenizer.fromTokenizerJson(JSON.stringify(bpe)), "BPE");
    const noModel = { normalizer: null };
    expectError(() => WordPieceTokenizer.fromTokenizerJson(noModel), "model");
    const empty = minimalJson();
    empty.model.vocab = {} as typeof empty.model.vocab;
    expectError(() => WordPieceTokenizer.fromTokenizerJson(empty), "empty");
    for (const missing of ["[UNK]", "[CLS]", "[SEP]"]) {
      const j = minimalJson();
      delete (j.model.vocab as Record<string, number>)[missing];
      expectError(() => WordPieceTokenizer.fromTokenizerJson(j, { source: "x/tokenizer.json" }), /^x\/tokenizer\.json: /, missing);
    }
    const dupId = minimalJson();
    (dupId.model.vocab as Record<string, number>).b = 3;
    expectError(() => WordPieceTokenizer.fromTokenizerJson(dupId), "id 3");
    const badId = minimalJson();
    (badId.model.vocab as Record<string, unknown>).b = "7";
    expectError(() => WordPieceTokenizer.fromTokenizerJson(badId), '"b"');
    const badNorm = { ...minimalJson(), normalizer: { type: "NFKC" } };
    expectError(() => WordPieceTokenizer.fromTokenizerJson(badNorm), "NFKC");
    const badPre = { ...minimalJson(), pre_tokenizer: { type: "ByteLevel" } };
    expectError(() => WordPieceTokenizer.fromTokenizerJson(badPre), "ByteLevel");
    expectError(() => WordPieceTokenizer.fromTokenizerJson(null as unknown as object), "tokenizer.json");
  });
});
