/**
 * The gradient pass's cost on the full-size model, relative to the forward: time (median of `--runs`) and memory
 * (the engine's own count of the activations it holds, and the process's peak RSS before and after).
 *
 *   npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/grad.js [--backend js|wasm] [--tokens 512] [--runs 3] [--model DIR]
 *
 * One backend and one length per process, so that the peak RSS belongs to that run alone.
 */
import { parseArgs } from "node:util";
import { GradientEngine } from "../src/grad/engine.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import type { Backend } from "../src/tensor/backend.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";
import { mulberry32 } from "../src/model/random-model.js";
import { prepareModel } from "./model.js";

const { values } = parseArgs({
  options: { backend: { type: "string", default: "wasm" }, tokens: { type: "string", default: "512" }, runs: { type: "string", default: "3" }, model: { type: "string" } },
});
const T = Number(values.tokens);
const runs = Number(values.runs);
const backend: Backend = values.backend === "js" ? new JsBackend() : await WasmBackend.create({ threads: 1 });
const bm = prepareModel({ model: values.model ?? null, ref: "/tmp/refmodel-base", seed: 1 });
const model = await loadModelFromDir(bm.dir, { backend });
const { config } = model;
const r = mulberry32(3);
const ids = [model.tokenizer.clsId, ...Array.from({ length: T - 2 }, () => 1000 + Math.floor(r() * (config.vocabSize - 1000))), model.tokenizer.sepId];

const mb = (bytes: number) => Math.round(bytes / 1048576);
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
/** Median wall time; and the CPU time of that same run, which a busy shared machine disturbs less. */
let lastCpuMs = 0;
function median(f: () => void): number {
  const ts: [number, number][] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    const u = process.cpuUsage(c);
    ts.push([performance.now() - t, (u.user + u.system) / 1000]);
  }
  ts.sort((a, b) => a[0] - b[0]);
  lastCpuMs = ts[Math.floor(ts.length / 2)][1];
  return ts[Math.floor(ts.length / 2)][0];
}

model.logitsOf([ids]); // warm-up
const forwardMs = median(() => model.logitsOf([ids]));
const forwardCpuMs = lastCpuMs;
const rssForward = rssMb();
const out: Record<string, unknown> = {
  backend: backend.name, tokens: T, model: bm.kind, dim: config.dim, layers: config.nLayers, runs,
  forward_ms: Math.round(forwardMs), forward_cpu_ms: Math.round(forwardCpuMs), peak_rss_after_forward_mb: rssForward,
};
// Warm-up, reported apart: the first pass also reads each linear weight once (the wasm backend keeps only packed
// panels, so the backward keeps its own plain copy, once per model).
const rssBeforeGrad = rssMb();
const t0 = performance.now();
new GradientEngine(model).run({ ids }, { kind: "logit", label: 0 }, ["embeddings.out"]);
out.first_gradient_ms = Math.round(performance.now() - t0);
out.peak_rss_after_first_gradient_mb = rssMb();
out.rss_growth_first_gradient_mb = rssMb() - rssBeforeGrad;
for (const recompute of [true, false]) {
  const engine = new GradientEngine(model, { recompute });
  let held = 0;
  const ms = median(() => {
    held = engine.run({ ids }, { kind: "logit", label: 0 }, ["embeddings.out"]).peakSavedBytes;
  });
  const key = recompute ? "recompute" : "keep_all";
  out[key] = {
    gradient_ms: Math.round(ms), vs_forward: Math.round((ms / forwardMs) * 10) / 10,
    gradient_cpu_ms: Math.round(lastCpuMs), cpu_vs_forward: Math.round((lastCpuMs / forwardCpuMs) * 10) / 10, activations_held_mb: mb(held), peak_rss_mb: rssMb() };
}
console.log(JSON.stringify(out));
(backend as { dispose?: () => void }).dispose?.();
