/**
 * Differential test against @huggingface/tokenizers (the JS peer the reference files were made with).
 *
 * The generator leaves out the inputs where the peer is known to differ from Rust `tokenizers` (see
 * ../shared/data/SOURCES.md): capital sigma (the peer lowercases the whole string, so a final Σ becomes ς) and CJK
 * outside the BMP (the peer walks UTF-16 units and never isolates them). Everything else must give identical ids.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WordPieceTokenizer } from "../src/tokenizer/index.js";
import { sharedDir } from "./helpers/shared.js";

const shared = sharedDir();
if (shared === null) console.warn("tokenizer-diff: ../shared is missing, skipping the differential test");

const WORDS = [
  "the", "movie", "was", "unaffable", "Hello", "WORLD", "don't", "it's", "supercalifragilistic", "McDonald",
  "naïve", "café", "résumé", "Zürich", "São", "Straße", "İstanbul", "Ελληνικά", "Привет", "東京", "日本語のテキスト",
  "한국어", "مرحبا", "नमस्ते", "😀", "👍🏽", "e\u0301", "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]",
  "[unused1]", "zero\u200bwidth", "soft\u00adhyphen", "bad\ufffdchar", "nul\u0000", "ﬁ", "½", "²", "°C", "±5",
  "3.14", "$1,000", "https://example.com/?q=1&x=y#f", "user@example.co.uk", "a".repeat(101), "é".repeat(60),
];
const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…–—“”‘’«»¿¡、。「」·•".split("");
const ACCENTED = "éèêëáàâäãåçñöüßøæœíìîïóòôõúùûýÿÁÉÑÖÜÅÆØČŠŽąęłńśźżőűĳ".split("");
const SPACES = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u2028", "\u202f"];

const asciiWord = fc
  .array(fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("")), {
    minLength: 1,
    maxLength: 14,
  })
  .map((cs) => cs.join(""));
const cjk = fc
  .oneof(
    fc.integer({ min: 0x4e00, max: 0x9fff }),
    fc.integer({ min: 0x3400, max: 0x4dbf }),
    fc.integer({ min: 0xf900, max: 0xfaff }),
    fc.integer({ min: 0x3040, max: 0x30ff }),
    fc.integer({ min: 0xac00, max: 0xd7a3 }),
  )
  .map((cp) => String.fromCharCode(cp));
const accentedWord = fc
  .array(fc.oneof(fc.constantFrom(...ACCENTED), fc.constantFrom(..."aeiounrst".split(""))), { minLength: 1, maxLength: 8 })
  .map((cs) => cs.join(""));
const fragment = fc.oneof(
  { arbitrary: asciiWord, weight: 6 },
  { arbitrary: fc.constantFrom(...WORDS), weight: 3 },
  { arbitrary: fc.constantFrom(...PUNCT), weight: 3 },
  { arbitrary: accentedWord, weight: 2 },
  { arbitrary: cjk, weight: 2 },
  { arbitrary: fc.constantFrom(...SPACES), weight: 6 },
);
const text = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(""));

describe.skipIf(shared === null)("differential vs @huggingface/tokenizers", () => {
  const json = shared === null ? null : JSON.parse(readFileSync(join(shared, "data", "tokenizer.json"), "utf8"));
  const peer = json === null ? null : new Tokenizer(json, {});
  const ours = json === null ? null : WordPieceTokenizer.fromTokenizerJson(json);

  it("the generator avoids the documented divergences", () => {
    fc.assert(
      fc.property(text, (t) => !t.includes("Σ") && ![...t].some((c) => c.codePointAt(0)! >= 0x20000 && c.codePointAt(0)! < 0x30000)),
      { numRuns: 200 },
    );
  });

  it("gives identical ids on ~1000 random mixed texts", () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(ours!.encode(t, { maxLength: Infinity }).ids).toEqual(peer!.encode(t).ids);
      }),
      { numRuns: 1000 },
    );
  });

  it("gives identical ids and token type ids on ~300 random text pairs ([CLS] a [SEP] b [SEP])", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const want = peer!.encode(a, { text_pair: b, return_token_type_ids: true });
        const e = ours!.encode(a, { pair: b, maxLength: Infinity });
        expect(e.ids).toEqual(want.ids);
        // token_type_ids: 1 after the first [SEP] (through the last one), where our sequence ids put the pair. An
        // empty pair is no pair for both (transformers' `if text_pair`).
        const firstSep = e.sequenceIds.indexOf(null, 1);
        expect(e.ids.map((_, k) => (b !== "" && k > firstSep ? 1 : 0))).toEqual(want.token_type_ids);
      }),
      { numRuns: 300 },
    );
  });

  it("decodes identically (with and without special tokens)", () => {
    fc.assert(
      fc.property(text, (t) => {
        const ids = peer!.encode(t).ids;
        expect(ours!.decode(ids)).toBe(peer!.decode(ids));
        expect(ours!.decode(ids, { skipSpecialTokens: true })).toBe(peer!.decode(ids, { skip_special_tokens: true }));
      }),
      { numRuns: 300 },
    );
  });
});
