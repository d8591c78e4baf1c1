/** The checkpoints of ../shared/fixtures/heads (one per DistilBERT head) and their expected.json. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DistilBertClassifier } from "../../src/model/classifier.js";
import { loadModelFromDir } from "../../src/node/model-dir.js";
import type { Backend } from "../../src/tensor/backend.js";
import { requireShared } from "./shared.js";

export const headsDir = () => join(requireShared(), "fixtures/heads");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function headsExpected(name: string): any {
  return JSON.parse(readFileSync(join(headsDir(), name, "expected.json"), "utf8"));
}

/** A fixture folder loaded as a user loads a model folder (its own tokenizer files, sentence-transformers modules). */
export function loadHeadsModel(name: string, backend: Backend): Promise<DistilBertClassifier> {
  return loadModelFromDir(join(headsDir(), name), { backend });
}
