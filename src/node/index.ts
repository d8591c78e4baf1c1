/** Node-only entry point: everything from the core plus file loading and downloading. */
export * from "../index.js";
export * from "../study.js";
export { loadModelFromDir, findModelFiles, type ModelFiles, type LoadFromDirOptions } from "./model-dir.js";
export { nodeWorkerFactory } from "./wasm-workers.js";
export {
  downloadModel, isDownloadComplete, DownloadError,
  type DownloadOptions, type DownloadResult, type DownloadEvent, type FileResult,
} from "./download.js";
export { DEFAULT_MODEL_ID, DEFAULT_REVISION, defaultModelDir, modelDirFor } from "./home.js";
export { loadDefaultModel } from "./default-model.js";
