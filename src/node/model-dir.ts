/** Loading a model folder from disk (Node only). */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { FileError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { loadModel, type LoadModelOptions } from "../model/load.js";
import { nodeWorkerFactory } from "./wasm-workers.js";

export interface ModelFiles {
  dir: string;
  config: string;
  weights: string;
  /** vocab.txt or tokenizer.json */
  tokenizer: string;
  tokenizerKind: "vocab" | "tokenizerJson";
}

/** Which files of `dir` make the model: config.json, one *.safetensors (model.safetensors first), a tokenizer. */
export async function findModelFiles(dir: string): Promise<ModelFiles> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new FileError(dir, "is not a directory", "a model folder (config.json, model.safetensors, vocab.txt)");
    names = await readdir(dir);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(dir, `cannot read the model folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "a model folder (config.json, model.safetensors, vocab.txt)");
  }
  const has = new Set(names);
  if (!has.has("config.json")) throw new FileError(join(dir, "config.json"), "is missing", "the model's Hugging Face config.json");
  const safetensors = names.filter((n) => n.endsWith(".safetensors")).sort();
  let weights: string;
  if (has.has("model.safetensors")) weights = "model.safetensors";
  else if (safetensors.length === 1) weights = safetensors[0];
  else if (safetensors.length === 0) throw new FileError(join(dir, "model.safetensors"), "is missing (no *.safetensors file in the folder)", "the model weights as safetensors");
  else throw new FileError(dir, `has several weight files (${safetensors.join(", ")}) and no model.safetensors`, "one *.safetensors file, or one named model.safetensors");
  let tokenizer: string;
  let tokenizerKind: ModelFiles["tokenizerKind"];
  if (has.has("vocab.txt")) [tokenizer, tokenizerKind] = ["vocab.txt", "vocab"];
  else if (has.has("tokenizer.json")) [tokenizer, tokenizerKind] = ["tokenizer.json", "tokenizerJson"];
  else throw new FileError(join(dir, "vocab.txt"), "is missing (and there is no tokenizer.json)", "vocab.txt or tokenizer.json");
  return { dir, config: join(dir, "config.json"), weights: join(dir, weights), tokenizer: join(dir, tokenizer), tokenizerKind };
}

export async function readFileChecked(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new FileError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export type LoadFromDirOptions = Omit<LoadModelOptions, "config" | "vocab" | "tokenizerJson" | "weights" | "sources">;

/**
 * Load a model folder: config.json, model.safetensors (or the one *.safetensors file), vocab.txt or tokenizer.json.
 * The weights file is read once; F32 tensors are used in place from that buffer.
 */
export async function loadModelFromDir(dir: string, options: LoadFromDirOptions = {}): Promise<DistilBertClassifier> {
  const files = await findModelFiles(dir);
  const [config, tokenizer, weights] = await Promise.all([
    readFileChecked(files.config),
    readFileChecked(files.tokenizer),
    readFileChecked(files.weights),
  ]);
  return loadModel({
    ...options,
    // Node has no global Worker: a wasm thread pool starts worker_threads.
    workerFactory: options.workerFactory ?? ((options.threads ?? 1) > 1 ? nodeWorkerFactory() : undefined),
    config: decodeUtf8(config, files.config),
    [files.tokenizerKind]: decodeUtf8(tokenizer, files.tokenizer),
    weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
    sources: { config: files.config, vocab: files.tokenizer, tokenizerJson: files.tokenizer, weights: files.weights },
  });
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(path, "is not valid UTF-8 text");
  }
}
