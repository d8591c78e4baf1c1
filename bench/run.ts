/**
 * `npm run bench`: distilbert-ts against onnxruntime-web and onnxruntime-node on a DistilBERT-base-shaped model.
 *
 * The orchestrator: picks the model (model.ts), measures loading in a fresh process per backend (load-child.ts), runs
 * one process per thread count with every engine side by side (group.ts), measures the tokenizer, then prints the
 * tables and writes everything as JSON. Options: `--help`, or docs/performance.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { WordPieceTokenizer } from "../src/tokenizer/index.js";
import { log, machineInfo, repoRoot, sharedDir, stats } from "./common.js";
import { peersInstalled } from "./engines.js";
import { prepareModel, readExpected, type BenchModel, type ExpectedCase } from "./model.js";
import { HELP, parseOptions, UsageError, type BenchOptions } from "./options.js";
import { judgeTargets, renderReport, type BenchResult, type TokenizerResult } from "./report.js";
import type { GroupResult, GroupSpec, LoadResult, LoadSpec, WorkloadSpec } from "./spec.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Seeded ids in the ordinary-word range of the vocabulary, framed by [CLS] … [SEP]. */
function randomSequence(len: number, seed: number): number[] {
  let s = seed >>> 0;
  const ids = [101];
  for (let t = 1; t < len - 1; t++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids.push(1996 + (s % 27000));
  }
  ids.push(102);
  return ids.slice(0, len);
}

function shapeWorkload(batch: number, seq: number, label: string, cases: ExpectedCase[]): WorkloadSpec {
  const c = cases.find((x) => x.name === `b${batch}_T${seq}` && x.attention_mask.every((r) => r.every((v) => v === 1)));
  if (c !== undefined) return { label, kind: "shape", sequences: c.input_ids, peerBatching: "one", expected: c.logits, engines: "all" };
  const sequences = Array.from({ length: batch }, (_, b) => randomSequence(seq, 1000 * seq + b));
  return { label, kind: "shape", sequences, peerBatching: "one", expected: null, engines: "all" };
}

function readSst2(limit: number | null): string[] | null {
  const shared = sharedDir();
  const path = shared !== null ? join(shared, "data", "sst2-dev.tsv") : null;
  if (path === null || !existsSync(path)) return null;
  const lines = readFileSync(path, "utf8").split("\n").slice(1).filter((l) => l.trim() !== "");
  const sentences = lines.map((l) => l.split("\t")[0]);
  return limit === null ? sentences : sentences.slice(0, limit);
}

function runChild(script: string, spec: unknown, tag: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), `distilbert-ts-bench-${tag}-`));
  const specPath = join(dir, "spec.json");
  const outPath = join(dir, "out.json");
  writeFileSync(specPath, JSON.stringify(spec));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(here, script), specPath, outPath], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => {
      try {
        if (code !== 0 || !existsSync(outPath)) throw new Error(`${script} (${tag}) exited with code ${code}`);
        resolvePromise(JSON.parse(readFileSync(outPath, "utf8")));
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** Run a script and return its stdout (stderr passes through). */
function captureChild(script: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (text += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolvePromise(text) : reject(new Error(`${script} exited with code ${code}`))));
  });
}

function tokenizerBench(sentences: string[], rounds: number): TokenizerResult | null {
  const shared = sharedDir();
  const path = shared !== null ? join(shared, "data", "tokenizer.json") : null;
  if (path === null || !existsSync(path)) return null;
  const json = JSON.parse(readFileSync(path, "utf8")) as object;
  const ours = WordPieceTokenizer.fromTokenizerJson(json);
  const peer = new Tokenizer(json, {});
  let tokens = 0;
  let mismatches = 0;
  let firstMismatch: string | null = null;
  for (const s of sentences) {
    const a = ours.encode(s, { maxLength: Infinity }).ids;
    const b = peer.encode(s).ids;
    tokens += a.length;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
      mismatches++;
      firstMismatch ??= s;
    }
  }
  const passOurs = () => {
    const t0 = performance.now();
    for (const s of sentences) ours.encode(s, { maxLength: Infinity });
    return performance.now() - t0;
  };
  const passPeer = () => {
    const t0 = performance.now();
    for (const s of sentences) peer.encode(s);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) {
    passOurs();
    passPeer();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      a.push(passOurs());
      b.push(passPeer());
    } else {
      b.push(passPeer());
      a.push(passOurs());
    }
  }
  return {
    sentences: sentences.length,
    tokens,
    identical: mismatches === 0,
    mismatches,
    firstMismatch,
    ours: stats(a),
    peer: stats(b),
    peerName: "@huggingface/tokenizers 0.2",
  };
}

/**
 * The q8 side of the bench: our model quantized by `distilbert-ts quantize` (into a temporary folder, once per run),
 * and, for the peers, the ONNX twin quantized as onnxruntime's quantize_dynamic does (bench/quantize-onnx.py writes
 * model.q8.onnx beside model.onnx when it is missing: onnxruntime's Python package is not installable here).
 */
function prepareQ8(model: BenchModel, withPeers: boolean, notes: string[]): { dir: string; weightsBytes: number; onnx: string | null } {
  const dir = mkdtempSync(join(tmpdir(), "distilbert-ts-bench-q8-"));
  rmSync(dir, { recursive: true });
  const cli = join(repoRoot, "dist", "node", "cli.js");
  log(`q8: distilbert-ts quantize --model ${model.dir} --out ${dir}`);
  const q = spawnSync(process.execPath, [cli, "quantize", "--model", model.dir, "--out", dir], { stdio: ["ignore", "ignore", "inherit"] });
  if (q.status !== 0) throw new Error(`distilbert-ts quantize exited with ${q.status}`);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  let onnx: string | null = null;
  if (withPeers && model.onnx !== null) {
    const path = model.onnx.replace(/\.onnx$/, ".q8.onnx");
    if (!existsSync(path)) {
      log(`q8: bench/quantize-onnx.py ${model.onnx} ${path}`);
      const py = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
      const r = spawnSync(py, [join(repoRoot, "bench", "quantize-onnx.py"), model.onnx, path], { stdio: ["ignore", "inherit", "inherit"] });
      if (r.status !== 0) notes.push("the peers' q8 ONNX could not be written (bench/quantize-onnx.py needs python3 with onnx and numpy): ort q8 rows are missing");
    }
    if (existsSync(path)) onnx = path;
  }
  return { dir, weightsBytes: statSync(join(dir, "model.safetensors")).size, onnx };
}

async function main(): Promise<void> {
  let opts: BenchOptions | "help";
  try {
    opts = parseOptions(process.argv.slice(2), cpus().length);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`error: ${(e as Error).message}\n\n${HELP}`);
      process.exit(2);
    }
    throw e;
  }
  if (opts === "help") {
    process.stdout.write(HELP);
    return;
  }
  const machine = machineInfo(opts.peakGflops);
  const notes: string[] = [];
  const model: BenchModel = prepareModel(opts);
  const cases = readExpected(model.expected);
  const installed = peersInstalled();
  const peers: ("web" | "node")[] = [];
  if (opts.peers === "auto") {
    if (!installed.web && !installed.node) notes.push("peers not installed: cd bench/peers && npm ci --ignore-scripts (see docs/performance.md)");
    else if (model.onnx === null) notes.push("peers installed but this model has no ONNX twin (model.onnx): run ../shared/tools/reference/generate.sh with ONLY_BASE=1 (see docs/performance.md)");
    else {
      if (installed.web) peers.push("web");
      if (installed.node) peers.push("node");
    }
  }
  if (opts.backends.includes("js") && !opts.threads.includes(1)) notes.push("the js backend is single-threaded: it runs only with --threads 1");
  const q8 = opts.backends.includes("q8") ? prepareQ8(model, peers.length > 0, notes) : null;

  const workloads: WorkloadSpec[] = [];
  if (!opts.skip.has("latency")) for (const s of opts.shapes) workloads.push(shapeWorkload(s.batch, s.seq, s.label, cases));
  const padded = cases.find((c) => c.name === "b4_T32_padded");
  if (padded !== undefined) {
    // Agreement only: a padded batch, which our engine runs unpadded and the peers with an attention mask.
    const sequences = padded.input_ids.map((row, b) => row.filter((_, t) => padded.attention_mask[b][t] === 1));
    workloads.push({ label: "4x32 padded (check)", kind: "check", sequences, peerBatching: "one", expected: padded.logits, engines: "all" });
  }
  if (!opts.skip.has("packing")) {
    const lengths = Array.from({ length: 8 }, (_, i) => Math.round(8 + (120 * i) / 7));
    workloads.push({ label: "8 mixed 8..128", kind: "packed", sequences: lengths.map((L, i) => randomSequence(L, 77 + i)), peerBatching: "one", expected: null, engines: "all" });
    workloads.push({ label: "8x128", kind: "full", sequences: lengths.map((_, i) => randomSequence(128, 77 + i)), peerBatching: "one", expected: null, engines: "ours" });
  }
  let sst2Sentences: string[] | null = null;
  if (!opts.skip.has("sst2") || !opts.skip.has("tokenizer")) {
    sst2Sentences = readSst2(opts.sst2);
    if (sst2Sentences === null) notes.push("../shared/data/sst2-dev.tsv not found: SST-2 throughput and the tokenizer comparison are skipped");
  }
  if (!opts.skip.has("sst2") && sst2Sentences !== null) {
    const tok = WordPieceTokenizer.fromVocab(readFileSync(join(model.dir, "vocab.txt"), "utf8"));
    const sequences = sst2Sentences.map((s) => tok.encode(s).ids);
    // The plain-JS backend takes minutes per pass over the whole set: it joins when asked, or on a short subset.
    const jsToo = opts.sst2Js || sequences.length <= 128;
    const orders: ("sorted" | "file")[] = opts.peerOrder === "both" ? ["sorted", "file"] : [opts.peerOrder];
    for (const order of orders) {
      const label = `SST-2 dev (${sequences.length} sent.${orders.length > 1 ? `, peers ${order}` : ""})`;
      if (!jsToo && opts.backends.includes("js")) notes.push(`js backend skipped on ${label} (about ten minutes per pass; --sst2-js runs it)`);
      workloads.push({
        label,
        kind: "sst2",
        sequences,
        peerBatching: opts.peerBatch,
        peerSorted: order === "sorted",
        expected: null,
        engines: "all",
        skip: jsToo ? [] : ["ours-js"],
      });
      // What padding costs the peers here: padded rows / real rows.
      const lengths = sequences.map((s) => s.length);
      if (order === "sorted") lengths.sort((x, y) => x - y);
      let padded = 0;
      for (let i = 0; i < lengths.length; i += opts.peerBatch) {
        const batch = lengths.slice(i, i + opts.peerBatch);
        padded += Math.max(...batch) * batch.length;
      }
      const real = lengths.reduce((x, y) => x + y, 0);
      if (peers.length > 0) {
        notes.push(`peers on ${label}: ${order === "sorted" ? "length-sorted" : "file-order"} batches of ${opts.peerBatch}, padded rows = ${(padded / real).toFixed(2)} × real tokens (ours packs: 1.00)`);
      }
    }
  }

  const result: BenchResult = {
    version: 1,
    date: new Date().toISOString(),
    machine,
    model: { dir: model.dir, kind: model.kind, weightsPath: model.weightsPath, weightsBytes: model.weightsBytes, onnx: peers.length > 0 ? model.onnx : null },
    q8: q8 === null ? null : { dir: q8.dir, weightsBytes: q8.weightsBytes, onnx: q8.onnx, onnxBytes: q8.onnx === null ? null : statSync(q8.onnx).size, kernels: null },
    options: { ...opts, skip: [...opts.skip] },
    notes,
    load: [],
    groups: [],
    tokenizer: null,
    kernels: null,
    targets: [],
  };

  const loadCombos: [string, number][] = [];
  for (const b of opts.backends) for (const t of opts.threads) if (b !== "js" || t === 1) loadCombos.push([b, t]);
  if (!opts.skip.has("load")) {
    for (const [backend, threads] of loadCombos) {
      log(`load: ${backend} ${threads}t (fresh process)`);
      const spec: LoadSpec = { modelDir: backend === "q8" && q8 !== null ? q8.dir : model.dir, backend, threads, probe: randomSequence(128, 5) };
      const res = (await runChild("load-child.js", spec, `load-${backend}-${threads}`)) as LoadResult;
      if (res.error) log(`  ${res.error}`);
      else log(`  ready in ${res.readyMs} ms, peak RSS ${res.rssAfterLoadMb} MB (after a 1x128 run ${res.rssAfterRunMb} MB)`);
      result.load.push(res);
    }
  }

  const groupWorkloads = workloads;
  if (groupWorkloads.length > 0) {
    for (const threads of opts.threads) {
      const ours = opts.backends.filter((b) => b !== "js" || threads === 1);
      if (ours.length === 0 && peers.length === 0) continue;
      const spec: GroupSpec = {
        threads,
        modelDir: model.dir,
        onnx: peers.length > 0 ? model.onnx : null,
        onnxQ8: q8?.onnx ?? null,
        q8ModelDir: q8?.dir ?? null,
        ours,
        oneThreadTwin: threads > 1 && ours.includes("wasm"),
        fullLastLayer: opts.fullLastLayer,
        peers,
        workloads: groupWorkloads,
        budgetMs: opts.budget * 1000,
        sst2BudgetMs: opts.budget * 3000,
        minReps: opts.minReps,
        maxReps: opts.maxReps,
      };
      log(`group: ${threads} thread(s): ${[...ours.map((b) => `ours-${b}`), ...peers.map((p) => `ort-${p}`)].join(", ")}`);
      result.groups.push((await runChild("group.js", spec, `group-${threads}`)) as GroupResult);
    }
  }

  if (!opts.skip.has("tokenizer") && sst2Sentences !== null) {
    log("tokenizer: ours vs @huggingface/tokenizers");
    result.tokenizer = tokenizerBench(readSst2(null) ?? sst2Sentences, opts.quick ? 7 : 21);
  }

  if (!opts.skip.has("kernels")) {
    const script = join(repoRoot, "bench", "wasm-gemm.mjs");
    if (!existsSync(script) || !existsSync(join(repoRoot, "dist", "node", "index.js"))) {
      notes.push("kernel figures skipped: bench/wasm-gemm.mjs runs on dist/ (npm run build)");
    } else {
      const names = opts.backends.flatMap((b) => (b === "js" ? ["js"] : ["wasm", "wasm-relaxed", ...opts.threads.filter((t) => t > 1).map(() => "wasm-2t")]));
      const threads = Math.max(...opts.threads);
      log("kernels: bench/wasm-gemm.mjs --T 128");
      try {
        result.kernels = await captureChild(script, ["--T", "128", "--backends", [...new Set(names)].join(","), "--threads", String(threads)]);
      } catch (e) {
        notes.push(`kernel figures failed: ${(e as Error).message}`);
      }
    }
  }

  if (q8 !== null && !opts.skip.has("kernels") && result.q8 !== null) {
    log("kernels: bench/q8-gemm.mjs --T 128");
    try {
      result.q8.kernels = await captureChild(join(repoRoot, "bench", "q8-gemm.mjs"), ["--T", "128"]);
    } catch (e) {
      notes.push(`int8 GEMM figures failed: ${(e as Error).message}`);
    }
  }

  result.targets = judgeTargets(result);
  const text = renderReport(result);
  process.stdout.write(`\n${text}\n`);
  const jsonPath = opts.json !== null ? resolve(opts.json) : join(repoRoot, "bench", "results", `bench-${result.date.replace(/[:.]/g, "-")}.json`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ ...result, report: text.split("\n") }, null, 1)}\n`);
  process.stdout.write(`\nJSON: ${jsonPath}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
