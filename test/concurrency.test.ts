/**
 * Async calls that are concurrent for real: a call of several internal batches gives the event loop a turn between
 * them (a timer fires while it runs), calls on one model are queued and never mix, calls on two models interleave,
 * and every result equals, bit for bit, the text classified alone. Also dispose(): typed errors after it, for
 * queued calls and for a call between its batches.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DisposedError } from "../src/errors.js";
import type { Classification, DistilBertClassifier } from "../src/model/classifier.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { backendCases, hasRelaxedSimd, testWorkerFactory } from "./helpers/backends.js";
import { loadTiny, tinyFiles } from "./helpers/fixture.js";
import { loadModel } from "../src/model/load.js";
import { requireShared } from "./helpers/shared.js";

let texts: string[];
beforeAll(() => {
  const rows = readFileSync(join(requireShared(), "data/sst2-dev.tsv"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  texts = rows.slice(0, 200).map((t, i) => t.repeat(1 + (i % 3)));
});

/** Logits as bits, so that equality is exact (and -0 differs from 0). */
const bits = (c: Classification) => Array.from(new Uint32Array(Float32Array.from(c.logits).buffer));

/** Ticks of a setImmediate loop until stop(): how often the event loop got a turn meanwhile. */
function ticker(): { count: () => number; stop: () => void } {
  let n = 0;
  let on = true;
  const tick = () => {
    if (!on) return;
    n++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { count: () => n, stop: () => (on = false) };
}

for (const bc of backendCases) {
  describe(`concurrent classify calls, ${bc.name} backend`, () => {
    let model: DistilBertClassifier;
    let alone: number[][];

    beforeAll(async () => {
      model = await loadTiny(await bc.create());
      alone = texts.map((t) => bits(model.classifySync([t])[0]));
    });

    it("a long call gives the event loop a turn between its batches, and each result equals the text alone", async () => {
      // ~64 tokens per batch: about 60 batches for these 200 texts.
      const t = ticker();
      const pending = model.classify(texts, { maxBatchTokens: 64 });
      const atCall = t.count();
      const results = await pending;
      t.stop();
      const ticks = t.count() - atCall;
      console.log(`concurrency (${bc.name}): the event loop turned ${ticks} times during one call of 200 texts in batches of 64 tokens`);
      expect(ticks).toBeGreaterThanOrEqual(30);
      results.forEach((r, i) => expect(bits(r), `text ${i}`).toEqual(alone[i]));
    });

    it("calls on one model are queued: overlapping batched calls, single calls and sync calls in between each equal the text alone", async () => {
      const calls = [0, 1, 2, 3].map((k) => model.classify(texts.slice(k * 50, (k + 1) * 50), { maxBatchTokens: 100 + 50 * k }));
      const singles = texts.slice(0, 40).map((t) => model.classify(t));
      // A synchronous call while the async ones are between their batches: forwards never overlap, so it is safe.
      await new Promise((r) => setImmediate(r));
      const sync = model.classifySync(texts.slice(0, 10));
      const batched = (await Promise.all(calls)).flat();
      batched.forEach((r, i) => expect(bits(r), `batched text ${i}`).toEqual(alone[i]));
      (await Promise.all(singles)).forEach((r, i) => expect(bits(r), `single text ${i}`).toEqual(alone[i]));
      sync.forEach((r, i) => expect(bits(r), `sync text ${i}`).toEqual(alone[i]));
    });
  });
}

describe("two models, dispose", () => {
  const made: WasmBackend[] = [];
  afterAll(() => made.forEach((b) => b.dispose()));

  it("calls on two models interleave: each model's batches alternate with the other's", async () => {
    const a = await loadTiny();
    const b = await loadTiny();
    // Which model ran each batch, in order: the turns between batches are what let the other model's call run.
    const order: string[] = [];
    const watch = (name: string, m: DistilBertClassifier) => {
      const forward = m.model.forward.bind(m.model);
      m.model.forward = (backend, batch, taps, headMask, options) => {
        order.push(name);
        return forward(backend, batch, taps, headMask, options);
      };
    };
    watch("a", a);
    watch("b", b);
    const [ra, rb] = await Promise.all([a.classify(texts, { maxBatchTokens: 256 }), b.classify(texts, { maxBatchTokens: 256 })]);
    const switches = order.slice(1).filter((n, i) => n !== order[i]).length;
    console.log(`concurrency: two models, ${order.length} batches, the running model changed ${switches} times`);
    expect(switches).toBeGreaterThan(order.length / 2);
    expect(ra.map(bits)).toEqual(rb.map(bits));
  });

  it("dispose(): later calls, queued calls and a call between its batches fail with a DisposedError; dispose stops the pool loadModel started", async () => {
    const model = await loadModel({ ...tinyFiles(), backend: "wasm", threads: 2, workerFactory: testWorkerFactory });
    const backend = model.backend as WasmBackend;
    expect(backend.threads).toBe(2);
    const long = model.classify(texts, { maxBatchTokens: 64 });
    const queued = model.classify("queued");
    await new Promise((r) => setImmediate(r)); // the long call has run its first batch
    model.dispose();
    model.dispose(); // idempotent
    await expect(long).rejects.toThrow(DisposedError);
    await expect(queued).rejects.toThrow(DisposedError);
    await expect(model.classify("later")).rejects.toThrow("classify: the model was disposed; expected a model that dispose() has not been called on");
    expect(() => model.classifySync(["later"])).toThrow(DisposedError);
    expect(() => model.forward([[101, 102]])).toThrow(DisposedError);
    expect(() => model.logitsOf([[101, 102]])).toThrow(DisposedError);
    // The backend itself still works after its pool is stopped, on the calling thread.
    const again = await loadModel({ ...tinyFiles(), backend });
    expect((await again.classify("still works")).label).toMatch(/POSITIVE|NEGATIVE/);
  });

  it("dispose() leaves a backend the caller passed in alone", async () => {
    const backend = await WasmBackend.create({ relaxed: hasRelaxedSimd, threads: 2, workerFactory: testWorkerFactory });
    made.push(backend);
    const model = await loadModel({ ...tinyFiles(), backend });
    model.dispose();
    const other = await loadModel({ ...tinyFiles(), backend });
    const c = await other.classify(texts.slice(0, 20));
    expect(c).toHaveLength(20);
  });
});
