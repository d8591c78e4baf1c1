#!/usr/bin/env node
/**
 * Two threads vs one, side by side: the same model loaded on the wasm backend with 1 and with N threads in one
 * process, called alternately (a pause between calls lets the pool's worker go idle), so that a host whose speed
 * drifts slows both alike. Prints the median of each and their ratio per shape.
 *
 *   node bench/scaling.mjs --model DIR [--threads 2] [--shapes 1x128,8x32,1x32] [--reps 16]
 *
 * Needs a built dist/ (npm run build).
 */
import { parseArgs } from "node:util";
import { loadModelFromDir } from "../dist/node/index.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string", default: "2" },
    shapes: { type: "string", default: "1x128,8x32,1x32" },
    reps: { type: "string", default: "16" },
  },
});
if (values.model === undefined) {
  console.error("usage: node bench/scaling.mjs --model DIR [--threads 2] [--shapes 1x128,8x32,1x32] [--reps 16]");
  process.exit(2);
}
const threads = Number(values.threads);
const one = await loadModelFromDir(values.model, { backend: "wasm", threads: 1 });
const many = await loadModelFromDir(values.model, { backend: "wasm", threads });
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
for (const shape of values.shapes.split(",")) {
  const [B, T] = shape.split("x").map(Number);
  const ids = Array.from({ length: B }, (_, b) => [101, ...Array.from({ length: T - 2 }, (_, i) => 1000 + ((i * 7919 + b * 31) % 28000)), 102]);
  for (let i = 0; i < 4; i++) {
    one.logitsOf(ids);
    many.logitsOf(ids);
  }
  const t1 = [];
  const tn = [];
  for (let r = 0; r < Number(values.reps); r++) {
    for (const [m, times] of r % 2 ? [[one, t1], [many, tn]] : [[many, tn], [one, t1]]) {
      const t0 = performance.now();
      m.logitsOf(ids);
      times.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  console.log(`${shape}: 1 thread ${median(t1).toFixed(1)} ms, ${threads} threads ${median(tn).toFixed(1)} ms, ratio ${(median(t1) / median(tn)).toFixed(2)}×`);
}
one.backend.dispose?.();
many.backend.dispose?.();
