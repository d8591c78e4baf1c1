#!/usr/bin/env node
/**
 * Per-row vs per-tensor activation quantization, measured: the full-size model's logits on SST-2 dev texts (one text
 * per call, so "per tensor" is per sequence, the finest onnxruntime's dynamic quantization gets at batch size 1)
 * with the same int8 per-channel weights and four activation rules, each against the f32 logits:
 *   row/127    our rule (quant.ts): a scale and zero point per row, 7-bit codes (what relaxed SIMD needs)
 *   tensor/127 one scale and zero point for the whole [T, dIn] input, 7-bit codes
 *   row/255, tensor/255  the same with 8-bit codes (onnxruntime's DynamicQuantizeLinear: uint8, per tensor)
 * Everything else (attention, LayerNorm, GELU) is the JS backend's f32. Plain JS, so slow: about a second per text.
 *
 *   node bench/q8-act-scope.mjs --model F32DIR [--n 48] [--sst2 ../shared/data/sst2-dev.tsv]   (dist/: npm run build)
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { loadModelFromDir, JsBackend } = await import(join(root, "dist/node/index.js"));
const { geluF32, roundEven } = await import(join(root, "dist/tensor/quant.js"));
const { values } = parseArgs({ options: { model: { type: "string" }, n: { type: "string", default: "48" }, sst2: { type: "string", default: join(root, "../shared/data/sst2-dev.tsv") } } });
const texts = readFileSync(values.sst2, "utf8").split("\n").slice(1).filter((l) => l.trim() !== "").map((l) => l.split("\t")[0]).slice(0, Number(values.n));

/** A JS backend whose q8 Linear quantizes activations per `scope` with codes in [0, levels]. */
class ScopedBackend extends JsBackend {
  constructor(scope, levels) {
    super();
    this.scope = scope;
    this.levels = levels;
  }
  linear(y, x, w, T, act) {
    if (w.q8 === undefined) return super.linear(y, x, w, T, act);
    const { q, scales: sw } = w.q8;
    const K = w.dIn, N = w.dOut, L = this.levels;
    const u = new Uint16Array(T * K);
    const sx = new Float32Array(T);
    const zp = new Int32Array(T);
    const quantize = (from, to, rows) => {
      let lo = 0, hi = 0;
      for (let i = from; i < to; i++) (lo = Math.min(lo, x[i])), (hi = Math.max(hi, x[i]));
      let s = Math.fround(Math.fround(hi - lo) / L);
      if (!(s > 0)) s = 1;
      const inv = Math.fround(1 / s);
      const z = Math.min(L, Math.max(0, roundEven(Math.fround(-lo * inv))));
      for (let i = from; i < to; i++) u[i] = Math.min(L, Math.max(0, roundEven(Math.fround(x[i] * inv)) + z));
      for (const m of rows) (sx[m] = s), (zp[m] = z);
    };
    if (this.scope === "row") for (let m = 0; m < T; m++) quantize(m * K, (m + 1) * K, [m]);
    else quantize(0, T * K, Array.from({ length: T }, (_, m) => m));
    const colsum = new Int32Array(N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) colsum[n] += q[n * K + k];
    for (let m = 0; m < T; m++) {
      for (let n = 0; n < N; n++) {
        let a = 0;
        for (let k = 0, b = n * K, o = m * K; k < K; k++) a += q[b + k] * u[o + k];
        let v = Math.fround(Math.fround(a - zp[m] * colsum[n]) * Math.fround(sx[m] * sw[n]));
        if (w.bias !== null) v = Math.fround(v + w.bias[n]);
        y[m * N + n] = act === "gelu" ? geluF32(v) : act === "relu" ? Math.max(0, v) : v;
      }
    }
  }
}

const f32 = await loadModelFromDir(values.model, { backend: "wasm", dtype: "f32" });
const ref = [];
for (const t of texts) ref.push((await f32.classify(t)).logits);
console.log(`${texts.length} SST-2 dev texts, one per call; |logit - f32 logit| over all logits; labels = argmax agreement with f32`);
for (const [scope, levels] of [["row", 127], ["tensor", 127], ["row", 255], ["tensor", 255]]) {
  const model = await loadModelFromDir(values.model, { backend: new ScopedBackend(scope, levels), dtype: "q8" });
  let sum = 0, n = 0, max = 0, agree = 0;
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i++) {
    const got = (await model.classify(texts[i])).logits;
    got.forEach((v, j) => ((sum += Math.abs(v - ref[i][j])), (max = Math.max(max, Math.abs(v - ref[i][j]))), n++));
    const am = (a) => a.indexOf(Math.max(...a));
    if (am(got) === am(ref[i])) agree++;
  }
  console.log(`${scope.padEnd(6)}/${levels}: mean |Δ| ${(sum / n).toExponential(3)}, max ${max.toExponential(3)}, labels ${agree}/${texts.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
process.exit(0);
