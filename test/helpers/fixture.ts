/** The tiny random-weight fixture model in ../shared/fixtures/tiny and its float64 reference outputs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../src/tensor/backend.js";
import { loadModel } from "../../src/model/load.js";
import type { DistilBertClassifier } from "../../src/model/classifier.js";
import { requireShared } from "./shared.js";

export interface FixtureCase {
  name: string;
  batch: number;
  seq_len: number;
  input_ids: number[][];
  attention_mask: number[][];
  logits: number[][];
  probs: number[][];
  predicted: string[];
  hidden_states?: number[][][][];
  attentions?: number[][][][][];
  cls_hidden_states?: number[][][];
}

export interface Expected {
  config: Record<string, unknown>;
  cases: FixtureCase[];
  variants: Record<"f16" | "bf16", { weights: string; cases: { name: string; logits: number[][]; probs: number[][]; predicted: string[]; last_hidden_cls: number[][] }[] }>;
}

export function tinyDir(): string {
  return join(requireShared(), "fixtures/tiny");
}

let expectedCache: Expected | undefined;
export function tinyExpected(): Expected {
  expectedCache ??= JSON.parse(readFileSync(join(tinyDir(), "expected.json"), "utf8")) as Expected;
  return expectedCache;
}

export function tinyFiles(weights = "model.safetensors"): { config: string; vocab: string; weights: Uint8Array } {
  const dir = tinyDir();
  return {
    config: readFileSync(join(dir, "config.json"), "utf8"),
    vocab: readFileSync(join(dir, "vocab.txt"), "utf8"),
    weights: new Uint8Array(readFileSync(join(dir, weights))),
  };
}

export function loadTiny(backend?: Backend, weights = "model.safetensors"): Promise<DistilBertClassifier> {
  return loadModel({ ...tinyFiles(weights), backend });
}
