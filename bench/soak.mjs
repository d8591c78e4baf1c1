// Soak: classify many texts with one model and watch the process's memory. After warm-up, resident memory must stay
// flat (growth under 5%): a leak of even a few hundred bytes per call would show over 20,000 calls.
//
//   npm run build && node bench/soak.mjs [--model DIR] [--texts 20000] [--batch 50] [--every 1000] [--warmup 4000]
//                                        [--backend auto|js|wasm] [--threads N]
//
// Runs on dist/. Default model: ../shared/fixtures/tiny; default backend: the library's ("auto": wasm where it can). Texts are the SST-2 dev sentences (../shared/data) cycled
// with a counter appended, so every text is distinct; without ../shared, generated sentences. Memory is sampled
// after a full GC (the script restarts itself with --expose-gc when needed), so the figures are live memory, not
// garbage waiting for collection. Prints a table and writes bench/results/soak-<date>.json. Exit code 1 when RSS
// grows by 5% or more after warm-up (trend or floor, see below).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve(root, "../shared/fixtures/tiny") },
    texts: { type: "string", default: "20000" },
    batch: { type: "string", default: "50" },
    every: { type: "string", default: "1000" },
    warmup: { type: "string", default: "4000" },
    backend: { type: "string", default: "auto" },
    threads: { type: "string", default: "1" },
  },
});
const total = Number(values.texts);
const batch = Number(values.batch);
const every = Number(values.every);
const warmup = Number(values.warmup);
const LIMIT = 0.05;
for (const [k, v] of Object.entries({ texts: total, batch, every, warmup })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
}
if (every % batch !== 0 || warmup % every !== 0 || total % every !== 0) throw new Error("--every must be a multiple of --batch, and --warmup and --texts multiples of --every");

const { loadModelFromDir } = await import(join(root, "dist/node/index.js"));

async function backendOptions() {
  if (values.backend === "auto") return {};
  if (values.backend === "js") return { backend: "js" };
  if (values.backend !== "wasm") throw new Error(`--backend ${values.backend}: expected auto, js or wasm`);
  const threads = Number(values.threads);
  if (threads === 1) return { backend: "wasm" };
  const { nodeWorkerFactory } = await import(join(root, "dist/node/wasm-workers.js"));
  return { backend: "wasm", threads, workerFactory: nodeWorkerFactory() };
}

function corpus() {
  const tsv = resolve(root, "../shared/data/sst2-dev.tsv");
  if (existsSync(tsv)) {
    return readFileSync(tsv, "utf8").split("\n").slice(1).filter((l) => l.length > 0).map((l) => l.split("\t")[0].trim());
  }
  const words = ["the", "film", "was", "good", "bad", "boring", "a", "great", "story", "not", "funny", "and", "acting"];
  return Array.from({ length: 500 }, (_, i) => Array.from({ length: 5 + (i % 20) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(" "));
}

function sample(done, t0) {
  globalThis.gc();
  const m = process.memoryUsage();
  return { texts: done, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, seconds: (performance.now() - t0) / 1000 };
}

const MB = (b) => (b / 1048576).toFixed(1);

const model = await loadModelFromDir(values.model, await backendOptions());
const sentences = corpus();
const samples = [];
const t0 = performance.now();
samples.push(sample(0, t0));
let labels = 0;
for (let done = 0; done < total; ) {
  const texts = [];
  for (let k = 0; k < batch; k++, done++) texts.push(`${sentences[done % sentences.length]} ${done}`);
  const results = await model.classify(texts);
  labels += results.length;
  if (done % every === 0) samples.push(sample(done, t0));
}
model.backend.dispose?.();
if (labels !== total) throw new Error(`classified ${labels} texts, expected ${total}`);

// RSS after a GC still moves by whole allocator chunks (with worker threads, ±10 MB from one sample to the next), so
// single samples are noise. A leak shows in two robust measures, both gated: the least-squares line through the
// post-warm-up samples (its rise over the run), and the floor (lowest sample of the last quarter of the run against
// the lowest of the first quarter). Single-sample figures are printed too.
const after = samples.filter((s) => s.texts >= warmup);
const baseline = after[0];
const last = after[after.length - 1];
const peak = after.reduce((a, s) => (s.rss > a.rss ? s : a));
const xs = after.map((s) => s.texts);
const ys = after.map((s) => s.rss);
const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
const my = ys.reduce((a, b) => a + b, 0) / ys.length;
const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
const lineStart = my + slope * (xs[0] - mx);
const trendGrowth = (slope * (xs[xs.length - 1] - xs[0])) / lineStart;
const quarter = Math.max(1, Math.floor(after.length / 4));
const floorOf = (ss) => Math.min(...ss.map((s) => s.rss));
const floorGrowth = (floorOf(after.slice(-quarter)) - floorOf(after.slice(0, quarter))) / floorOf(after.slice(0, quarter));
const growth = (last.rss - baseline.rss) / baseline.rss;
const peakGrowth = (peak.rss - baseline.rss) / baseline.rss;

console.log(`soak: ${total} texts in batches of ${batch}, model ${values.model}, backend ${model.backend.name ?? values.backend}, node ${process.version}`);
console.log("texts    rss MB  heap MB  external MB  arrayBuffers MB  seconds");
for (const s of samples) {
  console.log(`${String(s.texts).padStart(6)}  ${MB(s.rss).padStart(7)}  ${MB(s.heapUsed).padStart(7)}  ${MB(s.external).padStart(11)}  ${MB(s.arrayBuffers).padStart(15)}  ${s.seconds.toFixed(1).padStart(7)}`);
}
const pct = (x) => `${(x * 100).toFixed(2)}%`;
const verdict = trendGrowth < LIMIT && floorGrowth < LIMIT ? "PASS" : "FAIL";
console.log(
  `after warm-up (${warmup} texts): trend growth ${pct(trendGrowth)} (${((slope * 1000) / 1024).toFixed(1)} KB per 1,000 texts), ` +
    `floor growth ${pct(floorGrowth)}; limit ${LIMIT * 100}% on both: ${verdict}`,
);
console.log(`single samples: RSS ${MB(baseline.rss)} MB at ${baseline.texts} texts → ${MB(last.rss)} MB at ${last.texts} (${pct(growth)}), peak ${MB(peak.rss)} MB (${pct(peakGrowth)})`);
console.log(`throughput: ${(total / last.seconds).toFixed(0)} texts/s`);

const outDir = join(root, "bench/results");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  file,
  JSON.stringify(
    { model: values.model, backend: values.backend, threads: Number(values.threads), node: process.version, texts: total, batch, every, warmup, samples, trendGrowth, floorGrowth, growth, peakGrowth, slopeBytesPerText: slope, limit: LIMIT, verdict },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${file}`);
process.exitCode = verdict === "PASS" ? 0 : 1;
