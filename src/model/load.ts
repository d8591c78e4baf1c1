import { described, optionalBoolean, optionalInteger, optionalOf } from "../arguments.js";
import { InputError, TokenizerError, WeightsError } from "../errors.js";
import { type ByteReader, SafetensorsFile } from "../safetensors/index.js";
import type { Backend } from "../tensor/backend.js";
import { JsBackend } from "../tensor/js-backend.js";
import { WasmBackend, wasmSimdSupported } from "../tensor/wasm/backend.js";
import type { WorkerFactory } from "../tensor/wasm/pool.js";
import { loadTokenizer, type WordPieceTokenizer } from "../tokenizer/index.js";
import { DistilBertClassifier } from "./classifier.js";
import { parseConfig } from "./config.js";
import { type DistilBertHead, loadHead } from "./heads.js";
import { parseSentenceModules, type SentenceModule, type SentenceTransformersFiles } from "./sentence.js";
import { type ModelDtype, SafetensorsWeights } from "./weights.js";

export interface LoadModelOptions {
  /** config.json, as text or parsed. */
  config: string | object;
  /** tokenizer.json, as text or parsed: the tokenizer whenever given (as AutoTokenizer prefers it). */
  tokenizerJson?: string | object;
  /** vocab.txt text, used when tokenizerJson is absent, shaped by tokenizerConfig (default: uncased BERT). */
  vocab?: string;
  /** tokenizer_config.json (text or parsed): do_lower_case, strip_accents, model_max_length, special tokens. */
  tokenizerConfig?: string | object;
  /** special_tokens_map.json (text or parsed), when the model has one. */
  specialTokensMap?: string | object;
  /**
   * The safetensors file: its bytes (F32 tensors are then used in place, no copy, when aligned, so the whole buffer
   * stays alive with the model), or a ByteReader (`{ byteLength, read(position, length) }`, synchronous) that
   * loadModel reads tensor by tensor while it builds the model and never after it resolves; the file is never whole
   * in memory then, and a backend that packs its weights (wasm) keeps only its packed copy. loadModelFromDir passes a
   * reader over a file descriptor. A reader's I/O failure surfaces as a FileError naming `sources.weights`.
   */
  weights: Uint8Array | ArrayBuffer | ByteReader;
  /**
   * A Backend instance; "wasm" (WebAssembly SIMD, relaxed SIMD where the engine has it); "js" (plain JavaScript);
   * or "auto" (the default): wasm where WebAssembly SIMD is available and may be compiled (or `wasmModule` is given),
   * js otherwise.
   */
  backend?: Backend | "js" | "wasm" | "auto";
  /**
   * For hosts that may instantiate but not compile WebAssembly (Cloudflare Workers): the kernels precompiled from
   * `wasmKernelBytes()` (e.g. a .wasm file imported as a module).
   */
  wasmModule?: WebAssembly.Module;
  /** wasm backend: threads splitting each matrix product, this one included (default 1). */
  threads?: number;
  /** wasm backend with threads > 1: how to start a worker (Node: `nodeWorkerFactory()`; default: the global Worker). */
  workerFactory?: WorkerFactory;
  /**
   * How the matrices run (src/tensor/quant.ts, docs/quantization.md): "auto" (the default: q8 exactly when the file
   * holds I8 tensors, as `distilbert-ts quantize` writes), "f32" (an I8 file is dequantized), or "q8" (int8 weights
   * and activations; a float checkpoint is quantized at load).
   */
  dtype?: ModelDtype;
  /** Scan every weight for NaN/±Inf and refuse the model if any (costs one pass over the weights). */
  checkWeights?: boolean;
  /**
   * For a bare DistilBertModel saved by sentence-transformers: modules.json and the modules' files (Pooling, Dense,
   * Normalize), so that the model's output is its sentence embedding.
   */
  sentenceTransformers?: SentenceTransformersFiles;
  /** File names used in error messages. */
  sources?: {
    config?: string;
    vocab?: string;
    tokenizerJson?: string;
    tokenizerConfig?: string;
    specialTokensMap?: string;
    weights?: string;
  };
}

/**
 * Build a model from a model folder's files, in any JS runtime. The head comes from config.json's `architectures`
 * (a config without it is a sequence classifier).
 */
export async function loadModel(options: LoadModelOptions): Promise<DistilBertClassifier> {
  if (options === null || typeof options !== "object") throw new InputError("loadModel", "options are missing", "{ config, vocab | tokenizerJson, weights }");
  checkLoadOptions(options);
  const sources = options.sources ?? {};
  const config = parseConfig(options.config, sources.config ?? "config.json");
  const weights = options.weights;
  const isReader = isByteReader(weights);
  if (!(weights instanceof Uint8Array) && !(weights instanceof ArrayBuffer) && !isReader) {
    throw new InputError("loadModel: weights", `is ${described(weights)}`, "a Uint8Array or ArrayBuffer with the safetensors file, or a ByteReader");
  }
  // The weights header is validated before the tokenizer is built: it costs no allocation beyond the header, so a
  // hostile weights file is refused before anything sized by another file is built. The header limit: DistilBERT's
  // header holds ~100 bytes of JSON per tensor (15 KB for the real model), while parsed JSON made of many small
  // entries takes ~15 times its size in memory; so 1 MiB (metadata, extra tensors) plus 1 KiB per tensor the config
  // needs, and anything larger is refused unparsed.
  const tensorsNeeded = 8 + 16 * config.nLayers;
  const parseOptions = { source: sources.weights ?? "model.safetensors", maxHeaderLength: (1 << 20) + 1024 * tensorsNeeded };
  const file = isReader ? SafetensorsFile.open(weights, parseOptions) : SafetensorsFile.parse(weights, parseOptions);
  if (options.vocab === undefined && options.tokenizerJson === undefined) {
    throw new InputError("loadModel", "neither vocab nor tokenizerJson was given", "the text of vocab.txt or tokenizer.json");
  }
  // tokenizer_config.json's model_max_length, capped by the position embeddings (the model's own limit).
  const tokenizer: WordPieceTokenizer = loadTokenizer(
    {
      tokenizerJson: options.tokenizerJson,
      vocab: options.vocab,
      tokenizerConfig: options.tokenizerConfig,
      specialTokensMap: options.specialTokensMap,
    },
    { sources, maxPositions: config.maxPositionEmbeddings },
  );
  if (tokenizer.vocabSize > config.vocabSize) {
    const source = options.tokenizerJson !== undefined ? (sources.tokenizerJson ?? "tokenizer.json") : (sources.vocab ?? "vocab.txt");
    throw new TokenizerError(source, `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`, `at most ${config.vocabSize} tokens`);
  }
  const dtype = options.dtype ?? "auto";
  if (dtype !== "auto" && dtype !== "f32" && dtype !== "q8") throw new InputError("loadModel: dtype", `is ${JSON.stringify(options.dtype)}`, '"auto", "f32" or "q8"');
  const backend = await resolveBackend(options);
  let model: DistilBertHead;
  let report: ReturnType<SafetensorsWeights["report"]>;
  try {
    const src = new SafetensorsWeights(file, { checkFinite: options.checkWeights === true, configSource: sources.config ?? "config.json", dtype });
    const modules: SentenceModule[] = options.sentenceTransformers !== undefined && config.architecture === "DistilBertModel"
      ? parseSentenceModules(options.sentenceTransformers, config.dim, backend, src.runsQ8())
      : [];
    model = loadHead(src, config, backend, modules);
    report = src.report();
  } catch (e) {
    if (backend !== options.backend && backend instanceof WasmBackend) backend.dispose(); // stop a pool we started
    throw e;
  }
  // A vocabulary shorter than the embedding table (a truncated vocab.txt) loads, but every word past its end would
  // come out [UNK]: refuse it, once the weights have shown that config.vocab_size is the embedding's real size.
  if (tokenizer.vocabSize !== config.vocabSize) {
    if (backend !== options.backend && backend instanceof WasmBackend) backend.dispose();
    throw new TokenizerError(sources.vocab ?? sources.tokenizerJson ?? "vocab", `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`, `${config.vocabSize} tokens, one per row of the embedding (is the file truncated, or from another model?)`);
  }
  if (report.nonFinite.length > 0) {
    if (backend !== options.backend && backend instanceof WasmBackend) backend.dispose();
    const first = report.nonFinite[0];
    throw new WeightsError(`${file.source}: tensor "${first.name}"`, `holds ${first.count} NaN/Inf values (first at index ${first.firstIndex}); ${report.nonFinite.length} tensor(s) affected`, "finite weights");
  }
  return new DistilBertClassifier(config, tokenizer, model, backend, report, { ownsBackend: backend !== options.backend });
}

function isByteReader(w: unknown): w is ByteReader {
  return typeof w === "object" && w !== null && !ArrayBuffer.isView(w) && typeof (w as ByteReader).read === "function" && typeof (w as ByteReader).byteLength === "number";
}

async function resolveBackend(options: LoadModelOptions): Promise<Backend> {
  const b = options.backend ?? "auto";
  if (typeof b === "object" && b !== null && typeof b.linear === "function") return b;
  if (b === "js") return new JsBackend();
  const wasmOptions = { module: options.wasmModule, threads: options.threads, workerFactory: options.workerFactory };
  if (b === "wasm") return WasmBackend.create(wasmOptions);
  if (b === "auto") {
    if (options.wasmModule === undefined && !wasmSimdSupported()) return new JsBackend();
    try {
      return await WasmBackend.create(wasmOptions);
    } catch (e) {
      // Only "this host will not run our WebAssembly" falls back; a bad option is still the caller's error.
      if (e instanceof InputError) throw e;
      return new JsBackend();
    }
  }
  throw new InputError("loadModel: backend", `is ${described(b)}`, '"auto", "wasm", "js" or a Backend object');
}

/** The options other than the files (which their parsers check, naming the file). */
function checkLoadOptions(o: LoadModelOptions): void {
  const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  optionalOf(o.vocab, "loadModel: vocab", (v) => typeof v === "string", "the text of vocab.txt");
  optionalBoolean(o.checkWeights, "loadModel: checkWeights");
  optionalInteger(o.threads, "loadModel: threads", 1, 1);
  optionalOf(o.workerFactory, "loadModel: workerFactory", (v) => typeof v === "function", "a function (index) => worker, e.g. nodeWorkerFactory()");
  optionalOf(o.wasmModule, "loadModel: wasmModule", (v) => typeof WebAssembly === "object" && v instanceof WebAssembly.Module, "a WebAssembly.Module compiled from wasmKernelBytes()");
  optionalOf(o.sources, "loadModel: sources", isObject, "an object of file names { config, vocab, tokenizerJson, tokenizerConfig, specialTokensMap, weights }");
  optionalOf(o.sentenceTransformers, "loadModel: sentenceTransformers", isObject, "an object with modules.json and the modules' files");
  for (const k of ["config", "vocab", "tokenizerJson", "tokenizerConfig", "specialTokensMap", "weights"] as const) {
    optionalOf(o.sources?.[k], `loadModel: sources.${k}`, (v) => typeof v === "string", "a file name");
  }
}
