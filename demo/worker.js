// The demo's engine runs here, off the page's thread, so typing stays smooth while a 66M-parameter model thinks.
// Messages in:  { type: "load", backend: "auto" | "wasm" | "js",
//                 source: { kind: "url", base } | { kind: "files", files: { config, vocab, tokenizer, weights } } }
//               { type: "classify", id, text, layer, head }      head = -1 averages the heads
//               { type: "attention", id, layer, head }           another view of the last text's attentions
// Messages out: { type: "progress", file, loaded, total } · { type: "ready", info } · { type: "result", ... }
//               { type: "attention", ... } · { type: "error", id?, message }
import * as lib from "../dist/browser/distilbert-ts.min.js";
import { fetchBytes, fetchText, fileBytes } from "./loader.js";

let model = null;
let last = null; // { id, attentions: Tensor[] [1, H, T, T] per layer, T }

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const progress = (file) => (loaded, total) => post({ type: "progress", file, loaded, total });

async function load(source, backend = "auto") {
  const t0 = performance.now();
  let config, vocab, tokenizerJson, weights, sizes;
  if (source.kind === "url") {
    const base = source.base.endsWith("/") ? source.base : source.base + "/";
    config = await fetchText(base + "config.json");
    // vocab.txt first; tokenizer.json when a repository only has that.
    try {
      vocab = await fetchText(base + "vocab.txt");
    } catch {
      tokenizerJson = await fetchText(base + "tokenizer.json");
    }
    weights = await fetchBytes(base + "model.safetensors", progress("model.safetensors"));
  } else {
    const f = source.files;
    config = await f.config.text();
    if (f.vocab) vocab = await f.vocab.text();
    else tokenizerJson = await f.tokenizer.text();
    weights = await fileBytes(f.weights, progress(f.weights.name));
  }
  sizes = { weights: weights.length };
  const t1 = performance.now();
  if (model !== null && typeof model.backend.dispose === "function") model.backend.dispose();
  model = await lib.loadModel({ config, vocab, tokenizerJson, weights, backend });
  const t2 = performance.now();
  last = null;
  const c = model.config;
  // F32 weights are used where they lie in the downloaded array: the word-embedding table (the largest tensor) is
  // a view on that same buffer, so the model costs no second copy of the file.
  const inPlace = model.model.distilbert.embeddings.wordEmbeddings.buffer === weights.buffer;
  post({
    type: "ready",
    info: {
      layers: c.nLayers,
      dim: c.dim,
      heads: c.nHeads,
      hidden: c.hiddenDim,
      labels: c.labels,
      maxLength: c.maxPositionEmbeddings,
      parameters: lib.parameterCount(c),
      backend: model.backend.name,
      dtypes: model.loadReport.dtypes,
      weightsBytes: sizes.weights,
      inPlace,
      // The wasm backend packs the Linear weights into its WebAssembly memory (its kernels read them from there).
      wasmMemoryBytes: typeof model.backend.memoryBytes === "number" ? model.backend.memoryBytes : null,
      fetchMs: Math.round(t1 - t0),
      buildMs: Math.round(t2 - t1),
    },
  });
}

/** [T, T] attention probabilities of one layer and head (or the heads' mean), row = query, column = key. */
function attentionSlice(attentions, T, layer, head) {
  const a = attentions[layer]; // [1, H, T, T]
  const H = a.shape[1];
  const out = new Float32Array(T * T);
  if (head >= 0) {
    out.set(a.data.subarray(head * T * T, (head + 1) * T * T));
  } else {
    for (let h = 0; h < H; h++) {
      const s = a.data.subarray(h * T * T, (h + 1) * T * T);
      for (let i = 0; i < s.length; i++) out[i] += s[i] / H;
    }
  }
  return out;
}

function classify({ id, text, layer, head }) {
  const t0 = performance.now();
  const enc = model.tokenizer.encode(text, { maxLength: model.maxLength });
  // One forward gives both the answer and the attention maps (a single unpadded sequence: the same logits as
  // classify()); toClassification is what classify() itself uses.
  // Attention maps cost layers·heads·T² floats (75 MB at 512 tokens for the real model): past MAX_ATTENTION_TOKENS
  // the view is skipped rather than allocating that on every keystroke.
  const T = enc.ids.length;
  const withAttention = T <= MAX_ATTENTION_TOKENS;
  const out = model.forward(enc.ids, undefined, { outputAttentions: withAttention });
  const result = model.toClassification(out.logits.data, enc.tokens, enc.truncated);
  const ms = performance.now() - t0;
  if (!withAttention) {
    last = null;
    post({ type: "result", id, text, ...result, ms, attention: null });
    return;
  }
  last = { id, attentions: out.attentions, T };
  const l = Math.min(layer, out.attentions.length - 1);
  const map = attentionSlice(out.attentions, T, l, head);
  post({ type: "result", id, text, ...result, ms, attention: { layer: l, head, T, map } }, [map.buffer]);
}

const MAX_ATTENTION_TOKENS = 256;

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    if (msg.type === "load") await load(msg.source, msg.backend);
    else if (msg.type === "classify") {
      if (model === null) throw new Error("no model loaded yet");
      classify(msg);
    } else if (msg.type === "attention") {
      if (last === null) return;
      const map = attentionSlice(last.attentions, last.T, msg.layer, msg.head);
      post({ type: "attention", id: last.id, layer: msg.layer, head: msg.head, T: last.T, map }, [map.buffer]);
    }
  } catch (err) {
    post({ type: "error", id: msg.id, during: msg.type, message: err && err.message ? err.message : String(err), name: err && err.name });
  }
};
