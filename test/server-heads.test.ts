/**
 * The server's routes for every DistilBERT head, through HTTP on 127.0.0.1, on ../shared/fixtures/heads: each answer
 * equals (toEqual after JSON, i.e. the same doubles) what the pipeline (src/pipelines) gives for that input alone,
 * whether the request came alone, as a batch, or among concurrent requests that shared model calls; and the
 * fixture's transformers answer is what comes back (tokens, labels, spans exactly; scores near).
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import { serveNode, type NodeServer } from "../src/node/serve.js";
import { featureExtraction } from "../src/pipelines/feature-extraction.js";
import { fillMask } from "../src/pipelines/fill-mask.js";
import { questionAnswering } from "../src/pipelines/question-answering.js";
import { textClassification } from "../src/pipelines/text-classification.js";
import { tokenClassification } from "../src/pipelines/token-classification.js";
import { createHandler, type HandlerOptions, type ServerHandler } from "../src/server/handler.js";
import { headsDir, headsExpected } from "./helpers/heads.js";

const servers: NodeServer[] = [];
const models: DistilBertClassifier[] = [];
const temps: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.shutdown();
  for (const m of models) m.dispose();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

async function serve(dir: string, options: HandlerOptions = {}): Promise<{ url: string; model: DistilBertClassifier; handler: ServerHandler }> {
  const model = await loadModelFromDir(dir);
  models.push(model);
  const handler = createHandler(model, options);
  const node = await serveNode(handler, { host: "127.0.0.1", port: 0 });
  servers.push(node);
  return { url: node.url, model, handler };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: r.status, body: await r.json() };
}

/** The pipeline's answer as JSON carries it (what a client parses). */
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** Model calls (te_batch_size_count) and the inputs in them (…_sum), from /metrics. */
async function batches(url: string): Promise<{ calls: number; inputs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { calls: v("te_batch_size_count"), inputs: v("te_batch_size_sum") };
}

/** Every text as its own request, all at once: each answer must be that text's alone; returns model calls used. */
async function concurrent(url: string, path: string, bodies: unknown[], alone: (i: number) => unknown): Promise<number> {
  const before = await batches(url);
  const answers = await Promise.all(bodies.map((b) => post(`${url}${path}`, b)));
  answers.forEach((r, i) => {
    expect(r.status).toBe(200);
    expect(r.body).toEqual(json(alone(i)));
  });
  const after = await batches(url);
  return after.calls - before.calls;
}

describe("serve: /fill-mask (DistilBertForMaskedLM)", () => {
  const cases = () => headsExpected("mlm-uncased").cases as { text: string; pipeline: { token: number; score: number; token_str: string }[] | unknown[] }[];
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve(join(headsDir(), "mlm-uncased"), { maxBatchWaitMs: 50 });
  });

  it("one text, a batch, top_k and targets: the pipeline's answer; the fixture's tokens", async () => {
    for (const c of cases()) {
      const r = await post(`${s.url}/fill-mask`, { inputs: c.text });
      expect(r.status).toBe(200);
      expect(r.body).toEqual(json(fillMask(s.model, c.text)));
    }
    const one = cases()[0];
    const got = (await post(`${s.url}/fill-mask`, { inputs: one.text })).body as { token: number; score: number }[];
    const want = one.pipeline as { token: number; score: number }[];
    expect(got.map((g) => g.token)).toEqual(want.map((w) => w.token));
    got.forEach((g, i) => expect(Math.abs(g.score - want[i].score)).toBeLessThan(1e-6));
    const texts = cases().map((c) => c.text);
    const batch = await post(`${s.url}/fill-mask`, { inputs: texts, top_k: 3 });
    expect(batch.body).toEqual(json(fillMask(s.model, texts, { topK: 3 })));
    const targeted = await post(`${s.url}/fill-mask`, { inputs: texts[1], targets: ["love", "hate", "zzyzx"] });
    expect(targeted.body).toEqual(json(fillMask(s.model, texts[1], { targets: ["love", "hate", "zzyzx"] })));
    // POST / is the head's route.
    expect((await post(`${s.url}/`, { inputs: texts[0] })).body).toEqual(json(fillMask(s.model, texts[0])));
  });

  it("concurrent requests share model calls, and each answer is that text's alone", async () => {
    const texts = cases().map((c) => c.text);
    const bodies = [...texts, ...texts].map((t, i) => ({ inputs: t, top_k: 1 + (i % 4) }));
    const calls = await concurrent(s.url, "/fill-mask", bodies, (i) => fillMask(s.model, texts[i % texts.length], { topK: 1 + (i % 4) }));
    expect(calls).toBeLessThan(bodies.length);
  });

  it("errors: no mask is 422, too long is 413 unless truncate, a classifier route is 424", async () => {
    const none = await post(`${s.url}/fill-mask`, { inputs: "no mask here" });
    expect(none.status).toBe(422);
    expect(none.body.error_type).toBe("Validation");
    expect(none.body.error).toMatch(/\[MASK\]/);
    const long = "[MASK] " + "word ".repeat(200);
    const r = await post(`${s.url}/fill-mask`, { inputs: long });
    expect([r.status, r.body.error]).toEqual([413, `Input validation error: \`inputs\` must have less than ${s.model.maxLength} tokens. Given: 203`]);
    expect((await post(`${s.url}/fill-mask`, { inputs: long, truncate: true })).body).toEqual(json(fillMask(s.model, long)));
    expect((await post(`${s.url}/fill-mask`, { inputs: "a [MASK]", top_k: 0 })).status).toBe(422);
    expect((await post(`${s.url}/fill-mask`, { inputs: "a [MASK]", targets: [] })).status).toBe(422);
    expect(await post(`${s.url}/predict`, { inputs: "a" })).toEqual({ status: 424, body: { error: "model is not a classifier model", error_type: "Backend" } });
    expect((await post(`${s.url}/ner`, { inputs: "a" })).status).toBe(424);
    const info = await (await fetch(`${s.url}/info`)).json();
    expect(info.model_type).toEqual({ fill_mask: { mask_token: "[MASK]" } });
  });
});

describe("serve: /qa (DistilBertForQuestionAnswering)", () => {
  it("one question, a batch, options, and concurrent requests: the pipeline's answer; the fixture's spans", async () => {
    const s = await serve(join(headsDir(), "qa-cased"), { maxBatchWaitMs: 50 });
    const fx = headsExpected("qa-cased");
    const p = fx.params as { top_k: number; max_seq_len: number; doc_stride: number; max_answer_len: number };
    // The fixture's windows are tokenizers 0.23's (stop_at_max_length; see heads-fixtures.test.ts).
    const opts = { topK: p.top_k, maxSeqLen: p.max_seq_len, docStride: p.doc_stride, maxAnswerLen: p.max_answer_len, stopAtMaxLength: true };
    const cases = fx.cases as { question: string; context: string; answers: { start: number; end: number; answer: string; score: number }[] }[];
    for (const c of cases) {
      const input = { question: c.question, context: c.context };
      const r = await post(`${s.url}/qa`, { inputs: input, top_k: p.top_k, max_seq_len: p.max_seq_len, doc_stride: p.doc_stride, max_answer_len: p.max_answer_len, stop_at_max_length: true });
      expect(r.status).toBe(200);
      expect(r.body).toEqual(json(questionAnswering(s.model, input, opts)));
      const spans = (r.body as { start: number; end: number; answer: string; score: number }[]).map(({ start, end, answer }) => ({ start, end, answer }));
      expect(spans).toEqual(c.answers.map(({ start, end, answer }) => ({ start, end, answer })));
    }
    const inputs = cases.map((c) => ({ question: c.question, context: c.context }));
    expect((await post(`${s.url}/question-answering`, { inputs })).body).toEqual(json(questionAnswering(s.model, inputs)));
    const calls = await concurrent(
      s.url,
      "/qa",
      inputs.map((i) => ({ inputs: i, max_seq_len: 48, doc_stride: 16 })),
      (i) => questionAnswering(s.model, inputs[i], { maxSeqLen: 48, docStride: 16 }),
    );
    expect(calls).toBeGreaterThan(0);
    expect((await post(`${s.url}/qa`, { inputs: { question: "q" } })).status).toBe(422);
    expect((await post(`${s.url}/qa`, { inputs: { question: "q", context: "c" }, max_seq_len: 100000 })).status).toBe(422);
    expect((await post(`${s.url}/qa`, { inputs: { question: "", context: "c" } })).status).toBe(422);
  });
});

describe("serve: /ner (DistilBertForTokenClassification)", () => {
  it("every aggregation strategy, batches and concurrent requests: the pipeline's answer; the fixture's entities", async () => {
    const s = await serve(join(headsDir(), "ner-cased"), { maxBatchWaitMs: 50 });
    const cases = headsExpected("ner-cased").cases as { text: string; pipeline: Record<string, { word: string; start: number; end: number; score: number }[]> }[];
    for (const c of cases) {
      for (const agg of ["none", "simple", "first", "average", "max"] as const) {
        const r = await post(`${s.url}/token-classification`, { inputs: c.text, aggregation_strategy: agg });
        expect(r.status).toBe(200);
        expect(r.body).toEqual(json(tokenClassification(s.model, c.text, { aggregation: agg })));
        const spans = (r.body as { start: number; end: number; word: string }[]).map(({ start, end, word }) => ({ start, end, word }));
        expect(spans).toEqual(c.pipeline[agg].map(({ start, end, word }) => ({ start, end, word })));
      }
    }
    const texts = cases.map((c) => c.text);
    expect((await post(`${s.url}/ner`, { inputs: texts, ignore_labels: [] })).body).toEqual(json(tokenClassification(s.model, texts, { ignoreLabels: [] })));
    const calls = await concurrent(s.url, "/ner", texts.map((t) => ({ inputs: t, aggregation_strategy: "simple" })), (i) => tokenClassification(s.model, texts[i], { aggregation: "simple" }));
    expect(calls).toBeLessThan(texts.length);
    expect((await post(`${s.url}/ner`, { inputs: "x", aggregation_strategy: "most" })).status).toBe(422);
    const info = await (await fetch(`${s.url}/info`)).json();
    expect(Object.keys(info.model_type)).toEqual(["token_classification"]);
  });
});

describe("serve: /embed (sentence-transformers and bare encoder) and /predict (multi-label)", () => {
  it("a sentence-transformers folder: /embed is SentenceTransformer.encode's vector (normalize as asked)", async () => {
    const s = await serve(join(headsDir(), "embed"), { maxBatchWaitMs: 50 });
    const cases = headsExpected("embed").cases as { text: string; embedding: number[] }[];
    const texts = cases.map((c) => c.text);
    const r = await post(`${s.url}/embed`, { inputs: texts });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(json(featureExtraction(s.model, texts, { normalize: true })));
    (r.body as number[][]).forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - cases[i].embedding[j])).toBeLessThan(1e-6)));
    // One string is still a list of one vector (TEI).
    expect((await post(`${s.url}/embed`, { inputs: texts[0], normalize: false })).body).toEqual(json([featureExtraction(s.model, texts[0])]));
    await concurrent(s.url, "/embed", texts.map((t) => ({ inputs: t })), (i) => [featureExtraction(s.model, texts[i], { normalize: true })]);
    expect((await post(`${s.url}/embed_all`, { inputs: texts[0] })).status).toBe(424);
    expect((await (await fetch(`${s.url}/info`)).json()).model_type).toEqual({ embedding: { pooling: "sentence-transformers" } });
  });

  it("a bare encoder: /embed pools as --pooling says, /embed_all gives every token's vector", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbts-bare-"));
    temps.push(dir);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(headsDir(), "embed", f), join(dir, f));
    const s = await serve(dir, { pooling: "cls", maxBatchWaitMs: 50 });
    const texts = (headsExpected("embed").cases as { text: string }[]).map((c) => c.text);
    expect((await post(`${s.url}/embed`, { inputs: texts })).body).toEqual(json(featureExtraction(s.model, texts, { pooling: "cls", normalize: true })));
    const all = await post(`${s.url}/embed_all`, { inputs: texts });
    expect(all.body).toEqual(json(featureExtraction(s.model, texts).map((f) => (f as number[][][])[0])));
    const mean = await serve(dir);
    const cases = headsExpected("embed").cases as { mean_pooled: number[] }[];
    const got = (await post(`${mean.url}/embed`, { inputs: texts, normalize: false })).body as number[][];
    got.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - cases[i].mean_pooled[j])).toBeLessThan(1e-6)));
  });

  it("a multi-label classifier: /predict gives a sigmoid per label, as the text-classification pipeline", async () => {
    const s = await serve(join(headsDir(), "multilabel"), { maxBatchWaitMs: 50 });
    // TEI refuses an empty input (422); the pipeline takes it. The fixture's empty case is checked for the 422.
    const all = headsExpected("multilabel").cases as { text: string; pipeline: { label: string; score: number }[][] }[];
    const cases = all.filter((c) => c.text !== "");
    expect(cases.length).toBe(all.length - 1);
    expect((await post(`${s.url}/predict`, { inputs: "" })).body).toEqual({ error: "`inputs` cannot be empty", error_type: "Validation" });
    const texts = cases.map((c) => c.text);
    const calls = await concurrent(s.url, "/predict", texts.map((t) => ({ inputs: t })), (i) => textClassification(s.model, texts[i], { topK: null }).map(({ label, score }) => ({ score, label })));
    expect(calls).toBeLessThan(texts.length);
    for (const c of cases) {
      const got = (await post(`${s.url}/predict`, { inputs: c.text })).body as { label: string; score: number }[];
      expect(got.map((g) => g.label)).toEqual(c.pipeline[0].map((w) => w.label));
      got.forEach((g, i) => expect(Math.abs(g.score - c.pipeline[0][i].score)).toBeLessThan(1e-6));
    }
  });
});
