/**
 * The whole model against ../shared/fixtures/tiny/expected.json (a float64 PyTorch mirror of Hugging Face,
 * itself checked against transformers to 5e-7), in every backend. Prints the max differences, llm.c style.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { backendCases } from "./helpers/backends.js";
import { loadTiny, tinyExpected, type FixtureCase } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";

const TOL = { logits: 1e-4, probs: 1e-5, hidden: 1e-4, attn: 1e-5 };

function flatMaxDiff(got: Float32Array, want: unknown): number {
  const flat = (want as unknown[]).flat(Infinity as 1) as number[];
  expect(got.length).toBe(flat.length);
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs(got[i] - flat[i]));
  return m;
}

for (const bc of backendCases) {
  describe(`tiny fixture, ${bc.name} backend`, () => {
    let model: DistilBertClassifier;
    beforeAll(async () => {
      model = await loadTiny(await bc.create());
    });

    it("every case: logits 1e-4, probs 1e-5, hidden states 1e-4, attentions 1e-5, labels equal", () => {
      const exp = tinyExpected();
      const worst = { logits: 0, probs: 0, hidden: 0, attn: 0, cls: 0 };
      for (const c of exp.cases) {
        const out = model.forward(c.input_ids, c.attention_mask, { outputHiddenStates: true, outputAttentions: true });
        worst.logits = Math.max(worst.logits, flatMaxDiff(out.logits.data, c.logits));
        worst.probs = Math.max(worst.probs, flatMaxDiff(out.probs.data, c.probs));
        const dim = model.config.dim;
        if (c.hidden_states) {
          c.hidden_states.forEach((layer, l) => {
            const got = out.hiddenStates![l];
            layer.forEach((row, b) =>
              row.forEach((vec, t) => {
                if (c.attention_mask[b][t] === 0) return; // HF's padded rows carry no meaning; we compute them anyway
                const at = (b * c.seq_len + t) * dim;
                worst.hidden = Math.max(worst.hidden, flatMaxDiff(got.data.subarray(at, at + dim), vec));
              }),
            );
          });
        }
        if (c.cls_hidden_states) {
          c.cls_hidden_states.forEach((layer, l) =>
            layer.forEach((vec, b) => {
              const at = b * c.seq_len * dim;
              worst.cls = Math.max(worst.cls, flatMaxDiff(out.hiddenStates![l].data.subarray(at, at + dim), vec));
            }),
          );
        }
        if (c.attentions) c.attentions.forEach((a, l) => (worst.attn = Math.max(worst.attn, flatMaxDiff(out.attentions![l].data, a))));
        const best = Array.from({ length: c.batch }, (_, b) => {
          const p = Array.from(out.probs.data.subarray(b * 2, b * 2 + 2));
          return model.config.labels[p.indexOf(Math.max(...p))];
        });
        expect(best, c.name).toEqual(c.predicted);
      }
      console.log(`[${bc.name}] ${exp.cases.length} cases, max |diff|: logits ${worst.logits.toExponential(2)}, probs ${worst.probs.toExponential(2)}, hidden ${worst.hidden.toExponential(2)}, cls ${worst.cls.toExponential(2)}, attentions ${worst.attn.toExponential(2)}`);
      expect(worst.logits).toBeLessThanOrEqual(TOL.logits);
      expect(worst.probs).toBeLessThanOrEqual(TOL.probs);
      expect(worst.hidden).toBeLessThanOrEqual(TOL.hidden);
      expect(worst.cls).toBeLessThanOrEqual(TOL.hidden);
      expect(worst.attn).toBeLessThanOrEqual(TOL.attn);
    });

    it("the fast path (no outputs requested, padded rows skipped) gives the same logits", () => {
      for (const c of tinyExpected().cases) {
        const out = model.forward(c.input_ids, c.attention_mask);
        expect(flatMaxDiff(out.logits.data, c.logits), c.name).toBeLessThanOrEqual(TOL.logits);
      }
    });

    it("a padded batch gives each sequence what it gets alone (within 1e-5)", () => {
      for (const c of tinyExpected().cases.filter((x) => x.batch > 1)) {
        const batch = model.forward(c.input_ids, c.attention_mask).logits.data;
        c.input_ids.forEach((row, b) => {
          const mask = c.attention_mask[b];
          // right padding: the sequence alone is its unmasked prefix; other layouts: same row, same mask
          const rightPadded = mask.every((m, t) => m === 1 || mask.slice(t).every((z) => z === 0));
          const alone = rightPadded ? model.forward([row.filter((_, t) => mask[t] === 1)]) : model.forward([row], [mask]);
          for (let j = 0; j < 2; j++) expect(Math.abs(alone.logits.data[j] - batch[b * 2 + j]), `${c.name}[${b}]`).toBeLessThanOrEqual(1e-5);
        });
      }
    });

    it("property: padding invariance and batch = single for random sequences", () => {
      const V = model.config.vocabSize;
      const maxT = model.config.maxPositionEmbeddings;
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 5 }), fc.nat(), (lens, seed) => {
          const r = rng(seed);
          const seqs = lens.map((n) => [101, ...Array.from({ length: Math.min(n, maxT - 2) }, () => Math.floor(r() * V)), 102]);
          const T = Math.max(...seqs.map((s) => s.length));
          const ids = seqs.map((s) => [...s, ...new Array(T - s.length).fill(0)]);
          const mask = seqs.map((s) => [...new Array(s.length).fill(1), ...new Array(T - s.length).fill(0)]);
          const padded = model.forward(ids, mask).logits.data;
          const packed = model.logitsOf(seqs);
          seqs.forEach((s, b) => {
            const alone = model.forward([s]).logits.data;
            for (let j = 0; j < alone.length; j++) {
              expect(Math.abs(padded[b * 2 + j] - alone[j])).toBeLessThanOrEqual(1e-5);
              expect(Math.abs(packed[b][j] - alone[j])).toBeLessThanOrEqual(1e-5);
            }
          });
        }),
        { numRuns: 40 },
      );
    });

    for (const variant of ["f16", "bf16"] as const) {
      it(`${variant} weights match their own reference (logits 1e-4, probs 1e-5, last hidden [CLS] 1e-4)`, async () => {
        const v = tinyExpected().variants[variant];
        const m = await loadTiny(await bc.create(), v.weights);
        expect(m.loadReport.dtypes[variant.toUpperCase()]).toBeGreaterThan(0);
        const cases = new Map<string, FixtureCase>(tinyExpected().cases.map((c) => [c.name, c]));
        const worst = { logits: 0, probs: 0, cls: 0 };
        for (const vc of v.cases) {
          const c = cases.get(vc.name)!;
          const out = m.forward(c.input_ids, c.attention_mask, { outputHiddenStates: true });
          worst.logits = Math.max(worst.logits, flatMaxDiff(out.logits.data, vc.logits));
          worst.probs = Math.max(worst.probs, flatMaxDiff(out.probs.data, vc.probs));
          const last = out.hiddenStates![m.config.nLayers];
          vc.last_hidden_cls.forEach((vec, b) => {
            const at = b * c.seq_len * m.config.dim;
            worst.cls = Math.max(worst.cls, flatMaxDiff(last.data.subarray(at, at + m.config.dim), vec));
          });
        }
        console.log(`[${bc.name}] ${variant}: ${v.cases.length} cases, max |diff| logits ${worst.logits.toExponential(2)}, probs ${worst.probs.toExponential(2)}, last [CLS] ${worst.cls.toExponential(2)}`);
        expect(worst.logits).toBeLessThanOrEqual(TOL.logits);
        expect(worst.probs).toBeLessThanOrEqual(TOL.probs);
        expect(worst.cls).toBeLessThanOrEqual(TOL.hidden);
      });
    }
  });
}
