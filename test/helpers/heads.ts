/** The checkpoints of ../shared/fixtures/heads (one per DistilBERT head) and their expected.json. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DistilBertClassifier } from "../../src/model/classifier.js";
import { loadModel } from "../../src/model/load.js";
import type { Backend } from "../../src/tensor/backend.js";
import { requireShared } from "./shared.js";

export const headsDir = () => join(requireShared(), "fixtures/heads");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function headsExpected(name: string): any {
  return JSON.parse(readFileSync(join(headsDir(), name, "expected.json"), "utf8"));
}

/** Loads a fixture folder through the core loadModel: config.json, tokenizer.json, model.safetensors, ST modules. */
export async function loadHeadsModel(name: string, backend: Backend): Promise<DistilBertClassifier> {
  const dir = join(headsDir(), name);
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  const bytes = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
  let sentenceTransformers;
  if (existsSync(join(dir, "modules.json"))) {
    const files: Record<string, string | Uint8Array> = {};
    for (const sub of readdirSync(dir, { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      for (const f of readdirSync(join(dir, sub.name))) files[`${sub.name}/${f}`] = f.endsWith(".json") ? read(`${sub.name}/${f}`) : bytes(`${sub.name}/${f}`);
    }
    sentenceTransformers = { modules: read("modules.json"), files };
  }
  return loadModel({ config: read("config.json"), tokenizerJson: read("tokenizer.json"), weights: bytes("model.safetensors"), backend, sentenceTransformers });
}
