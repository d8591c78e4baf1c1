#!/usr/bin/env node
/**
 * GFLOP/s of the Linear kernel (Backend.linear, copies in and out of WebAssembly memory included) on DistilBERT's
 * real shapes, per backend: js, wasm (plain SIMD), wasm-relaxed (relaxed SIMD, when the engine has it), and the
 * wasm backend with a 2-thread pool. Optionally (--model DIR) whole-model forward latency on the standard shapes.
 * Runs on the compiled dist/ (npm run build first).
 *
 *   node bench/wasm-gemm.mjs [--backends js,wasm,wasm-relaxed,wasm-2t] [--T 8,32,128,256,512] [--min-ms 300]
 *                            [--model DIR] [--shapes 1x8,1x32,1x128,8x32,1x512]
 *
 * Each figure is the best of repeated timings (at least 3 runs, at least --min-ms of work) after a warm-up (0.2 s per
 * kernel shape, 1.5 s per model shape: V8 first runs new WebAssembly code in its baseline compiler and swaps in the
 * optimised code once it is hot): the best is the least disturbed by other processes on a shared machine.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
if (!existsSync(join(dist, "node/index.js"))) {
  console.error("bench/wasm-gemm.mjs: dist/ is missing; run `npm run build` first");
  process.exit(2);
}
const lib = await import(join(dist, "node/index.js"));
const { JsBackend, WasmBackend, relaxedSimdSupported, nodeWorkerFactory, loadModelFromDir } = lib;

const { values } = parseArgs({
  options: {
    backends: { type: "string", default: "js,wasm,wasm-relaxed,wasm-2t" },
    T: { type: "string", default: "8,32,128,256,512" },
    "min-ms": { type: "string", default: "300" },
    model: { type: "string" },
    shapes: { type: "string", default: "1x8,1x32,1x128,8x32,1x512" },
    threads: { type: "string", default: "2" },
  },
});
const minMs = Number(values["min-ms"]);
const Ts = values.T.split(",").map(Number);
const threads = Number(values.threads);
const relaxed = relaxedSimdSupported();

/** name → () => Promise<Backend>, or a reason it cannot run here. */
const factories = {
  js: async () => new JsBackend(),
  wasm: () => WasmBackend.create({ relaxed: false }),
  "wasm-relaxed": relaxed ? () => WasmBackend.create({ relaxed: true }) : "no relaxed SIMD in this engine (Node 22+)",
  [`wasm-${threads}t`]: () => WasmBackend.create({ relaxed, threads, workerFactory: nodeWorkerFactory(join(dist, "node/wasm-worker.js")) }),
};
const wanted = values.backends.split(",").map((b) => (b === "wasm-2t" ? `wasm-${threads}t` : b));

/** Best time of fn after warming up for `warmMs` (V8 runs new WebAssembly code in its baseline tier at first). */
function time(fn, warmMs = 200) {
  const w0 = performance.now();
  do fn();
  while (performance.now() - w0 < warmMs);
  const samples = [];
  let total = 0;
  while (samples.length < 3 || total < minMs) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    samples.push(dt);
    total += dt;
  }
  return Math.min(...samples);
}

function rand(n, scale, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return a;
}

console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}; relaxed SIMD ${relaxed ? "yes" : "no"}`);
console.log(`Linear y [T, dOut] = act(x [T, dIn] · Wᵀ + b), GFLOP/s = 2·T·dIn·dOut / best time (copies included)`);

const SHAPES = [
  { label: "768→768 (q/k/v/out)", dIn: 768, dOut: 768, act: "none" },
  { label: "768→3072 (lin1+gelu)", dIn: 768, dOut: 3072, act: "gelu" },
  { label: "3072→768 (lin2)", dIn: 3072, dOut: 768, act: "none" },
];

const header = ["backend", "shape", ...Ts.map((T) => `T=${T}`)];
const rows = [];
for (const name of wanted) {
  const f = factories[name];
  if (f === undefined) throw new Error(`unknown backend ${name}; one of ${Object.keys(factories).join(", ")}`);
  if (typeof f === "string") {
    rows.push([name, "(skipped)", f]);
    continue;
  }
  const be = await f();
  for (const s of SHAPES) {
    const lw = be.prepareLinear(rand(s.dIn * s.dOut, Math.sqrt(3 / s.dIn), 1), rand(s.dOut, 0.1, 2), s.dOut, s.dIn);
    const row = [name, s.label];
    for (const T of Ts) {
      const x = rand(T * s.dIn, 1, 3 + T);
      const y = new Float32Array(T * s.dOut);
      const ms = time(() => be.linear(y, x, lw, T, s.act));
      row.push(((2 * T * s.dIn * s.dOut) / ms / 1e6).toFixed(1));
    }
    rows.push(row);
  }
  be.dispose?.();
}
printTable(header, rows);

if (values.model !== undefined) {
  const shapes = values.shapes.split(",").map((s) => {
    const [b, t] = s.split("x").map(Number);
    return { label: s, batch: b, seq: t };
  });
  console.log(`\nwhole model (${values.model}): forward latency, best of runs, ms (GFLOP/s of the matmuls)`);
  const mrows = [];
  for (const name of wanted) {
    const f = factories[name];
    if (typeof f === "string") continue;
    const opts = name === "js" ? { backend: "js" } : name.endsWith("t") ? { backend: "wasm", threads } : { backend: await f() };
    const model = await loadModelFromDir(values.model, opts);
    const c = model.config;
    const row = [name];
    for (const s of shapes) {
      const ids = Array.from({ length: s.batch }, (_, b) => [101, ...Array.from({ length: s.seq - 2 }, (_, i) => 1000 + ((i * 7919 + b * 31) % 28000)), 102]);
      const T = s.seq;
      const flops = s.batch * c.nLayers * (2 * T * c.dim * c.dim * 4 + 2 * 2 * T * c.dim * c.hiddenDim + 2 * 2 * T * T * c.dim) + s.batch * 2 * 2 * c.dim * c.dim;
      const ms = time(() => model.logitsOf(ids), 1500);
      row.push(`${ms.toFixed(1)} (${(flops / ms / 1e6).toFixed(1)})`);
    }
    mrows.push(row);
    model.backend.dispose?.();
  }
  printTable(["backend", ...shapes.map((s) => s.label)], mrows);
}

function printTable(h, rs) {
  const w = h.map((_, i) => Math.max(...[h, ...rs].map((r) => String(r[i] ?? "").length)));
  const line = (r) => r.map((v, i) => String(v ?? "").padEnd(w[i])).join("  ");
  console.log(line(h));
  for (const r of rs) console.log(line(r));
}
