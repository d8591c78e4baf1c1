/**
 * Fuzzing the loaders and the tokenizer with hostile input.
 *
 * Model files: fast-check mutations of the valid base model in test/hostile/base (byte flips anywhere or in the
 * header, truncations, extensions, structured header edits, config edits). Every case must either load a model
 * that still has the config's shapes and runs, or throw a DistilBertError; anything else (a TypeError, a
 * RangeError, a hang) fails.
 *
 * Text: arbitrary UTF-16 (lone surrogates, NUL, bidi overrides, combining runs, emoji, specials spelled out) and a
 * few huge inputs (1 MB strings, 100,000 emoji). The tokenizer must never throw, give ids inside the vocabulary,
 * offsets inside the string and in order, the same output on every call whatever it encoded before, and take time
 * linear in the input.
 *
 * Each block prints its case counts so that CI logs show how much was run, and asserts a minimum of models that
 * loaded and ran and of typed errors (measured with the fixed seed: byte flips 183 / 1317, header byte flips 1 / 1499,
 * truncations 0 / 600, header edits 181 / 2319, config edits 300 / 200, vocab edits 73 / 327).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { DistilBertError } from "../src/errors.js";
import { loadModel } from "../src/model/load.js";
import { DTYPES, SafetensorsFile, writeSafetensors } from "../src/safetensors/index.js";
import { quantizeRows } from "../src/tensor/quant.js";
import { type Encoding, WordPieceTokenizer } from "../src/tokenizer/index.js";
import { rng } from "./helpers/random.js";
import { repoRoot, sharedDir } from "./helpers/shared.js";

const BASE = join(repoRoot, "test/hostile/base");
const base = {
  config: readFileSync(join(BASE, "config.json"), "utf8"),
  vocab: readFileSync(join(BASE, "vocab.txt"), "utf8"),
  tokenizerJson: readFileSync(join(BASE, "tokenizer.json"), "utf8"),
  weights: new Uint8Array(readFileSync(join(BASE, "model.safetensors"))),
};
const baseConfig = JSON.parse(base.config) as Record<string, unknown>;
const headerLength = new DataView(base.weights.buffer, base.weights.byteOffset, 8).getUint32(0, true);
const baseEntries = Object.entries(
  JSON.parse(new TextDecoder().decode(base.weights.subarray(8, 8 + headerLength))) as Record<string, Entry>,
);
const baseData = base.weights.subarray(8 + headerLength);

/**
 * The base as `distilbert-ts quantize` writes it: every matrix I8 with its F32 `_scale` row scales, the scheme in
 * `__metadata__`. A model loaded from it uses one more tensor (the scales) per I8 matrix.
 */
const Q8_MATRIX = /(?:q_lin|k_lin|v_lin|out_lin|lin1|lin2|pre_classifier|classifier|word_embeddings)\.weight$/;
const q8Base = (() => {
  const f = SafetensorsFile.parse(base.weights);
  let matrices = 0;
  const tensors = [...f.tensors.values()].flatMap((t) => {
    const data = f.getFloat32(t.name);
    if (!Q8_MATRIX.test(t.name)) return [{ name: t.name, dtype: "F32" as const, shape: t.shape, data }];
    matrices++;
    const q = quantizeRows(data, t.shape[0], t.shape[1]);
    return [{ name: t.name, dtype: "I8" as const, shape: t.shape, data: q.q }, { name: `${t.name}_scale`, dtype: "F32" as const, shape: [t.shape[0]], data: q.scales }];
  });
  const weights = writeSafetensors(tensors, { quantization: "q8" });
  const hl = new DataView(weights.buffer, weights.byteOffset, 8).getUint32(0, true);
  const entries = Object.entries(JSON.parse(new TextDecoder().decode(weights.subarray(8, 8 + hl))) as Record<string, Entry>);
  return { weights, headerLength: hl, entries, data: weights.subarray(8 + hl), matrices };
})();

interface Entry {
  dtype: unknown;
  shape: unknown;
  data_offsets: unknown;
  [k: string]: unknown;
}

/** A JSON fragment written as is: numbers JSON.stringify cannot write (1e3, -0, 2^53 + 1). */
class Raw {
  constructor(readonly text: string) {}
}

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function assemble(pairs: [string, unknown][], data: Uint8Array, pad: boolean): Uint8Array {
  const h = new TextEncoder().encode(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`);
  const padded = pad ? h.length + ((8 - (h.length % 8)) % 8) : h.length;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(h, 8);
  out.set(data, 8 + padded);
  return out;
}

// --- outcome bookkeeping: every case ends in one of these, counted for the log

const outcomes = new Map<string, number>();
/** Outcomes of the block running now (blocks run one after another). */
let blockOutcomes = new Map<string, number>();
function tally(key: string): void {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  blockOutcomes.set(key, (blockOutcomes.get(key) ?? 0) + 1);
}

/** The property: a typed error, or a model with the base config's shapes whose forward runs. */
async function loadsOrThrowsTyped(input: { config?: string; vocab?: string; weights?: Uint8Array }, checkWeights: boolean, extraUsed = 0): Promise<void> {
  let model;
  try {
    model = await loadModel({ config: input.config ?? base.config, vocab: input.vocab ?? base.vocab, weights: input.weights ?? base.weights, checkWeights });
  } catch (e) {
    if (e instanceof DistilBertError) {
      tally(e.name);
      return;
    }
    throw e;
  }
  tally("loaded");
  const { config } = model;
  const out = model.forward([[2, 40, 60, 3]]);
  expect(out.logits.shape).toEqual([1, config.labels.length]);
  expect(out.probs.data.length).toBe(config.labels.length);
  expect(model.loadReport.used.length).toBe(4 + 16 * config.nLayers + 4 + extraUsed);
  const r = await model.classify("a good film");
  expect(r.logits).toHaveLength(config.labels.length);
}

const WEIRD_NUMBERS = [
  fc.integer({ min: -16, max: 6000 }),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
  fc.constantFrom(new Raw("1e3"), new Raw("-0"), new Raw("9007199254740993"), new Raw("1.0"), new Raw("18446744073709551616")),
  fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }),
];

const nameArb = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "__metadata__", "", "hasOwnProperty"),
  fc.constantFrom(...baseEntries.map(([n]) => n)),
  fc.constantFrom(...baseEntries.map(([n]) => n.replace(/^distilbert\./, ""))),
  fc.string({ maxLength: 12 }),
);

type Edit = (pairs: [string, Entry][]) => [string, unknown][];

/** Earlier edits may have turned an entry or a field into any JSON value; later edits still need something. */
const obj = (e: unknown): Entry => (e !== null && typeof e === "object" && !Array.isArray(e) ? (e as Entry) : ({} as Entry));
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  // one number of a shape or data_offsets
  fc.tuple(fc.nat(baseEntries.length - 1), fc.boolean(), fc.nat(3), fc.oneof(...WEIRD_NUMBERS)).map(([t, inShape, i, v]): Edit => (pairs) =>
    pairs.map(([n, e], k) => {
      if (k !== t) return [n, e];
      const field = inShape ? "shape" : "data_offsets";
      const values = [...arr(obj(e)[field])];
      values[i % (values.length + 1)] = v;
      return [n, { ...obj(e), [field]: values }];
    })),
  // dtype
  fc.tuple(fc.nat(baseEntries.length - 1), fc.constantFrom(...DTYPES, "F33", "", "toString", "__proto__", "f32")).map(([t, d]): Edit => (pairs) =>
    pairs.map(([n, e], k) => [n, k === t ? { ...obj(e), dtype: d } : e])),
  // a field removed, or a field added
  fc.tuple(fc.nat(baseEntries.length - 1), fc.constantFrom("dtype", "shape", "data_offsets")).map(([t, f]): Edit => (pairs) =>
    pairs.map(([n, e], k) => {
      if (k !== t) return [n, e];
      const copy = { ...obj(e) };
      delete copy[f];
      return [n, copy];
    })),
  fc.tuple(fc.nat(baseEntries.length - 1), fc.jsonValue({ maxDepth: 2 })).map(([t, v]): Edit => (pairs) =>
    pairs.map(([n, e], k) => [n, k === t ? { ...obj(e), extra: v } : e])),
  // whole field replaced by any JSON value
  fc.tuple(fc.nat(baseEntries.length - 1), fc.constantFrom("dtype", "shape", "data_offsets"), fc.jsonValue({ maxDepth: 2 })).map(([t, f, v]): Edit => (pairs) =>
    pairs.map(([n, e], k) => [n, k === t ? { ...obj(e), [f]: v } : e])),
  // renamed, dropped, duplicated
  fc.tuple(fc.nat(baseEntries.length - 1), nameArb).map(([t, name]): Edit => (pairs) => pairs.map(([n, e], k) => [k === t ? name : n, e])),
  fc.nat(baseEntries.length - 1).map((t): Edit => (pairs) => pairs.filter((_, k) => k !== t)),
  fc.nat(baseEntries.length - 1).map((t): Edit => (pairs) => [...pairs, pairs[t % pairs.length]]),
  // offsets or shapes swapped between two tensors (often a valid file with other weights)
  fc.tuple(fc.nat(baseEntries.length - 1), fc.nat(baseEntries.length - 1), fc.constantFrom("shape", "data_offsets")).map(([a, b, f]): Edit => (pairs) =>
    pairs.map(([n, e], k) => [n, k === a ? { ...obj(e), [f]: obj(pairs[b]?.[1])[f] } : k === b ? { ...obj(e), [f]: obj(pairs[a]?.[1])[f] } : e])),
  // a shape reversed ([d0, d1] → [d1, d0])
  fc.nat(baseEntries.length - 1).map((t): Edit => (pairs) =>
    pairs.map(([n, e], k) => [n, k === t ? { ...obj(e), shape: [...arr(obj(e).shape)].reverse() } : e])),
  // __metadata__ of any JSON
  fc.jsonValue({ maxDepth: 2 }).map((m): Edit => (pairs) => [["__metadata__", m], ...pairs]),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }).map((m): Edit => (pairs) => [["__metadata__", m], ...pairs]),
);

describe("fuzz: model files", () => {
  const counts: Record<string, number> = {};
  /**
   * `minLoaded` and `minTyped`: how many cases at least must have loaded a model that ran, and how many must have
   * ended in a typed error (the seed is fixed, so the counts are too; the minimums sit a little below them, so that a
   * change to the generators that stops exercising either side fails instead of passing vacuously).
   */
  const run = async (name: string, arb: fc.Arbitrary<{ weights?: Uint8Array; config?: string; vocab?: string }>, numRuns: number, minLoaded: number, minTyped: number, extraUsed = 0) => {
    blockOutcomes = new Map();
    await fc.assert(
      fc.asyncProperty(arb, fc.boolean(), async (input, checkWeights) => {
        await loadsOrThrowsTyped(input, checkWeights, extraUsed);
      }),
      { numRuns, seed: 7, endOnFailure: true },
    );
    counts[name] = numRuns;
    const loaded = blockOutcomes.get("loaded") ?? 0;
    // Every case runs the property once (endOnFailure, no shrinking on success): loaded + typed = numRuns.
    const typed = [...blockOutcomes].reduce((a, [k, v]) => a + (k === "loaded" ? 0 : v), 0);
    console.log(`fuzz ${name}: ${loaded} loaded and ran, ${typed} typed errors`);
    expect(loaded + typed).toBe(numRuns);
    expect(loaded, `${name}: models that loaded and ran`).toBeGreaterThanOrEqual(minLoaded);
    expect(typed, `${name}: typed errors`).toBeGreaterThanOrEqual(minTyped);
  };

  afterAll(() => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const parts = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ");
    const results = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(`fuzz model files: ${total} cases (${parts}); outcomes: ${results}`);
  });

  const len = base.weights.length;
  const flips = (max: number) =>
    fc.array(fc.record({ at: fc.nat({ max: max - 1 }), value: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 8 }).map((fs) => {
      const w = base.weights.slice();
      for (const f of fs) w[f.at] = f.value;
      return { weights: w };
    });

  it("byte flips anywhere in the file", () => run("byte flips", flips(len), 1500, 150, 1000));

  it("byte flips in the length prefix and the header", () => run("header byte flips", flips(8 + headerLength), 1500, 0, 1400));

  it("truncations and extensions", () =>
    run(
      "truncations/extensions",
      fc.oneof(
        fc.nat({ max: len - 1 }).map((n) => ({ weights: base.weights.slice(0, n) })),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => {
          const w = new Uint8Array(len + extra.length);
          w.set(base.weights);
          w.set(extra, len);
          return { weights: w };
        }),
        fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })).map(([lo, hi]) => {
          const w = base.weights.slice();
          new DataView(w.buffer).setUint32(0, lo, true);
          new DataView(w.buffer).setUint32(4, hi % 4 === 0 ? 0 : hi, true);
          return { weights: w };
        }),
      ),
      600, 0, 600,
    ));

  it("structured header edits (1 to 3 per file)", () =>
    run(
      "header edits",
      fc.tuple(fc.array(editArb, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([edits, pad]) => {
        let pairs: [string, unknown][] = baseEntries.map(([n, e]) => [n, e]);
        for (const edit of edits) pairs = edit(pairs as [string, Entry][]);
        return { weights: assemble(pairs, baseData, pad) };
      }),
      2500, 150, 2000,
    ));

  // q8 checkpoints: the same generators on the I8 file (its int8 values, F32 scales and __metadata__).
  const q8Flips = (max: number) =>
    fc.array(fc.record({ at: fc.nat({ max: max - 1 }), value: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 8 }).map((fs) => {
      const w = q8Base.weights.slice();
      for (const f of fs) w[f.at] = f.value;
      return { weights: w };
    });

  it("q8 file: byte flips anywhere (int8 values, scales, header)", () => run("q8 byte flips", q8Flips(q8Base.weights.length), 1000, 60, 900, q8Base.matrices));

  it("q8 file: structured header edits and __metadata__ values", () => {
    const pairsOf = () => q8Base.entries.map(([n, e]): [string, unknown] => [n, e]);
    const i8 = q8Base.entries.map(([n], k) => [n, k] as const).filter(([n]) => Q8_MATRIX.test(n)).map(([, k]) => k);
    const scales = q8Base.entries.map(([n], k) => [n, k] as const).filter(([n]) => n.endsWith("_scale")).map(([, k]) => k);
    const q8Edit: fc.Arbitrary<Edit> = fc.oneof(
      editArb,
      // an I8 matrix or its scales renamed, dropped, retyped (U8, I16, F32, "i8") or reshaped
      fc.tuple(fc.constantFrom(...i8, ...scales), fc.constantFrom("U8", "I16", "F32", "F16", "i8", "I8")).map(([t, d]): Edit => (pairs) =>
        pairs.map(([n, e], k) => [n, k === t ? { ...obj(e), dtype: d } : e])),
      fc.constantFrom(...i8, ...scales).map((t): Edit => (pairs) => pairs.filter((_, k) => k !== t)),
      fc.tuple(fc.constantFrom(...scales), nameArb).map(([t, name]): Edit => (pairs) => pairs.map(([n, e], k) => [k === t ? name : n, e])),
      // the scheme's value
      fc.oneof(fc.constantFrom("q8", "Q8", "q4", "", "int8", "q8 "), fc.string({ maxLength: 6 })).map((v): Edit => (pairs) => [
        ["__metadata__", { quantization: v }],
        ...pairs.filter(([n]) => n !== "__metadata__"),
      ]),
    );
    return run(
      "q8 header edits",
      fc.tuple(fc.array(q8Edit, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([edits, pad]) => {
        let pairs = pairsOf();
        for (const edit of edits) pairs = edit(pairs as [string, Entry][]);
        return { weights: assemble(pairs, q8Base.data, pad) };
      }),
      1500, 55, 1400, q8Base.matrices,
    );
  });

  it("config.json fields replaced by any JSON value, or removed", () =>
    run(
      "config edits",
      fc.tuple(fc.constantFrom(...Object.keys(baseConfig), "hidden_size", "num_labels"), fc.option(fc.jsonValue({ maxDepth: 2 }))).map(([field, v]) => {
        const c = { ...baseConfig };
        if (v === null) delete c[field];
        else c[field] = v;
        return { config: JSON.stringify(c) };
      }),
      500, 250, 150,
    ));

  it("vocab.txt lines replaced, removed or duplicated", () =>
    run(
      "vocab edits",
      fc.array(fc.tuple(fc.nat(100), fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("[UNK]", "[CLS]", "[SEP]", "the", "", "\r"))), { minLength: 1, maxLength: 3 }).map((edits) => {
        const lines = base.vocab.split("\n");
        for (const [i, token] of edits) lines[i] = token;
        return { vocab: lines.join("\n") };
      }),
      400, 60, 250,
    ));
});

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer on hostile text

const shared = sharedDir();
const tokenizers: { name: string; tok: () => WordPieceTokenizer }[] = [
  { name: "base vocab.txt (101 tokens)", tok: () => WordPieceTokenizer.fromVocab(base.vocab) },
  { name: "base tokenizer.json", tok: () => WordPieceTokenizer.fromTokenizerJson(base.tokenizerJson) },
];
if (shared !== null) {
  tokenizers.push(
    { name: "bert-base-uncased vocab.txt", tok: () => WordPieceTokenizer.fromVocab(readFileSync(join(shared, "data/bert-base-uncased-vocab.txt"), "utf8")) },
    { name: "bert-base-uncased tokenizer.json", tok: () => WordPieceTokenizer.fromTokenizerJson(readFileSync(join(shared, "data/tokenizer.json"), "utf8")) },
  );
}

/** Every invariant of one encoding of `text`. */
function checkEncoding(tok: WordPieceTokenizer, text: string, e: Encoding, maxLength: number): void {
  const n = e.ids.length;
  expect(e.tokens.length).toBe(n);
  expect(e.offsets.length).toBe(n);
  expect(e.attentionMask.length).toBe(n);
  expect(n).toBeLessThanOrEqual(maxLength);
  expect(e.ids[0]).toBe(tok.clsId);
  expect(e.ids[n - 1]).toBe(tok.sepId);
  let lastStart = 0;
  let lastEnd = 0;
  for (let i = 0; i < n; i++) {
    const id = e.ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) throw new Error(`id ${id} at ${i} is outside [0, ${tok.vocabSize})`);
    if (e.tokens[i] !== tok.idToToken(id)) throw new Error(`token ${i} is ${e.tokens[i]} but id ${id} is ${tok.idToToken(id)}`);
    if (i === 0 || i === n - 1) continue;
    const [s, t] = e.offsets[i];
    if (!(Number.isInteger(s) && Number.isInteger(t) && 0 <= s && s < t && t <= text.length)) {
      throw new Error(`offsets [${s}, ${t}] of piece ${i} are not inside the ${text.length}-unit string`);
    }
    if (s < lastStart || t < lastEnd) throw new Error(`offsets [${s}, ${t}] of piece ${i} go back (previous [${lastStart}, ${lastEnd}])`);
    lastStart = s;
    lastEnd = t;
  }
  expect(e.truncated).toBe(e.numTokens > n);
}

// Text built from pieces that stress each stage: any UTF-16 unit (lone surrogates included), any code point,
// controls and format characters, combining runs, emoji sequences, CJK, spelled-out specials and subword markers.
const unitArb = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const pieceArb = fc.oneof(
  fc.string({ unit: unitArb, maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
  fc.constantFrom("\u0000", "\u202e", "\u202d", "\u2066", "\u200f", "\u200d", "\ufeff", "\u00ad", "\u0301", "\u0301\u0301\u0301\u0301", "\ud800", "\udfff", "\ud83d", "\r\n", "\t", "\u3000", "\u2028", "\u0085"),
  fc.constantFrom("[CLS]", "[SEP]", "[UNK]", "[MASK]", "[PAD]", "##", "##s", "[cls]", "[ [SEP] ]"),
  fc.constantFrom("😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "日本語", "한국어", "עברית", "العربية", "Ἀθῆναι", "ﬁ", "İstanbul", "Straße", "a\u0301"),
  fc.constantFrom("the", "good", "film", "movie", "boring", "isn't", "A.B.C", "don't!!", "123.45", "e-mail"),
  fc.string({ unit: "grapheme-ascii", maxLength: 10 }),
);
const textArb = fc.array(pieceArb, { maxLength: 24 }).map((ps) => ps.join(""));

/** Element-wise equality for million-element arrays (toEqual's deep diffing is slow at that size). */
function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe("fuzz: tokenizer on hostile text", () => {
  const counts: string[] = [];
  afterAll(() => console.log(`fuzz tokenizer: ${counts.join("; ")}`));

  describe.each(tokenizers)("$name", ({ name, tok: make }) => {
    const tok = make();
    const fresh = make();

    it("never throws; ids in the vocabulary; offsets inside the string and in order; same output on every call", () => {
      const runs = 2000;
      fc.assert(
        fc.property(textArb, textArb, fc.oneof(fc.constant(Infinity), fc.integer({ min: 2, max: 64 })), (text, other, maxLength) => {
          const a = tok.encode(text, { maxLength });
          checkEncoding(tok, text, a, maxLength);
          // Same output again, after another text went through (the word cache must not leak between calls), and
          // from a second instance that never saw anything else.
          tok.encode(other);
          expect(tok.encode(text, { maxLength })).toEqual(a);
          expect(fresh.encode(text, { maxLength })).toEqual(a);
          // The pieces without specials and truncation: numTokens - 2 of them, the kept ones first.
          const pieces = tok.tokenizeToIds(text);
          expect(pieces.ids.length).toBe(a.numTokens - 2);
          expect(pieces.ids.slice(0, a.ids.length - 2)).toEqual(a.ids.slice(1, -1));
        }),
        { numRuns: runs, seed: 11 },
      );
      counts.push(`${name}: ${runs} random texts`);
    });
  });

  // Huge inputs, seeded: each must be encoded whole (no truncation), satisfy the invariants, and take time linear in
  // its size. The budget is generous (a loaded 2-core CI machine); bench/ has the speed figures.
  const r = rng(1234);
  const pick = (s: string[]) => s[Math.floor(r() * s.length)];
  const randomMix = (units: number) => {
    const parts: string[] = [];
    let n = 0;
    const pool = ["the ", "good", " film", "😀", "\u0301", "\ud800", "\u0000", "\u202e", "日本", " ", "\n", "don't", ".", "ﬁ", "İ", "\u00ad", "[SEP]", "##s"];
    while (n < units) {
      const p = r() < 0.1 ? String.fromCharCode(Math.floor(r() * 0x10000)) : pick(pool);
      parts.push(p);
      n += p.length;
    }
    return parts.join("");
  };
  const MB = 1 << 20;
  const huge: [string, () => string][] = [
    ["1 MB random mix", () => randomMix(MB)],
    ["100,000 emoji in one word", () => "😀👍🏽🇫🇷".repeat(33_334)],
    ["100,000 emoji between spaces", () => "😀 👍🏽 🇫🇷 ".repeat(33_334)],
    ["1 MB single word", () => "a".repeat(MB)],
    ["1 MB of words", () => "good film ".repeat(MB / 10)],
    ["1 MB of punctuation", () => "!?.,;".repeat(MB / 5)],
    ["1 MB of CJK", () => "日本語漢字".repeat(MB / 5)],
    ["1 MB of whitespace and NUL", () => " \t\n\u0000\u3000".repeat(MB / 5)],
    ["100,000 combining marks on one letter", () => "a" + "\u0301".repeat(100_000)],
    ["200,000 lone surrogates", () => "\ud800".repeat(100_000) + " " + "\udc00 ".repeat(100_000)],
    ["RTL overrides around every word", () => "\u202egood\u202c \u2067film\u2069 ".repeat(40_000)],
    ["1 MB of [SEP] spelled out", () => "[SEP]".repeat(MB / 5)],
  ];

  // The real vocabulary when ../shared is there (its trie is the one that matters), else the base one.
  describe.each(shared === null ? tokenizers.slice(0, 1) : tokenizers.slice(2, 3))("$name on huge inputs", ({ tok: make }) => {
    const tok = make();
    it.each(huge)("%s", (label, makeText) => {
      const text = makeText();
      const t0 = performance.now();
      const e = tok.encode(text, { maxLength: Infinity });
      const ms = performance.now() - t0;
      checkEncoding(tok, text, e, Infinity);
      expect(e.truncated).toBe(false);
      // Truncated to the model's default, the same leading pieces (also a second run over the whole text).
      const cut = tok.encode(text, { maxLength: 512 });
      expect(sameIds(cut.ids.slice(0, -1), e.ids.slice(0, cut.ids.length - 1))).toBe(true);
      expect(ms).toBeLessThan(5000 * Math.max(1, text.length / MB));
      counts.push(`${label}: ${text.length} units → ${e.ids.length} ids in ${ms.toFixed(0)} ms`);
    });
  });
});
