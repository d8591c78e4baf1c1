// Builds the hostile model corpus in test/hostile/: a small valid model (base/) and one folder per case
// (corpus/<name>/), each a copy of the base with exactly one file broken in exactly one way, plus cases.json saying
// which file each case breaks, the rule, and the error the loader must give. Everything is derived by code from the
// tiny fixture (../shared/fixtures/tiny: its config and vocabulary) and a fixed seed, so a rerun reproduces the
// committed bytes exactly (test/hostile.test.ts checks that).
//
//   npm run build && node scripts/make-hostile-corpus.mjs [--tiny DIR]
//
// The base model is deliberately minute (dim 4, one layer, 101 tokens, 16 positions) so that ~90 folders stay a few
// hundred KB: what a hostile file exercises is the header and the checks, not the size of the weights.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../dist/model/random-model.js";
import { f32ToF16Bits, writeSafetensors } from "../dist/safetensors/index.js";
import { quantizeRows } from "../dist/tensor/quant.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const HOSTILE_DIR = join(ROOT, "test/hostile");
export const DEFAULT_TINY = resolve(ROOT, "../shared/fixtures/tiny");

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------------
// The base model

/** Shape of the base model; the tiny fixture's config with these fields replaced. */
const DIMS = { dim: 4, n_heads: 2, n_layers: 1, hidden_dim: 8, max_position_embeddings: 16 };

/** A fixed, portable sequence (mulberry32), so weights do not depend on Math.random or the platform. */
const rng = mulberry32;

/**
 * ~100 tokens picked from the fixture's bert-base-uncased vocabulary, in its order: the five specials, punctuation
 * and digits, the 26 letters, the most frequent words and a few continuation pieces.
 */
function pickVocab(tinyVocab) {
  const lines = tinyVocab.split("\n").map((l) => l.replace(/\r$/, ""));
  const wanted = new Set(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  for (const c of "!\"'(),-.:;?0123456789abcdefghijklmnopqrstuvwxyz") wanted.add(c);
  for (const w of ["the", "of", "and", "in", "to", "was", "he", "is", "as", "for", "on", "with", "that", "it", "his",
    "by", "at", "from", "her", "she", "you", "had", "an", "were", "but", "be", "this", "are", "not", "my", "they",
    "one", "film", "movie", "good", "bad", "great", "story", "love", "funny", "boring", "best", "worst"]) wanted.add(w);
  for (const p of ["##s", "##ing", "##ed", "##ly", "##er", "##y"]) wanted.add(p);
  const picked = lines.filter((l) => wanted.delete(l));
  if (wanted.size > 0) throw new Error(`tokens missing from the fixture vocabulary: ${[...wanted].join(" ")}`);
  return picked;
}

function baseConfig(tinyConfig, vocabSize) {
  const c = { ...tinyConfig, ...DIMS, vocab_size: vocabSize };
  return c;
}

function configText(obj) {
  return JSON.stringify(obj, null, 2) + "\n";
}

/** HF tensor names and shapes of DistilBertForSequenceClassification for a config. */
function tensorShapes(c) {
  const { dim, hidden_dim: hid, n_layers: L, vocab_size: V, max_position_embeddings: P } = c;
  const labels = Object.keys(c.id2label).length;
  const out = [
    ["distilbert.embeddings.word_embeddings.weight", [V, dim]],
    ["distilbert.embeddings.position_embeddings.weight", [P, dim]],
    ["distilbert.embeddings.LayerNorm.weight", [dim]],
    ["distilbert.embeddings.LayerNorm.bias", [dim]],
  ];
  for (let i = 0; i < L; i++) {
    const p = `distilbert.transformer.layer.${i}`;
    for (const lin of ["q_lin", "k_lin", "v_lin", "out_lin"]) {
      out.push([`${p}.attention.${lin}.weight`, [dim, dim]], [`${p}.attention.${lin}.bias`, [dim]]);
    }
    out.push([`${p}.sa_layer_norm.weight`, [dim]], [`${p}.sa_layer_norm.bias`, [dim]]);
    out.push([`${p}.ffn.lin1.weight`, [hid, dim]], [`${p}.ffn.lin1.bias`, [hid]]);
    out.push([`${p}.ffn.lin2.weight`, [dim, hid]], [`${p}.ffn.lin2.bias`, [dim]]);
    out.push([`${p}.output_layer_norm.weight`, [dim]], [`${p}.output_layer_norm.bias`, [dim]]);
  }
  out.push(["pre_classifier.weight", [dim, dim]], ["pre_classifier.bias", [dim]]);
  out.push(["classifier.weight", [labels, dim]], ["classifier.bias", [labels]]);
  return out;
}

/** Random weights: LayerNorm gains near 1, everything else uniform in ±0.5 (enough for distinct logits). */
function baseTensors(c) {
  const next = rng(20240607);
  return tensorShapes(c).map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const gain = /LayerNorm\.weight$|layer_norm\.weight$/.test(name);
    for (let i = 0; i < n; i++) data[i] = gain ? 1 + (next() - 0.5) * 0.2 : next() - 0.5;
    return { name, dtype: "F32", shape, data };
  });
}

function tokenizerJsonText(vocabLines) {
  const vocab = {};
  vocabLines.forEach((t, i) => (vocab[t] = i));
  const id = (t) => vocabLines.indexOf(t);
  const added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((content) => ({
    id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: { type: "BertProcessing", sep: ["[SEP]", id("[SEP]")], cls: ["[CLS]", id("[CLS]")] },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  };
  return JSON.stringify(json, null, 2) + "\n";
}

// ---------------------------------------------------------------------------------------------------------------
// Raw header editing: the cases below must be able to write what no well-behaved writer would.

/** A JSON fragment written verbatim (numbers JSON.stringify cannot produce: -0, 1e1, 2^53 + 1 ...). */
class Raw {
  constructor(text) {
    this.text = text;
  }
}

/** JSON text from values, where objects may be given as [key, value] pair lists (order and duplicates kept). */
function toJson(v) {
  if (v instanceof Raw) return v.text;
  if (v instanceof Pairs) return `{${v.pairs.map(([k, x]) => `${k instanceof Raw ? k.text : JSON.stringify(k)}:${toJson(x)}`).join(",")}}`;
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  if (v !== null && typeof v === "object") return toJson(new Pairs(Object.entries(v)));
  return JSON.stringify(v);
}

class Pairs {
  constructor(pairs) {
    this.pairs = pairs;
  }
}

/** Splits a valid file into its header entries (in file order) and its data buffer. */
function split(bytes) {
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { entries: Object.entries(header), data: bytes.slice(8 + n) };
}

/** Header bytes (string or raw) + data → file; the header is space-padded to a multiple of 8 as writers do. */
function assemble(header, data, { lengthField } = {}) {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const padded = h.length + ((8 - (h.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + data.length);
  const dv = new DataView(out.buffer);
  const len = lengthField ?? padded;
  dv.setUint32(0, len % 2 ** 32, true);
  dv.setUint32(4, Math.floor(len / 2 ** 32), true);
  out.set(h, 8);
  out.fill(0x20, 8 + h.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The cases

const ST = "model.safetensors";
const CFG = "config.json";
const VOCAB = "vocab.txt";
const TOKJ = "tokenizer.json";

/**
 * Each case: the file it breaks, the rule, the error class and a fragment of the message the loader must give, and a
 * `make(base)` returning the broken file's bytes/text (or null to delete the file). Cases on tokenizer.json use a
 * folder with tokenizer.json instead of vocab.txt.
 */
function caseList(base) {
  const { entries, data } = split(base.weights);
  const cfg = base.config;
  const V = cfg.vocab_size;
  const last = entries[entries.length - 1];
  const entry = (name) => entries.find(([n]) => n === name)[1];
  const POS = "distilbert.embeddings.position_embeddings.weight";
  const pos = entry(POS);

  /** The base header with one tensor's entry replaced (by a value, or by a function of the old one). */
  const withEntry = (name, f) => new Pairs(entries.map(([n, e]) => [n, n === name ? f(e) : e]));
  const file = (pairs, d = data) => assemble(toJson(pairs), d);
  const st = (name, rule, error, message, make, extra = {}) => ({ name: `st-${name}`, file: ST, rule, error, message, make, ...extra });
  const cfgCase = (name, rule, error, message, edit, extra = {}) => ({
    name: `cfg-${name}`, file: CFG, rule, error, message, ...extra,
    make: () => (typeof edit === "string" || edit instanceof Uint8Array ? edit : configText(edit({ ...cfg }))),
  });
  const vocabCase = (name, rule, error, message, make) => ({ name: `vocab-${name}`, file: VOCAB, rule, error, message, make });
  const tokCase = (name, rule, error, message, edit) => ({
    name: `tok-${name}`, file: TOKJ, tokenizer: TOKJ, rule, error, message,
    make: () => (typeof edit === "string" ? edit : JSON.stringify(edit(JSON.parse(base.tokenizerJson)), null, 2) + "\n"),
  });
  const rewrite = (f) => writeSafetensors(f(base.tensors.map((t) => ({ ...t, data: t.data.slice() }))));
  // The base as `distilbert-ts quantize` writes it (I8 matrices + F32 scales), broken by `f`.
  const LIN1 = "distilbert.transformer.layer.0.ffn.lin1.weight";
  const Q8_NAME = /(?:q_lin|k_lin|v_lin|out_lin|lin1|lin2|pre_classifier|classifier|word_embeddings)\.weight$/;
  const q8 = (name, rule, message, f, metadata = { quantization: "q8" }) => st(name, rule, "WeightsError", message, () =>
    writeSafetensors(f(base.tensors.flatMap((t) => {
      if (!Q8_NAME.test(t.name)) return [{ ...t, data: t.data.slice() }];
      const q = quantizeRows(t.data, t.shape[0], t.shape[1]);
      return [{ name: t.name, dtype: "I8", shape: t.shape, data: q.q }, { name: `${t.name}_scale`, dtype: "F32", shape: [t.shape[0]], data: q.scales }];
    })), metadata));

  return [
    // --- the 8-byte length prefix
    st("empty", "the file is empty (shorter than the 8-byte header length)", "SafetensorsError", "file is 0 bytes long", () => new Uint8Array(0)),
    st("too-short", "the file is 5 bytes, shorter than the 8-byte header length", "SafetensorsError", "file is 5 bytes long", () => base.weights.slice(0, 5)),
    st("header-past-end", "the header length runs past the end of the file", "SafetensorsError", "runs past the end of the file", () => {
      const b = base.weights.slice();
      new DataView(b.buffer).setUint32(0, b.length, true);
      return b;
    }),
    st("header-over-limit", "the header length is above the 100 MB limit (100,000,008)", "SafetensorsError", "header length 100000008 exceeds the", () => {
      const b = base.weights.slice();
      new DataView(b.buffer).setUint32(0, 100_000_008, true);
      return b;
    }),
    st("header-over-model-limit", "a 2,000,000-byte header: within the format's 100 MB, far beyond the 1 MiB + 1 KiB per tensor a DistilBERT loader allows", "SafetensorsError", "header length 2000000 exceeds the", () => {
      const b = base.weights.slice();
      new DataView(b.buffer).setUint32(0, 2_000_000, true);
      return b;
    }),
    st("header-length-2p40", "the u64 header length is 2^40 (high word set)", "SafetensorsError", "header length 1099511627776 exceeds", () => {
      const b = base.weights.slice();
      new DataView(b.buffer).setUint32(0, 0, true);
      new DataView(b.buffer).setUint32(4, 256, true);
      return b;
    }),
    // --- the header text
    st("header-not-utf8", "the header is not UTF-8 (an overlong encoding inside a tensor name)", "SafetensorsError", "header is not valid UTF-8", () => {
      const b = base.weights.slice();
      const at = indexOfBytes(b, enc.encode("classifier.bias"));
      b[at + 13] = 0xc0; // "as" → C0 AF, the overlong form of "/"; the length is unchanged
      b[at + 14] = 0xaf;
      return b;
    }),
    st("header-bom", "the header starts with a UTF-8 byte-order mark", "SafetensorsError", "header is not valid JSON", () =>
      assemble(concat(new Uint8Array([0xef, 0xbb, 0xbf]), enc.encode(toJson(new Pairs(entries)))), data)),
    st("header-not-json", "the header is not JSON (its closing brace is missing)", "SafetensorsError", "header is not valid JSON", () =>
      assemble(toJson(new Pairs(entries)).slice(0, -1), data)),
    st("header-not-object", "the header is JSON but an array, not an object", "SafetensorsError", "header is an array of 1 elements; expected a JSON object", () =>
      assemble(`[${toJson(new Pairs(entries))}]`, data)),
    st("header-string", "the header is a JSON string", "SafetensorsError", "header is the string", () => assemble(JSON.stringify("model"), data)),
    st("metadata-non-string", "__metadata__ has a non-string value", "SafetensorsError", '__metadata__: value of "epoch" is 3; expected a string', () =>
      file(new Pairs([["__metadata__", { format: "pt", epoch: 3 }], ...entries]))),
    st("metadata-nested", "__metadata__ has an object value", "SafetensorsError", '__metadata__: value of "format" is an object', () =>
      file(new Pairs([["__metadata__", { format: { pt: "1" } }], ...entries]))),
    st("metadata-not-object", "__metadata__ is an array", "SafetensorsError", "__metadata__: is an array of 1 elements", () =>
      file(new Pairs([["__metadata__", ["pt"]], ...entries]))),
    // --- one tensor entry
    st("unknown-dtype", "a tensor has an unknown dtype (FP32)", "SafetensorsError", 'dtype is the string "FP32", not a known dtype', () =>
      file(withEntry(POS, (e) => ({ ...e, dtype: "FP32" })))),
    st("unknown-field", "a tensor entry has a field besides dtype, shape and data_offsets", "SafetensorsError", 'unknown field "quantization"', () =>
      file(withEntry(POS, (e) => ({ ...e, quantization: "q4_0" })))),
    st("missing-field", "a tensor entry has no dtype", "SafetensorsError", 'missing field "dtype"', () =>
      file(withEntry(POS, (e) => ({ shape: e.shape, data_offsets: e.data_offsets })))),
    st("entry-not-object", "a tensor entry is a number", "SafetensorsError", "entry is 7; expected an object", () => file(withEntry(POS, () => 7))),
    st("shape-negative", "a shape has a negative dimension", "SafetensorsError", "shape[0] is -16", () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [-16, e.shape[1]] })))),
    st("shape-fractional", "a shape has a fractional dimension", "SafetensorsError", "shape[0] is 15.5", () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [15.5, e.shape[1]] })))),
    st("shape-exponent", "a shape dimension is written 1.6e1 (parses to 16, but is not a usize)", "SafetensorsError", "the number 1.6e1 is not written as a non-negative integer", () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [new Raw("1.6e1"), e.shape[1]] })))),
    st("shape-above-2p53", "a shape dimension is 2^53 + 1", "SafetensorsError", "shape[0] is 9007199254740992; expected a non-negative integer below 2^53", () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [new Raw("9007199254740993"), e.shape[1]] })))),
    st("shape-product-above-2p53", "a shape's element count is 2^64", "SafetensorsError", "has more than 2^53 elements", () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [65536, 65536, 65536, 65536] })))),
    st("shape-not-array", "a shape is a string", "SafetensorsError", 'shape is the string "16x4"', () =>
      file(withEntry(POS, (e) => ({ ...e, shape: "16x4" })))),
    st("shape-mismatch", "a shape does not match its data_offsets (shape × dtype size ≠ end − begin)", "SafetensorsError", `needs ${15 * DIMS.dim * 4}`, () =>
      file(withEntry(POS, (e) => ({ ...e, shape: [15, e.shape[1]] })))),
    st("offsets-negative", "data_offsets begin is negative", "SafetensorsError", "data_offsets begin is -4", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [-4, e.data_offsets[1]] })))),
    st("offsets-fractional", "data_offsets end is fractional", "SafetensorsError", `data_offsets end is ${pos.data_offsets[1] - 0.5}`, () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [e.data_offsets[0], e.data_offsets[1] - 0.5] })))),
    st("offsets-above-2p53", "data_offsets end is 2^53 + 1", "SafetensorsError", "data_offsets end is 9007199254740992", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [e.data_offsets[0], new Raw("9007199254740993")] })))),
    st("offsets-three", "data_offsets has three elements", "SafetensorsError", "data_offsets is an array of 3 elements; expected [begin, end]", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [...e.data_offsets, e.data_offsets[1]] })))),
    st("offsets-one", "data_offsets has one element", "SafetensorsError", "data_offsets is an array of 1 elements", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [e.data_offsets[0]] })))),
    st("offsets-not-array", "data_offsets is an object", "SafetensorsError", "data_offsets is an object", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: { begin: e.data_offsets[0], end: e.data_offsets[1] } })))),
    st("offsets-reversed", "data_offsets end before they begin", "SafetensorsError", "end before they begin", () =>
      file(withEntry(POS, (e) => ({ ...e, data_offsets: [e.data_offsets[1], e.data_offsets[0]] })))),
    // --- the data buffer as a whole
    st("offsets-overlap", "two tensors overlap (the last one starts 4 bytes early)", "SafetensorsError", "overlap bytes up to", () => {
      const [b, e] = last[1].data_offsets;
      return file(withEntry(last[0], (x) => ({ ...x, data_offsets: [b - 4, e - 4] })), data.subarray(0, e - 4));
    }),
    st("offsets-hole", "4 unused bytes between two tensors", "SafetensorsError", "of the data buffer unused", () => {
      const [, cut] = pos.data_offsets;
      const shifted = new Pairs(entries.map(([n, e]) => [n, e.data_offsets[0] >= cut ? { ...e, data_offsets: e.data_offsets.map((o) => o + 4) } : e]));
      return file(shifted, concat(data.subarray(0, cut), new Uint8Array(4), data.subarray(cut)));
    }),
    st("offsets-past-end", "the last tensor's data_offsets reach past the end of the file", "SafetensorsError", "file is truncated", () => {
      const [b] = last[1].data_offsets;
      return file(withEntry(last[0], (x) => ({ ...x, shape: [x.shape[0], x.shape[1], 1000], data_offsets: [b, b + x.shape[0] * x.shape[1] * 4000] })));
    }),
    st("offsets-2p40-elements", "a tensor claims 2^40 F32 elements (4 TiB) in a small file", "SafetensorsError", "file is truncated: the header describes", () => {
      const [b] = last[1].data_offsets;
      return file(withEntry(last[0], (x) => ({ ...x, shape: [2 ** 38, 4], data_offsets: [b, b + 2 ** 42] })));
    }),
    st("trailing-bytes", "16 bytes after the last tensor's data", "SafetensorsError", "16 trailing bytes after the last tensor's data", () => concat(base.weights, new Uint8Array(16).fill(0xee))),
    st("truncated", "the data buffer is cut short by 100 bytes", "SafetensorsError", "file is truncated", () => base.weights.slice(0, base.weights.length - 100)),
    // --- names
    st("duplicate-name", "a tensor name appears twice in the header", "SafetensorsError", 'header has the key "classifier.bias" more than once', () =>
      file(new Pairs([...entries, ["classifier.bias", entries[0][1]]]))),
    st("duplicate-name-escaped", "a tensor name appears twice, once spelled with a \\u escape", "SafetensorsError", 'header has the key "classifier.bias" more than once', () =>
      file(new Pairs([...entries, [new Raw('"classifier.bia\\u0073"'), entries[0][1]]]))),
    st("name-proto", "a tensor named __proto__ overlaps another (it must be checked like any tensor, not become a prototype)", "SafetensorsError", 'of tensor "__proto__"', () =>
      file(new Pairs([...entries, ["__proto__", { dtype: "F32", shape: [1], data_offsets: [0, 4] }]]))),
    st("name-constructor", 'a tensor named constructor whose dtype is "toString" (an inherited name, not a dtype)', "SafetensorsError", 'tensor "constructor": dtype is the string "toString", not a known dtype', () =>
      file(new Pairs([...entries, ["constructor", { dtype: "toString", shape: [0], data_offsets: [0, 0] }]]))),
    st("name-tostring", "a tensor named toString whose offsets do not match its shape", "SafetensorsError", 'tensor "toString": data_offsets', () => {
      const end = last[1].data_offsets[1];
      return file(new Pairs([...entries, ["toString", { dtype: "F32", shape: [2], data_offsets: [end, end + 4] }]]), concat(data, new Uint8Array(4)));
    }),
    st("name-lone-surrogate", "a tensor name holds a lone surrogate escape (not Unicode)", "SafetensorsError", "lone UTF-16 surrogate", () =>
      file(new Pairs([...entries, [new Raw('"\\ud800"'), { dtype: "F32", shape: [0], data_offsets: [0, 0] }]]))),
    // --- valid safetensors that the model cannot use
    st("integer-dtype", "a weight the model uses is stored as I32", "WeightsError", "dtype I32 cannot be used as a weight", () =>
      file(withEntry("distilbert.transformer.layer.0.output_layer_norm.bias", (e) => ({ ...e, dtype: "I32" })))),
    st("wrong-shape", "word_embeddings is stored transposed ([dim, vocab] instead of [vocab, dim])", "WeightsError", `shape is [${DIMS.dim}, ${V}]; expected [${V}, ${DIMS.dim}]`, () =>
      rewrite((ts) => ts.map((t) => (t.name.endsWith("word_embeddings.weight") ? { ...t, shape: [t.shape[1], t.shape[0]] } : t)))),
    st("missing-tensor", "a weight the model needs is absent", "WeightsError", '"distilbert.transformer.layer.0.ffn.lin2.bias" (nor "transformer.layer.0.ffn.lin2.bias") is missing', () =>
      rewrite((ts) => ts.filter((t) => t.name !== "distilbert.transformer.layer.0.ffn.lin2.bias"))),
    st("nan-weight", "a weight holds NaN (refused with checkWeights / --check-weights; loads without)", "WeightsError", "holds 1 NaN/Inf values (first at index 5)", () =>
      rewrite((ts) => ts.map((t) => (t.name === "distilbert.transformer.layer.0.ffn.lin1.weight" ? (t.data[5] = NaN, t) : t))), { options: { checkWeights: true } }),
    st("inf-weight", "word_embeddings holds +Inf and -Inf (refused with checkWeights)", "WeightsError", "holds 2 NaN/Inf values (first at index 7)", () =>
      rewrite((ts) => ts.map((t) => (t.name.endsWith("word_embeddings.weight") ? ((t.data[7] = Infinity), (t.data[9] = -Infinity), t) : t))), { options: { checkWeights: true } }),
    st("inf-weight-f16", "an F16 checkpoint with an Inf in classifier.weight (refused with checkWeights)", "WeightsError", "holds 1 NaN/Inf values (first at index 3)", () =>
      writeSafetensors(base.tensors.map((t) => {
        const bits = new Uint16Array(t.data.length);
        for (let i = 0; i < bits.length; i++) bits[i] = f32ToF16Bits(t.data[i]);
        if (t.name === "classifier.weight") bits[3] = 0x7c00;
        return { name: t.name, dtype: "F16", shape: t.shape, data: bits };
      })), { options: { checkWeights: true } }),

    // --- q8 checkpoints (distilbert-ts quantize): I8 matrices with F32 scales per row
    q8("i8-no-scale", "an I8 Linear weight without its _scale tensor", "are missing", (ts) => ts.filter((t) => t.name !== `${LIN1}_scale`)),
    q8("i8-scale-f16", "an I8 weight's scales are F16, not F32", "dtype is F16", (ts) => ts.map((t) => (t.name === `${LIN1}_scale` ? { ...t, dtype: "F16", data: Uint16Array.from(t.data, f32ToF16Bits) } : t))),
    q8("i8-scale-shape", "an I8 weight has one scale too few", `shape is [${DIMS.hidden_dim - 1}]; expected [${DIMS.hidden_dim}]`, (ts) => ts.map((t) => (t.name === `${LIN1}_scale` ? { ...t, shape: [DIMS.hidden_dim - 1], data: t.data.slice(1) } : t))),
    q8("i8-scale-zero", "an I8 weight's row has scale 0", "row 2 has scale 0; expected finite scales above 0", (ts) => ts.map((t) => (t.name === `${LIN1}_scale` ? ((t.data[2] = 0), t) : t))),
    q8("i8-scale-nan", "an I8 weight's row has scale NaN", "row 1 has scale NaN", (ts) => ts.map((t) => (t.name === `${LIN1}_scale` ? ((t.data[1] = NaN), t) : t))),
    q8("i8-scale-inf", "an I8 weight's row has scale +Inf", "row 0 has scale Infinity", (ts) => ts.map((t) => (t.name === `${LIN1}_scale` ? ((t.data[0] = Infinity), t) : t))),
    q8("i8-minus-128", "an I8 weight holds -128 (the scheme is symmetric: [-127, 127])", "holds -128 at row 1, column 3", (ts) => ts.map((t) => (t.name === LIN1 ? ((t.data[1 * DIMS.dim + 3] = -128), t) : t))),
    q8("i8-shape", "an I8 weight is stored transposed", `shape is [${DIMS.dim}, ${DIMS.hidden_dim}]; expected [${DIMS.hidden_dim}, ${DIMS.dim}]`, (ts) => ts.map((t) => (t.name === LIN1 ? { ...t, shape: [DIMS.dim, DIMS.hidden_dim] } : t))),
    q8("i8-layer-norm", "a LayerNorm weight (a vector, never quantized) is I8", "dtype I8 cannot be used as a weight", (ts) => ts.map((t) => (t.name === "distilbert.embeddings.LayerNorm.weight" ? { ...t, dtype: "I8", data: new Int8Array(t.data.length) } : t))),
    q8("q8-unknown-scheme", 'the __metadata__ quantization is "q4"', 'quantization is "q4"; expected "q8"', (ts) => ts, { quantization: "q4" }),
    q8("i8-embedding-no-scale", "the I8 word embeddings have no scales", "word_embeddings.weight\": is I8 but its scales", (ts) => ts.filter((t) => !t.name.endsWith("word_embeddings.weight_scale"))),

    // --- config.json
    cfgCase("not-json", "config.json is not JSON (trailing comma)", "ConfigError", "not valid JSON", configText(cfg).replace(/\n}\n$/, ",\n}\n")),
    cfgCase("not-object", "config.json is a JSON array", "ConfigError", "top level is an array of 0 elements; expected a JSON object", "[]\n"),
    cfgCase("not-utf8", "config.json is not UTF-8 (Latin-1 é)", "FileError", "is not valid UTF-8 text", concat(enc.encode(configText(cfg).slice(0, -2)), new Uint8Array([0x2c, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d, 0x0a]))),
    cfgCase("model-type", "model_type is bert, not distilbert", "ConfigError", 'model_type is "bert"', (c) => ({ ...c, model_type: "bert" })),
    cfgCase("heads-not-dividing", "n_heads (3) does not divide dim (4)", "ConfigError", "n_heads (3) does not divide dim (4)", (c) => ({ ...c, n_heads: 3 })),
    cfgCase("dim-string", 'dim is the string "4"', "ConfigError", 'field "dim" is the string "4"', (c) => ({ ...c, dim: "4" })),
    cfgCase("n-heads-fractional", "n_heads is 2.5", "ConfigError", 'field "n_heads" is 2.5', (c) => ({ ...c, n_heads: 2.5 })),
    cfgCase("n-layers-null", "n_layers is null", "ConfigError", 'field "n_layers" is null', (c) => ({ ...c, n_layers: null })),
    cfgCase("vocab-2p40", "vocab_size is 2^40", "ConfigError", 'field "vocab_size" is 1099511627776', (c) => ({ ...c, vocab_size: 2 ** 40 })),
    cfgCase("dim-zero", "dim is 0", "ConfigError", 'field "dim" is 0', (c) => ({ ...c, dim: 0 })),
    cfgCase("n-layers-negative", "n_layers is -1", "ConfigError", 'field "n_layers" is -1', (c) => ({ ...c, n_layers: -1 })),
    cfgCase("max-positions-2p31", "max_position_embeddings is 2^31", "ConfigError", 'field "max_position_embeddings" is 2147483648', (c) => ({ ...c, max_position_embeddings: 2 ** 31 })),
    cfgCase("unknown-activation", "activation is swish", "ConfigError", 'activation "swish" is not supported', (c) => ({ ...c, activation: "swish" })),
    cfgCase("activation-not-string", "activation is an array", "ConfigError", 'field "activation" is an array of 1 element', (c) => ({ ...c, activation: ["gelu"] })),
    cfgCase("pad-token-out-of-range", "pad_token_id is past the vocabulary", "ConfigError", `field "pad_token_id" is 1000; expected an integer from 0 to ${V - 1}`, (c) => ({ ...c, pad_token_id: 1000 })),
    cfgCase("id2label-gap", "id2label skips an id", "ConfigError", 'id2label key "5" is not one of the ids 0..1', (c) => ({ ...c, id2label: { 0: "NEGATIVE", 5: "POSITIVE" } })),
    cfgCase("id2label-number", "an id2label name is a number", "ConfigError", "id2label[1] is 1", (c) => ({ ...c, id2label: { 0: "NEGATIVE", 1: 1 } })),
    cfgCase("missing-dim", "dim is missing (HF's default 768 applies, which the weights do not have)", "WeightsError", `shape is [${V}, ${DIMS.dim}]; expected [${V}, 768]`, (c) => {
      delete c.dim;
      return c;
    }),
    cfgCase("missing-vocab-size", "vocab_size is missing (HF's default 30522 applies)", "WeightsError", `expected [30522, ${DIMS.dim}]`, (c) => {
      delete c.vocab_size;
      return c;
    }),
    cfgCase("three-labels", "id2label has 3 labels but the classifier has 2 rows", "WeightsError", `tensor "classifier.weight": shape is [2, ${DIMS.dim}]; expected [3, ${DIMS.dim}]`, (c) => ({ ...c, id2label: { 0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE" } })),
    cfgCase("sizes-at-limits", "every size at its upper limit (vocab 2^24, dim 2^16, ...): must fail on the first shape, allocating nothing", "WeightsError", "expected [16777216, 65536]", (c) => ({
      ...c, vocab_size: 2 ** 24, dim: 2 ** 16, n_heads: 2 ** 12, n_layers: 1024, hidden_dim: 2 ** 18, max_position_embeddings: 2 ** 20,
    })),

    // --- vocab.txt
    vocabCase("empty", "vocab.txt is empty", "TokenizerError", "the vocabulary is empty", () => ""),
    vocabCase("missing-unk", "vocab.txt has no [UNK]", "TokenizerError", "the vocabulary has no [UNK] token", () => base.vocab.replace("[UNK]\n", "[UNUSED]\n")),
    vocabCase("missing-cls", "vocab.txt has no [CLS]", "TokenizerError", "the vocabulary has no [CLS] token", () => base.vocab.replace("[CLS]\n", "[UNUSED]\n")),
    vocabCase("missing-sep", "vocab.txt has no [SEP]", "TokenizerError", "the vocabulary has no [SEP] token", () => base.vocab.replace("[SEP]\n", "[UNUSED]\n")),
    vocabCase("duplicate", 'vocab.txt lists "the" twice', "TokenizerError", 'duplicate token "the" on lines', () => base.vocab.replace("\nof\n", "\nthe\n")),
    vocabCase("empty-line", "vocab.txt has an empty line", "TokenizerError", "is empty; expected one non-empty token per line", () => base.vocab.replace("\nof\n", "\n\n")),
    vocabCase("too-few", "vocab.txt is truncated: fewer tokens than the config's vocab_size (every later word would be [UNK])", "TokenizerError", `has ${V - 3} tokens but the model's vocab_size is ${V}`, () => base.vocab.split("\n").slice(0, V - 3).join("\n") + "\n"),
    vocabCase("too-many", "vocab.txt has more tokens than the config's vocab_size", "TokenizerError", `has ${V + 3} tokens but the model's vocab_size is ${V}`, () => base.vocab + "extra1\nextra2\nextra3\n"),
    vocabCase("not-utf8", "vocab.txt is not UTF-8 (a lone continuation byte)", "FileError", "is not valid UTF-8 text", () => concat(enc.encode(base.vocab), new Uint8Array([0x80, 0x0a]))),

    // --- tokenizer.json
    tokCase("bpe", "tokenizer.json holds a BPE model (another model type)", "TokenizerError", 'model type "BPE" is not supported', (j) => ({ ...j, model: { type: "BPE", vocab: j.model.vocab, merges: [] } })),
    tokCase("unigram", "tokenizer.json holds a Unigram model", "TokenizerError", 'model type "Unigram" is not supported', (j) => ({ ...j, model: { type: "Unigram", unk_id: 1, vocab: Object.keys(j.model.vocab).map((t) => [t, -1]) } })),
    tokCase("not-json", "tokenizer.json is not JSON", "TokenizerError", "malformed JSON", "{\"model\": {\"type\": \"WordPiece\",\n"),
    tokCase("huge-id", "a token id of 2^31 - 1 in a 100-token vocabulary (a dense table would take 2^31 slots)", "TokenizerError", "2147483647", (j) => ({ ...j, model: { ...j.model, vocab: { ...j.model.vocab, "##zz": 2 ** 31 - 1 } } })),
    tokCase("duplicate-id", "two tokens share an id", "TokenizerError", "gives id 7 to both", (j) => ({ ...j, model: { ...j.model, vocab: { ...j.model.vocab, "##zz": 7 } } })),
    tokCase("negative-id", "a token id is negative", "TokenizerError", 'model.vocab["##zz"] is -1', (j) => ({ ...j, model: { ...j.model, vocab: { ...j.model.vocab, "##zz": -1 } } })),

    // --- the folder
    { name: "dir-no-weights", file: ST, rule: "the folder has no *.safetensors file", error: "FileError", message: "is missing", make: () => null },
    { name: "dir-no-config", file: CFG, rule: "the folder has no config.json", error: "FileError", message: "is missing", make: () => null },
    { name: "dir-no-tokenizer", file: VOCAB, rule: "the folder has neither vocab.txt nor tokenizer.json", error: "FileError", message: "is missing (and there is no tokenizer.json)", make: () => null },
  ];
}

function indexOfBytes(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("needle not found");
}

function asBytes(x) {
  return typeof x === "string" ? enc.encode(x) : x;
}

/**
 * Everything the generator writes, as relative path → bytes, plus the case table. Pure: no file is written, so the
 * test can compare it with the committed corpus.
 */
export function buildCorpus(tinyDir = DEFAULT_TINY) {
  const tinyConfig = JSON.parse(readFileSync(join(tinyDir, "config.json"), "utf8"));
  const vocabLines = pickVocab(readFileSync(join(tinyDir, "vocab.txt"), "utf8"));
  const config = baseConfig(tinyConfig, vocabLines.length);
  const tensors = baseTensors(config);
  const base = {
    config,
    vocab: vocabLines.join("\n") + "\n",
    tokenizerJson: tokenizerJsonText(vocabLines),
    tensors,
    weights: writeSafetensors(tensors),
  };
  const baseFiles = { [CFG]: configText(config), [VOCAB]: base.vocab, [ST]: base.weights };

  const files = new Map();
  for (const [name, content] of Object.entries(baseFiles)) files.set(`base/${name}`, asBytes(content));
  files.set(`base/${TOKJ}`, asBytes(base.tokenizerJson));

  const cases = [];
  const seen = new Set();
  for (const c of caseList(base)) {
    if (seen.has(c.name)) throw new Error(`duplicate case ${c.name}`);
    seen.add(c.name);
    const folder = { ...baseFiles };
    if (c.tokenizer === TOKJ) {
      delete folder[VOCAB];
      folder[TOKJ] = base.tokenizerJson;
    }
    const broken = c.make(base);
    if (broken === null) delete folder[c.file];
    else folder[c.file] = broken;
    for (const [name, content] of Object.entries(folder)) files.set(`corpus/${c.name}/${name}`, asBytes(content));
    const row = { name: c.name, file: c.file, rule: c.rule, error: c.error, message: c.message };
    if (c.options) row.options = c.options;
    if (c.tokenizer) row.tokenizer = c.tokenizer;
    cases.push(row);
  }
  files.set("cases.json", enc.encode(JSON.stringify(cases, null, 2) + "\n"));
  return { files, cases };
}

function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf("--tiny");
  const tiny = at >= 0 ? resolve(args[at + 1]) : DEFAULT_TINY;
  const { files, cases } = buildCorpus(tiny);
  rmSync(join(HOSTILE_DIR, "base"), { recursive: true, force: true });
  rmSync(join(HOSTILE_DIR, "corpus"), { recursive: true, force: true });
  let bytes = 0;
  for (const [rel, content] of files) {
    const path = join(HOSTILE_DIR, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    bytes += content.length;
  }
  console.log(`wrote ${cases.length} hostile cases + base model to ${HOSTILE_DIR} (${files.size} files, ${bytes} bytes)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
