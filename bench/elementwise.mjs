#!/usr/bin/env node
/**
 * The wasm kernels' element-wise GELU alone (geluInPlace, one thread) over T × 3072 floats, the FFN's activation at
 * T rows: best of 20 timings. Runs on dist/ (npm run build).
 *
 *   node bench/elementwise.mjs [--T 128]
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { WasmBackend } = await import(join(root, "dist/node/index.js"));
const { values } = parseArgs({ options: { T: { type: "string", default: "128" } } });
const n = Number(values.T) * 3072;
const be = await WasmBackend.create({ threads: 1 });
const src = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
const y = new Float32Array(n);
let best = Infinity;
for (let r = 0; r < 20; r++) {
  y.set(src);
  const t0 = performance.now();
  be.activate(y, n, "gelu");
  best = Math.min(best, performance.now() - t0);
}
console.log(`GELU over ${n} floats (${values.T} × 3072): ${best.toFixed(3)} ms, ${((best * 1e6) / n).toFixed(2)} ns a float (${be.name})`);
