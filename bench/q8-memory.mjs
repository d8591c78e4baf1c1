#!/usr/bin/env node
/**
 * The full-size q8 model's load time and memory, in a fresh process (run it with --expose-gc for the after-gc line):
 * loadModelFromDir on a q8 folder (the wasm backend, one thread unless --threads), then classify a 512-token text.
 * Memory is what a Worker's 128 MB counts: process.memoryUsage()'s heapUsed and arrayBuffers, plus the wasm memory
 * (which arrayBuffers does not include). "after load" and "after the 512-token text" are taken without forcing a
 * collection, so they include garbage V8 has not collected yet (the read buffers of the packed weights, the forward's
 * activations): an upper bound of what was live at that moment.
 *
 *   node --expose-gc bench/q8-memory.mjs --model Q8DIR [--threads 1]       (runs on dist/: npm run build)
 */
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { loadModelFromDir, WasmBackend, nodeWorkerFactory } = await import(join(root, "dist/node/index.js"));
const { values } = parseArgs({ options: { model: { type: "string" }, threads: { type: "string", default: "1" } } });
if (values.model === undefined) throw new Error("--model Q8DIR is required");
const threads = Number(values.threads);

const mb = (x) => (x / 1e6).toFixed(1);
function snapshot(label, backend) {
  const m = process.memoryUsage();
  const wasm = backend.memoryBytes;
  const total = m.heapUsed + m.arrayBuffers + wasm;
  console.log(`${label}: heapUsed ${mb(m.heapUsed)} + arrayBuffers ${mb(m.arrayBuffers)} + wasm ${mb(wasm)} = ${mb(total)} MB (heapTotal ${mb(m.heapTotal)}, rss ${mb(m.rss)})`);
  return total;
}

const t0 = performance.now();
const backend = await WasmBackend.create({ threads, workerFactory: threads > 1 ? nodeWorkerFactory() : undefined });
const t1 = performance.now();
const model = await loadModelFromDir(values.model, { backend });
const t2 = performance.now();
console.log(`load: backend ${(t1 - t0).toFixed(0)} ms + model ${(t2 - t1).toFixed(0)} ms = ${(t2 - t0).toFixed(0)} ms (${backend.name}, ${threads}t, dtype of the folder: ${model.loadReport.dtypes.I8 ? "q8" : "f32"})`);
snapshot("after load", backend);
if (globalThis.gc) {
  globalThis.gc();
  snapshot("after load, after gc", backend);
}
const words = "the film was a long and winding story about people who never quite say what they mean ".repeat(60);
const t3 = performance.now();
const r = await model.classify(words);
const t4 = performance.now();
console.log(`classify: ${r.tokens.length} tokens${r.truncated ? " (truncated)" : ""} in ${(t4 - t3).toFixed(0)} ms → ${r.label}`);
const peak = snapshot("after the 512-token text", backend);
if (globalThis.gc) {
  globalThis.gc();
  snapshot("after the text, after gc", backend);
}
console.log(`target heap + ArrayBuffers + wasm ≤ 110 MB while classifying a 512-token text: ${peak <= 110e6 ? "met" : "not met"} (${mb(peak)} MB, no gc forced)`);
backend.dispose();
process.exit(0);
