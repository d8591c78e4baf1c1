/**
 * `pipeline(task, source, options)`: a loaded model behind one of Hugging Face's task interfaces, with the outputs
 * shaped as transformers' pipelines shape them. `source` is a model loadModel already returned, loadModel's options
 * (files as text/bytes), or a base URL the model folder's files are fetched from (config.json, model.safetensors,
 * tokenizer.json or vocab.txt, and a sentence-transformers model's modules). Node adds folders and Hub ids
 * (distilbert-ts/node).
 */
import { InputError } from "../errors.js";
import { DistilBertClassifier } from "../model/classifier.js";
import { loadModel, type LoadModelOptions } from "../model/load.js";
import type { PretrainedModel } from "./common.js";
import { featureExtraction, type FeatureExtractionOptions, type Features } from "./feature-extraction.js";
import { fillMask, type FillMaskOptions, type FillMaskOutput } from "./fill-mask.js";
import { type QaAnswer, type QaInput, type QaOptions, questionAnswering } from "./question-answering.js";
import { type LabelScore, textClassification, type TextClassificationOptions } from "./text-classification.js";
import { type EntityGroup, type TokenClassificationOptions, tokenClassification, type TokenEntity } from "./token-classification.js";

export type Task = "fill-mask" | "question-answering" | "token-classification" | "feature-extraction" | "text-classification";
export const TASKS: readonly Task[] = ["fill-mask", "question-answering", "token-classification", "feature-extraction", "text-classification"];

/** One input gives one output; an array gives an array, input by input (as transformers' pipelines). */
export interface Pipeline<I, O, Opt> {
  (input: I, options?: Opt): Promise<O>;
  (input: readonly I[], options?: Opt): Promise<O[]>;
  readonly task: Task;
  readonly model: PretrainedModel;
}

export interface TaskTypes {
  "fill-mask": Pipeline<string, FillMaskOutput, FillMaskOptions>;
  "question-answering": Pipeline<QaInput, QaAnswer | QaAnswer[], QaOptions>;
  "token-classification": Pipeline<string, (TokenEntity | EntityGroup)[], TokenClassificationOptions>;
  "feature-extraction": Pipeline<string, Features, FeatureExtractionOptions>;
  "text-classification": Pipeline<string, LabelScore[], TextClassificationOptions>;
}

/** Which head each task needs. */
const HEAD_OF: Record<Task, string> = {
  "fill-mask": "DistilBertForMaskedLM",
  "question-answering": "DistilBertForQuestionAnswering",
  "token-classification": "DistilBertForTokenClassification",
  "feature-extraction": "DistilBertModel",
  "text-classification": "DistilBertForSequenceClassification",
};

export type PipelineSource = PretrainedModel | LoadModelOptions | string | URL;
export type PipelineOptions = Omit<LoadModelOptions, "config" | "vocab" | "tokenizerJson" | "weights" | "sentenceTransformers" | "sources"> & {
  /** Fetch options for a URL source (headers, signal...). */
  fetchInit?: RequestInit;
};

export async function pipeline<T extends Task>(task: T, source: PipelineSource, options: PipelineOptions = {}): Promise<TaskTypes[T]> {
  if (!TASKS.includes(task)) throw new InputError("pipeline", `task ${JSON.stringify(task)} is unknown`, TASKS.join(", "));
  const model = source instanceof DistilBertClassifier
    ? source
    : typeof source === "string" || source instanceof URL
      ? await loadModelFromUrl(source, options)
      : await loadModel({ ...options, ...source });
  return pipelineFor(task, model);
}

/** The task's pipeline over a loaded model (refused, by name, when the model's head is not the task's). */
export function pipelineFor<T extends Task>(task: T, model: PretrainedModel): TaskTypes[T] {
  if (model.model.architecture !== HEAD_OF[task]) {
    throw new InputError("pipeline", `task ${task} needs a ${HEAD_OF[task]}, and the model is a ${model.model.architecture}`, `a ${HEAD_OF[task]} checkpoint`);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // (Each function takes one input or an array; the overloads are typed by TaskTypes.)
  const run: (input: any, options?: any) => unknown = {
    "fill-mask": (i: string, o?: FillMaskOptions) => fillMask(model, i, o),
    "question-answering": (i: QaInput, o?: QaOptions) => questionAnswering(model, i, o),
    "token-classification": (i: string, o?: TokenClassificationOptions) => tokenClassification(model, i, o),
    "feature-extraction": (i: string, o?: FeatureExtractionOptions) => featureExtraction(model, i, o),
    "text-classification": (i: string, o?: TextClassificationOptions) => textClassification(model, i, o),
  }[task];
  const fn = async (input: unknown, options?: unknown) => run(input, options);
  return Object.assign(fn, { task, model }) as unknown as TaskTypes[T];
}

/**
 * Fetch a model folder's files from a base URL (`…/resolve/main/` on the Hub, or any static server) and load it:
 * config.json and model.safetensors required; tokenizer.json, else vocab.txt; modules.json and its modules' files
 * when the folder has them.
 */
export async function loadModelFromUrl(base: string | URL, options: PipelineOptions = {}): Promise<DistilBertClassifier> {
  const root = new URL(String(base).endsWith("/") ? String(base) : `${String(base)}/`);
  const { fetchInit, ...loadOptions } = options;
  const get = async (name: string, required: boolean): Promise<Response | null> => {
    const url = new URL(name, root);
    let res: Response;
    try {
      res = await fetch(url, fetchInit);
    } catch (e) {
      throw new InputError(url.href, `cannot be fetched (${(e as Error).message})`);
    }
    if (res.ok) return res;
    if (!required && res.status === 404) return null;
    throw new InputError(url.href, `answered HTTP ${res.status}`, required ? "the model's file" : "the file or 404");
  };
  const text = async (name: string, required: boolean) => (await get(name, required))?.text() ?? undefined;
  const bytes = async (name: string, required: boolean) => {
    const r = await get(name, required);
    return r === null ? undefined : new Uint8Array(await r.arrayBuffer());
  };
  const config = (await text("config.json", true))!;
  const tokenizerJson = await text("tokenizer.json", false);
  const vocab = tokenizerJson === undefined ? await text("vocab.txt", true) : undefined;
  const modules = await text("modules.json", false);
  let sentenceTransformers: LoadModelOptions["sentenceTransformers"];
  if (modules !== undefined) {
    const files: Record<string, string | Uint8Array> = {};
    let list: unknown = [];
    try {
      list = JSON.parse(modules);
    } catch {
      // loadModel reports it
    }
    for (const m of Array.isArray(list) ? list.slice(0, 64) : []) {
      const p = (m as { path?: unknown } | null)?.path;
      if (typeof p !== "string" || p === "" || p.includes("..") || p.startsWith("/")) continue;
      const cfg = await text(`${p}/config.json`, false);
      if (cfg !== undefined) files[`${p}/config.json`] = cfg;
      if (String((m as { type?: unknown }).type).endsWith("Dense")) {
        const w = await bytes(`${p}/model.safetensors`, false);
        if (w !== undefined) files[`${p}/model.safetensors`] = w;
      }
    }
    sentenceTransformers = { modules, files };
  }
  const weights = (await bytes("model.safetensors", true))!;
  return loadModel({ ...loadOptions, config, tokenizerJson, vocab, weights, sentenceTransformers, sources: { config: new URL("config.json", root).href, weights: new URL("model.safetensors", root).href } });
}
