/**
 * What every part of the bench shares: where things are, small statistics, the machine's description and FLOP
 * counts. Node-only (the bench is a Node program; the engine it measures is not).
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest folder above this file whose package.json is distilbert-ts's. */
export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "distilbert-ts") return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) throw new Error(`bench: no distilbert-ts package.json above ${start}`);
  }
}

/** ../shared next to the repository (vocab, SST-2 dev, reference tools), or null when absent. */
export function sharedDir(): string | null {
  const dir = process.env.DISTILBERT_SHARED ?? resolve(repoRoot, "../shared");
  return existsSync(join(dir, "data")) ? dir : null;
}

export const peersDir: string = join(repoRoot, "bench", "peers");

/** Median, p95 (nearest rank) and the rest of a sample of times in ms. */
export interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n: 0, median: NaN, p95: NaN, min: NaN, max: NaN, samples: [] };
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  // Nearest rank: with fewer than 20 samples the p95 is the slowest run.
  const p95 = s[Math.min(n - 1, Math.ceil(0.95 * n) - 1)];
  return { n, median, p95, min: s[0], max: s[n - 1], samples: samples.map((x) => round(x, 3)) };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface ModelShape {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  labels: number;
}

/**
 * Floating-point operations of one forward pass over sequences of the given lengths: every multiply-add of the
 * linear layers, of Q·Kᵀ and P·V and of the classification head, times 2. LayerNorm, softmax and GELU are left out
 * (under 1%), as in the peers' baseline (PERF_BASELINE.md), so the GFLOP/s figures compare directly.
 */
export function forwardFlops(shape: ModelShape, lengths: readonly number[], firstRowsOnly = false): number {
  const { dim: d, hiddenDim: h, nLayers, nHeads, labels } = shape;
  const dh = d / nHeads;
  let macs = 0;
  for (const L of lengths) {
    const perLayer = L * (4 * d * d + 2 * d * h) + 2 * nHeads * L * L * dh;
    // With firstRowsOnly the last layer computes keys and values for every token, everything else for row 0 only.
    const last = firstRowsOnly ? L * 2 * d * d + (2 * d * d + 2 * d * h) + 2 * nHeads * L * dh : perLayer;
    macs += (nLayers - 1) * perLayer + last + d * d + d * labels;
  }
  return 2 * macs;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  mhz: number;
  simd: string;
  /** FP32 FLOP per cycle per core at the widest FMA the CPU has (an estimate from its feature flags). */
  flopsPerCycle: number;
  /** Whole-machine FP32 peak estimate, GFLOP/s; `--peak-gflops` overrides it. */
  peakGflops: number;
  peakSource: string;
  node: string;
  platform: string;
}

/**
 * An estimate of the machine's FP32 peak from /proc/cpuinfo: cores × clock × FLOP per cycle, assuming two FMA pipes
 * of the widest vector width the flags advertise (true of Zen 2-4 and most Intel server cores; the figure is a
 * yardstick, not a promise). The clock is the one the OS reports, usually the base clock.
 */
export function machineInfo(peakOverride?: number): MachineInfo {
  const list = cpus();
  const cores = list.length;
  let flags = "";
  let mhz = list[0]?.speed ?? 0;
  try {
    const text = readFileSync("/proc/cpuinfo", "utf8");
    flags = /^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? "";
    const m = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(text);
    if (m) mhz = Number(m[1]);
  } catch {
    // not Linux: fall back to os.cpus()
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  let simd: string;
  let flopsPerCycle: number;
  if (has("avx512f")) [simd, flopsPerCycle] = ["AVX-512+FMA", 64];
  else if (has("avx2") && has("fma")) [simd, flopsPerCycle] = ["AVX2+FMA", 32];
  else if (has("avx")) [simd, flopsPerCycle] = ["AVX", 16];
  else if (flags !== "") [simd, flopsPerCycle] = ["SSE", 8];
  else [simd, flopsPerCycle] = ["unknown (assumed 2×128-bit FMA)", 16];
  const estimate = (cores * mhz * flopsPerCycle) / 1000;
  const override = peakOverride !== undefined && peakOverride > 0;
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores,
    mhz: Math.round(mhz),
    simd,
    flopsPerCycle,
    peakGflops: round(override ? peakOverride : estimate, 1),
    peakSource: override ? "--peak-gflops" : `${cores} cores × ${(mhz / 1000).toFixed(2)} GHz × ${flopsPerCycle} FLOP/cycle (${simd})`,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * Peak resident set of this process so far, in MB of 10⁶ bytes like the file sizes. On Linux it is VmHWM from
 * /proc/self/status: getrusage's ru_maxrss (process.resourceUsage().maxRSS) survives exec, so a child spawned by a
 * big parent would start with the parent's peak; VmHWM belongs to the child's own address space.
 */
export function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return (Number(m[1]) * 1024) / 1e6;
  } catch {
    // not Linux
  }
  return (process.resourceUsage().maxRSS * 1024) / 1e6;
}

export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}
