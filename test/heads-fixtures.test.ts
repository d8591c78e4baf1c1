/**
 * Every head against ../shared/fixtures/heads (transformers 5.17 / sentence-transformers 6.0 in float64), raw outputs
 * and pipelines, in every backend. Prints the worst differences per task.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { featureExtraction } from "../src/pipelines/feature-extraction.js";
import { fillMask, type FillMaskResult } from "../src/pipelines/fill-mask.js";
import { bestSpans, qaWindows, questionAnswering, type QaAnswer } from "../src/pipelines/question-answering.js";
import { textClassification } from "../src/pipelines/text-classification.js";
import { AGGREGATIONS, tokenClassification } from "../src/pipelines/token-classification.js";
import { backendCases } from "./helpers/backends.js";
import { headsExpected, loadHeadsModel } from "./helpers/heads.js";

// Gates just above the worst differences measured over every backend (see the printed lines; docs in README).
const GATE = { logits: 5e-6, scores: 1e-6, embeddings: 1e-6 };

const worst: Record<string, number> = {};
const note = (key: string, d: number) => (worst[key] = Math.max(worst[key] ?? 0, d));
afterAll(() => {
  for (const [k, v] of Object.entries(worst)) console.log(`heads fixtures: worst |diff| ${k} = ${v.toExponential(2)}`);
});

function close(got: number, want: number, key: string, gate: number): void {
  const d = Math.abs(got - want);
  note(key, d);
  expect(d, `${key}: ${got} vs ${want}`).toBeLessThanOrEqual(gate);
}

/** Word ids of a fixture window's tokens, from its word pieces (the fixture gives ids and offsets, not words). */
function wordIdsFor(model: DistilBertClassifier, w: { input_ids: number[]; sequence_ids: (number | null)[] }): (number | null)[] {
  let word = -1;
  return w.input_ids.map((id, t) => {
    if (w.sequence_ids[t] !== 1) return null;
    if (!(model.tokenizer.idToToken(id)!.startsWith("##") && word >= 0)) word++;
    return word;
  });
}

for (const bc of backendCases) {
  describe(`heads fixtures, ${bc.name}`, () => {
    it("masked LM: mask logits, argmax, fill-mask pipeline", async () => {
      const model = await loadHeadsModel("mlm-uncased", await bc.create());
      const exp = headsExpected("mlm-uncased");
      const V = model.config.vocabSize;
      for (const c of exp.cases) {
        expect(model.tokenizer.encode(c.text).ids).toEqual(c.input_ids);
        const logits = model.forward([c.input_ids]).logits.data;
        c.mask_positions.forEach((p: number, k: number) => {
          const row = logits.subarray(p * V, (p + 1) * V);
          c.mask_logits_first10[k].forEach((v: number, j: number) => close(row[j], v, `${bc.name} mlm logits`, GATE.logits));
          let am = 0;
          for (let j = 1; j < V; j++) if (row[j] > row[am]) am = j;
          expect(am).toBe(c.mask_logits_argmax[k]);
        });
        const got = fillMask(model, c.text, { topK: exp.top_k });
        const single = c.mask_positions.length === 1;
        const want: FillMaskResult[][] = single ? [c.pipeline] : c.pipeline;
        const gotRows = (single ? [got] : got) as FillMaskResult[][];
        expect(gotRows.length).toBe(want.length);
        want.forEach((row, m) => {
          expect(gotRows[m].map((r) => [r.token, r.token_str, r.sequence])).toEqual(row.map((r) => [r.token, r.token_str, r.sequence]));
          row.forEach((r, j) => close(gotRows[m][j].score, r.score, `${bc.name} fill-mask scores`, GATE.scores));
        });
      }
    });

    it("question answering: start/end logits per window, windows, top-k word-aligned answers", async () => {
      const model = await loadHeadsModel("qa-cased", await bc.create());
      const exp = headsExpected("qa-cased");
      const p = exp.params;
      for (const c of exp.cases) {
        type W = { input_ids: number[]; sequence_ids: (number | null)[]; offsets: [number, number][] };
        const windows = (c.windows as W[]).map((w) => ({ ids: w.input_ids, sequenceIds: w.sequence_ids, offsets: w.offsets, wordIds: wordIdsFor(model, w) }));
        const logits = windows.map((w) => model.forward([w.ids]).logits.data);
        c.windows.forEach((w: { start_logits: number[]; end_logits: number[] }, wi: number) => {
          w.start_logits.forEach((v, t) => close(logits[wi][2 * t], v, `${bc.name} qa logits`, GATE.logits));
          w.end_logits.forEach((v, t) => close(logits[wi][2 * t + 1], v, `${bc.name} qa logits`, GATE.logits));
        });
        const spans = bestSpans(windows, logits, c.context, { topK: p.top_k, maxAnswerLen: p.max_answer_len, alignToWords: true, handleImpossibleAnswer: false }, model.tokenizer.clsId);
        expect(spans.map((s) => [s.window, s.startToken, s.endToken, s.start, s.end, s.answer])).toEqual(
          c.answers.map((a: { window: number; start_token: number; end_token: number; start: number; end: number; answer: string }) => [a.window, a.start_token, a.end_token, a.start, a.end, a.answer]),
        );
        // End to end, our own windows: the fixture's are tokenizers 0.23's (transformers 5.17), which stop after about
        // max_seq_len tokens of the context (huggingface/tokenizers#2091); stopAtMaxLength reproduces them.
        const ours = qaWindows(model, c.question, c.context, p.max_seq_len, p.doc_stride, true);
        expect(ours.map((w) => [w.ids, w.sequenceIds, w.offsets])).toEqual(windows.map((w) => [w.ids, w.sequenceIds, w.offsets]));
        const got = questionAnswering(model, { question: c.question, context: c.context }, { topK: p.top_k, maxSeqLen: p.max_seq_len, docStride: p.doc_stride, maxAnswerLen: p.max_answer_len, stopAtMaxLength: true }) as QaAnswer[];
        expect(got.map((a) => [a.start, a.end, a.answer])).toEqual(c.answers.map((a: QaAnswer) => [a.start, a.end, a.answer]));
        got.forEach((a, i) => close(a.score, c.answers[i].score, `${bc.name} qa scores`, GATE.scores));
      }
    });

    it("token classification: logits, and the pipeline with every aggregation", async () => {
      const model = await loadHeadsModel("ner-cased", await bc.create());
      const exp = headsExpected("ner-cased");
      for (const c of exp.cases) {
        expect(model.tokenizer.encode(c.text).ids).toEqual(c.input_ids);
        const logits = model.forward([c.input_ids]).logits.data;
        (c.logits as number[][]).flat().forEach((v, i) => close(logits[i], v, `${bc.name} ner logits`, GATE.logits));
        for (const aggregation of AGGREGATIONS) {
          const got = tokenClassification(model, c.text, { aggregation }) as unknown as Record<string, unknown>[];
          const want = c.pipeline[aggregation] as Record<string, unknown>[];
          const strip = (e: Record<string, unknown>) => ({ ...e, score: 0 });
          expect(got.map(strip), aggregation).toEqual(want.map(strip));
          want.forEach((e, i) => close(got[i].score as number, e.score as number, `${bc.name} ner scores`, GATE.scores));
        }
      }
    });

    it("sentence-transformers embeddings: mean pooled, then Dense(tanh) and Normalize", async () => {
      const model = await loadHeadsModel("embed", await bc.create());
      const exp = headsExpected("embed");
      for (const c of exp.cases) {
        const got = featureExtraction(model, c.text) as number[];
        expect(got.length).toBe(c.embedding.length);
        c.embedding.forEach((v: number, i: number) => close(got[i], v, `${bc.name} embeddings`, GATE.embeddings));
        const pooled = model.forward([model.tokenizer.encode(c.text).ids], undefined, { capture: ["head.1.pooling"] }).captured["head.1.pooling"].data;
        c.mean_pooled.forEach((v: number, i: number) => close(pooled[i], v, `${bc.name} mean pooled`, GATE.embeddings));
      }
    });

    it("multi-label text classification: every label's sigmoid, sorted", async () => {
      const model: DistilBertClassifier = await loadHeadsModel("multilabel", await bc.create());
      const exp = headsExpected("multilabel");
      for (const c of exp.cases) {
        const got = textClassification(model, c.text, { topK: null });
        const want = c.pipeline[0] as { label: string; score: number }[];
        expect(got.map((g) => g.label)).toEqual(want.map((w) => w.label));
        want.forEach((w, i) => close(got[i].score, w.score, `${bc.name} multilabel scores`, GATE.scores));
        const r = await model.classify(c.text);
        expect(r.label).toBe(want[0].label);
        close(r.scores[want[1].label], want[1].score, `${bc.name} multilabel scores`, GATE.scores);
      }
    });
  });
}
