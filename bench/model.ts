/**
 * The model the bench measures: a folder with config.json, model.safetensors and vocab.txt.
 *
 * - `--model DIR`: that folder, as is.
 * - otherwise, when the reference tools have written /tmp/refmodel-base (random weights of the real shape, with an
 *   ONNX twin and float64 expected logits), a folder of links to it, so that our engine and the peers run the exact
 *   same weights;
 * - otherwise a random model of the real DistilBERT-base shape written here with our own writeSafetensors (seeded,
 *   the checkpoint's tensor names and shapes, the reference tools' initialisation scheme), cached in the temp dir.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { mulberry32 } from "../src/model/random-model.js";
import { writeSafetensors, type WriteTensor } from "../src/safetensors/index.js";
import { log, sharedDir } from "./common.js";

/** config.json of distilbert-base-uncased-finetuned-sst-2-english (the architecture fields are what matter). */
export const BASE_CONFIG = {
  activation: "gelu",
  architectures: ["DistilBertForSequenceClassification"],
  attention_dropout: 0.1,
  dim: 768,
  dropout: 0.1,
  finetuning_task: "sst-2",
  hidden_dim: 3072,
  id2label: { "0": "NEGATIVE", "1": "POSITIVE" },
  initializer_range: 0.02,
  label2id: { NEGATIVE: 0, POSITIVE: 1 },
  max_position_embeddings: 512,
  model_type: "distilbert",
  n_heads: 12,
  n_layers: 6,
  output_past: true,
  pad_token_id: 0,
  qa_dropout: 0.1,
  seq_classif_dropout: 0.2,
  sinusoidal_pos_embds: false,
  tie_weights_: true,
  vocab_size: 30522,
};

export interface BenchModel {
  dir: string;
  /** "user" (--model), "ref" (/tmp/refmodel-base) or "random" (written here). */
  kind: "user" | "ref" | "random";
  /** Where the weights really are (links resolved), for the report. */
  weightsPath: string;
  weightsBytes: number;
  /** The ONNX twin of these exact weights, for the peers; null when there is none. */
  onnx: string | null;
  /** Float64 reference logits for a few cases (reference tools' expected.json), or null. */
  expected: string | null;
}

const CACHE = join(tmpdir(), "distilbert-ts-bench");

export function prepareModel(opts: { model: string | null; ref: string; seed: number }): BenchModel {
  if (opts.model !== null) {
    const dir = resolve(opts.model);
    const weights = join(dir, "model.safetensors");
    if (!existsSync(join(dir, "config.json")) || !existsSync(weights)) {
      throw new Error(`--model ${dir}: needs config.json and model.safetensors`);
    }
    const onnx = join(dir, "model.onnx");
    const expected = join(dir, "expected.json");
    return {
      dir,
      kind: "user",
      weightsPath: weights,
      weightsBytes: statSync(weights).size,
      onnx: existsSync(onnx) ? onnx : null,
      expected: existsSync(expected) ? expected : null,
    };
  }
  const ref = resolve(opts.ref);
  const refWeights = join(ref, "model.safetensors");
  if (existsSync(refWeights) && existsSync(join(ref, "config.json"))) {
    // The reference folder has no vocabulary: link its files next to one.
    const st = statSync(refWeights);
    const dir = join(CACHE, `ref-${st.size}-${Math.round(st.mtimeMs)}`);
    if (!existsSync(join(dir, "model.safetensors"))) {
      mkdirSync(dir, { recursive: true });
      for (const f of ["config.json", "model.safetensors"]) {
        rmSync(join(dir, f), { force: true });
        symlinkSync(join(ref, f), join(dir, f));
      }
    }
    writeVocab(join(dir, "vocab.txt")); // afresh: ../shared may have appeared since
    const onnx = join(ref, "model.onnx");
    const expected = join(ref, "expected.json");
    return {
      dir,
      kind: "ref",
      weightsPath: refWeights,
      weightsBytes: st.size,
      onnx: existsSync(onnx) ? onnx : null,
      expected: existsSync(expected) ? expected : null,
    };
  }
  const dir = join(CACHE, `random-base-seed${opts.seed}-v1`);
  const weights = join(dir, "model.safetensors");
  if (!existsSync(weights)) {
    mkdirSync(dir, { recursive: true });
    log(`bench: writing a random DistilBERT-base model (seed ${opts.seed}) to ${dir} ...`);
    const t0 = performance.now();
    writeFileSync(join(dir, "config.json"), `${JSON.stringify(BASE_CONFIG, null, 2)}\n`);
    writeVocab(join(dir, "vocab.txt"));
    const bytes = randomCheckpoint(opts.seed);
    writeFileSync(`${weights}.incomplete`, bytes);
    renameSync(`${weights}.incomplete`, weights);
    log(`bench: ${(bytes.length / 1e6).toFixed(0)} MB written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  writeVocab(join(dir, "vocab.txt"));
  return { dir, kind: "random", weightsPath: weights, weightsBytes: statSync(weights).size, onnx: null, expected: null };
}

/** bert-base-uncased's vocabulary from ../shared, or a stand-in with the same size and special-token ids. */
function writeVocab(path: string): void {
  const shared = sharedDir();
  const real = shared !== null ? join(shared, "data", "bert-base-uncased-vocab.txt") : null;
  if (real !== null && existsSync(real)) {
    copyFileSync(real, path);
    return;
  }
  const words: string[] = ["[PAD]"];
  for (let i = 0; i < 99; i++) words.push(`[unused${i}]`);
  words.push("[UNK]", "[CLS]", "[SEP]", "[MASK]");
  const chars = "!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  for (const c of chars) words.push(c);
  for (const c of chars) words.push(`##${c}`);
  for (let i = words.length; i < BASE_CONFIG.vocab_size; i++) words.push(`w${i}`);
  writeFileSync(path, `${words.join("\n")}\n`);
}


/** Box–Muller normals, mean + std · N(0, 1). */
function fillNormal(out: Float32Array, next: () => number, mean: number, std: number): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - next(); // (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    const th = 2 * Math.PI * next();
    out[i] = mean + r * Math.cos(th);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(th);
  }
  return out;
}

/**
 * The real checkpoint's 104 tensors, with the reference tools' initialisation: embeddings N(0, 0.02), Linear weights
 * N(0, 1/√fan_in) (so activations keep their scale through six layers), biases N(0, 0.1), LayerNorm γ 1 + N(0, 0.1)
 * and β N(0, 0.1).
 */
export function randomCheckpoint(seed: number): Uint8Array {
  const c = BASE_CONFIG;
  const shapes = new Map<string, number[]>();
  const e = "distilbert.embeddings";
  shapes.set(`${e}.word_embeddings.weight`, [c.vocab_size, c.dim]);
  shapes.set(`${e}.position_embeddings.weight`, [c.max_position_embeddings, c.dim]);
  shapes.set(`${e}.LayerNorm.weight`, [c.dim]);
  shapes.set(`${e}.LayerNorm.bias`, [c.dim]);
  for (let l = 0; l < c.n_layers; l++) {
    const p = `distilbert.transformer.layer.${l}`;
    for (const n of ["q_lin", "k_lin", "v_lin", "out_lin"]) {
      shapes.set(`${p}.attention.${n}.weight`, [c.dim, c.dim]);
      shapes.set(`${p}.attention.${n}.bias`, [c.dim]);
    }
    for (const n of ["sa_layer_norm", "output_layer_norm"]) {
      shapes.set(`${p}.${n}.weight`, [c.dim]);
      shapes.set(`${p}.${n}.bias`, [c.dim]);
    }
    shapes.set(`${p}.ffn.lin1.weight`, [c.hidden_dim, c.dim]);
    shapes.set(`${p}.ffn.lin1.bias`, [c.hidden_dim]);
    shapes.set(`${p}.ffn.lin2.weight`, [c.dim, c.hidden_dim]);
    shapes.set(`${p}.ffn.lin2.bias`, [c.dim]);
  }
  shapes.set("pre_classifier.weight", [c.dim, c.dim]);
  shapes.set("pre_classifier.bias", [c.dim]);
  shapes.set("classifier.weight", [2, c.dim]);
  shapes.set("classifier.bias", [2]);

  const next = mulberry32(seed * 0x9e3779b1 + 1);
  const tensors: WriteTensor[] = [];
  for (const name of [...shapes.keys()].sort()) {
    const shape = shapes.get(name)!;
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = /LayerNorm|layer_norm/.test(name);
    if (isNorm && name.endsWith(".weight")) fillNormal(data, next, 1, 0.1);
    else if (name.endsWith(".bias")) fillNormal(data, next, 0, 0.1);
    else if (name.includes("embeddings")) fillNormal(data, next, 0, c.initializer_range);
    else fillNormal(data, next, 0, 1 / Math.sqrt(shape[1]));
    tensors.push({ name, dtype: "F32", shape, data });
  }
  return writeSafetensors(tensors, { format: "pt" });
}

/** The float64 reference cases of expected.json (only the fields the bench reads). */
export interface ExpectedCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][];
  logits: number[][];
}

export function readExpected(path: string | null): ExpectedCase[] {
  if (path === null) return [];
  return (JSON.parse(readFileSync(path, "utf8")) as { cases: ExpectedCase[] }).cases;
}
