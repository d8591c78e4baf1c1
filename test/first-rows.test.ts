/**
 * The classifier's last layer computes only each sequence's first row ([CLS]), the only row its head reads
 * (compared with `fullLastLayer: true`): the logits must be the full computation's, bit for
 * bit, on every backend, for packed batches of mixed lengths, padded batches (key masks) and head masks; and the wasm
 * backend's one-call attention with firstOnly must give exactly the full attention's first rows.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model/load.js";
import { randomModel } from "../src/model/random-model.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { backendCases, hasRelaxedSimd, testWorkerFactory } from "./helpers/backends.js";
import { randomAttentionCase, rng } from "./helpers/random.js";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const made: WasmBackend[] = [];
afterAll(() => made.forEach((b) => b.dispose()));

describe("last layer for the [CLS] rows only", () => {
  // 96/6 = 16-wide heads (the wasm backend's one-call attention takes them), 60/5 = 12-wide (it declines: the layer
  // goes head by head), and a one-layer model (the pruned layer is also the first).
  const configs = [
    { vocabSize: 300, dim: 96, nLayers: 2, nHeads: 6, hiddenDim: 384, maxPositionEmbeddings: 80, seed: 21 },
    { vocabSize: 300, dim: 60, nLayers: 2, nHeads: 5, hiddenDim: 120, maxPositionEmbeddings: 80, seed: 22 },
    { vocabSize: 300, dim: 32, nLayers: 1, nHeads: 2, hiddenDim: 64, maxPositionEmbeddings: 80, seed: 23 },
  ];
  for (const bc of backendCases) {
    it(`${bc.name}: logits equal the full last layer's, bit for bit (packed, padded, head-masked)`, async () => {
      let compared = 0;
      for (const cfg of configs) {
        const m = randomModel(cfg);
        const model = await loadModel({ ...m, backend: await bc.create() });
        const r = rng(cfg.seed);
        const seq = (len: number) => [2, ...Array.from({ length: len - 2 }, () => 5 + Math.floor(r() * 290)), 3];
        const seqs = [seq(60), seq(3), seq(17), seq(2), seq(33)];
        const fullLastLayer = true;
        const full = () => [
          model.logitsOf(seqs, 8192, { fullLastLayer }).map(bits),
          bits(model.forward(padded, mask, { fullLastLayer }).logits.data),
          bits(model.forward(padded, mask, { headMask, fullLastLayer }).logits.data),
        ];
        // A padded batch: rows shorter than 20 padded with id 0, mask 0 (padded rows stay as queries only).
        const padded = [seq(20), [...seq(7), ...new Array(13).fill(0)], [...seq(12), ...new Array(8).fill(0)]];
        const mask = padded.map((row, b) => row.map((_, t) => (t < [20, 7, 12][b] ? 1 : 0)));
        const headMask = Array.from({ length: cfg.nLayers }, (_, l) => Array.from({ length: cfg.nHeads }, (_, h) => ((l + h) % 3 === 0 ? 0 : 0.5 + h / 4)));
        const want = full();
        const got = [model.logitsOf(seqs).map(bits), bits(model.forward(padded, mask).logits.data), bits(model.forward(padded, mask, { headMask }).logits.data)];
        expect(got).toEqual(want);
        compared += seqs.length + 2 * padded.length;
        // Taps (any captured activation) take the full path regardless: they show whole layers.
        expect(bits(model.forward(padded, mask, { capture: [`layer.${cfg.nLayers - 1}.out`] }).logits.data)).toEqual(want[1]);
      }
      console.log(`[${bc.name}] first-rows-only last layer: ${compared} sequences' logits compared, all bit-identical to the full layer`);
    });
  }

  for (const threads of [1, 2]) {
    it(`wasm one-call attention with firstOnly gives the full attention's first rows (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const be = await WasmBackend.create({ relaxed: hasRelaxedSimd, threads, workerFactory: testWorkerFactory });
      made.push(be);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.constantFrom(8, 16, 64),
          fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
          fc.boolean(),
          fc.nat(),
          async (H, dh, lens, masked, seed) => {
            const { spans, N, dim, q, k, v, scale } = randomAttentionCase(H, dh, lens, masked, seed);
            const S = spans.length;
            const all = new Float32Array(N * dim);
            expect(be.attention(all, q, k, v, spans, H, dh, scale)).toBe(true);
            const qFirst = new Float32Array(S * dim);
            spans.forEach((s, b) => qFirst.set(q.subarray(s.start * dim, (s.start + 1) * dim), b * dim));
            const got = new Float32Array(S * dim).fill(NaN);
            expect(be.attention(got, qFirst, k, v, spans, H, dh, scale, true)).toBe(true);
            spans.forEach((s, b) => expect(bits(got.subarray(b * dim, (b + 1) * dim))).toEqual(bits(all.subarray(s.start * dim, (s.start + 1) * dim))));
          },
        ),
        { numRuns: threads === 1 ? 60 : 30 },
      );
    });
  }
});
