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
  type ClassifierOptions,
  type ForwardOptions,
  type ForwardOutput,
  type IdRows,
} from "./model/classifier.js";
export { parseConfig, parameterCount, type DistilBertConfig } from "./model/config.js";
export { DistilBertModel, type EncoderRows, type PackedBatch } from "./model/distilbert.js";
export {
  DistilBertEncoder,
  DistilBertForMaskedLM,
  DistilBertForQuestionAnswering,
  DistilBertForSequenceClassification,
  DistilBertForTokenClassification,
  type DistilBertHead,
  type HeadForwardOptions,
} from "./model/heads.js";
export type { PoolingMode, SentenceTransformersFiles } from "./model/sentence.js";
export { activationTable, compilePattern, type ActivationInfo, type Hook, type HookContext } from "./model/activations.js";
export { SafetensorsWeights, type LoadReport, type ModelDtype } from "./model/weights.js";
export { quantizeRows, dequantizeRows, type Q8Rows } from "./tensor/quant.js";
export { pipeline, pipelineFor, loadModelFromUrl, TASKS, type Task, type TaskTypes, type Pipeline, type PipelineSource, type PipelineOptions } from "./pipelines/index.js";
export { fillMask, type FillMaskOptions, type FillMaskOutput, type FillMaskResult } from "./pipelines/fill-mask.js";
export { questionAnswering, qaWindows, bestSpans, type QaAnswer, type QaInput, type QaOptions, type QaWindow } from "./pipelines/question-answering.js";
export { tokenClassification, AGGREGATIONS, type Aggregation, type EntityGroup, type TokenEntity, type TokenClassificationOptions } from "./pipelines/token-classification.js";
export { featureExtraction, type FeatureExtractionOptions, type Features } from "./pipelines/feature-extraction.js";
export { textClassification, type LabelScore, type TextClassificationOptions } from "./pipelines/text-classification.js";
export * from "./errors.js";
export { Tensor } from "./tensor/tensor.js";
export type { Activation, AttentionSpan, Backend, LinearWeight, Workspace } from "./tensor/backend.js";
export { JsBackend } from "./tensor/js-backend.js";
export { WasmBackend, wasmKernelBytes, wasmSimdSupported, relaxedSimdSupported, type WasmBackendOptions } from "./tensor/wasm/backend.js";
export { webWorkerFactory, type WorkerFactory, type PoolWorker } from "./tensor/wasm/pool.js";
export { erf, erfc, gelu } from "./tensor/erf.js";
export {
  WordPieceTokenizer,
  loadTokenizer,
  codePointOffsets,
  type Encoding,
  type EncodeOptions,
  type WindowOptions,
  type BatchEncoding,
  type SpecialTokens,
  type TruncationStrategy,
  type NormalizerFlags,
  type TokenizerFiles,
  type LoadTokenizerOptions,
} from "./tokenizer/index.js";
export { SafetensorsFile, type ByteReader, type Dtype, type TensorInfo } from "./safetensors/index.js";
// The oracle backend, random models and the safetensors writer: distilbert-ts/tools (src/tools.ts).
