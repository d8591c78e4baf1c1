import { InputError, TokenizerError, WeightsError } from "../errors.js";
import { SafetensorsFile } from "../safetensors/index.js";
import type { Backend } from "../tensor/backend.js";
import { JsBackend } from "../tensor/js-backend.js";
import { WordPieceTokenizer } from "../tokenizer/index.js";
import { DistilBertClassifier } from "./classifier.js";
import { parseConfig } from "./config.js";
import { DistilBertForSequenceClassification } from "./distilbert.js";
import { SafetensorsWeights } from "./weights.js";

export interface LoadModelOptions {
  /** config.json, as text or parsed. */
  config: string | object;
  /** vocab.txt text; or give tokenizerJson. */
  vocab?: string;
  /** tokenizer.json, as text or parsed; used when vocab is absent. */
  tokenizerJson?: string | object;
  /** The safetensors file's bytes. F32 tensors are used in place (no copy) when aligned. */
  weights: Uint8Array | ArrayBuffer;
  /** A Backend instance, or "js" (plain JavaScript, the default). */
  backend?: Backend | "js";
  /** Scan every weight for NaN/±Inf and refuse the model if any (costs one pass over the weights). */
  checkWeights?: boolean;
  /** File names used in error messages. */
  sources?: { config?: string; vocab?: string; tokenizerJson?: string; weights?: string };
}

/** Build a classifier from a model folder's files, in any JS runtime. */
export async function loadModel(options: LoadModelOptions): Promise<DistilBertClassifier> {
  if (options === null || typeof options !== "object") throw new InputError("loadModel", "options are missing", "{ config, vocab | tokenizerJson, weights }");
  const sources = options.sources ?? {};
  const config = parseConfig(options.config, sources.config ?? "config.json");
  let tokenizer: WordPieceTokenizer;
  if (options.vocab !== undefined) {
    tokenizer = WordPieceTokenizer.fromVocab(options.vocab, { source: sources.vocab ?? "vocab.txt", modelMaxLength: config.maxPositionEmbeddings });
  } else if (options.tokenizerJson !== undefined) {
    tokenizer = WordPieceTokenizer.fromTokenizerJson(options.tokenizerJson, { source: sources.tokenizerJson ?? "tokenizer.json", modelMaxLength: config.maxPositionEmbeddings });
  } else {
    throw new InputError("loadModel", "neither vocab nor tokenizerJson was given", "the text of vocab.txt or tokenizer.json");
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(sources.vocab ?? sources.tokenizerJson ?? "vocab", `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`, `at most ${config.vocabSize} tokens`);
  }
  const weights = options.weights;
  if (!(weights instanceof Uint8Array) && !(weights instanceof ArrayBuffer)) {
    throw new InputError("loadModel", "weights are not bytes", "a Uint8Array or ArrayBuffer with the safetensors file");
  }
  const file = SafetensorsFile.parse(weights, { source: sources.weights ?? "model.safetensors" });
  const backend = resolveBackend(options.backend);
  const src = new SafetensorsWeights(file, { checkFinite: options.checkWeights === true });
  const model = DistilBertForSequenceClassification.load(src, config, backend);
  const report = src.report();
  if (report.nonFinite.length > 0) {
    const first = report.nonFinite[0];
    throw new WeightsError(`${file.source}: tensor "${first.name}"`, `holds ${first.count} NaN/Inf values (first at index ${first.firstIndex}); ${report.nonFinite.length} tensor(s) affected`, "finite weights");
  }
  return new DistilBertClassifier(config, tokenizer, model, backend, report);
}

function resolveBackend(b: LoadModelOptions["backend"]): Backend {
  if (b === undefined || b === "js") return new JsBackend();
  if (typeof b === "object" && b !== null && typeof b.linear === "function") return b;
  throw new InputError("loadModel", `backend ${JSON.stringify(b)} is unknown`, '"js" or a Backend object');
}
