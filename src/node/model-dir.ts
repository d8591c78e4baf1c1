/** Loading a model folder from disk (Node only). */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { FileError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { loadModel, type LoadModelOptions } from "../model/load.js";
import type { SentenceTransformersFiles } from "../model/sentence.js";
import type { ByteReader } from "../safetensors/index.js";
import { type LoadTokenizerOptions, loadTokenizer, type WordPieceTokenizer } from "../tokenizer/index.js";
import { nodeWorkerFactory } from "./wasm-workers.js";

/** The tokenizer files of a folder, as paths; the ones the folder lacks are undefined. */
export interface TokenizerFilePaths {
  /** tokenizer.json: when present, vocab.txt is not read. */
  tokenizerJson?: string;
  vocab?: string;
  tokenizerConfig?: string;
  specialTokensMap?: string;
}

export interface ModelFiles {
  dir: string;
  config: string;
  weights: string;
  /** The file that defines the vocabulary: tokenizer.json, or vocab.txt when there is none. */
  tokenizer: string;
  tokenizerKind: "vocab" | "tokenizerJson";
  /** Every tokenizer file the folder has (tokenizer_config.json, special_tokens_map.json too). */
  tokenizerFiles: TokenizerFilePaths;
  /** modules.json of a sentence-transformers folder, when there is one. */
  modules?: string;
}

const TOKENIZER_EXPECTED = "tokenizer.json, or vocab.txt (with tokenizer_config.json)";

/**
 * Which tokenizer files of `dir` to read, as AutoTokenizer chooses: tokenizer.json first, else vocab.txt; with
 * tokenizer_config.json and special_tokens_map.json when present. A tokenizer-only folder (no config.json) is fine.
 */
export async function findTokenizerFiles(dir: string): Promise<TokenizerFilePaths> {
  return tokenizerFilesIn(dir, await listFolder(dir, `a tokenizer folder (${TOKENIZER_EXPECTED})`));
}

function tokenizerFilesIn(dir: string, names: string[]): TokenizerFilePaths {
  const has = new Set(names);
  const at = (name: string) => (has.has(name) ? join(dir, name) : undefined);
  const files: TokenizerFilePaths = {
    tokenizerConfig: at("tokenizer_config.json"),
    specialTokensMap: at("special_tokens_map.json"),
  };
  if (has.has("tokenizer.json")) files.tokenizerJson = join(dir, "tokenizer.json");
  else if (has.has("vocab.txt")) files.vocab = join(dir, "vocab.txt");
  else throw new FileError(join(dir, "vocab.txt"), "is missing (and there is no tokenizer.json)", TOKENIZER_EXPECTED);
  return files;
}

async function listFolder(dir: string, expected: string): Promise<string[]> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new FileError(dir, "is not a directory", expected);
    return await readdir(dir);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(dir, `cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, expected);
  }
}

/** The texts of a folder's tokenizer files, ready for `loadTokenizer` / `loadModel`. */
export async function readTokenizerFiles(paths: TokenizerFilePaths): Promise<{
  files: { tokenizerJson?: string; vocab?: string; tokenizerConfig?: string; specialTokensMap?: string };
  sources: { tokenizerJson?: string; vocab?: string; tokenizerConfig?: string; specialTokensMap?: string };
}> {
  const keys = ["tokenizerJson", "vocab", "tokenizerConfig", "specialTokensMap"] as const;
  const texts = await Promise.all(
    keys.map(async (k) => {
      const path = paths[k];
      return path === undefined ? undefined : decodeUtf8(await readFileChecked(path), path);
    }),
  );
  const files: Record<string, string | undefined> = {};
  const sources: Record<string, string | undefined> = {};
  keys.forEach((k, i) => {
    if (texts[i] === undefined) return;
    files[k] = texts[i];
    sources[k] = paths[k];
  });
  return { files, sources };
}

/**
 * The tokenizer of a model or tokenizer folder (no config.json needed), as `AutoTokenizer.from_pretrained(dir)`:
 * tokenizer.json first, else vocab.txt with tokenizer_config.json and special_tokens_map.json.
 */
export async function loadTokenizerFromDir(dir: string, options: Omit<LoadTokenizerOptions, "sources"> = {}): Promise<WordPieceTokenizer> {
  const { files, sources } = await readTokenizerFiles(await findTokenizerFiles(dir));
  return loadTokenizer(files, { ...options, sources });
}

/** Which files of `dir` make the model: config.json, one *.safetensors (model.safetensors first), a tokenizer. */
export async function findModelFiles(dir: string): Promise<ModelFiles> {
  const names = await listFolder(dir, "a model folder (config.json, model.safetensors, vocab.txt)");
  const has = new Set(names);
  if (!has.has("config.json")) throw new FileError(join(dir, "config.json"), "is missing", "the model's Hugging Face config.json");
  const safetensors = names.filter((n) => n.endsWith(".safetensors")).sort();
  let weights: string;
  if (has.has("model.safetensors")) weights = "model.safetensors";
  else if (safetensors.length === 1) weights = safetensors[0];
  else if (safetensors.length === 0) throw new FileError(join(dir, "model.safetensors"), "is missing (no *.safetensors file in the folder)", "the model weights as safetensors");
  else throw new FileError(dir, `has several weight files (${safetensors.join(", ")}) and no model.safetensors`, "one *.safetensors file, or one named model.safetensors");
  const tokenizerFiles = tokenizerFilesIn(dir, names);
  const tokenizerKind: ModelFiles["tokenizerKind"] = tokenizerFiles.tokenizerJson !== undefined ? "tokenizerJson" : "vocab";
  const tokenizer = (tokenizerFiles.tokenizerJson ?? tokenizerFiles.vocab) as string;
  const files: ModelFiles = { dir, config: join(dir, "config.json"), weights: join(dir, weights), tokenizer, tokenizerKind, tokenizerFiles };
  if (has.has("modules.json")) files.modules = join(dir, "modules.json");
  return files;
}

export async function readFileChecked(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new FileError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export type LoadFromDirOptions = Omit<
  LoadModelOptions,
  "config" | "vocab" | "tokenizerJson" | "tokenizerConfig" | "specialTokensMap" | "weights" | "sources"
>;

/** The largest single readSync: Node refuses lengths of 2 GiB and more. */
const MAX_READ = 1 << 30;

/** An open weights file: a ByteReader over its descriptor (or its bytes, for a file that is not a regular file). */
export interface OpenWeights {
  weights: ByteReader | Uint8Array;
  close(): void;
}

/**
 * Opens the weights file for reading tensor by tensor. Each read returns a new array of its own (so F32 tensors are
 * used in place, aligned, without a second copy); a read that comes up short (the file shrank after it was opened)
 * or fails is a FileError naming the file. A pipe or device cannot be read at offsets: it is read whole, as before.
 */
export async function openWeights(path: string): Promise<OpenWeights> {
  const cannot = (e: unknown) => new FileError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (no effect on regular files).
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw cannot(e);
  }
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw cannot(e);
  }
  if (!st.isFile()) {
    closeSync(fd);
    // readFile's own error for a folder (EISDIR), as before; a pipe or device is read whole.
    const bytes = await readFileChecked(path);
    return { weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), close: () => undefined };
  }
  const size = st.size;
  let open = true;
  const reader: ByteReader = {
    byteLength: size,
    read(position: number, length: number): Uint8Array {
      // A descriptor number is reused once closed: reading through a stale one could read another file.
      if (!open) throw new FileError(path, "was read after loading finished (the file is closed)");
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        let n: number;
        try {
          n = readSync(fd, out, done, Math.min(length - done, MAX_READ), position + done);
        } catch (e) {
          throw cannot(e);
        }
        if (n === 0) {
          throw new FileError(
            path,
            `ends at byte ${position + done}, but it had ${size} bytes when it was opened`,
            "a file that does not change while the model loads",
          );
        }
        done += n;
      }
      return out;
    },
  };
  return {
    weights: reader,
    close: () => {
      if (!open) return;
      open = false;
      try {
        closeSync(fd);
      } catch {
        // Nothing was written through it: a failing close loses nothing, and must not hide the load's outcome.
      }
    },
  };
}

/**
 * Load a model folder: config.json, model.safetensors (or the one *.safetensors file), and the tokenizer files as
 * `findTokenizerFiles` picks them (tokenizer.json first, else vocab.txt; tokenizer_config.json when present).
 * The weights are read tensor by tensor through the file descriptor (closed when this settles, loaded or not), so
 * the file is never whole in memory: the model keeps one copy of each weight (the wasm backend: its packed copy).
 */
export async function loadModelFromDir(dir: string, options: LoadFromDirOptions = {}): Promise<DistilBertClassifier> {
  const files = await findModelFiles(dir);
  const [config, tokenizer] = await Promise.all([readFileChecked(files.config), readTokenizerFiles(files.tokenizerFiles)]);
  const sentenceTransformers = files.modules === undefined ? undefined : await readSentenceModules(dir, files.modules);
  const opened = await openWeights(files.weights);
  try {
    return await loadModel({
      ...options,
      // Node has no global Worker: a wasm thread pool starts worker_threads.
      workerFactory: options.workerFactory ?? ((options.threads ?? 1) > 1 ? nodeWorkerFactory() : undefined),
      config: decodeUtf8(config, files.config),
      ...tokenizer.files,
      weights: opened.weights,
      sentenceTransformers,
      sources: { config: files.config, ...tokenizer.sources, weights: files.weights },
    });
  } finally {
    opened.close();
  }
}

/**
 * modules.json and, for each module it lists, the files the core reads (its config.json, its model.safetensors).
 * Paths come from the file: parseSentenceModules refuses any that leaves the folder; here they are only joined to it
 * after the same check, and a module folder without a file simply lacks it (the core says which it needed).
 */
async function readSentenceModules(dir: string, modulesPath: string): Promise<SentenceTransformersFiles> {
  const modules = decodeUtf8(await readFileChecked(modulesPath), modulesPath);
  const files: Record<string, string | Uint8Array> = {};
  let list: unknown;
  try {
    list = JSON.parse(modules);
  } catch {
    return { modules, files }; // the core reports the bad JSON
  }
  if (!Array.isArray(list)) return { modules, files };
  for (const m of list.slice(0, 64)) {
    const p = (m as { path?: unknown } | null)?.path;
    if (typeof p !== "string" || p === "" || p.includes("..") || p.startsWith("/") || p.includes("\\")) continue;
    for (const [name, text] of [["config.json", true], ["model.safetensors", false]] as const) {
      const path = join(dir, p, name);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch {
        continue;
      }
      files[`${p}/${name}`] = text ? decodeUtf8(bytes, path) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }
  return { modules, files };
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(path, "is not valid UTF-8 text");
  }
}
