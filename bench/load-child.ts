/**
 * Loading, measured in a fresh process so that its peak RSS is the loader's own: create the backend, load the model
 * folder with loadModelFromDir, then run one sequence (the peak with a first inference).
 *
 * usage: node dist-bench/bench/load-child.js SPEC.json OUT.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { loadModelFromDir } from "../src/node/model-dir.js";
import { peakRssMb, round } from "./common.js";
import { createOurBackend } from "./engines.js";
import type { LoadResult, LoadSpec } from "./spec.js";

async function main(): Promise<void> {
  const [specPath, outPath] = process.argv.slice(2);
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as LoadSpec;
  const res: LoadResult = {
    backend: spec.backend,
    threads: spec.threads,
    detail: "",
    baseRssMb: round(peakRssMb(), 1),
    backendMs: NaN,
    loadMs: NaN,
    readyMs: NaN,
    rssAfterLoadMb: NaN,
    firstRunMs: NaN,
    rssAfterRunMb: NaN,
  };
  try {
    const t0 = performance.now();
    const backend = await createOurBackend(spec.backend === "q8" ? "wasm" : spec.backend, spec.threads);
    const t1 = performance.now();
    const model = await loadModelFromDir(spec.modelDir, { backend, dtype: spec.backend === "q8" ? "q8" : "auto" });
    const t2 = performance.now();
    res.detail = backend.name;
    res.backendMs = round(t1 - t0, 1);
    res.loadMs = round(t2 - t1, 1);
    res.readyMs = round(t2 - t0, 1);
    res.rssAfterLoadMb = round(peakRssMb(), 1);
    const t3 = performance.now();
    model.logitsOf([Int32Array.from(spec.probe)]);
    res.firstRunMs = round(performance.now() - t3, 1);
    res.rssAfterRunMb = round(peakRssMb(), 1);
    // What a Worker's 128 MB counts: the JS heap, ArrayBuffers, and the wasm memory (which arrayBuffers leaves out).
    const mem = process.memoryUsage();
    const wasmBytes = (backend as { memoryBytes?: number }).memoryBytes ?? 0;
    res.memoryMb = { heapUsed: round(mem.heapUsed / 1e6, 1), arrayBuffers: round(mem.arrayBuffers / 1e6, 1), wasm: round(wasmBytes / 1e6, 1) };
    (backend as { dispose?(): void }).dispose?.();
  } catch (err) {
    res.error = (err as Error).message;
  }
  writeFileSync(outPath, JSON.stringify(res));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench load child failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
