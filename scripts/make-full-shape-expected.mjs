#!/usr/bin/env node
/**
 * Golden outputs at the real DistilBERT-base shape (6 layers, 12 heads, dim 768, hidden 3072, positions 512):
 * writes test/fixtures/full-shape.json, which test/full-shape.test.ts reads.
 *
 * The weights are the engine's seeded random model (randomModel in src/model/random-model.ts, via dist/: run
 * `npm run build` first), written to a temporary folder as config.json + model.safetensors. The expected values are
 * computed by the shared float64 PyTorch mirror of Hugging Face (../shared/tools/reference/distilbert_ref.py), which
 * reads that safetensors file with its own reader: no engine code computes any expected number. The test regenerates
 * the same weights from the seed and checks their SHA-256 against the one recorded here before comparing.
 *
 * Usage (needs Debian's python3-torch; CI has no Python and only reads the committed JSON):
 *   npm run build && node scripts/make-full-shape-expected.mjs [--python /usr/bin/python3] [--out test/fixtures/full-shape.json]
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mulberry32, randomModel } from "../dist/tools.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: join(root, "test/fixtures/full-shape.json") },
  },
});

// The real model's dims; a smaller vocabulary (the embedding lookup does not depend on its size) keeps the
// regeneration in the test quick. The spec is stored in the JSON and the test builds the model from it.
const spec = { vocabSize: 2048, dim: 768, nLayers: 6, nHeads: 12, hiddenDim: 3072, maxPositionEmbeddings: 512, seed: 13 };
const CLS = 2; // randomModel's vocab: [PAD] [UNK] [CLS] [SEP] [MASK] w0 ##0 …
const SEP = 3;

const r = mulberry32(2026);
const sentence = (len) => [CLS, ...Array.from({ length: len - 2 }, () => 5 + Math.floor(r() * (spec.vocabSize - 5))), SEP];
function padded(lengths) {
  const T = Math.max(...lengths);
  const seqs = lengths.map(sentence);
  return {
    input_ids: seqs.map((s) => [...s, ...new Array(T - s.length).fill(0)]),
    attention_mask: seqs.map((s) => [...new Array(s.length).fill(1), ...new Array(T - s.length).fill(0)]),
  };
}

// Which rows of hidden states and attentions to store (all of them would be megabytes): [batch, position] pairs
// and, for attentions, [layer, batch, head, query] rows. Per-layer statistics over every unmasked row are stored too.
const cases = [
  {
    name: "one sequence of 512 tokens (the longest the model takes)",
    ...padded([512]),
    hidden_rows: [[0, 0], [0, 511]],
    attention_rows: [[0, 0, 0, 0], [0, 0, 11, 511], [5, 0, 0, 0], [5, 0, 7, 257], [5, 0, 11, 511]],
  },
  {
    name: "a right-padded batch of 64, 33 and 7 tokens",
    ...padded([64, 33, 7]),
    hidden_rows: [[1, 32], [2, 0]],
    attention_rows: [[0, 1, 3, 5], [5, 0, 0, 0], [5, 2, 11, 6]],
  },
];

const model = randomModel(spec);
const dir = mkdtempSync(join(tmpdir(), "full-shape-"));
try {
  writeFileSync(join(dir, "config.json"), model.config);
  writeFileSync(join(dir, "model.safetensors"), model.weights);
  writeFileSync(join(dir, "cases.json"), JSON.stringify(cases));
  const sha256 = createHash("sha256").update(model.weights).digest("hex");
  const t0 = Date.now();
  const json = execFileSync(values.python, [join(root, "scripts/full-shape-reference.py"), dir], { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "inherit"] });
  const ref = JSON.parse(json);
  const out = {
    about: "float64 PyTorch mirror of Hugging Face (../shared/tools/reference) on randomModel(spec); written by scripts/make-full-shape-expected.mjs",
    spec,
    weights_sha256: sha256,
    reference: ref.reference,
    cases: cases.map((c, i) => ({ ...c, ...ref.cases[i] })),
  };
  writeFileSync(values.out, JSON.stringify(out) + "\n");
  console.log(`wrote ${values.out} (${cases.length} cases, reference ran in ${((Date.now() - t0) / 1000).toFixed(1)} s, weights sha256 ${sha256.slice(0, 16)}…)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
