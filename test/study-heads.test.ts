/**
 * The study tools on every head (../shared/fixtures/heads): studyInput's readout, logit lens and occlusion are
 * checked against the model's own forward (a hook that hands layer l's hidden state to the head is the lens at l,
 * computed through the head's real forward), against the pipelines and against expected.json.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { maskedLmLens } from "../src/analysis/readout.js";
import { studyInput, type Study } from "../src/analysis/study.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { softmax } from "../src/model/classifier.js";
import { loadModel } from "../src/model/load.js";
import { featureExtraction } from "../src/pipelines/feature-extraction.js";
import { fillMask, type FillMaskResult } from "../src/pipelines/fill-mask.js";
import { renderStudyReport } from "../src/report/study-report.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { headsDir, headsExpected, loadHeadsModel } from "./helpers/heads.js";

const close = (a: number, b: number, tol: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(tol);

/** The head's output with the last block's output replaced by hidden state l: what the head makes of layer l. */
function headAt(model: DistilBertClassifier, ids: number[], hidden: Tensor, headMask?: number[][]): Float32Array {
  const last = `layer.${model.config.nLayers - 1}.out`;
  return model.forward([ids], undefined, { headMask, hooks: { [last]: () => hidden.data.slice() } }).logits.data;
}

function hiddenStates(model: DistilBertClassifier, ids: number[], headMask?: number[][]): Tensor[] {
  return model.forward([ids], undefined, { outputHiddenStates: true, headMask }).hiddenStates!;
}

describe("study of a masked LM (mlm-uncased)", () => {
  let model: DistilBertClassifier;
  let study: Study;
  const exp = () => headsExpected("mlm-uncased");
  beforeAll(async () => {
    model = await loadHeadsModel("mlm-uncased", new JsBackend());
    study = studyInput(model, { text: exp().cases[0].text }, { igSteps: 0 });
  });

  it("reads the [MASK]: the top words are the fill-mask pipeline's and expected.json's", () => {
    const c = exp().cases[0];
    expect(study.readout.kind).toBe("masked-lm");
    expect(study.readout.position).toBe(c.mask_positions[0]);
    const pipe = fillMask(model, c.text, { topK: 10 }) as FillMaskResult[];
    expect(study.labels).toEqual(pipe.map((r) => model.tokenizer.idToToken(r.token)));
    study.probs.forEach((p, j) => close(p, pipe[j].score, 1e-12, "prob vs pipeline"));
    (c.pipeline as FillMaskResult[]).forEach((r, j) => {
      expect(model.tokenizer.idToToken(r.token)).toBe(study.labels[j]);
      close(study.probs[j], r.score, 1e-5, "prob vs expected.json");
    });
    expect(study.label).toBe(study.labels[0]);
  });

  it("the logit lens at layer l is the masked-LM head's forward on hidden state l, at the [MASK]", () => {
    const ids = study.ids;
    const p = study.readout.position!;
    const V = model.config.vocabSize;
    const hs = hiddenStates(model, ids);
    expect(study.lens.length).toBe(model.config.nLayers + 1);
    study.lens.forEach((row, l) => {
      const probs = softmax(headAt(model, ids, hs[l]).subarray(p * V, (p + 1) * V));
      const ids10 = study.labels.map((t) => model.tokenizer.tokenToId(t)!);
      row.probs.forEach((q, j) => close(q, probs[ids10[j]], 1e-6, `lens layer ${l}`));
      const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
      expect(row.top!.map((t) => t.label)).toEqual(order.slice(0, 5).map((id) => model.tokenizer.idToToken(id)));
    });
    study.probs.forEach((q, j) => close(study.lens[study.lens.length - 1].probs[j], q, 1e-6, "last lens row"));
    // The API: the same rows from maskedLmLens.
    const api = maskedLmLens(model, hs, p, { topK: 10 });
    api.forEach((row, l) => row.probs.forEach((q, j) => close(q, study.lens[l].probs[j], 1e-12, "maskedLmLens")));
  });

  it("occlusion keeps the [MASK] and reads P(word) at its new position", () => {
    const p = study.readout.position!;
    const V = model.config.vocabSize;
    const target = model.tokenizer.tokenToId(study.label)!;
    expect(study.occlusion.length).toBe(study.tokens.filter((t, i) => i !== p && t !== "[CLS]" && t !== "[SEP]").length);
    for (const o of study.occlusion) {
      expect(o.index).not.toBe(p);
      const ids = study.ids.filter((_, j) => j !== o.index);
      const at = ids.indexOf(model.tokenizer.maskId!);
      const probs = softmax(model.forward([ids]).logits.data.subarray(at * V, (at + 1) * V));
      close(o.prob, probs[target], 1e-6, `occlusion of ${o.token}`);
      close(o.delta, study.probs[0] - o.prob, 1e-12, "delta");
    }
  });

  it("a head mask reaches the readout and the lens; a word outside the top k can be followed", () => {
    const mask = [[1, 0, 1, 1], [0, 1, 1, 0.5]];
    const s = studyInput(model, { text: exp().cases[0].text }, { headMask: mask, occlusion: false, label: "paris" });
    const p = s.readout.position!;
    const V = model.config.vocabSize;
    const hs = hiddenStates(model, s.ids, mask);
    const j = s.labels.indexOf("paris");
    expect(j).toBeGreaterThanOrEqual(0);
    expect(s.label).toBe("paris");
    const full = softmax(model.forward([s.ids], undefined, { headMask: mask }).logits.data.subarray(p * V, (p + 1) * V));
    close(s.probs[j], full[model.tokenizer.tokenToId("paris")!], 1e-6, "masked prob");
    s.lens.forEach((row, l) => close(row.probs[j], softmax(headAt(model, s.ids, hs[l], mask).subarray(p * V, (p + 1) * V))[model.tokenizer.tokenToId("paris")!], 1e-6, "masked lens"));
    expect(() => studyInput(model, { text: "no mask here" })).toThrow(/has no \[MASK\]/);
  });

  it("the report decodes the lens at the [MASK]", () => {
    const html = renderStudyReport(study);
    expect(html).toContain("Attention from [MASK]");
    expect(html).toContain("this layer's top words");
    expect(html).toContain("vocab_transform → gelu → vocab_layer_norm → vocab_projector");
    for (const row of study.lens) expect(html).toContain(row.top![0].label);
  });
});

describe("study of a token classifier (ner-cased)", () => {
  let model: DistilBertClassifier;
  beforeAll(async () => {
    model = await loadHeadsModel("ner-cased", new JsBackend());
  });

  it("reads one token's labels; the lens is the classifier on each layer's row; occlusion re-reads it", () => {
    const c = headsExpected("ner-cased").cases[0];
    const L = model.config.labels.length;
    for (const position of [undefined, 4]) {
      const s = studyInput(model, { text: c.text }, { position, igSteps: 0 });
      const p = position ?? 1;
      expect(s.ids).toEqual(c.input_ids);
      expect(s.readout.position).toBe(p);
      expect(s.labels).toEqual(model.config.labels);
      c.logits[p].forEach((v: number, j: number) => close(s.logits[j], v, 1e-4, "logits vs expected.json"));
      const hs = hiddenStates(model, s.ids);
      s.lens.forEach((row, l) => {
        const want = softmax(headAt(model, s.ids, hs[l]).subarray(p * L, (p + 1) * L));
        row.probs.forEach((q, j) => close(q, want[j], 1e-6, `lens ${l}`));
      });
      for (const o of s.occlusion.slice(0, 4)) {
        const ids = s.ids.filter((_, j) => j !== o.index);
        const at = o.index < p ? p - 1 : p;
        const want = softmax(model.forward([ids]).logits.data.subarray(at * L, (at + 1) * L));
        close(o.prob, want[s.labelIndex], 1e-6, `occlusion ${o.token}`);
      }
      expect(s.occlusion.some((o) => o.index === p)).toBe(false);
      expect(renderStudyReport(s)).toContain(`Attention from ${s.tokens[p]}`);
    }
  });
});

describe("study of question answering (qa-cased)", () => {
  let model: DistilBertClassifier;
  beforeAll(async () => {
    model = await loadHeadsModel("qa-cased", new JsBackend());
  });

  it("reads the best span (expected.json's first answer), P(start) × P(end) its score; lens and occlusion through the head", () => {
    const c = headsExpected("qa-cased").cases[2];
    expect(c.windows.length).toBe(1);
    const s = studyInput(model, { text: c.question, pair: c.context }, { igSteps: 0 });
    expect(s.ids).toEqual(c.windows[0].input_ids);
    const a = c.answers[0];
    expect(s.readout.span).toEqual([a.start_token, a.end_token]);
    close(s.probs[0] * s.probs[1], a.score, 1e-5, "span score vs expected.json");
    const T = s.ids.length;
    const seq = c.windows[0].sequence_ids as (number | null)[];
    const spanProbs = (l: Float32Array) => {
      const st = softmax(Array.from({ length: T }, (_, t) => (seq[t] === 1 ? l[2 * t] : -10000)));
      const en = softmax(Array.from({ length: T }, (_, t) => (seq[t] === 1 ? l[2 * t + 1] : -10000)));
      return [st[a.start_token], en[a.end_token]];
    };
    const hs = hiddenStates(model, s.ids);
    s.lens.forEach((row, l) => spanProbs(headAt(model, s.ids, hs[l])).forEach((q, j) => close(row.probs[j], q, 1e-6, `lens ${l}`)));
    expect(s.occlusion.every((o) => o.index < a.start_token || o.index > a.end_token)).toBe(true);
    expect(s.occlusion.length).toBeGreaterThan(0);
    expect(renderStudyReport(s)).toContain("this layer's best span");
  });
});

describe("study of a sentence-transformers model (embed)", () => {
  let model: DistilBertClassifier;
  beforeAll(async () => {
    model = await loadHeadsModel("embed", new JsBackend());
  });

  it("the lens is the cosine of each layer's embedding with the final one; occlusion the cosine without a token", () => {
    const c = headsExpected("embed").cases[0];
    const s = studyInput(model, { text: c.text }, { igSteps: 0 });
    expect(s.readout.kind).toBe("embedding");
    const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
      return ab / Math.sqrt(aa * bb);
    };
    const final = c.embedding as number[];
    const hs = hiddenStates(model, s.ids);
    s.lens.forEach((row, l) => close(row.probs[0], cos(headAt(model, s.ids, hs[l]), final), 1e-5, `lens ${l}`));
    close(s.lens[s.lens.length - 1].probs[0], 1, 1e-6, "last layer");
    for (const o of s.occlusion) {
      const ids = s.ids.filter((_, j) => j !== o.index);
      const e = model.forward([ids]).logits.data;
      close(o.prob, cos(e, final), 1e-5, `occlusion ${o.token}`);
    }
    expect(featureExtraction(model, c.text)).toHaveLength(final.length);
    expect(renderStudyReport(s)).toContain("cosine");
  });
});

describe("study of a bare encoder (embed's weights without its sentence-transformers modules)", () => {
  it("reads the mean of the last hidden state; the lens is the cosine of each layer's mean with it", async () => {
    const dir = join(headsDir(), "embed");
    const model = await loadModel({
      config: readFileSync(join(dir, "config.json"), "utf8"),
      tokenizerJson: readFileSync(join(dir, "tokenizer.json"), "utf8"),
      weights: readFileSync(join(dir, "model.safetensors")),
      backend: new JsBackend(),
    });
    expect(model.model.architecture).toBe("DistilBertModel");
    expect(model.model.output).toBe("token");
    const mask = [[1, 1, 0, 1], [1, 0, 1, 1]];
    const s = studyInput(model, { text: "A man is eating food." }, { headMask: mask });
    expect(s.readout.kind).toBe("embedding");
    const { dim } = model.config;
    const T = s.ids.length;
    const mean = (h: ArrayLike<number>, len: number) => Array.from({ length: dim }, (_, c) => {
      let m = 0;
      for (let t = 0; t < len; t++) m += h[t * dim + c] / len;
      return m;
    });
    const cos = (a: number[], b: number[]) => a.reduce((x, v, i) => x + v * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);
    const hs = hiddenStates(model, s.ids, mask);
    const final = mean(hs[hs.length - 1].data, T);
    s.lens.forEach((row, l) => close(row.probs[0], cos(mean(hs[l].data, T), final), 1e-6, `lens ${l}`));
    for (const o of s.occlusion) {
      const ids = s.ids.filter((_, j) => j !== o.index);
      close(o.prob, cos(mean(model.forward([ids], undefined, { headMask: mask }).logits.data, ids.length), final), 1e-6, `occlusion ${o.token}`);
    }
    expect(s.occlusion.length).toBe(T - 2);
    expect(renderStudyReport(s)).toContain("the mean of the last hidden state");
  });
});

describe("study of a multi-label classifier (multilabel)", () => {
  it("labels are sigmoids (expected.json's pipeline scores); the lens's last row is the prediction", async () => {
    const model = await loadHeadsModel("multilabel", new JsBackend());
    const c = headsExpected("multilabel").cases[0];
    const s = studyInput(model, { text: c.text }, { igSteps: 0 });
    expect(s.readout.kind).toBe("sequence-classification");
    const rows = (c.pipeline as { label: string; score: number }[][])[0];
    expect(rows.length).toBe(model.config.labels.length);
    for (const r of rows) close(s.probs[s.labels.indexOf(r.label)], r.score, 1e-5, r.label);
    s.probs.forEach((p, j) => close(s.lens[s.lens.length - 1].probs[j], p, 1e-6, "last lens row"));
  });
});
