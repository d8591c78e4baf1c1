#!/usr/bin/env node
/**
 * The WebAssembly GEMM alone under other register tiles and row blocks, and this core's 128-bit FMA peak: how the
 * defaults in src/tensor/wasm/kernels.ts (defaultTile, MC) were chosen. Runs on the compiled dist/ (npm run build)
 * and dist-bench/ (npx tsc -p tsconfig.bench.json).
 *
 *   node bench/gemm-tiles.mjs [--tiles 4x8,5x8,6x8,3x12,6x8x192] [--shapes 128x768x768,...] [--plain] [--min-ms 200]
 *
 * A tile is MRxNR, optionally xMC (rows per row block). Shapes are MxKxN: C [M, N] = A [M, K] · B [K, N], as the
 * Linear layers at T = M. Each figure is the best of repeated calls over 3 rounds, the variants alternating, so a
 * noisy neighbour slows all of them alike. The peak line runs a loop of nothing but independent relaxed_madd (or
 * mul + add with --plain) with 4 to 12 accumulators: what one core can issue, and how many accumulators it takes.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const dist = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "dist");
if (!existsSync(join(dist, "tensor/wasm/kernels.js"))) {
  console.error("bench/gemm-tiles.mjs: dist/ is missing; run `npm run build` first");
  process.exit(2);
}
const { buildKernelModule } = await import(join(dist, "tensor/wasm/kernels.js"));
const probeJs = join(dist, "..", "dist-bench/bench/fma-peak.js");
if (!existsSync(probeJs)) {
  console.error("bench/gemm-tiles.mjs: dist-bench/ is missing; run `npx tsc -p tsconfig.bench.json` first");
  process.exit(2);
}
const { fmaPeakProbe } = await import(probeJs);
const { relaxedSimdSupported } = await import(join(dist, "tensor/wasm/backend.js"));

const { values } = parseArgs({
  options: {
    tiles: { type: "string", default: "4x8,5x8,6x8,3x12,2x16,6x8x192" },
    shapes: { type: "string", default: "128x768x768,128x768x3072,128x3072x768,512x768x768,2048x768x768" },
    plain: { type: "boolean", default: false },
    "min-ms": { type: "string", default: "200" },
  },
});
const relaxed = !values.plain;
if (relaxed && !relaxedSimdSupported()) {
  console.error("bench/gemm-tiles.mjs: this engine has no relaxed SIMD (Node 22+); pass --plain");
  process.exit(2);
}
const minMs = Number(values["min-ms"]);
const shapes = values.shapes.split(",").map((s) => s.split("x").map(Number));
const tiles = values.tiles.split(",").map((t) => {
  const [mr, nr, mc] = t.split("x").map(Number);
  return { mr, nr, kc: 768, ...(mc ? { mc } : {}) };
});

console.log(`node ${process.version}; ${relaxed ? "relaxed SIMD (relaxed_madd)" : "plain SIMD (mul + add)"}`);

// ---- peak: independent multiply-adds on registers, no memory (bench/fma-peak.ts) ----
const peaks = [];
for (const acc of [4, 6, 8, 10, 12]) {
  const probe = fmaPeakProbe(relaxed, acc);
  peaks.push(`${acc} acc ${Math.max(probe.run(40), probe.run(40), probe.run(40), probe.run(40), probe.run(40)).toFixed(1)}`);
}
console.log(`peak GFLOP/s (accumulators): ${peaks.join(", ")}`);

// ---- the GEMM kernel under each tile ----
const variants = tiles.map((tile) => {
  const memory = new WebAssembly.Memory({ initial: 2000 });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(buildKernelModule({ relaxed, shared: false, maximumPages: 65536, tile })), { env: { memory } }).exports;
  return { tile, ex, memory, name: `${tile.mr}x${tile.nr}${tile.mc ? ` mc ${tile.mc}` : ""}` };
});
const best = new Map();
for (let round = 0; round < 3; round++) {
  for (const v of variants) {
    for (const [M, K, N] of shapes) {
      const f = new Float32Array(v.memory.buffer);
      const [src, ap, bp, c] = [1 << 20, 32 << 20, 48 << 20, 80 << 20];
      for (let i = 0; i < Math.max(M, N) * K; i++) f[(src >> 2) + i] = Math.sin(i) * 0.1;
      v.ex.packA(src, ap, M, K, K);
      v.ex.packBT(src, bp, N, K, K);
      const P = Math.ceil(N / v.tile.nr);
      let ms = Infinity;
      const t0 = performance.now();
      while (performance.now() - t0 < minMs) {
        const t = performance.now();
        v.ex.gemm(ap, bp, c, P * v.tile.nr, M, K, 0, P, 0, 1, 0);
        ms = Math.min(ms, performance.now() - t);
      }
      const key = `${v.name}|${M}x${K}x${N}`;
      best.set(key, Math.max(best.get(key) ?? 0, (2 * M * K * N) / ms / 1e6));
    }
  }
}
const header = ["tile", ...shapes.map((s) => s.join("x"))];
const rows = variants.map((v) => [v.name, ...shapes.map((s) => best.get(`${v.name}|${s.join("x")}`).toFixed(1))]);
const w = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i].length)));
console.log("GEMM alone, GFLOP/s (best of runs; shapes M x K x N)");
for (const r of [header, ...rows]) console.log(r.map((x, i) => x.padEnd(w[i])).join("  "));
