/**
 * Padding costs nothing: a batch of mixed lengths does the work its tokens need, counted multiply-add by multiply-add
 * through a backend that tallies every kernel call (timings belong in bench/; this checks the work itself).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import type { Activation, LinearWeight } from "../src/tensor/backend.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { loadTiny } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";

/** The js backend, counting the multiply-adds of its matrix kernels and the rows its linear layers see. */
class CountingBackend extends JsBackend {
  override readonly name = "js-counting";
  linearMacs = 0;
  attentionMacs = 0;
  linearRows = 0;

  reset(): void {
    this.linearMacs = this.attentionMacs = this.linearRows = 0;
  }

  override linear(y: Float32Array, x: Float32Array, w: LinearWeight, T: number, act: Activation): void {
    this.linearMacs += T * w.dIn * w.dOut;
    this.linearRows += T;
    super.linear(y, x, w, T, act);
  }

  override matmulTransB(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, alpha: number): void {
    this.attentionMacs += M * N * K;
    super.matmulTransB(out, a, b, M, N, K, alpha);
  }

  override matmul(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
    this.attentionMacs += M * N * K;
    super.matmul(out, a, b, M, N, K);
  }
}

function sequence(len: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: len }, (_, t) => (t === 0 ? 101 : t === len - 1 ? 102 : 1000 + Math.floor(r() * 20000)));
}

describe("a mixed-length batch costs what its tokens cost", () => {
  let model: DistilBertClassifier;
  let be: CountingBackend;
  beforeAll(async () => {
    be = new CountingBackend();
    model = await loadTiny(be);
  });

  /**
   * Multiply-adds a forward over sequences of these lengths needs, padding-free (encoder + classification head).
   * The last layer computes the [CLS] rows only (the head reads nothing else): keys and values for every token, the
   * query, attention output, FFN and the one row of scores per head for the first row of each sequence.
   */
  function expectedMacs(lengths: number[]): { linear: number; attention: number; rows: number } {
    const { dim: d, hiddenDim: h, nLayers, labels } = model.config;
    const tokens = lengths.reduce((a, b) => a + b, 0);
    const S = lengths.length;
    const layer = tokens * (4 * d * d + 2 * d * h);
    const last = tokens * 2 * d * d + S * (2 * d * d + 2 * d * h);
    const linear = (nLayers - 1) * layer + last + S * (d * d + d * labels.length);
    const attention = (nLayers - 1) * lengths.reduce((a, L) => a + 2 * L * L * d, 0) + lengths.reduce((a, L) => a + 2 * L * d, 0);
    const rows = (nLayers - 1) * 6 * tokens + 2 * tokens + 4 * S + 2 * S;
    return { linear, attention, rows };
  }

  it("packed: logitsOf over lengths 2..40 does exactly the tokens' work, and each sequence gets what it gets alone", () => {
    const lengths = [2, 40, 7, 23, 13, 31, 5, 17];
    const seqs = lengths.map((L, i) => sequence(L, i + 1));
    be.reset();
    const together = model.logitsOf(seqs);
    const want = expectedMacs(lengths);
    expect(be.linearMacs).toBe(want.linear);
    expect(be.attentionMacs).toBe(want.attention);
    // The padded equivalent would have pushed 8 × 40 rows through every linear layer.
    expect(be.linearRows).toBe(want.rows);
    seqs.forEach((s, i) => {
      const alone = model.logitsOf([s])[0];
      expect(Array.from(together[i])).toEqual(Array.from(alone));
    });
  });

  it("padded input with an attention mask costs the same as the packed batch (padding rows are never computed)", () => {
    const lengths = [4, 16, 9];
    const T = 16;
    const ids = lengths.map((L, i) => [...sequence(L, 50 + i), ...new Array<number>(T - L).fill(0)]);
    const mask = lengths.map((L) => Array.from({ length: T }, (_, t) => (t < L ? 1 : 0)));
    be.reset();
    const padded = model.forward(ids, mask).logits.data;
    const want = expectedMacs(lengths);
    expect(be.linearMacs).toBe(want.linear);
    expect(be.attentionMacs).toBe(want.attention);
    const packed = model.logitsOf(lengths.map((L, i) => ids[i].slice(0, L)));
    lengths.forEach((_, b) => expect(Array.from(padded.subarray(2 * b, 2 * b + 2))).toEqual(Array.from(packed[b])));
  });
});
