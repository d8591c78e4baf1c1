/**
 * Text pairs, truncation strategies, overflowing windows and word ids: the rules against Rust `tokenizers`' own
 * unit-test table, then fuzzed (any text, any pair, any length, stride and strategy) for the invariants HF's
 * windows keep. Needs no fixture: a small vocabulary in the file, plus bert-base-uncased when ../shared is there.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { type Encoding, loadTokenizer, type TruncationStrategy, type WordPieceTokenizer } from "../src/tokenizer/index.js";
import { truncatedLengths, windowRanges } from "../src/tokenizer/windows.js";
import { sharedDir } from "./helpers/shared.js";

const LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789";
const MINI = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...LETTERS, ...[...LETTERS].map((c) => "##" + c),
  ..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "hello", "world", "un", "##aff", "##able", "東", "京"].join("\n") + "\n";
const mini = loadTokenizer({ vocab: MINI });

describe("the truncation rules of Rust tokenizers", () => {
  it("longest_first: the table of Rust's own truncate_encodings_longest_first test (max_length 7)", () => {
    // Lengths empty 0, short 2, medium 4, long 8; each row [len a, len b, kept a, kept b] from the Rust test.
    const table = [
      [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
      [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
      [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
      [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
    ];
    for (const [a, b, ka, kb] of table) expect(truncatedLengths(a, b, 7, "longest_first"), `${a}, ${b}`).toEqual([ka, kb]);
  });

  it("only_first / only_second cut one text; a cut it cannot take is an InputError, as Rust's SequenceTooShort", () => {
    expect(truncatedLengths(5, 9, 10, "only_second")).toEqual([5, 5]);
    expect(truncatedLengths(9, 5, 10, "only_first")).toEqual([5, 5]);
    expect(truncatedLengths(9, undefined, 4, "only_second")).toEqual([4, undefined]);
    expect(() => truncatedLengths(12, 3, 10, "only_second")).toThrow(InputError);
    expect(() => mini.encode("a b c d e f g h", { pair: "a", truncation: "only_second", maxLength: 6 })).toThrow(/only_second must remove/);
  });

  it("windows: Encoding::truncate's ranges (size, step size - stride, the last one ending the text)", () => {
    expect(windowRanges(10, 4, 1)).toEqual([[0, 4], [3, 7], [6, 10]]);
    expect(windowRanges(10, 4, 0)).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(windowRanges(9, 4, 2)).toEqual([[0, 4], [2, 6], [4, 8], [6, 9]]);
    expect(windowRanges(3, 4, 2)).toEqual([[0, 3]]);
    expect(windowRanges(3, 0, 0)).toEqual([[0, 0], [0, 3]]);
    expect(() => mini.encodeWindows("a b c d e f", { maxLength: 5, stride: 3 })).toThrow(/stride/);
    expect(() => mini.encodeWindows("a b", { pair: "c d", maxLength: 7 })).not.toThrow();
    expect(() => mini.encodeWindows("a b c", { pair: "c d e", maxLength: 6 })).toThrow(/longest_first/);
  });
});

describe("pairs and word ids", () => {
  it("[CLS] a [SEP] b [SEP]: sequence ids, word ids per text, offsets into each text", () => {
    const e = mini.encode("hello, unaffable!", { pair: "東京 [MASK] world" });
    expect(e.tokens).toEqual(["[CLS]", "hello", ",", "un", "##aff", "##able", "!", "[SEP]", "東", "京", "[MASK]", "world", "[SEP]"]);
    expect(e.sequenceIds).toEqual([null, 0, 0, 0, 0, 0, 0, null, 1, 1, 1, 1, null]);
    // Words: a run of letters, each punctuation mark, each CJK ideograph, each added token typed in the text.
    expect(e.wordIds).toEqual([null, 0, 1, 2, 2, 2, 3, null, 0, 1, 2, 3, null]);
    expect(e.offsets).toEqual([[0, 0], [0, 5], [5, 6], [7, 9], [9, 12], [12, 16], [16, 17], [0, 0], [0, 1], [1, 2], [3, 9], [10, 15], [0, 0]]);
    expect(e.numTokens).toBe(13);
    expect(e.truncated).toBe(false);
  });

  it("an empty pair is no pair, as transformers' tokenizer(text, \"\")", () => {
    expect(mini.encode("hello", { pair: "" })).toEqual(mini.encode("hello"));
  });

  it("without special tokens a pair is the two texts' pieces back to back", () => {
    const e = mini.encode("hello", { pair: "world", addSpecialTokens: false });
    expect(e.tokens).toEqual(["hello", "world"]);
    expect(e.sequenceIds).toEqual([0, 1]);
    expect(e.wordIds).toEqual([0, 0]);
  });

  it("QA shape: question whole in every window, the context in windows overlapping by stride", () => {
    const context = "a b c d e f g h i j k";
    const ws = mini.encodeWindows("hello world", { pair: context, truncation: "only_second", maxLength: 9, stride: 2 });
    // 9 = [CLS] + 2 question + [SEP] + 4 context + [SEP]; context windows [0,4) [2,6) [4,8) [6,10) [8,11).
    expect(ws.map((w) => w.tokens.slice(4, -1).join(""))).toEqual(["abcd", "cdef", "efgh", "ghij", "ijk"]);
    for (const w of ws) {
      expect(w.tokens.slice(0, 4)).toEqual(["[CLS]", "hello", "world", "[SEP]"]);
      expect(w.truncated).toBe(true);
      expect(w.numTokens).toBe(16);
    }
    // Offsets of a later window still point into the context itself; word ids count from the context's start.
    expect(ws[2].offsets[4]).toEqual([8, 9]);
    expect(ws[2].wordIds[4]).toBe(4);
  });

  it("stopAtMaxLength: stops at the word that reaches maxLength, so later windows cover only that far", () => {
    const context = "a b c d e f g h i j k";
    const opts = { pair: context, truncation: "only_second" as const, maxLength: 9, stride: 2 };
    const early = mini.encodeWindows("hello world", { ...opts, stopAtMaxLength: true });
    // Each text is cut after its 9th piece: the context keeps a..i, windows [0,4) [2,6) [4,8) [6,9).
    expect(early.map((w) => w.tokens.slice(4, -1).join(""))).toEqual(["abcd", "cdef", "efgh", "ghi"]);
    expect(early[0].offsets).toEqual(mini.encodeWindows("hello world", opts)[0].offsets);
    // numTokens counts what was tokenized: the early stop does not know the rest.
    expect([early[0].numTokens, mini.encode("hello world", opts).numTokens]).toEqual([14, 16]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Fuzz

const shared = sharedDir();
const toks: { name: string; tok: WordPieceTokenizer }[] = [{ name: "mini vocab", tok: mini }];
if (shared !== null) {
  toks.push({ name: "bert-base-uncased", tok: loadTokenizer({ vocab: readFileSync(join(shared, "data/bert-base-uncased-vocab.txt"), "utf8") }) });
}

const pieceArb = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 6 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
  fc.constantFrom("hello", "world", "unaffable", " ", "  ", "\n", ",", "!", "東京", "[MASK]", "[SEP]", "😀", "e\u0301", "\ud800"),
);
const textArb = fc.array(pieceArb, { maxLength: 30 }).map((p) => p.join(" "));
const strategyArb = fc.constantFrom<TruncationStrategy>("longest_first", "only_first", "only_second");

/** Invariants of one encoding of text a (and pair b). */
function check(tok: WordPieceTokenizer, e: Encoding, a: string, b: string | undefined, maxLength: number): void {
  const n = e.ids.length;
  for (const arr of [e.tokens, e.offsets, e.attentionMask, e.sequenceIds, e.wordIds]) expect(arr.length).toBe(n);
  expect(n).toBeLessThanOrEqual(maxLength);
  const specials = e.sequenceIds.flatMap((s, k) => (s === null ? [k] : []));
  const firstSep = e.sequenceIds.indexOf(null, 1);
  expect(specials).toEqual(b === undefined ? [0, n - 1] : [0, firstSep, n - 1]);
  expect([e.ids[0], e.ids[n - 1]]).toEqual([tok.clsId, tok.sepId]);
  let lastSeq = 0;
  let lastWord = -1;
  for (let k = 0; k < n; k++) {
    const seq = e.sequenceIds[k];
    if (seq === null) {
      if (e.wordIds[k] !== null || e.offsets[k][0] !== 0 || e.offsets[k][1] !== 0) throw new Error(`special ${k} has a word or offsets`);
      continue;
    }
    if (seq < lastSeq) throw new Error(`sequence ids go back at ${k}`);
    if (seq !== lastSeq) lastWord = -1;
    lastSeq = seq;
    const word = e.wordIds[k];
    if (word === null || word < lastWord) throw new Error(`word id ${word} at ${k} after ${lastWord}`);
    lastWord = word;
    const [s, t] = e.offsets[k];
    const len = (seq === 0 ? a : b!).length;
    if (!(0 <= s && s <= t && t <= len)) throw new Error(`offsets [${s}, ${t}] at ${k} outside the ${len}-unit text ${seq}`);
    if (e.tokens[k] !== tok.idToToken(e.ids[k])) throw new Error(`token ${k} does not match its id`);
  }
}

describe("fuzz: pairs and windows", () => {
  const counts: string[] = [];
  afterAll(() => console.log(`fuzz pairs: ${counts.join("; ")}`));

  describe.each(toks)("$name", ({ name, tok }) => {
    it("encode never throws on a pair that fits; windows keep every invariant, cover the cut text, overlap by stride", () => {
      const runs = 600;
      let windows = 0;
      let refused = 0;
      fc.assert(
        fc.property(textArb, textArb, fc.integer({ min: 3, max: 40 }), fc.nat(12), strategyArb, fc.boolean(), (a, b0, maxLength, strideSeed, strategy, early) => {
          // longest_first stands for a single text here (a pair cut by longest_first has no windows).
          // An empty pair is no pair (transformers' `if text_pair`).
          const b = strategy === "longest_first" || b0 === "" ? undefined : b0;
          const full = tok.encode(a, { pair: b, maxLength: Infinity });
          check(tok, full, a, b, Infinity);
          const opts = { pair: b, maxLength, truncation: strategy, stride: 0 };
          try {
            const first = tok.encode(a, opts);
            check(tok, first, a, b, maxLength);
            expect(first.numTokens).toBe(full.ids.length);
            expect(first.truncated).toBe(first.ids.length < full.ids.length);
            // A stride the windows can take (below their size), from the size encode() keeps.
            const cutSeq = strategy === "only_second" ? 1 : 0;
            const size = first.sequenceIds.filter((x) => x === cutSeq).length;
            opts.stride = size > 1 ? strideSeed % size : 0;
            const ws = tok.encodeWindows(a, { ...opts, stopAtMaxLength: early });
            const view = (e: Encoding) => [e.ids, e.offsets, e.sequenceIds, e.wordIds, e.truncated];
            expect(view(ws[0])).toEqual(view(first));
            const cut = full.ids.filter((_, k) => full.sequenceIds[k] === cutSeq);
            const parts = ws.map((w) => w.ids.filter((_, k) => w.sequenceIds[k] === cutSeq));
            // Consecutive windows share exactly `stride` tokens; without the early stop they rebuild the whole text.
            for (let i = 1; i < parts.length; i++) {
              expect(parts[i].slice(0, opts.stride)).toEqual(parts[i - 1].slice(parts[i - 1].length - opts.stride));
            }
            const rebuilt = parts.flatMap((p, i) => (i === 0 ? p : p.slice(opts.stride)));
            expect(early ? cut.slice(0, rebuilt.length) : cut).toEqual(rebuilt);
            for (const w of ws) check(tok, w, a, b, maxLength);
            windows += ws.length;
          } catch (e) {
            // The only refusal: a cut the chosen text cannot take (Rust's SequenceTooShort).
            if (!(e instanceof InputError) || !/must remove/.test(e.message)) throw e;
            refused++;
          }
        }),
        { numRuns: runs, seed: 15 },
      );
      counts.push(`${name}: ${runs} pairs, ${windows} windows, ${refused} refused as too short`);
    });
  });
});
