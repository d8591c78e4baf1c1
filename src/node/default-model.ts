/** What the CLI does without --model, for scripts: the default model, downloaded once (verified), then loaded. */
import type { DistilBertClassifier } from "../model/classifier.js";
import { downloadModel, envFlag, isDownloadComplete, type DownloadEvent } from "./download.js";
import { DEFAULT_MODEL_ID, DEFAULT_REVISION, defaultModelDir, type Env } from "./home.js";
import { loadModelFromDir, type LoadFromDirOptions } from "./model-dir.js";

export interface LoadDefaultModelOptions extends LoadFromDirOptions {
  /** Where DISTILBERT_TS_HOME, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE are read; default process.env. */
  env?: Env;
  /** Download progress, when the model is not there yet. */
  onDownloadEvent?: (e: DownloadEvent) => void;
}

/**
 * The model `distilbert-ts download` fetches (distilbert-base-uncased-finetuned-sst-2-english at its pinned commit),
 * from the same folder the CLI uses; downloaded first if that folder holds no complete, verified download.
 */
export async function loadDefaultModel(options: LoadDefaultModelOptions = {}): Promise<DistilBertClassifier> {
  const { env = process.env, onDownloadEvent, ...load } = options;
  const dir = defaultModelDir(env);
  if (!(await isDownloadComplete(dir))) {
    await downloadModel({ modelId: DEFAULT_MODEL_ID, revision: DEFAULT_REVISION, dir, endpoint: env.HF_ENDPOINT, token: env.HF_TOKEN, offline: envFlag(env.HF_HUB_OFFLINE), onEvent: onDownloadEvent });
  }
  return loadModelFromDir(dir, load);
}
