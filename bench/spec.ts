/** What the orchestrator (run.ts) hands its child processes, and what they hand back. */
import type { Stats } from "./common.js";

export interface WorkloadSpec {
  label: string;
  /** "shape" (latency), "packed"/"full" (the packing row), "sst2" (throughput), "check" (agreement only). */
  kind: "shape" | "packed" | "full" | "sst2" | "check";
  sequences: number[][];
  peerBatching: "one" | number;
  peerSorted?: boolean;
  /** Float64 reference logits per sequence (expected.json), when the workload is one of its cases. */
  expected: number[][] | null;
  /** Which engines run it: all, or ours only. */
  engines: "all" | "ours";
  /** Engine ids left out of this workload (the plain-JS backend on full SST-2 unless --sst2-js). */
  skip?: string[];
}

export interface GroupSpec {
  threads: number;
  modelDir: string;
  onnx: string | null;
  /** The q8 twin of `onnx` (quantize_dynamic's pattern, bench/quantize-onnx.py): ort-web-q8 and ort-node-q8 run it. */
  onnxQ8: string | null;
  /** The q8 folder `distilbert-ts quantize` wrote from modelDir: what ours-q8 loads. */
  q8ModelDir: string | null;
  ours: string[];
  /** Our engines compute every row of the last layer (--full-last-layer). */
  fullLastLayer: boolean;
  /**
   * In a group of more threads than one: also load ours-wasm on one thread (engine id ONE_THREAD_TWIN), which takes
   * its turns on the latency shapes, so that "two threads vs one" is a ratio of one process like every other.
   */
  oneThreadTwin: boolean;
  peers: ("web" | "node")[];
  workloads: WorkloadSpec[];
  budgetMs: number;
  /** Budget of the SST-2 workload (one pass can take a minute on the plain-JS backend). */
  sst2BudgetMs: number;
  minReps: number;
  maxReps: number;
}

/** The engine id of ours-wasm on one thread inside a group of more threads (GroupSpec.oneThreadTwin). */
export const ONE_THREAD_TWIN = "ours-wasm-1t";

export interface EngineInfo {
  id: string;
  threads: number;
  detail: string;
  loadMs: number;
}

export interface WorkloadResult {
  label: string;
  kind: WorkloadSpec["kind"];
  sequences: number;
  tokens: number;
  /** FLOPs of the whole model's graph over the real tokens (what the peers execute, padding aside). */
  flops: number;
  /** FLOPs our engine executes: the last layer for the [CLS] rows only unless --full-last-layer. */
  oursFlops: number;
  /** engine id → timing of one call over the whole workload, ms */
  times: Record<string, Stats>;
  /**
   * engine id → process CPU time / wall time over its timed calls: about the engine's thread count on an otherwise
   * idle machine; well below it, other load was taking the CPUs and the latencies are inflated.
   */
  cpuPerWall: Record<string, number>;
  /** engine id → max |logit - float64 reference| */
  expectedErr: Record<string, number>;
  /** "peer vs ours" → max |logit difference| (engines of the same precision: f32 with f32) */
  agreement: Record<string, number>;
  /**
   * engine id → its logits against ours-wasm's f32 logits on the same inputs (the q8 engines' fidelity; f32 engines
   * are there as the floor): mean and max |difference|, and how many argmax labels agree.
   */
  fidelity?: Record<string, { meanAbs: number; maxAbs: number; agree: number; n: number }>;
  /**
   * The best GFLOP/s of the 128-bit FMA probe (fma-peak.ts), run on this process's main thread after each round of
   * a latency shape: what one thread of 128-bit WebAssembly SIMD could reach at the time. Absent without SIMD.
   */
  fmaPeakGflops?: number;
  /** The median of the same probe runs: well below the best when neighbours were slowing the core meanwhile. */
  fmaPeakMedianGflops?: number;
}

export interface GroupResult {
  threads: number;
  engines: EngineInfo[];
  failed: { engine: string; error: string }[];
  workloads: WorkloadResult[];
  peakRssMb: number;
  /** The probe behind WorkloadResult.fmaPeakGflops, or absent where this engine has no WebAssembly SIMD. */
  fmaPeak?: { instruction: string; accumulators: number };
}

export interface LoadSpec {
  modelDir: string;
  /** js, wasm, or q8 (wasm on modelDir, a q8 folder) */
  backend: string;
  threads: number;
  /** A sequence to run once after loading, so the report can show the peak with inference too. */
  probe: number[];
}

export interface LoadResult {
  backend: string;
  threads: number;
  detail: string;
  /** Peak RSS of the bare child before anything was loaded, MB. */
  baseRssMb: number;
  backendMs: number;
  loadMs: number;
  readyMs: number;
  rssAfterLoadMb: number;
  firstRunMs: number;
  rssAfterRunMb: number;
  /** After the probe run: process.memoryUsage()'s heapUsed and arrayBuffers, and the wasm memory, MB. */
  memoryMb?: { heapUsed: number; arrayBuffers: number; wasm: number };
  error?: string;
}
