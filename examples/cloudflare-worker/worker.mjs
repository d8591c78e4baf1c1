// A Cloudflare Worker serving Text Embeddings Inference's API (/predict, /tokenize, /info, /health, /metrics) with
// distilbert-ts's request handler: the same code `distilbert-ts serve` runs on Node.
//
// The model files are modules of the Worker (wrangler.toml's [[rules]]): config.json as JSON, vocab.txt as text,
// model.safetensors as data; the kernels come precompiled (Workers may not compile WebAssembly from bytes).
// test/runtimes/workerd-serve.test.ts runs this very file in workerd.
import { createHandler, loadModel } from "distilbert-ts/server";
import kernels from "distilbert-ts/kernels.wasm";
import config from "./model/config.json";
import vocab from "./model/vocab.txt";
import weights from "./model/model.safetensors";

let handler = null;

export default {
  async fetch(request, env) {
    // One model per isolate, loaded by the first request and kept for the next ones.
    handler ??= createHandler(await loadModel({ config, vocab, weights, wasmModule: kernels }), {
      // A Worker's request may not settle another request's promise: each request's inputs run together.
      batching: "per-request",
      info: { modelId: env?.MODEL_ID ?? "distilbert", version: env?.VERSION ?? "unknown" },
    });
    return handler.fetch(request);
  },
};
