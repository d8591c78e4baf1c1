/**
 * headMask against golden outputs of the float64 reference with Hugging Face's head_mask semantics
 * (test/fixtures/head-mask.json, written by scripts/make-head-mask-fixture.py): logits 1e-4, probs 1e-5, hidden
 * states 1e-4, attentions 1e-5, the core's tolerances; plus the CLI's --head-mask text format.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatHeadMask, parseHeadMaskText } from "../src/analysis/head-mask.js";
import { UsageError } from "../src/errors.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { backendCases } from "./helpers/backends.js";
import { loadTiny } from "./helpers/fixture.js";
import { repoRoot } from "./helpers/shared.js";

interface HeadMaskCase {
  name: string;
  batch: number;
  seq_len: number;
  input_ids: number[][];
  attention_mask: number[][];
  head_mask: number[] | number[][];
  logits: number[][];
  probs: number[][];
  hidden_states: number[][][][];
  attentions: number[][][][][];
}

const fixture = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/head-mask.json"), "utf8")) as { cases: HeadMaskCase[] };
const TOL = { logits: 1e-4, probs: 1e-5, hidden: 1e-4, attn: 1e-5 };

function maxDiff(got: ArrayLike<number>, want: unknown): number {
  const flat = (want as unknown[]).flat(Infinity as 1) as number[];
  expect(got.length).toBe(flat.length);
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs(got[i] - flat[i]));
  return m;
}

describe("head-mask fixture", () => {
  it("covers whole zeroed heads, a zeroed layer, fractions, the 1-D form and a padded batch", () => {
    const names = fixture.cases.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["zero_some_heads", "whole_layer_zero", "fractional", "broadcast_1d", "padded_batch", "all_ones"]));
    expect(fixture.cases.some((c) => (c.head_mask as number[][]).flat().includes(0))).toBe(true);
  });
});

for (const bc of backendCases) {
  describe(`headMask vs the reference, ${bc.name} backend`, () => {
    let model: DistilBertClassifier;
    beforeAll(async () => {
      model = await loadTiny(await bc.create());
    });

    it("every case: logits, probs, hidden states (mask = 1 rows) and attentions within the core's tolerances", () => {
      const worst = { logits: 0, probs: 0, hidden: 0, attn: 0 };
      const dim = model.config.dim;
      for (const c of fixture.cases) {
        const out = model.forward(c.input_ids, c.attention_mask, { headMask: c.head_mask, outputHiddenStates: true, outputAttentions: true });
        worst.logits = Math.max(worst.logits, maxDiff(out.logits.data, c.logits));
        worst.probs = Math.max(worst.probs, maxDiff(out.probs.data, c.probs));
        c.hidden_states.forEach((layer, l) =>
          layer.forEach((row, b) =>
            row.forEach((vec, t) => {
              if (c.attention_mask[b][t] === 0) return;
              const at = (b * c.seq_len + t) * dim;
              worst.hidden = Math.max(worst.hidden, maxDiff(out.hiddenStates![l].data.subarray(at, at + dim), vec));
            }),
          ),
        );
        c.attentions.forEach((a, l) => (worst.attn = Math.max(worst.attn, maxDiff(out.attentions![l].data, a))));
        // the fast path (no outputs; padded rows skipped) applies the same mask
        const fast = model.forward(c.input_ids, c.attention_mask, { headMask: c.head_mask });
        worst.logits = Math.max(worst.logits, maxDiff(fast.logits.data, c.logits));
      }
      console.log(`[${bc.name}] head mask: ${fixture.cases.length} cases, max |diff| logits ${worst.logits.toExponential(2)}, probs ${worst.probs.toExponential(2)}, hidden ${worst.hidden.toExponential(2)}, attentions ${worst.attn.toExponential(2)}`);
      expect(worst.logits).toBeLessThanOrEqual(TOL.logits);
      expect(worst.probs).toBeLessThanOrEqual(TOL.probs);
      expect(worst.hidden).toBeLessThanOrEqual(TOL.hidden);
      expect(worst.attn).toBeLessThanOrEqual(TOL.attn);
    });

    it("the mask matters: without it every non-trivial case lands far from its golden logits", () => {
      for (const c of fixture.cases) {
        const plain = model.forward(c.input_ids, c.attention_mask);
        const d = maxDiff(plain.logits.data, c.logits);
        if (c.name === "all_ones") expect(d, c.name).toBeLessThanOrEqual(TOL.logits);
        else expect(d, c.name).toBeGreaterThan(1e-3);
      }
    });

    it("a zeroed head's attentions are exactly 0 and a zeroed layer still produces finite output", () => {
      const c = fixture.cases.find((x) => x.name === "whole_layer_zero")!;
      const out = model.forward(c.input_ids, c.attention_mask, { headMask: c.head_mask, outputAttentions: true });
      expect(out.attentions![0].data.every((v) => v === 0)).toBe(true);
      expect(out.logits.data.every(Number.isFinite)).toBe(true);
    });

    it("rejects masks of the wrong shape or with non-finite values", () => {
      const { nLayers: L, nHeads: H } = model.config;
      expect(() => model.forward([[101, 102]], undefined, { headMask: [1, 1] })).toThrow(/headMask/);
      expect(() => model.forward([[101, 102]], undefined, { headMask: Array.from({ length: L + 1 }, () => new Array(H).fill(1)) })).toThrow(/headMask/);
      expect(() => model.forward([[101, 102]], undefined, { headMask: new Array(H).fill(NaN) })).toThrow(/not finite/);
    });
  });
}

describe("--head-mask text", () => {
  it("parses one row per layer, rows split by ';', values by ',' (spaces allowed)", () => {
    expect(parseHeadMaskText("1,0,1;1, 1, 0.5", 2, 3)).toEqual([[1, 0, 1], [1, 1, 0.5]]);
    expect(parseHeadMaskText(" 1,0.25 ; 0,1 ;", 2, 2)).toEqual([[1, 0.25], [0, 1]]);
  });

  it("one row applies to every layer, as Hugging Face's 1-D head_mask", () => {
    expect(parseHeadMaskText("1,0,1", 4, 3)).toEqual([[1, 0, 1], [1, 0, 1], [1, 0, 1], [1, 0, 1]]);
  });

  it("says what is wrong", () => {
    expect(() => parseHeadMaskText("1,0;1,1", 3, 2)).toThrow(UsageError);
    expect(() => parseHeadMaskText("1,0;1,1", 3, 2)).toThrow(/2 rows.*1 row or 3/);
    expect(() => parseHeadMaskText("1,0,1;1,1", 2, 3)).toThrow(/row 2 has 2 values/);
    expect(() => parseHeadMaskText("1,x,1", 1, 3)).toThrow(/"x" is not a number/);
    expect(() => parseHeadMaskText("1,,1", 1, 3)).toThrow(/is not a number/);
    expect(() => parseHeadMaskText("", 1, 3)).toThrow(/empty/);
    expect(() => parseHeadMaskText("1,Infinity,1", 1, 3)).toThrow(/not a number/);
  });

  it("formats back to the same text", () => {
    const m = [[1, 0, 0.5], [1, 1, 1]];
    expect(formatHeadMask(m)).toBe("1,0,0.5;1,1,1");
    expect(parseHeadMaskText(formatHeadMask(m), 2, 3)).toEqual(m);
  });
});
