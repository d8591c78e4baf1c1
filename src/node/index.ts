/** Node-only entry point: everything from the core plus file loading and downloading. */
export * from "../index.js";
export * from "../study.js";
export * from "../tools.js";
export {
  loadModelFromDir,
  loadTokenizerFromDir,
  findModelFiles,
  findTokenizerFiles,
  type ModelFiles,
  type TokenizerFilePaths,
  type LoadFromDirOptions,
} from "./model-dir.js";
export { nodeWorkerFactory } from "./wasm-workers.js";
// Node's pipeline also takes a model folder or a Hub id; it replaces the core's export of the same name.
export { pipeline, type NodePipelineOptions } from "./pipeline.js";
export {
  downloadModel, isDownloadComplete, DownloadError,
  type DownloadOptions, type DownloadResult, type DownloadEvent, type FileResult,
} from "./download.js";
export { DEFAULT_MODEL_ID, DEFAULT_REVISION, defaultModelDir, modelDirFor } from "./home.js";
export { loadDefaultModel } from "./default-model.js";
