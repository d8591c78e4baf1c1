/**
 * distilbert-ts: DistilBERT sequence classification in pure TypeScript, for any JavaScript runtime.
 *
 *   import { loadModel } from "distilbert-ts";
 *   const model = await loadModel({ config, vocab, weights });
 *   await model.classify("I loved this film");   // { label: "POSITIVE", score: 0.99…, … }
 */
export { loadModel, type LoadModelOptions } from "./model/load.js";
export {
  DistilBertClassifier,
  packSequences,
  softmax,
  type Classification,
  type ClassifyOptions,
  type ForwardOptions,
  type ForwardOutput,
  type IdRows,
} from "./model/classifier.js";
export { parseConfig, parameterCount, type DistilBertConfig } from "./model/config.js";
export { DistilBertModel, DistilBertForSequenceClassification, type PackedBatch } from "./model/distilbert.js";
export { activationTable, compilePattern, type ActivationInfo, type Hook, type HookContext } from "./model/activations.js";
export { SafetensorsWeights, type LoadReport, type ModelDtype } from "./model/weights.js";
export { quantizeRows, dequantizeRows, type Q8Rows } from "./tensor/quant.js";
export { mulberry32, randomModel, type RandomModel, type RandomModelSpec } from "./model/random-model.js";
export * from "./errors.js";
export { Tensor } from "./tensor/tensor.js";
export type { Activation, AttentionSpan, Backend, LinearWeight, Workspace } from "./tensor/backend.js";
export { JsBackend } from "./tensor/js-backend.js";
export { WasmBackend, wasmKernelBytes, wasmSimdSupported, relaxedSimdSupported, type WasmBackendOptions } from "./tensor/wasm/backend.js";
export { webWorkerFactory, type WorkerFactory, type PoolWorker } from "./tensor/wasm/pool.js";
export { naiveBackend } from "./tensor/naive.js";
export { erf, erfc, gelu } from "./tensor/erf.js";
export { WordPieceTokenizer, type Encoding, type EncodeOptions, type BatchEncoding } from "./tokenizer/index.js";
export { SafetensorsFile, writeSafetensors, type ByteReader, type Dtype, type TensorInfo, type WriteTensor } from "./safetensors/index.js";
