#!/usr/bin/env node
/**
 * The int8 GEMM alone (the q8 Linear of the wasm backend, one thread) on DistilBERT-base's shapes at T rows, beside
 * the measured ceiling of the dot instruction it issues (q8-peak.mjs), as wasm-gemm.mjs and fma-peak.ts do for f32.
 * GOP/s count 2 ops per multiply-add of the product (T·K·N of them); the activation quantization, rescale and bias
 * are inside the timing. Each shape: best of 15 timings of 5 calls, the ceiling probed right after (best of 5).
 *
 *   node bench/q8-gemm.mjs [--T 128] [--relaxed auto|on|off]      (runs on dist/: npm run build)
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dotPeak } from "./q8-peak.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { WasmBackend, relaxedSimdSupported } = await import(join(root, "dist/node/index.js"));
const { quantizeRows } = await import(join(root, "dist/tensor/quant.js"));
const { values } = parseArgs({ options: { T: { type: "string", default: "128" }, relaxed: { type: "string", default: "auto" } } });
const T = Number(values.T);
const relaxed = values.relaxed === "auto" ? relaxedSimdSupported() : values.relaxed === "on";
const be = await WasmBackend.create({ threads: 1, relaxed });
const peak = dotPeak(be.relaxed);
const rows = [];
let totalOps = 0;
let totalMs = 0;
for (const [K, N] of [[768, 768], [768, 3072], [3072, 768]]) {
  const x = Float32Array.from({ length: T * K }, (_, i) => Math.sin(i));
  const w = quantizeRows(Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.7)), N, K);
  const lw = be.prepareLinearQ8(w, new Float32Array(N));
  const y = new Float32Array(T * N);
  for (let i = 0; i < 20; i++) be.linear(y, x, lw, T, "none");
  let best = Infinity;
  for (let r = 0; r < 15; r++) {
    const s = performance.now();
    for (let i = 0; i < 5; i++) be.linear(y, x, lw, T, "none");
    best = Math.min(best, (performance.now() - s) / 5);
  }
  let ceiling = 0;
  for (let r = 0; r < 5; r++) ceiling = Math.max(ceiling, peak.run(20));
  const ops = 2 * T * K * N;
  // A forward's Linears: 4 of 768→768, one each of 768→3072 and 3072→768 per layer: weight them so.
  const weight = K === N ? 4 : 1;
  totalOps += weight * ops;
  totalMs += weight * best;
  const gops = ops / best / 1e6;
  rows.push(`${T}x${K}->${N}: ${gops.toFixed(1)} GOP/s, dot ceiling ${ceiling.toFixed(1)} GOP/s (${peak.instruction}) -> ${((100 * gops) / ceiling).toFixed(0)}%`);
  rows.ceiling = Math.max(rows.ceiling ?? 0, ceiling);
}
const layer = totalOps / totalMs / 1e6;
rows.push(`a layer's six Linears together: ${layer.toFixed(1)} GOP/s -> ${((100 * layer) / rows.ceiling).toFixed(0)}% of the best ceiling (${rows.ceiling.toFixed(1)} GOP/s); backend ${be.name}`);
process.stdout.write(rows.join("\n") + "\n");
be.dispose();
process.exit(0);
