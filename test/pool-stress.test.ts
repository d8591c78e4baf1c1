/**
 * Stress for the wasm worker pool: the conditions under which `GemmPool: a worker's kernel trapped` was seen in CI
 * (test/load.test.ts on a busy host). Two parts per round:
 *
 * - hammer: pool jobs back to back as fast as they go, alternating an attention of few units with a GEMM of many
 *   panels on changing inputs, workers that sleep at once (spinMicroseconds 0, so each job wakes them late). Before
 *   the fix a late worker could claim a chunk of the next job while its parameters were being written: a trap, or
 *   (when its chunk was counted in the new job) results read before the last chunk was written.
 * - load: the load test's pattern (concurrent calls, batches of several shapes, the arena and memory growing between
 *   calls) on the tiny model with a CPU-burning child process making the host busy.
 *
 * Every result must equal the one-thread backend's bit for bit (the pool's promise). The suite runs one round with an
 * 8-second hammer; `npm run stress` runs STRESS_ROUNDS rounds (50) with STRESS_SECONDS-second hammers (4). The load part is
 * the realistic case, the hammer the sensitive one (docs/runtimes.md has how often each failed before the fix).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { hasRelaxedSimd, testWorkerFactory } from "./helpers/backends.js";
import { loadTiny } from "./helpers/fixture.js";
import { randomArray } from "./helpers/random.js";
import { requireShared } from "./helpers/shared.js";

const ROUNDS = Number(process.env.STRESS_ROUNDS ?? 1);
const HAMMER_SECONDS = Number(process.env.STRESS_SECONDS ?? 8);
const made: WasmBackend[] = [];
afterAll(() => made.forEach((b) => b.dispose()));

async function backend(threads: number, spinMicroseconds?: number): Promise<WasmBackend> {
  const b = await WasmBackend.create({ relaxed: hasRelaxedSimd, threads, workerFactory: testWorkerFactory, spinMicroseconds });
  made.push(b);
  return b;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A child process that keeps one core busy until killed. */
function burner(): ChildProcess {
  return spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
}

describe.sequential(`wasm pool stress (${ROUNDS} round${ROUNDS > 1 ? "s" : ""})`, () => {
  it(`hammer: attention of 2 units then a GEMM of 32 panels, ${HAMMER_SECONDS} s per round, equal to one thread bit for bit`, async () => {
    const one = await backend(1);
    const H = 2, dh = 8, dim = H * dh, L = 2, T = 8, dIn = 32, dOut = 256;
    const weight = randomArray(dOut * dIn, 1), bias = randomArray(dOut, 2);
    const w1 = one.prepareLinear(weight, bias, dOut, dIn);
    const spans = [{ start: 0, len: L, keyMask: null }];
    // Three input sets in turn: a chunk read before it was written shows as the previous set's values.
    const sets = [0, 1, 2].map((s) => {
      const q = randomArray(L * dim, 10 + s), k = randomArray(L * dim, 20 + s), v = randomArray(L * dim, 30 + s), x = randomArray(T * dIn, 40 + s);
      const a = new Float32Array(L * dim), y = new Float32Array(T * dOut);
      one.attention(a, q, k, v, spans, H, dh, 0.35);
      one.linear(y, x, w1, T, "gelu");
      return { q, k, v, x, a, y };
    });
    const a = new Float32Array(L * dim), y = new Float32Array(T * dOut);
    let iterations = 0;
    const failed: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A new pool each round, so that one round's failure cannot carry over into the next.
      const two = await backend(2, 0);
      const w2 = two.prepareLinear(weight, bias, dOut, dIn);
      let wrong = 0, threw = 0, first = "";
      const until = Date.now() + HAMMER_SECONDS * 1000;
      while (Date.now() < until) {
        const s = sets[iterations++ % 3];
        try {
          two.attention(a, s.q, s.k, s.v, spans, H, dh, 0.35);
          two.linear(y, s.x, w2, T, "gelu");
          if (!bitsEqual(a, s.a) || !bitsEqual(y, s.y)) wrong++;
        } catch (e) {
          if (threw++ === 0) first = (e as Error).message;
        }
      }
      two.dispose();
      if (wrong + threw > 0) failed.push(`round ${round}: ${threw} calls threw (${first}), ${wrong} gave other bits`);
    }
    console.log(`pool stress, hammer: ${iterations} iterations in ${ROUNDS} × ${HAMMER_SECONDS} s; ${failed.length} round(s) failed${failed.map((f) => `\n  ${f}`).join("")}`);
    expect(failed).toEqual([]);
    expect(iterations).toBeGreaterThan(1000 * ROUNDS);
  });

  describe("load pattern on a busy host", () => {
    let texts: string[];
    let alone: Float32Array[];
    let burn: ChildProcess | null = null;

    beforeAll(async () => {
      const rows = readFileSync(join(requireShared(), "data/sst2-dev.tsv"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
      // Lengths from 3 to 64 tokens (the tiny model's maximum, so some truncate): FFN GEMMs go to the pool from 32.
      texts = rows.slice(0, 300).map((t, i) => t.repeat(1 + (i % 4)));
      const reference = await loadTiny(await backend(1));
      alone = texts.map((t) => Float32Array.from(reference.classifySync([t])[0].logits));
      burn = burner();
    });
    afterAll(() => {
      burn?.kill();
    });

    it("concurrent calls and batches of growing size (arena and memory growth between calls) equal each text alone", async () => {
      let compared = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const spin of [0, 200]) {
          const model: DistilBertClassifier = await loadTiny(await backend(2, spin));
          const wasm = model.backend as WasmBackend;
          const startBytes = wasm.memoryBytes;
          const check = (got: { logits: number[] }[], what: string) => {
            got.forEach((g, i) => expect(bitsEqual(Float32Array.from(g.logits), alone[i]), `${what}, text ${i}, spin ${spin}, round ${round}`).toBe(true));
            compared += got.length;
          };
          check(await Promise.all(texts.map((t) => model.classify(t))), "one call per text");
          for (const maxBatchTokens of [64, 512, 2048, 8192]) check(model.classifySync(texts, { maxBatchTokens }), `batches of ${maxBatchTokens} tokens`);
          check((await Promise.all([0, 1, 2].map((k) => model.classify(texts.slice(k * 100, (k + 1) * 100))))).flat(), "three batched calls at once");
          expect(wasm.memoryBytes).toBeGreaterThan(startBytes);
          wasm.dispose();
        }
      }
      console.log(`pool stress, load: ${compared} classifications on 2 threads equal to one thread alone (${ROUNDS} round(s), host busied by a burner)`);
    });
  });
});
