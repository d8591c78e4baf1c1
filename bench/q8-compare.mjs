#!/usr/bin/env node
/**
 * The q8 path side by side with the peers, in one process, engines taking turns: ours f32 and q8 (wasm, the given
 * threads), onnxruntime-node fp32 and q8, onnxruntime-web q8 (the ONNX twin quantized by bench/quantize-onnx.py, as
 * onnxruntime's quantize_dynamic does). Prints, per workload, each engine's median time and the ratios; then the
 * fidelity on SST-2 dev (all 872 texts): mean and max |logit - f32 logit| and label agreement with f32, for ours q8
 * and onnxruntime's q8 (the f32 logits are ours, which match onnxruntime-node fp32 to ~1e-5); and the int8 GEMM's
 * GOP/s on the real shapes beside the dot instruction's measured ceiling (bench/q8-peak.mjs's loop).
 *
 *   node bench/q8-compare.mjs --f32 DIR --q8 DIR --onnx DIR/model.onnx --onnx-q8 DIR/model.q8.onnx [--threads 1]
 *        [--budget-ms 8000] [--sst2 ../shared/data/sst2-dev.tokens.jsonl]
 * Runs on dist/ (npm run build); peers from bench/peers (npm ci --ignore-scripts --prefix bench/peers).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { dotPeak } from "./q8-peak.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const lib = await import(join(root, "dist/node/index.js"));
const { loadModelFromDir, WasmBackend, nodeWorkerFactory, relaxedSimdSupported } = lib;
const { quantizeRows } = await import(join(root, "dist/tensor/quant.js"));
const { values } = parseArgs({
  options: {
    f32: { type: "string" }, q8: { type: "string" }, onnx: { type: "string" }, "onnx-q8": { type: "string" },
    threads: { type: "string", default: "1" }, "budget-ms": { type: "string", default: "8000" },
    sst2: { type: "string", default: join(root, "../shared/data/sst2-dev.tokens.jsonl") },
    peers: { type: "string", default: "node,node-q8,web-q8" }, skip: { type: "string", default: "" },
  },
});
const threads = Number(values.threads);
const budget = Number(values["budget-ms"]);
const peersDir = join(root, "bench/peers");
const skip = new Set(values.skip.split(",").filter(Boolean));

async function ours(dir, dtype) {
  const backend = await WasmBackend.create({ threads, workerFactory: threads > 1 ? nodeWorkerFactory() : undefined });
  const t0 = performance.now();
  const model = await loadModelFromDir(dir, { backend, dtype });
  const loadMs = performance.now() - t0;
  return { id: `ours-${dtype}`, detail: backend.name, loadMs, run: async (seqs) => model.logitsOf(seqs.map((s) => Int32Array.from(s))), dispose: () => backend.dispose() };
}

async function ort(kind, path, id) {
  let o;
  const options = { graphOptimizationLevel: "all" };
  if (kind === "node") {
    o = createRequire(join(peersDir, "package.json"))("onnxruntime-node");
    Object.assign(options, { executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1 });
  } else {
    o = await import(pathToFileURL(join(peersDir, "node_modules/onnxruntime-web/dist/ort.node.min.mjs")).href);
    o.env.wasm.numThreads = threads;
    options.executionProviders = ["wasm"];
  }
  const t0 = performance.now();
  const session = await o.InferenceSession.create(path, options);
  const loadMs = performance.now() - t0;
  // Batches padded to their longest, with a mask; sequences in the order given.
  const run = async (seqs) => {
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = new BigInt64Array(seqs.length * T);
    const mask = new BigInt64Array(seqs.length * T);
    seqs.forEach((s, b) => s.forEach((v, t) => ((ids[b * T + t] = BigInt(v)), (mask[b * T + t] = 1n))));
    const r = await session.run({ input_ids: new o.Tensor("int64", ids, [seqs.length, T]), attention_mask: new o.Tensor("int64", mask, [seqs.length, T]) });
    const L = r.logits.dims[1];
    return seqs.map((_, b) => Float32Array.from(r.logits.data.subarray(b * L, (b + 1) * L)));
  };
  return { id, detail: `onnxruntime-${kind}`, loadMs, run, dispose: () => session.release() };
}

const rng = (seed) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const shape = (B, T, seed) => {
  const r = rng(seed);
  return Array.from({ length: B }, () => [101, ...Array.from({ length: T - 2 }, () => 1000 + Math.floor(r() * 28000)), 102]);
};
const sst = readFileSync(values.sst2, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const sstIds = sst.map((r) => r.input_ids);

const engines = [];
if (!skip.has("f32")) engines.push(await ours(values.f32, "f32"));
engines.push(await ours(values.q8, "auto"));
engines[engines.length - 1].id = "ours-q8";
const peerList = values.peers.split(",").filter(Boolean);
for (const p of peerList) {
  if (p === "node") engines.push(await ort("node", values.onnx, "ort-node-fp32"));
  if (p === "node-q8") engines.push(await ort("node", values["onnx-q8"], "ort-node-q8"));
  if (p === "web-q8") engines.push(await ort("web", values["onnx-q8"], "ort-web-q8"));
}
console.log(`node ${process.version}, threads ${threads}, relaxed SIMD ${relaxedSimdSupported()}; engines: ${engines.map((e) => `${e.id} [${e.detail}] load ${e.loadMs.toFixed(0)} ms`).join(", ")}`);

const workloads = [
  { label: "1x128", batches: [shape(1, 128, 1)] },
  { label: "8x32", batches: [shape(8, 32, 2)] },
  // SST-2 dev, first 120 sentences, in batches of 8 (the peers pad each batch to its longest)
  { label: "sst2-120", batches: Array.from({ length: 15 }, (_, i) => sstIds.slice(8 * i, 8 * i + 8)) },
];
for (const w of workloads) {
  const times = new Map(engines.map((e) => [e.id, []]));
  for (const e of engines) for (const b of w.batches) await e.run(b); // warm-up
  const t0 = performance.now();
  for (let rep = 0; performance.now() - t0 < budget || rep < 3; rep++) {
    for (let i = 0; i < engines.length; i++) {
      const e = engines[(i + rep) % engines.length];
      const s = performance.now();
      for (const b of w.batches) await e.run(b);
      times.get(e.id).push(performance.now() - s);
    }
  }
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const m = new Map([...times].map(([id, a]) => [id, med(a)]));
  const q8 = m.get("ours-q8");
  console.log(`${w.label}: ` + [...m].map(([id, v]) => `${id} ${v.toFixed(1)} ms (${(v / q8).toFixed(2)}× ours-q8)`).join(", ") + ` [${times.get("ours-q8").length} reps]`);
}

// Fidelity on all of SST-2 dev, batches of 8 in order.
const all = async (e) => {
  const out = [];
  for (let i = 0; i < sstIds.length; i += 8) out.push(...(await e.run(sstIds.slice(i, i + 8))));
  return out;
};
const ref = engines.find((e) => e.id === "ours-f32");
if (ref) {
  const f32 = await all(ref);
  for (const e of engines.filter((x) => x.id !== "ours-f32")) {
    const got = await all(e);
    let sum = 0, max = 0, n = 0, agree = 0;
    got.forEach((g, i) => {
      for (let j = 0; j < g.length; j++) {
        const d = Math.abs(g[j] - f32[i][j]);
        sum += d;
        max = Math.max(max, d);
        n++;
      }
      if ((g[1] > g[0]) === (f32[i][1] > f32[i][0])) agree++;
    });
    console.log(`fidelity ${e.id} vs ours-f32 on ${got.length} SST-2 dev texts: mean |err| ${(sum / n).toExponential(3)}, max ${max.toExponential(3)}, labels agree ${agree}/${got.length}`);
  }
}

// The int8 GEMM on the real shapes (T = 128) against the dot instruction's ceiling, on one thread.
{
  const be = await WasmBackend.create({ threads: 1 });
  const peak = dotPeak(be.relaxed);
  for (const [K, N] of [[768, 768], [768, 3072], [3072, 768]]) {
    const T = 128;
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
    const gops = (2 * T * K * N) / best / 1e6;
    const ceiling = peak.run(50);
    console.log(`int8 GEMM ${T}x${K}→${N}: ${gops.toFixed(1)} GOP/s (best of 15), dot ceiling ${ceiling.toFixed(1)} GOP/s (${peak.instruction}) → ${((100 * gops) / ceiling).toFixed(0)}%`);
  }
}
for (const e of engines) await e.dispose();
process.exit(0);
