/**
 * Node's `pipeline(task, source, options)`: the core's, plus a model folder on disk or a Hub id as `source`
 * ("owner/name" or "owner/name@revision"), downloaded and verified into the same cache as `distilbert-ts download`
 * (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE honoured from the environment).
 */
import { stat } from "node:fs/promises";
import { InputError } from "../errors.js";
import { pipelineFor, pipeline as corePipeline, type PipelineOptions, type PipelineSource, type Task, type TaskTypes } from "../pipelines/index.js";
import { downloadModel, envFlag, MODEL_FILES, validateModelId, validateRevision } from "./download.js";
import { type Env, modelDirFor } from "./home.js";
import { loadModelFromDir } from "./model-dir.js";

export interface NodePipelineOptions extends PipelineOptions {
  /** Environment for Hub ids (default process.env): DISTILBERT_TS_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE. */
  env?: Env;
}

export async function pipeline<T extends Task>(task: T, source: PipelineSource, options: NodePipelineOptions = {}): Promise<TaskTypes[T]> {
  const { env = process.env, ...rest } = options;
  if (typeof source !== "string" || /^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return corePipeline(task, source, rest);
  const dir = (await isDir(source)) ? source : await fromHub(source, env);
  return pipelineFor(task, await loadModelFromDir(dir, rest));
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** "owner/name[@revision]" → its verified folder in the cache (fetched when missing, re-checked when present). */
async function fromHub(source: string, env: Env): Promise<string> {
  const at = source.lastIndexOf("@");
  let modelId: string;
  try {
    modelId = validateModelId(at > 0 ? source.slice(0, at) : source);
  } catch {
    throw new InputError("pipeline", `source ${JSON.stringify(source)} is neither a model folder nor a Hub model id`, "a folder path, owner/name[@revision], or a URL");
  }
  const revision = validateRevision(at > 0 ? source.slice(at + 1) : "main");
  const dir = modelDirFor(modelId, revision, env);
  await downloadModel({
    modelId,
    revision,
    dir,
    endpoint: env.HF_ENDPOINT,
    token: env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN,
    offline: envFlag(env.HF_HUB_OFFLINE),
    files: [...MODEL_FILES.slice(0, -1), { name: "modules.json", required: false }, ...MODEL_FILES.slice(-1)],
  });
  return dir;
}
