/**
 * Capture and hooks on every head's `head.*` activations (../shared/fixtures/heads): each name the activation table
 * lists for a head is emitted with the table's shape, the captured values are what the head computes (checked
 * against expected.json and the forward's output), and a hook's replacement is what the rest of the head uses.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activationTable } from "../src/model/activations.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { runCli } from "./helpers/cli.js";
import { headsDir, headsExpected, loadHeadsModel } from "./helpers/heads.js";

const FIXTURES = ["mlm-uncased", "qa-cased", "ner-cased", "embed", "multilabel"];

function concrete(model: DistilBertClassifier, T: number, shape: readonly string[]): number[] {
  const { config } = model;
  const dims: Record<string, number> = { B: 1, T, dim: config.dim, labels: config.labels.length, vocab: config.vocabSize };
  return shape.map((d) => dims[d] ?? Number(d));
}

describe("head.* capture, every head", () => {
  const models: Record<string, DistilBertClassifier> = {};
  beforeAll(async () => {
    for (const f of FIXTURES) models[f] = await loadHeadsModel(f, new JsBackend());
  });

  it("every head.* name of the table is captured with the table's shape; head.logits is the output", () => {
    for (const f of FIXTURES) {
      const model = models[f];
      const ids = model.tokenizer.encode("The capital of France is [MASK].").ids;
      const heads = activationTable(model.config, model.model).filter((a) => a.name.startsWith("head."));
      expect(heads.length, f).toBeGreaterThan(0);
      const out = model.forward([ids], undefined, { capture: ["head.**"] });
      expect(Object.keys(out.captured).sort(), f).toEqual(heads.map((a) => a.name).sort());
      for (const a of heads) expect(out.captured[a.name].shape, `${f} ${a.name}`).toEqual(concrete(model, ids.length, a.shape));
      const last = heads[heads.length - 1].name;
      expect(Array.from(out.captured[last].data), `${f} ${last}`).toEqual(Array.from(out.logits.data));
    }
  });

  it("sentence-transformers modules: head.1.pooling is expected.json's mean-pooled vector, head.3.normalize the embedding", () => {
    const model = models.embed;
    for (const c of headsExpected("embed").cases) {
      const ids = model.tokenizer.encode(c.text).ids;
      const out = model.forward([ids], undefined, { capture: ["head.**"] });
      (c.mean_pooled as number[]).forEach((v, j) => expect(Math.abs(out.captured["head.1.pooling"].data[j] - v)).toBeLessThan(1e-5));
      (c.embedding as number[]).forEach((v, j) => expect(Math.abs(out.captured["head.3.normalize"].data[j] - v)).toBeLessThan(1e-5));
    }
  });

  it("a head mask reaches every head: masking heads equals zeroing their attention probabilities with a hook", () => {
    for (const f of FIXTURES) {
      const model = models[f];
      const { nLayers, nHeads } = model.config;
      const ids = model.tokenizer.encode("The capital of France is [MASK].").ids;
      const T = ids.length;
      const mask = Array.from({ length: nLayers }, (_, l) => Array.from({ length: nHeads }, (_, h) => ((l + h) % 2 === 0 ? 0 : 1)));
      const hooks = Object.fromEntries(Array.from({ length: nLayers }, (_, l) => [`layer.${l}.attn.probs`, (t: { data: Float32Array }) => {
        for (let h = 0; h < nHeads; h++) if (mask[l][h] === 0) t.data.fill(0, h * T * T, (h + 1) * T * T);
      }]));
      const masked = model.forward([ids], undefined, { headMask: mask }).logits.data;
      const hooked = model.forward([ids], undefined, { hooks }).logits.data;
      const plain = model.forward([ids]).logits.data;
      let moved = 0;
      masked.forEach((v, i) => {
        expect(Math.abs(v - hooked[i]), f).toBeLessThan(1e-6);
        moved = Math.max(moved, Math.abs(v - plain[i]));
      });
      expect(moved, `${f}: the mask changes the output`).toBeGreaterThan(1e-4);
    }
  });

  it("a hook's replacement is what the head goes on with", () => {
    // Masked LM: vocab_layer_norm zeroed leaves vocab_projector's bias as the logits of every row.
    const mlm = models["mlm-uncased"];
    const ids = mlm.tokenizer.encode("The capital of France is [MASK].").ids;
    const V = mlm.config.vocabSize;
    const zeroed = mlm.forward([ids], undefined, { hooks: { "head.vocab_layer_norm": (t) => new Float32Array(t.data.length) } }).logits.data;
    const head = mlm.model;
    if (head.architecture !== "DistilBertForMaskedLM") throw new Error("fixture");
    for (let t = 0; t < ids.length; t++) expect(Array.from(zeroed.subarray(t * V, t * V + 50))).toEqual(Array.from(head.projectorBias.subarray(0, 50)));
    // Token heads: a hook on head.logits is the output.
    for (const f of ["qa-cased", "ner-cased"]) {
      const m = models[f];
      const x = m.tokenizer.encode("Who lives in Berlin?").ids;
      const plain = m.forward([x]).logits.data;
      const doubled = m.forward([x], undefined, { hooks: { "head.logits": (t) => t.data.map((v) => 2 * v) } }).logits.data;
      expect(Array.from(doubled)).toEqual(Array.from(plain, (v) => 2 * v));
    }
    // Sentence-transformers: a Dense output hooked to all ones is normalised to 1/√width.
    const e = models.embed;
    const out = e.forward([e.tokenizer.encode("A man is eating food.").ids], undefined, { hooks: { "head.2.dense": (t) => new Float32Array(t.data.length).fill(1) } }).logits.data;
    for (const v of out) expect(Math.abs(v - 1 / Math.sqrt(out.length))).toBeLessThan(1e-7);
  });
});

describe("inspect on every head (CLI)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "inspect-heads-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--list names each head's activations; --capture head.** --out writes them", () => {
    for (const f of FIXTURES) {
      const list = runCli(["inspect", "--model", join(headsDir(), f), "--list", "--json"]);
      expect(list.code, list.stderr).toBe(0);
      const names = (JSON.parse(list.stdout) as { name: string }[]).map((a) => a.name).filter((n) => n.startsWith("head."));
      expect(names.length, f).toBeGreaterThan(0);
      const out = join(dir, f);
      const r = runCli(["inspect", "--model", join(headsDir(), f), "--capture", "head.**", "--out", out, "The capital of France is [MASK]."]);
      expect(r.code, r.stderr).toBe(0);
      const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
      expect(index.activations.map((a: { name: string }) => a.name).sort()).toEqual([...names].sort());
    }
  });

  it("text and JSON for each head, --html for each head", async () => {
    const h = (f: string) => join(headsDir(), f);
    const mlm = runCli(["inspect", "--model", h("mlm-uncased"), "The capital of France is [MASK]."]);
    expect(mlm.code).toBe(0);
    const fm = headsExpected("mlm-uncased").cases[0].pipeline as { token_str: string; score: number }[];
    expect(mlm.stdout).toContain(`[MASK] at position 6: ${fm.slice(0, 5).map((r) => `${r.token_str} ${r.score.toFixed(4)}`).join(", ")}`);
    const ner = runCli(["inspect", "--model", h("ner-cased"), "--json", "My name is Wolfgang and I live in Berlin."]);
    const nj = JSON.parse(ner.stdout);
    expect(nj.architecture).toBe("DistilBertForTokenClassification");
    const want = headsExpected("ner-cased").cases[0].logits as number[][];
    expect(nj.logits.length).toBe(want.length);
    want.forEach((row, t) => row.forEach((v, j) => expect(Math.abs(nj.logits[t][j] - v)).toBeLessThan(1e-4)));
    const qa = headsExpected("qa-cased").cases[2];
    const q = runCli(["inspect", "--model", h("qa-cased"), "--context", qa.context, qa.question]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toContain(`best span: tokens ${qa.answers[0].start_token}–${qa.answers[0].end_token} `);
    const e = runCli(["inspect", "--model", h("embed"), "--json", headsExpected("embed").cases[0].text]);
    (JSON.parse(e.stdout).logits as number[]).forEach((v, j) => expect(Math.abs(v - headsExpected("embed").cases[0].embedding[j])).toBeLessThan(1e-5));
    for (const [f, args, marker] of [
      ["mlm-uncased", ["The capital of France is [MASK]."], "this layer's top words"],
      ["ner-cased", ["--position", "4", "My name is Wolfgang."], "Attention from Wolf"],
      ["qa-cased", ["--context", qa.context, qa.question], "this layer's best span"],
      ["embed", ["A man is eating food."], "cosine"],
    ] as const) {
      const html = join(dir, `${f}.html`);
      const r = runCli(["inspect", "--model", h(f), "--html", html, ...args]);
      expect(r.code, r.stderr).toBe(0);
      const page = readFileSync(html, "utf8");
      expect(page, f).toContain(marker);
      expect(page).toContain('id="lens"');
    }
    const bad = runCli(["inspect", "--model", h("mlm-uncased"), "--context", "x", "y"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toMatch(/^error: --context: is for question answering/);
  });
});
