/**
 * The gradient pass through every head but sequence classification (masked LM, question answering, token
 * classification, a sentence-transformers embedding), against PyTorch autograd in float64 on ../shared/fixtures/heads
 * (test/fixtures/grad-heads-expected.json, made by scripts/make-grad-head-expectations.py), on every backend; and the
 * sentence modules' other pooling modes and activations against finite differences in float64.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GradientEngine, type Objective } from "../src/grad/index.js";
import { f64Ops } from "../src/grad/ops.js";
import { sentenceEmbeddingHead } from "../src/grad/sentence-head.js";
import { Linear } from "../src/layers/linear.js";
import { loadHeadsModel } from "./helpers/heads.js";
import { backendCases } from "./helpers/backends.js";
import { relError } from "./helpers/grad-expected.js";
import { repoRoot } from "./helpers/shared.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import type { PoolingMode, SentenceModule } from "../src/model/sentence.js";
import { mulberry32 } from "../src/model/random-model.js";

interface HeadCase {
  name: string;
  head: string;
  input_ids: number[];
  attention_mask: number[];
  position: number | null;
  objective: "logit" | "logProb" | "dot";
  label: number | null;
  value: number;
  gradients: Record<string, number[]>;
  direction?: number[];
  embedding?: number[];
}

const expected = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/grad-heads-expected.json"), "utf8")) as { cases: HeadCase[] };

function objectiveOf(c: HeadCase): Objective {
  const position = c.position ?? undefined;
  if (c.objective === "dot") {
    const v = c.direction!;
    return { kind: "outputs", fn: (e) => ({ value: e.reduce((s, x, i) => s + x * v[i], 0), grad: v }) };
  }
  return { kind: c.objective, label: c.label!, position };
}

// Measured (worst tensor over the cases): f64 2.3e-8; float32 products js 2.9e-7, wasm 1.8e-6 (1 or 2 threads; the
// masked LM's ∂/∂vocab_layer_norm sums 30522 rows of the embedding table in float32, e_j − p cancelling). Objective
// values: 1.7e-8, 1.6e-7, 3.7e-7. Gates ~5x above; the bound is 1e-4.
const GATE = { f64: 2e-7, f32: 1e-5 };
const VALUE_GATE = { f64: 1e-7, f32: 2e-5 };

describe("gradients through the heads against PyTorch autograd (float64)", () => {
  for (const bc of backendCases) {
    for (const precision of ["f64", "f32"] as const) {
      if (precision === "f64" && bc.name !== "js") continue;
      it(`${precision === "f64" ? "f64" : bc.name}: every head, every tensor within ${GATE[precision]}`, async () => {
        const backend = await bc.create();
        const models = new Map<string, GradientEngine>();
        let worst = 0;
        let worstName = "";
        let worstValue = 0;
        for (const c of expected.cases) {
          let engine = models.get(c.head);
          if (engine === undefined) {
            engine = new GradientEngine(await loadHeadsModel(c.head, backend), { precision, recompute: c.head !== "qa-cased" });
            models.set(c.head, engine);
          }
          const r = engine.run({ ids: c.input_ids, attentionMask: c.attention_mask }, objectiveOf(c), Object.keys(c.gradients));
          worstValue = Math.max(worstValue, Math.abs(r.value - c.value));
          expect(Math.abs(r.value - c.value), `${c.name}: value`).toBeLessThan(VALUE_GATE[precision]);
          if (c.embedding) expect(relError(r.outputs, c.embedding), `${c.name}: embedding`).toBeLessThan(precision === "f64" ? 1e-8 : 1e-5);
          for (const [name, ref] of Object.entries(c.gradients)) {
            const g = r.grads.get(name);
            expect(g?.data.length, `${c.name}: ${name}`).toBe(ref.length);
            const e = relError(g!.data, ref);
            if (e > worst) [worst, worstName] = [e, `${c.name} ${name}`];
          }
        }
        console.log(`grad heads ${precision} ${bc.name}: max relative error ${worst.toExponential(2)} (${worstName}); objective values within ${worstValue.toExponential(2)}`);
        expect(worst).toBeLessThan(GATE[precision]);
      });
    }
  }

  it("a token head needs a position in range; a sequence head refuses one; a masked-LM target is a token", async () => {
    const backend = new JsBackend();
    const mlm = new GradientEngine(await loadHeadsModel("mlm-uncased", backend));
    const ids = expected.cases[0].input_ids;
    expect(() => mlm.run({ ids }, { kind: "logit", label: "the" }, [])).toThrow(/position.*is missing/);
    expect(() => mlm.run({ ids }, { kind: "logit", label: "the", position: ids.length }, [])).toThrow(/position.*is \d+/);
    expect(() => mlm.run({ ids }, { kind: "logit", label: "no-such-token-here", position: 1 }, [])).toThrow(/not a token of the vocabulary/);
    const byName = mlm.run({ ids }, { kind: "logit", label: "the", position: 1 }, []);
    const byId = mlm.run({ ids }, { kind: "logit", label: mlm.model.tokenizer.tokenToId("the")!, position: 1 }, []);
    expect(byName.value).toBe(byId.value);
    const emb = new GradientEngine(await loadHeadsModel("embed", backend));
    expect(() => emb.run({ ids }, { kind: "logit", label: 0, position: 1 }, [])).toThrow(/no position/);
    const qa = new GradientEngine(await loadHeadsModel("qa-cased", backend));
    expect(qa.labelIndex("end")).toBe(1);
    expect(() => qa.labelIndex("middle")).toThrow(/start or end/);
  });

  it("the head's outputs are the loaded model's forward at that row", async () => {
    const backend = new JsBackend();
    for (const name of ["mlm-uncased", "qa-cased", "ner-cased"]) {
      const model = await loadHeadsModel(name, backend);
      const engine = new GradientEngine(model);
      const c = expected.cases.find((k) => k.head === name)!;
      const logits = model.forward([c.input_ids]).logits;
      const W = logits.shape[2];
      const row = logits.data.subarray(c.position! * W, (c.position! + 1) * W);
      const r = engine.run({ ids: c.input_ids }, { kind: "logit", label: 0, position: c.position! }, []);
      expect(relError(r.outputs, row), name).toBeLessThan(1e-5);
    }
  });
});

describe("sentence modules: every pooling mode and Dense activation against finite differences (float64)", () => {
  const dim = 6;
  const T = 5;
  const modes: PoolingMode[][] = [["cls"], ["max"], ["mean"], ["mean_sqrt_len_tokens"], ["weightedmean"], ["lasttoken"], ["cls", "mean", "max"]];
  const acts = ["identity", "tanh", "relu", "gelu", "sigmoid"] as const;
  it.each(modes.flatMap((m, i) => [[m, acts[i % acts.length]] as const]))("%j then Dense(%s) and Normalize", (pooling, act) => {
    const r = mulberry32(7);
    const width = dim * pooling.length;
    const w = Float32Array.from({ length: 4 * width }, () => r() - 0.5);
    const b = Float32Array.from({ length: 4 }, () => r() - 0.5);
    const modules: SentenceModule[] = [
      { type: "pooling", modes: pooling },
      { type: "dense", linear: new Linear(new JsBackend().prepareLinear(w, b, 4, width)), activation: act, path: "2_Dense" },
      { type: "normalize" },
    ];
    const head = sentenceEmbeddingHead(modules, dim);
    const ops = f64Ops();
    const keyMask = Uint8Array.from([1, 1, 1, 1, 0]); // the last row is padding: no mode may read it
    const hidden = Float64Array.from({ length: T * dim }, () => 2 * r() - 1);
    const v = Float64Array.from({ length: 4 }, () => r() - 0.5);
    const f = (h: Float64Array) => {
      const out = head.forward(ops, h, T, null, { position: null, keyMask }).outputs;
      let s = 0;
      for (let i = 0; i < v.length; i++) s += out[i] * v[i];
      return s;
    };
    const { saved } = head.forward(ops, hidden, T, null, { position: null, keyMask });
    const g = head.backward(ops, saved, v, T, null);
    const eps = 1e-6;
    let worst = 0;
    for (let i = 0; i < hidden.length; i++) {
      const hp = hidden.slice();
      const hm = hidden.slice();
      hp[i] += eps;
      hm[i] -= eps;
      const fd = (f(hp) - f(hm)) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - g[i]));
      if (i >= (T - 1) * dim) expect(g[i], "padding row").toBe(0);
    }
    expect(worst).toBeLessThan(1e-7);
  });
});
