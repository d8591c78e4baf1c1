/**
 * Every head in q8 (`dtype: "q8"`: the fixture's f32 checkpoint quantized at load) against ../shared/fixtures/heads
 * (transformers in float64): the masked LM's projector runs on the word embeddings' int8 rows, QA, token
 * classification, sentence embeddings and multi-label classification on q8 Linears. Two things are checked:
 *  - the q8 error against the float64 reference stays under a gate set just above the worst measured difference
 *    (printed; docs/quantization.md records the numbers), and the decisions (argmax, answers, entities) are the
 *    reference's where the measured margins allow it;
 *  - the q8 outputs are the same bits in every backend (JS, wasm with and without relaxed SIMD, 2 threads): the int32
 *    sums are exact, so nothing may differ.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import type { DistilBertForMaskedLM } from "../src/model/heads.js";
import type { Q8Rows } from "../src/tensor/quant.js";
import { featureExtraction } from "../src/pipelines/feature-extraction.js";
import { textClassification } from "../src/pipelines/text-classification.js";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsBackend } from "../src/tensor/js-backend.js";
import { runCli } from "./helpers/cli.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import type { Backend } from "../src/tensor/backend.js";
import { backendCases } from "./helpers/backends.js";
import { headsDir, headsExpected } from "./helpers/heads.js";

/**
 * Gates on |q8 − float64 reference|, about 1.3× the worst difference measured over every backend (printed at the
 * end; measured: MLM logits 8.86e-2, QA 6.31e-2, NER 7.47e-2, embeddings 1.86e-2, multi-label scores 1.68e-2, with
 * reference logits up to 2.4, 2.4, 3.7 and embedding components up to 0.56). The f32 gates of
 * heads-fixtures.test.ts are 5e-6 / 1e-6: these are tiny random models (dim 32, 2 layers), where a row's 32 values
 * share one activation scale, so q8 costs more here, relatively, than on the full-size model (docs/quantization.md).
 * MLM argmax: measured 1 of the 9 masks differs from the reference (its top two logits over 30,522 random rows are
 * close; the same in every backend, whose q8 outputs are the same bits); at most 1 is allowed.
 */
const GATE = { mlm: 0.12, qa: 0.08, ner: 0.1, embeddings: 0.025, multilabel: 0.022, mlmArgmaxMisses: 1 };

const worst: Record<string, number> = {};
afterAll(() => {
  for (const [k, v] of Object.entries(worst)) console.log(`heads q8: worst |q8 - reference| ${k} = ${v.toExponential(2)}`);
});
function maxDiff(got: ArrayLike<number>, want: readonly number[], key: string): number {
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  worst[key] = Math.max(worst[key] ?? 0, d);
  return d;
}

const load = (name: string, backend: Backend): Promise<DistilBertClassifier> => loadModelFromDir(join(headsDir(), name), { backend, dtype: "q8" });

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Every q8 output of every fixture, per backend, for the bit-identity check. */
const outputs = new Map<string, Map<string, Float32Array>>();
const keep = (backend: string, key: string, data: ArrayLike<number>) => {
  if (!outputs.has(key)) outputs.set(key, new Map());
  outputs.get(key)!.set(backend, Float32Array.from(data));
};

for (const bc of backendCases) {
  describe(`heads in q8, ${bc.name}`, () => {
    it("masked LM: the projector on the int8 word embeddings; mask logits and their argmax", async () => {
      const model = await load("mlm-uncased", await bc.create());
      // The projector is a q8 Linear on the table's int8 rows and scales: no float copy of the 30,522 × dim table.
      const head = model.model as DistilBertForMaskedLM;
      expect(head.distilbert.embeddings.wordEmbeddings).not.toBeInstanceOf(Float32Array);
      expect(head.projectorQ8?.w.q8?.q).toEqual((head.distilbert.embeddings.wordEmbeddings as Q8Rows).q);
      const exp = headsExpected("mlm-uncased");
      const V = model.config.vocabSize;
      let misses = 0;
      for (const [ci, c] of exp.cases.entries()) {
        const logits = model.forward([c.input_ids]).logits.data;
        keep(bc.name, `mlm ${ci}`, logits);
        c.mask_positions.forEach((p: number, k: number) => {
          const row = logits.subarray(p * V, (p + 1) * V);
          expect(maxDiff(row, c.mask_logits_first10[k], "mlm logits")).toBeLessThanOrEqual(GATE.mlm);
          let am = 0;
          for (let j = 1; j < V; j++) if (row[j] > row[am]) am = j;
          if (am !== c.mask_logits_argmax[k]) misses++;
        });
      }
      worst["mlm argmax misses (of 9)"] = Math.max(worst["mlm argmax misses (of 9)"] ?? 0, misses);
      expect(misses).toBeLessThanOrEqual(GATE.mlmArgmaxMisses);
    });

    it("question answering: start/end logits and the best answer", async () => {
      const model = await load("qa-cased", await bc.create());
      const exp = headsExpected("qa-cased");
      for (const [ci, c] of exp.cases.entries()) {
        c.windows.forEach((w: { input_ids: number[]; start_logits: number[]; end_logits: number[] }, wi: number) => {
          const logits = model.forward([w.input_ids]).logits.data;
          keep(bc.name, `qa ${ci}.${wi}`, logits);
          expect(maxDiff(logits.filter((_, i) => i % 2 === 0), w.start_logits, "qa logits")).toBeLessThanOrEqual(GATE.qa);
          expect(maxDiff(logits.filter((_, i) => i % 2 === 1), w.end_logits, "qa logits")).toBeLessThanOrEqual(GATE.qa);
        });
      }
    });

    it("token classification: logits and the per-token labels", async () => {
      const model = await load("ner-cased", await bc.create());
      const exp = headsExpected("ner-cased");
      for (const [ci, c] of exp.cases.entries()) {
        const logits = model.forward([c.input_ids]).logits.data;
        keep(bc.name, `ner ${ci}`, logits);
        const want = (c.logits as number[][]).flat();
        expect(maxDiff(logits, want, "ner logits")).toBeLessThanOrEqual(GATE.ner);
      }
    });

    it("sentence-transformers embeddings (pooling, Dense, Normalize after a q8 encoder)", async () => {
      const model = await load("embed", await bc.create());
      const exp = headsExpected("embed");
      for (const [ci, c] of exp.cases.entries()) {
        const got = featureExtraction(model, c.text) as number[];
        keep(bc.name, `embed ${ci}`, got);
        expect(maxDiff(got, c.embedding, "embeddings")).toBeLessThanOrEqual(GATE.embeddings);
      }
    });

    it("multi-label classification: every label's sigmoid, the same top label", async () => {
      const model = await load("multilabel", await bc.create());
      const exp = headsExpected("multilabel");
      for (const [ci, c] of exp.cases.entries()) {
        const got = textClassification(model, c.text, { topK: null });
        const want = c.pipeline[0] as { label: string; score: number }[];
        const byLabel = new Map(got.map((g) => [g.label, g.score]));
        keep(bc.name, `multilabel ${ci}`, want.map((w) => byLabel.get(w.label)!));
        expect(maxDiff(want.map((w) => byLabel.get(w.label)!), want.map((w) => w.score), "multilabel scores")).toBeLessThanOrEqual(GATE.multilabel);
        expect(got[0].label).toBe(want[0].label);
      }
    });
  });
}

/**
 * The q8 Linears give the same bits everywhere (test/q8-kernels.test.ts); the attention between them is the portable
 * one (src/tensor/portable-attention.ts: no fused multiply-add, sums in a stated order) and LayerNorm sums in the same
 * order in JS and wasm. So every head's whole q8 forward gives the same bits in JS, plain wasm and relaxed wasm, on 1
 * and 2 threads.
 */
describe("heads in q8: the same bits in every backend", () => {
  it("JS, plain and relaxed wasm, 1 and 2 threads: every output equal bit for bit", () => {
    expect(outputs.size).toBeGreaterThan(5);
    for (const [key, byBackend] of outputs) {
      expect(byBackend.size, key).toBe(backendCases.length);
      const js = byBackend.get("js")!;
      for (const [name, data] of byBackend) expect(bits(data), `${key}: ${name} vs js`).toEqual(bits(js));
    }
  });
});

describe("quantize on every head's folder", () => {
  const out = mkdtempSync(join(tmpdir(), "heads-q8-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const inputs: Record<string, number[][]> = {
    "mlm-uncased": headsExpected("mlm-uncased").cases.map((c: { input_ids: number[] }) => c.input_ids),
    "qa-cased": headsExpected("qa-cased").cases.map((c: { windows: { input_ids: number[] }[] }) => c.windows[0].input_ids),
    "ner-cased": headsExpected("ner-cased").cases.map((c: { input_ids: number[] }) => c.input_ids),
    embed: [],
  };
  it.each(Object.keys(inputs))("%s: the written folder loads as q8 with no flag and equals quantizing at load, bit for bit", async (name) => {
    const to = join(out, name);
    const r = runCli(["quantize", "--model", join(headsDir(), name), "--out", to]);
    expect(r.code, r.stderr).toBe(0);
    const stored = await loadModelFromDir(to, { backend: new JsBackend() });
    const atLoad = await load(name, new JsBackend());
    // Every Linear of the head too: vocab_transform, qa_outputs, classifier are I8 in the file.
    expect(stored.loadReport.dtypes.I8).toBe(6 * stored.config.nLayers + 1 + (name === "embed" ? 0 : 1));
    if (name === "embed") {
      // The sentence-transformers modules (pooling, Dense, Normalize) are copied with the folder.
      expect(existsSync(join(to, "modules.json"))).toBe(true);
      for (const c of headsExpected("embed").cases) expect(featureExtraction(stored, c.text)).toEqual(featureExtraction(atLoad, c.text));
      return;
    }
    for (const ids of inputs[name]) expect(stored.forward([ids]).logits.data).toEqual(atLoad.forward([ids]).logits.data);
  });
});
