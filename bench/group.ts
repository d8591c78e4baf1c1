/**
 * One bench group, in its own process: every engine at one thread count (onnxruntime-web fixes its thread count per
 * process). Engines take turns: each repetition runs every engine once, starting with a different one each time, so
 * that whatever else the machine is doing hits all of them alike; the report's ratios are figures of this process.
 *
 * usage: node dist-bench/bench/group.js SPEC.json OUT.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { forwardFlops, log, peakRssMb, round, stats, type ModelShape } from "./common.js";
import { engineLabel, OrtEngine, OursEngine, type Engine, type Run } from "./engines.js";
import { fmaPeakProbe, type FmaPeakProbe } from "./fma-peak.js";
import { relaxedSimdSupported, wasmSimdSupported } from "../src/tensor/wasm/backend.js";
import { ONE_THREAD_TWIN, type GroupResult, type GroupSpec, type WorkloadResult, type WorkloadSpec } from "./spec.js";

async function main(): Promise<void> {
  const [specPath, outPath] = process.argv.slice(2);
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as GroupSpec;
  const result: GroupResult = { threads: spec.threads, engines: [], failed: [], workloads: [], peakRssMb: 0 };
  const engines: Engine[] = [];
  let shape: ModelShape | null = null;

  for (const b of spec.ours) {
    try {
      const e = await OursEngine.create(b === "q8" && spec.q8ModelDir !== null ? spec.q8ModelDir : spec.modelDir, b, spec.threads, spec.fullLastLayer);
      const c = e.classifier.config;
      shape = { dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, labels: c.labels.length };
      engines.push(e);
    } catch (err) {
      result.failed.push({ engine: `ours-${b}`, error: (err as Error).message });
      log(`  ours-${b} (${spec.threads}t): ${(err as Error).message}`);
    }
  }
  if (spec.oneThreadTwin) {
    try {
      engines.push(await OursEngine.create(spec.modelDir, "wasm", 1, spec.fullLastLayer, ONE_THREAD_TWIN));
    } catch (err) {
      result.failed.push({ engine: ONE_THREAD_TWIN, error: (err as Error).message });
      log(`  ${ONE_THREAD_TWIN}: ${(err as Error).message}`);
    }
  }
  if (spec.onnx !== null) {
    for (const p of spec.peers) {
      try {
        engines.push(await OrtEngine.create(p, spec.onnx, spec.threads));
      } catch (err) {
        result.failed.push({ engine: `ort-${p}`, error: (err as Error).message });
        log(`  ort-${p} (${spec.threads}t): ${(err as Error).message}`);
      }
    }
  }
  if (spec.onnxQ8 !== null) {
    for (const p of spec.peers) {
      try {
        engines.push(await OrtEngine.create(p, spec.onnxQ8, spec.threads, true));
      } catch (err) {
        result.failed.push({ engine: `ort-${p}-q8`, error: (err as Error).message });
        log(`  ort-${p}-q8 (${spec.threads}t): ${(err as Error).message}`);
      }
    }
  }
  result.engines = engines.map((e) => ({ id: e.id, threads: e.threads, detail: e.detail, loadMs: round(e.loadMs, 1) }));
  if (shape === null || engines.length === 0) {
    writeFileSync(outPath, JSON.stringify(result));
    return;
  }
  log(`group ${spec.threads}t: ${engines.map((e) => `${e.id} [${e.detail}]`).join(", ")}`);
  const probe = wasmSimdSupported() ? fmaPeakProbe(relaxedSimdSupported()) : null;
  if (probe) result.fmaPeak = { instruction: probe.instruction, accumulators: probe.accumulators };

  for (const w of spec.workloads) {
    // The one-thread twin is there for the latency shapes only.
    const who = engines.filter((e) => (w.engines === "all" || e.ours) && !(w.skip ?? []).includes(e.id) && (e.id !== ONE_THREAD_TWIN || w.kind === "shape"));
    if (who.length === 0) continue;
    // The two shapes the issue's ratios are judged on get twice the rounds' time: with the plain-JS engine's
    // seconds-long calls in the same rounds, 20 s gives 1x128 only about five samples per engine.
    const budget = w.kind === "sst2" ? spec.sst2BudgetMs : w.label === "1x128" || w.label === "8x32" ? 2 * spec.budgetMs : spec.budgetMs;
    const minReps = w.kind === "check" ? 0 : w.kind === "sst2" ? 1 : spec.minReps;
    result.workloads.push(await measure(w, who, shape, budget, minReps, w.kind === "check" ? 0 : spec.maxReps, spec.fullLastLayer, w.kind === "shape" ? probe : null));
  }
  result.peakRssMb = round(peakRssMb(), 1);
  for (const e of engines) await e.dispose();
  writeFileSync(outPath, JSON.stringify(result));
}

async function timed(run: Run): Promise<{ ms: number; cpuMs: number; out: Float32Array[] }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Between calls, outside the timings: wait until this process is idle, so that no engine pays for the previous one's
 * threads. onnxruntime's thread pools keep a thread spinning after a call (measured here with 2 threads: about 55 ms
 * for onnxruntime-node, 40 ms for onnxruntime-web; ours polls 0.2 ms). On a 2-core machine that thread holds the core
 * the next engine's second thread needs: with a fixed 25 ms pause, ours-wasm on 2 threads took 34 ms at 1x8 after
 * onnxruntime-node against 20 ms after nothing. So: 25 ms, then 10 ms slices until one shows under 20% of a core
 * busy (at most 0.4 s more).
 */
async function pause(): Promise<void> {
  await sleep(25);
  for (let i = 0; i < 40; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(10);
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1000 < 0.2 * (performance.now() - t0)) return;
  }
}

function maxAbs(a: readonly Float32Array[], b: readonly ArrayLike<number>[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  return m;
}

function fidelity(got: readonly Float32Array[], ref: readonly Float32Array[]): { meanAbs: number; maxAbs: number; agree: number; n: number } {
  let sum = 0;
  let count = 0;
  let max = 0;
  let agree = 0;
  const argmax = (v: Float32Array) => v.reduce((b, x, k) => (x > v[b] ? k : b), 0);
  for (let i = 0; i < got.length; i++) {
    for (let j = 0; j < got[i].length; j++) {
      const d = Math.abs(got[i][j] - ref[i][j]);
      sum += d;
      count++;
      max = Math.max(max, d);
    }
    if (argmax(got[i]) === argmax(ref[i])) agree++;
  }
  return { meanAbs: count > 0 ? sum / count : 0, maxAbs: max, agree, n: got.length };
}

/** Sequences per SST-2 slice, about (rounded to the peers' batches). */
const SST2_SLICE = 128;

/**
 * The calls a round makes of each engine, as lists of indices into w.sequences: the whole workload, or for SST-2 (one
 * pass is 30 s to 3 min per engine) slices of about SST2_SLICE sentences that the engines take turns on, so that the
 * host's drift over those minutes hits every engine alike instead of whichever ran in a slow one. The slices follow
 * the peers' own order (length-sorted, or file order) and are cut at their batch boundaries, so a peer makes exactly
 * the batches, and pays exactly the padding, of one whole pass; ours packs each slice (no padding either way).
 */
function slicesOf(w: WorkloadSpec): number[][] {
  const n = w.sequences.length;
  const order = Array.from({ length: n }, (_, i) => i);
  if (w.kind !== "sst2") return [order];
  // The peers' sort (engines.ts) is this one, stable: a slice of this order, sorted again, stays as it is.
  if (w.peerBatching !== "one" && w.peerSorted !== false) order.sort((a, b) => w.sequences[a].length - w.sequences[b].length);
  const batch = w.peerBatching === "one" ? 1 : w.peerBatching;
  const per = batch * Math.max(1, Math.round(SST2_SLICE / batch));
  const slices: number[][] = [];
  for (let i = 0; i < n; i += per) slices.push(order.slice(i, i + per));
  return slices;
}

/** Per-slice outputs back in the workload's sequence order. */
function inWorkloadOrder(slices: number[][], parts: Float32Array[][]): Float32Array[] {
  const out: Float32Array[] = [];
  slices.forEach((idx, s) => idx.forEach((orig, j) => (out[orig] = parts[s][j])));
  return out;
}

/**
 * Warm every engine up (its first call also gives the logits that are checked), then run rounds of one call per
 * engine, rotating who goes first, until the budget is spent (at least minReps, at most maxReps rounds). With a
 * probe, each round ends with the 128-bit FMA ceiling (best of the workload's rounds).
 */
async function measure(
  w: WorkloadSpec, engines: Engine[], shape: ModelShape, budgetMs: number, minReps: number, maxReps: number, fullLastLayer: boolean,
  probe: FmaPeakProbe | null,
): Promise<WorkloadResult> {
  const lengths = w.sequences.map((s) => s.length);
  const res: WorkloadResult = {
    label: w.label,
    kind: w.kind,
    sequences: w.sequences.length,
    tokens: lengths.reduce((a, b) => a + b, 0),
    flops: forwardFlops(shape, lengths),
    oursFlops: forwardFlops(shape, lengths, !fullLastLayer),
    times: {},
    cpuPerWall: {},
    expectedErr: {},
    agreement: {},
  };
  const slices = slicesOf(w);
  const runs = engines.map((e) => slices.map((idx) => e.prepare(slices.length === 1 ? w : { ...w, sequences: idx.map((i) => w.sequences[i]) })));
  const outs: (Float32Array[] | null)[] = engines.map(() => null);
  let slowest = 0;
  for (let i = 0; i < engines.length; i++) {
    if (w.kind === "sst2") {
      // Warm up on a few sentences: one plain-JS pass over SST-2 takes about ten minutes.
      await engines[i].prepare({ ...w, sequences: w.sequences.slice(0, 32) })();
    } else {
      const first = await timed(runs[i][0]);
      outs[i] = first.out;
      slowest = Math.max(slowest, first.ms);
      // A second warm call (JIT tiers, caches, thread pools) unless the first was already long.
      if (maxReps > 0 && first.ms < 2000) await runs[i][0]();
    }
    await pause();
  }
  const samples: number[][] = engines.map(() => []);
  const ceiling: number[] = [];
  const cpu: number[] = engines.map(() => 0);
  const start = performance.now();
  for (let r = 0; r < maxReps; r++) {
    // One sample per engine and round: the sum of its calls over the slices, which the engines take in turns.
    const total = engines.map(() => 0);
    const parts: Float32Array[][][] = engines.map(() => []);
    for (let s = 0; s < slices.length; s++) {
      for (let k = 0; k < engines.length; k++) {
        const i = (k + r + s) % engines.length;
        const { ms, cpuMs, out } = await timed(runs[i][s]);
        total[i] += ms;
        cpu[i] += cpuMs;
        parts[i][s] = out;
        await pause();
      }
    }
    engines.forEach((_, i) => {
      samples[i].push(total[i]);
      outs[i] ??= inWorkloadOrder(slices, parts[i]);
    });
    // The ceiling, in the same minutes as the engines' calls: 15 ms a round, outside every timing.
    if (probe) {
      ceiling.push(probe.run(), probe.run(), probe.run());
      await pause();
    }
    // Calls of many seconds (the plain-JS backend on big batches) settle for two rounds.
    const enough = slowest > 8000 ? Math.min(minReps, 2) : minReps;
    if (r + 1 >= enough && performance.now() - start > budgetMs) break;
  }
  if (ceiling.length > 0) {
    res.fmaPeakGflops = round(Math.max(...ceiling), 1);
    res.fmaPeakMedianGflops = round(stats(ceiling).median, 1);
  }
  engines.forEach((e, i) => {
    if (samples[i].length > 0) {
      res.times[e.id] = stats(samples[i]);
      res.cpuPerWall[e.id] = round(cpu[i] / samples[i].reduce((a, b) => a + b, 0), 3);
    }
    if (w.expected !== null && outs[i] !== null) res.expectedErr[e.id] = maxAbs(outs[i]!, w.expected);
  });
  const isQ8 = (e: Engine) => e.id.endsWith("-q8");
  engines.forEach((p, i) => {
    if (p.ours) return;
    engines.forEach((o, j) => {
      if (o.ours && isQ8(o) === isQ8(p) && outs[i] !== null && outs[j] !== null) res.agreement[`${p.id} vs ${o.id}`] = maxAbs(outs[i]!, outs[j]!);
    });
  });
  // Fidelity against our f32 logits (which match the float64 reference to ~1e-5), for every other engine.
  const f32 = engines.findIndex((e) => e.id === "ours-wasm" || e.id === ONE_THREAD_TWIN);
  if (f32 >= 0 && outs[f32] !== null) {
    res.fidelity = {};
    engines.forEach((e, i) => {
      if (i !== f32 && outs[i] !== null) res.fidelity![e.id] = fidelity(outs[i]!, outs[f32]!);
    });
  }
  const summary = engines
    .map((e) => `${e.id} ${res.times[e.id] ? `${res.times[e.id].median.toFixed(1)} ms (n=${res.times[e.id].n})` : "checked"}`)
    .join(", ");
  log(`  ${engineLabel(w.label, engines[0].threads)}: ${summary}`);
  return res;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench group failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
