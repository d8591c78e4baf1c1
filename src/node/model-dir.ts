/** Loading a model folder from disk (Node only). */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { FileError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { loadModel, type LoadModelOptions } from "../model/load.js";
import type { ByteReader } from "../safetensors/index.js";
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
 * Load a model folder: config.json, model.safetensors (or the one *.safetensors file), vocab.txt or tokenizer.json.
 * The weights are read tensor by tensor through the file descriptor (closed when this settles, loaded or not), so
 * the file is never whole in memory: the model keeps one copy of each weight (the wasm backend: its packed copy).
 */
export async function loadModelFromDir(dir: string, options: LoadFromDirOptions = {}): Promise<DistilBertClassifier> {
  const files = await findModelFiles(dir);
  const [config, tokenizer] = await Promise.all([readFileChecked(files.config), readFileChecked(files.tokenizer)]);
  const opened = await openWeights(files.weights);
  try {
    return await loadModel({
      ...options,
      // Node has no global Worker: a wasm thread pool starts worker_threads.
      workerFactory: options.workerFactory ?? ((options.threads ?? 1) > 1 ? nodeWorkerFactory() : undefined),
      config: decodeUtf8(config, files.config),
      [files.tokenizerKind]: decodeUtf8(tokenizer, files.tokenizer),
      weights: opened.weights,
      sources: { config: files.config, vocab: files.tokenizer, tokenizerJson: files.tokenizer, weights: files.weights },
    });
  } finally {
    opened.close();
  }
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(path, "is not valid UTF-8 text");
  }
}
