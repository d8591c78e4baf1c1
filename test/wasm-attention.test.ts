/**
 * The wasm backend's one-call attention (Backend.attention) against the head-by-head path the layer takes otherwise
 * (matmulTransB, softmaxRows, matmul on contiguous copies of each head): the same bits, on one thread and with the
 * pool, for random head counts, head widths, span lengths and key masks; and the cases it must decline. Then the
 * whole model's fast path (that attention, activations in the pass workspace) against its captured path.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model/load.js";
import { randomModel } from "../src/model/random-model.js";
import type { AttentionSpan, Backend } from "../src/tensor/backend.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { attentionPortable } from "../src/tensor/portable-attention.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { hasRelaxedSimd, testWorkerFactory } from "./helpers/backends.js";
import { randomArray, randomAttentionCase } from "./helpers/random.js";

const made: WasmBackend[] = [];
afterAll(() => made.forEach((b) => b.dispose()));

/** What MultiHeadSelfAttention computes when the backend has no `attention`: per span, per head, on copies. */
function headByHead(be: Backend, q: Float32Array, k: Float32Array, v: Float32Array, spans: readonly AttentionSpan[], H: number, dh: number, scale: number): Float32Array {
  const dim = H * dh;
  const out = new Float32Array(q.length);
  const head = (x: Float32Array, s: AttentionSpan, h: number) => {
    const c = new Float32Array(s.len * dh);
    for (let t = 0; t < s.len; t++) c.set(x.subarray((s.start + t) * dim + h * dh, (s.start + t) * dim + (h + 1) * dh), t * dh);
    return c;
  };
  for (const s of spans) {
    for (let h = 0; h < H; h++) {
      const p = new Float32Array(s.len * s.len);
      be.matmulTransB(p, head(q, s, h), head(k, s, h), s.len, s.len, dh, scale);
      be.softmaxRows(p, s.len, s.len, s.keyMask);
      const c = new Float32Array(s.len * dh);
      be.matmul(c, p, head(v, s, h), s.len, dh, s.len);
      for (let t = 0; t < s.len; t++) out.set(c.subarray(t * dh, (t + 1) * dh), (s.start + t) * dim + h * dh);
    }
  }
  return out;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("wasm attention in one call", () => {
  for (const threads of [1, 2]) {
    it(`equals the head-by-head path bit for bit (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const be = await WasmBackend.create({ relaxed: hasRelaxedSimd, threads, workerFactory: testWorkerFactory });
      made.push(be);
      let compared = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.constantFrom(8, 16, 24, 64),
          fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          fc.nat(),
          async (H, dh, lens, masked, seed) => {
            const { spans, N, dim, q, k, v, scale } = randomAttentionCase(H, dh, lens, masked, seed);
            const want = headByHead(be, q, k, v, spans, H, dh, scale);
            const got = new Float32Array(N * dim).fill(NaN);
            expect(be.attention(got, q, k, v, spans, H, dh, scale)).toBe(true);
            expect(bits(got)).toEqual(bits(want));
            compared += N * dim;
          },
        ),
        { numRuns: threads === 1 ? 60 : 30 },
      );
      console.log(`wasm attention (${be.name}): ${compared} outputs compared, all bit-identical to the head-by-head path`);
    });
  }

  it("portable: every backend equals portable-attention.ts bit for bit (plain and relaxed modules, 1 and 2 threads, JS), queries and declined cases included", async () => {
    const backends: Backend[] = [new JsBackend()];
    for (const options of [{ relaxed: false }, { relaxed: false, threads: 2 }, ...(hasRelaxedSimd ? [{ relaxed: true }, { relaxed: true, threads: 2 }] : [])]) {
      const be = await WasmBackend.create({ ...options, workerFactory: testWorkerFactory });
      made.push(be);
      backends.push(be);
    }
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(4, 8, 12, 16, 64),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        async (H, dh, lens, masked, blind, firstRows, seed) => {
          const c = randomAttentionCase(H, dh, lens, masked, seed);
          // a span that may attend to no key (the kernel declines it: the backend computes it by the reference)
          const spans = blind ? c.spans.map((sp, i) => (i === 0 ? { ...sp, keyMask: new Uint8Array(sp.len) } : sp)) : c.spans;
          // the classifier's last layer: one query row per span, gathered at rows 0, 1, …
          const queries = firstRows ? spans.map((_, b) => ({ start: b, len: 1 })) : spans;
          const q = firstRows ? c.q.subarray(0, spans.length * c.dim) : c.q;
          const rows = firstRows ? spans.length : c.N;
          const want = new Float32Array(rows * c.dim);
          attentionPortable(want, q, c.k, c.v, spans, H, dh, c.scale, queries);
          for (const be of backends) {
            const got = new Float32Array(rows * c.dim).fill(NaN);
            expect(be.attention!(got, q, c.k, c.v, spans, H, dh, c.scale, queries, true), be.name).toBe(true);
            expect(bits(got), be.name).toEqual(bits(want));
            compared += got.length;
          }
        },
      ),
      { numRuns: 40 },
    );
    console.log(`portable attention: ${compared} outputs of ${backends.map((b) => b.name).join(", ")} compared, all bit-identical to portable-attention.ts`);
  });

  it("declines what it does not take: a head width that is not whole panels, a span with no key to attend to", async () => {
    const be = await WasmBackend.create();
    made.push(be);
    const q = randomArray(3 * 12, 1);
    const untouched = new Float32Array(3 * 12).fill(7);
    expect(be.attention(untouched, q, q, q, [{ start: 0, len: 3, keyMask: null }], 3, 4, 0.5)).toBe(false);
    const q16 = randomArray(3 * 16, 2);
    const out16 = new Float32Array(3 * 16).fill(7);
    expect(be.attention(out16, q16, q16, q16, [{ start: 0, len: 3, keyMask: Uint8Array.from([0, 0, 0]) }], 2, 8, 0.5)).toBe(false);
    expect([...untouched, ...out16].every((x) => x === 7)).toBe(true);
  });

  it("a whole model: the fast path (one attention call per layer, activations in the pass workspace) and the captured path (head by head, plain arrays) give the same logits", async () => {
    // dim 96 / 6 heads: 16-wide heads, taken by the one-call path; capturing any activation sends every layer
    // head by head (taps need the per-head tensors), so the two runs go through different code.
    const m = randomModel({ vocabSize: 300, dim: 96, nLayers: 2, nHeads: 6, hiddenDim: 384, maxPositionEmbeddings: 80, seed: 11 });
    for (const threads of [1, 2]) {
      const model = await loadModel({ ...m, backend: "wasm", threads, workerFactory: testWorkerFactory });
      made.push(model.backend as WasmBackend);
      const seqs = [[2, ...Array.from({ length: 60 }, (_, i) => 5 + ((i * 37) % 290)), 3], [2, 9, 10, 11, 3], [2, 40, 41, 3]];
      const slow = seqs.map((s) => bits(model.forward([s], undefined, { capture: ["layer.0.attn.probs"] }).logits.data));
      // The fast path also keeps its activations in the backend's pass workspace: the first pass finds it empty
      // (plain arrays), the second runs in it, and a larger batch outgrows it halfway (the rest in plain arrays).
      for (const pass of ["first", "second"]) {
        const fast = model.logitsOf(seqs);
        seqs.forEach((_, b) => expect(bits(fast[b]), `${pass} pass, sequence ${b}, ${threads} thread(s)`).toEqual(slow[b]));
      }
      const more = [...seqs, ...seqs, seqs[0], seqs[0]];
      const big = model.logitsOf(more);
      more.forEach((s, b) => expect(bits(big[b])).toEqual(slow[seqs.indexOf(s)]));
      const again = model.logitsOf(more);
      more.forEach((s, b) => expect(bits(again[b])).toEqual(slow[seqs.indexOf(s)]));
    }
  });
});
