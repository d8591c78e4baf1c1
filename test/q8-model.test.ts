/**
 * The q8 model end to end: quantizing at load and by `distilbert-ts quantize` give the same model; a q8 folder loads
 * with no flag and dtype "f32" dequantizes it; q8 logits are the same bits in every backend (JS, plain and relaxed
 * wasm), on 1 and 2 threads and whatever the batch;
 * and how far they are from f32 on a random model (the fidelity on the real model's shapes is in docs/quantization.md).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model/load.js";
import { randomModel } from "../src/model/random-model.js";
import { SafetensorsFile } from "../src/safetensors/index.js";
import { backendCases } from "./helpers/backends.js";
import { runCli } from "./helpers/cli.js";

const spec = { vocabSize: 300, dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 256, maxPositionEmbeddings: 64, seed: 14 };
const m = randomModel(spec);
const dir = mkdtempSync(join(tmpdir(), "q8-model-"));
const q8dir = join(dir, "q8");
const f32dir = join(dir, "f32");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = (seed: number, len: number) => [2, ...Array.from({ length: len - 2 }, (_, i) => 5 + ((seed * 31 + i * 17) % 290)), 3];
const sequences = [ids(1, 12), ids(2, 40), ids(3, 7), ids(4, 64), ids(5, 23)];
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("q8 checkpoints", () => {
  it("quantize writes I8 matrices with F32 scales, the scheme in __metadata__, the other files copied; under a third of the size here", () => {
    mkdirSync(f32dir, { recursive: true });
    writeFileSync(join(f32dir, "config.json"), m.config);
    writeFileSync(join(f32dir, "vocab.txt"), m.vocab);
    writeFileSync(join(f32dir, "model.safetensors"), m.weights);
    const r = runCli(["quantize", "--model", f32dir, "--out", q8dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/15 matrices as I8/);
    expect(readFileSync(join(q8dir, "config.json"), "utf8")).toBe(m.config);
    expect(readFileSync(join(q8dir, "vocab.txt"), "utf8")).toBe(m.vocab);
    const f = SafetensorsFile.parse(new Uint8Array(readFileSync(join(q8dir, "model.safetensors"))));
    expect(f.metadata.get("quantization")).toBe("q8");
    expect(f.info("distilbert.transformer.layer.0.ffn.lin1.weight").dtype).toBe("I8");
    expect(f.info("distilbert.transformer.layer.0.ffn.lin1.weight_scale")).toMatchObject({ dtype: "F32", shape: [256] });
    expect(f.info("distilbert.embeddings.word_embeddings.weight").dtype).toBe("I8");
    expect(f.info("distilbert.embeddings.position_embeddings.weight").dtype).toBe("F32");
    expect(f.info("distilbert.transformer.layer.1.sa_layer_norm.weight").dtype).toBe("F32");
    const ratio = statSync(join(q8dir, "model.safetensors")).size / m.weights.length;
    console.log(`q8 file: ${(100 * ratio).toFixed(1)}% of the f32 one`);
    // Position embeddings and LayerNorms stay f32: at this small shape they weigh more than in the real model.
    expect(ratio).toBeLessThan(0.32);
    // Refusals: the same folder, and an already quantized one.
    expect(runCli(["quantize", "--model", f32dir, "--out", f32dir]).stderr).toMatch(/^error: --out: is the --model folder/);
    const again = runCli(["quantize", "--model", q8dir, "--out", join(dir, "again")]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is already quantized/);
  });

  it("a q8 folder loads as q8 with no flag, equal bit for bit to quantizing the f32 model at load; dtype f32 dequantizes it", async () => {
    const q8file = new Uint8Array(readFileSync(join(q8dir, "model.safetensors")));
    for (const backend of ["js", "wasm"] as const) {
      const fromFile = await loadModel({ config: m.config, vocab: m.vocab, weights: q8file, backend });
      const atLoad = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend, dtype: "q8" });
      expect(fromFile.loadReport.dtypes.I8).toBe(15);
      const a = fromFile.logitsOf(sequences);
      const b = atLoad.logitsOf(sequences);
      for (let i = 0; i < a.length; i++) expect(bits(a[i])).toEqual(bits(b[i]));
      const deq = await loadModel({ config: m.config, vocab: m.vocab, weights: q8file, backend, dtype: "f32" });
      const f32 = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend });
      const d = deq.logitsOf(sequences);
      const e = f32.logitsOf(sequences);
      // Dequantized weights in f32 arithmetic: near f32, not the same.
      for (let i = 0; i < d.length; i++) for (let j = 0; j < d[i].length; j++) expect(Math.abs(d[i][j] - e[i][j])).toBeLessThan(0.05);
    }
    await expect(loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, dtype: "q4" as never })).rejects.toThrow(/dtype: is "q4"/);
  });
});

describe("q8: the same answer whatever the backend, the threads and the batch", () => {
  it("JS, plain and relaxed wasm, 1 and 2 threads, each sequence alone or batched with others: identical logits", async () => {
    const js = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: "js", dtype: "q8" });
    const want = js.logitsOf(sequences);
    for (const bc of backendCases) {
      const model = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: await bc.create(), dtype: "q8" });
      const batched = model.logitsOf(sequences);
      for (let i = 0; i < sequences.length; i++) {
        expect(bits(batched[i]), `${bc.name}, sequence ${i} in the batch`).toEqual(bits(want[i]));
        expect(bits(model.logitsOf([sequences[i]])[0]), `${bc.name}, sequence ${i} alone`).toEqual(bits(want[i]));
      }
    }
  });

  it("q8 logits stay near f32's on a random model (measured bound)", async () => {
    const f32 = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: "js" });
    const q8 = await loadModel({ config: m.config, vocab: m.vocab, weights: m.weights, backend: "js", dtype: "q8" });
    const a = f32.logitsOf(sequences);
    const b = q8.logitsOf(sequences);
    let worst = 0;
    for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i].length; j++) worst = Math.max(worst, Math.abs(a[i][j] - b[i][j]));
    console.log(`q8 vs f32 logits, random 2-layer model: max |diff| ${worst.toExponential(2)}`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(0.05);
  });
});
