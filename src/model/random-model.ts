/**
 * A DistilBertForSequenceClassification checkpoint with seeded random weights, in memory: config.json text,
 * safetensors bytes and a vocab.txt that fits it. For tests, benchmarks and demos that need a model of any shape
 * without downloading one (the weights mean nothing; the shapes and names are the real checkpoint's).
 */
import { writeSafetensors, type WriteTensor } from "../safetensors/index.js";

export interface RandomModelSpec {
  vocabSize?: number;
  dim?: number;
  nLayers?: number;
  nHeads?: number;
  hiddenDim?: number;
  maxPositionEmbeddings?: number;
  activation?: "gelu" | "relu";
  labels?: string[];
  seed?: number;
  /** Store the base model's tensors without the `distilbert.` prefix, as a bare DistilBertModel saves them. */
  unprefixed?: boolean;
}

export interface RandomModel {
  config: string;
  weights: Uint8Array;
  vocab: string;
}

/** The special tokens every BERT vocab starts with here, then filler words up to vocabSize. */
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/**
 * mulberry32: uniform numbers in [0, 1) from a 32-bit seed. Fast, seedable and the same on every platform: for
 * weights and test data that must be reproducible, not for anything that needs real randomness.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomModel(spec: RandomModelSpec = {}): RandomModel {
  const vocabSize = spec.vocabSize ?? 30522;
  const dim = spec.dim ?? 768;
  const nLayers = spec.nLayers ?? 6;
  const nHeads = spec.nHeads ?? 12;
  const hiddenDim = spec.hiddenDim ?? 4 * dim;
  const maxPos = spec.maxPositionEmbeddings ?? 512;
  const labels = spec.labels ?? ["NEGATIVE", "POSITIVE"];
  const uniform = mulberry32(spec.seed ?? 1);
  const next = () => uniform() - 0.5;
  const tensors: WriteTensor[] = [];
  const add = (name: string, shape: number[], scale: number, center = 0) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = center + 2 * scale * next();
    tensors.push({ name, dtype: "F32", shape, data });
  };
  const base = spec.unprefixed ? "" : "distilbert.";
  const linear = (name: string, dOut: number, dIn: number) => {
    // Scaled by 1/√fan_in so activations keep their size through the layers (HF's 0.02 makes a small model's
    // outputs nearly input-independent, which would hide bugs).
    add(`${name}.weight`, [dOut, dIn], Math.sqrt(3 / dIn));
    add(`${name}.bias`, [dOut], 0.1);
  };
  const layerNorm = (name: string) => {
    add(`${name}.weight`, [dim], 0.1, 1);
    add(`${name}.bias`, [dim], 0.1);
  };
  add(`${base}embeddings.word_embeddings.weight`, [vocabSize, dim], 0.05);
  add(`${base}embeddings.position_embeddings.weight`, [maxPos, dim], 0.05);
  layerNorm(`${base}embeddings.LayerNorm`);
  for (let i = 0; i < nLayers; i++) {
    const p = `${base}transformer.layer.${i}`;
    for (const n of ["q_lin", "k_lin", "v_lin", "out_lin"]) linear(`${p}.attention.${n}`, dim, dim);
    layerNorm(`${p}.sa_layer_norm`);
    linear(`${p}.ffn.lin1`, hiddenDim, dim);
    linear(`${p}.ffn.lin2`, dim, hiddenDim);
    layerNorm(`${p}.output_layer_norm`);
  }
  linear("pre_classifier", dim, dim);
  linear("classifier", labels.length, dim);

  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  const config = {
    architectures: ["DistilBertForSequenceClassification"],
    model_type: "distilbert",
    activation: spec.activation ?? "gelu",
    dim,
    hidden_dim: hiddenDim,
    n_heads: nHeads,
    n_layers: nLayers,
    max_position_embeddings: maxPos,
    vocab_size: vocabSize,
    pad_token_id: 0,
    sinusoidal_pos_embds: false,
    id2label,
    label2id,
  };
  const words: string[] = [...SPECIALS];
  for (let i = 0; words.length < vocabSize; i++) words.push(i % 2 === 0 ? `w${i >> 1}` : `##${i >> 1}`);
  return {
    config: JSON.stringify(config, null, 2),
    weights: writeSafetensors(tensors, { format: "pt" }),
    vocab: words.slice(0, vocabSize).join("\n") + "\n",
  };
}
