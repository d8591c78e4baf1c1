#!/usr/bin/env node
/**
 * What taps cost: forward with nothing asked (the fast path, taps = null) against forward with captures, hooks,
 * hidden states and attentions, on the built engine (dist/). Run `npm run build` first.
 *
 *   node bench/hooks.mjs [MODEL_DIR] [--tokens 32] [--runs 15] [--json]
 *
 * MODEL_DIR defaults to /tmp/refmodel-base (a full-size random DistilBERT: ../shared/tools/reference/generate.sh
 * with ONLY_BASE=1) and falls back to ../shared/fixtures/tiny. A folder without vocab.txt borrows
 * ../shared/data/bert-base-uncased-vocab.txt. Conditions run round-robin (one run of each in turn) so that a slow
 * stretch of a shared machine hits them all alike; the table gives the median wall and CPU time of each and
 * their ratios to the fast path.
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const { loadModel } = await import(join(root, "dist/index.js"));

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const tokens = Number(flag("--tokens", "32"));
const runs = Number(flag("--runs", "15"));
const json = args.includes("--json");
const positional = args.filter((a) => !a.startsWith("--"));
const shared = resolve(root, "../shared");
const dir = positional[0] ?? (existsSync("/tmp/refmodel-base/model.safetensors") ? "/tmp/refmodel-base" : join(shared, "fixtures/tiny"));
const vocabPath = existsSync(join(dir, "vocab.txt")) ? join(dir, "vocab.txt") : join(shared, "data/bert-base-uncased-vocab.txt");

const model = await loadModel({
  config: readFileSync(join(dir, "config.json"), "utf8"),
  vocab: readFileSync(vocabPath, "utf8"),
  weights: new Uint8Array(readFileSync(join(dir, "model.safetensors"))),
});
const { nLayers, nHeads } = model.config;

// A fixed sequence: [CLS] ids [SEP], ids spread over the vocabulary.
const ids = [101, ...Array.from({ length: tokens - 2 }, (_, i) => 1000 + ((i * 7919) % 28000)), 102];
const ones = Array.from({ length: nLayers }, () => new Array(nHeads).fill(1));
const noop = () => {};

const conditions = [
  ["fast path: forward(ids)", {}],
  ["empty capture/hooks ({capture: [], hooks: {}})", { capture: [], hooks: {} }],
  ["headMask all ones (fast path)", { headMask: ones }],
  ["capture head.logits", { capture: ["head.logits"] }],
  ["capture layer.*.attn.probs", { capture: ["layer.*.attn.probs"] }],
  ["no-op hook on every activation (**)", { hooks: { "**": noop } }],
  ["outputHiddenStates + outputAttentions", { outputHiddenStates: true, outputAttentions: true }],
  ["capture ** (every activation)", { capture: ["**"] }],
];

// Wall time, and the process's CPU time (user + system, all threads): on a shared machine the second is the
// steadier measure of work, since waiting for a core does not count.
const time = (opts) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  model.forward([ids], undefined, opts);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
};
for (let w = 0; w < 3; w++) for (const [, opts] of conditions) time(opts);
const samples = conditions.map(() => []);
const cpu = conditions.map(() => []);
for (let r = 0; r < runs; r++) {
  conditions.forEach(([, opts], c) => {
    const [wall, cpuMs] = time(opts);
    samples[c].push(wall);
    cpu[c].push(cpuMs);
  });
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(samples[0]);
const baseCpu = median(cpu[0]);
const rows = conditions.map(([name], c) => ({
  condition: name,
  median_ms: +median(samples[c]).toFixed(2),
  min_ms: +Math.min(...samples[c]).toFixed(2),
  ratio: +(median(samples[c]) / base).toFixed(3),
  cpu_median_ms: +median(cpu[c]).toFixed(2),
  cpu_ratio: +(median(cpu[c]) / baseCpu).toFixed(3),
}));
const meta = { model: dir, dim: model.config.dim, n_layers: nLayers, n_heads: nHeads, tokens, runs, node: process.version, cpu: cpus()[0]?.model ?? "?", backend: model.backend.name };
if (json) {
  console.log(JSON.stringify({ ...meta, rows }));
} else {
  console.log(`forward 1×${tokens} on ${dir} (dim ${meta.dim}, ${nLayers} layers, ${meta.backend} backend), median of ${runs} round-robin runs, ${meta.node}, ${meta.cpu}`);
  const w = Math.max(...rows.map((r) => r.condition.length));
  console.log(`${"condition".padEnd(w)}  wall median    min ms  vs fast   CPU median  vs fast`);
  for (const r of rows) {
    console.log(`${r.condition.padEnd(w)}  ${r.median_ms.toFixed(2).padStart(11)}  ${r.min_ms.toFixed(2).padStart(8)}  ${r.ratio.toFixed(3).padStart(6)}×  ${r.cpu_median_ms.toFixed(2).padStart(10)}  ${r.cpu_ratio.toFixed(3).padStart(6)}×`);
  }
}
