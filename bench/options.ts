/** Command-line options of `npm run bench` (node dist-bench/bench/run.js). */
import { parseArgs } from "node:util";

export const ALL_SHAPES = ["1x8", "1x32", "1x128", "8x32", "1x512"] as const;
export const SECTIONS = ["load", "latency", "packing", "sst2", "tokenizer", "kernels"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  backends: string[];
  threads: number[];
  shapes: { batch: number; seq: number; label: string }[];
  quick: boolean;
  /** A model folder to measure (config.json, *.safetensors, vocab.txt | tokenizer.json; model.onnx for peers). */
  model: string | null;
  /** The reference model folder written by ../shared/tools/reference/generate.sh (ONNX twin + expected.json). */
  ref: string;
  peers: "auto" | "off";
  json: string | null;
  /** SST-2 dev sentences to run (all when null). */
  sst2: number | null;
  /** Run the plain-JS backend on SST-2 too (a full pass takes about ten minutes). */
  sst2Js: boolean;
  /** Our engine computes every row of the last layer, not just the [CLS] rows the head reads. */
  fullLastLayer: boolean;
  /** Seconds of measuring per shape and engine group, split over alternating repetitions. */
  budget: number;
  minReps: number;
  maxReps: number;
  /** Sequences per padded batch for the peers on SST-2. */
  peerBatch: number;
  /** Peers' SST-2 batches: length-sorted (their best case) or in file order (a plain pipeline). */
  peerOrder: "sorted" | "file" | "both";
  skip: Set<Section>;
  peakGflops: number | undefined;
  seed: number;
}

export const HELP = `usage: npm run bench -- [options]

Measures distilbert-ts on a DistilBERT-base-shaped model (random weights unless --model), and, when the peers are
installed and an ONNX twin of the weights exists, onnxruntime-web (wasm) and onnxruntime-node in the same processes.

  --backend js,wasm,q8    our engines (default: all three): the plain-JS and wasm backends in f32, and q8 (the wasm
                          backend on the model quantized by \`distilbert-ts quantize\`); with q8 the peers also run
                          the q8 ONNX twin (model.q8.onnx, written by bench/quantize-onnx.py when missing)
  --threads 1,2           thread counts (default 1,2, capped at the CPU count; the js backend is single-threaded)
  --shapes 1x8,1x32,...   batch x sequence-length shapes (default ${ALL_SHAPES.join(",")})
  --quick                 short run: fewer shapes and repetitions, 128 SST-2 sentences
  --model DIR             a model folder instead of the random one (peers run when DIR/model.onnx exists)
  --ref DIR               reference model folder with model.onnx + expected.json (default /tmp/refmodel-base)
  --peers auto|off        run onnxruntime-web/-node from bench/peers when installed (default auto)
  --sst2 N                SST-2 dev sentences (default all 872; quick 128)
  --sst2-js               run the js backend on SST-2 too (skipped by default: one pass over all 872 sentences
                          is ~1.9 TFLOP, about ten minutes at plain-JS speed)
  --full-last-layer       our engine computes every row of the last layer (by default only the [CLS] rows, the
                          only ones the classification head reads: same logits, ~14% fewer FLOPs); the peers
                          always run the whole graph
  --budget SEC            seconds per shape and group (default 20, quick 6; twice that for 1x128 and 8x32)
  --peer-batch N          sequences per padded batch for the peers on SST-2 (default 32)
  --peer-order sorted|file|both  the peers' SST-2 batches: length-sorted, their best case (default), in file order
                          (what a plain pipeline pays in padding), or both as two workloads
  --skip a,b              sections to skip: ${SECTIONS.join(", ")}
  --json PATH             where to write the JSON (default bench/results/bench-<time>.json)
  --peak-gflops X         the machine's FP32 peak, if the estimate from /proc/cpuinfo is wrong
  --seed N                seed of the random model (default 0)

Peers: cd bench/peers && npm ci --ignore-scripts; then build their model (see docs/performance.md):
  apt-get install -y python3-torch python3-onnx libopenblas0-pthread
  cd ../shared/tools/reference && ONLY_BASE=1 PY=/usr/bin/python3 ./generate.sh     # writes /tmp/refmodel-base
`;

export class UsageError extends Error {}

function list(v: string | undefined, what: string): string[] {
  if (v === undefined) return [];
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`${what}: empty list`);
  return items;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what}: ${JSON.stringify(v)} is not a positive integer`);
  return n;
}

export function parseShape(s: string): { batch: number; seq: number; label: string } {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--shapes: ${JSON.stringify(s)} is not BATCHxSEQ (e.g. 1x128)`);
  const batch = Number(m[1]);
  const seq = Number(m[2]);
  if (batch < 1 || seq < 2 || seq > 512) throw new UsageError(`--shapes: ${s}: need batch ≥ 1 and 2 ≤ seq ≤ 512`);
  return { batch, seq, label: `${batch}x${seq}` };
}

function parsePeerOrder(v: string | undefined): "sorted" | "file" | "both" {
  if (v === undefined || v === "sorted" || v === "file" || v === "both") return v ?? "sorted";
  throw new UsageError("--peer-order: sorted, file or both");
}

export function parseOptions(argv: string[], cpuCount: number): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: "string" },
      threads: { type: "string" },
      shapes: { type: "string" },
      quick: { type: "boolean", default: false },
      model: { type: "string" },
      ref: { type: "string" },
      peers: { type: "string" },
      json: { type: "string" },
      sst2: { type: "string" },
      "sst2-js": { type: "boolean", default: false },
      "full-last-layer": { type: "boolean", default: false },
      budget: { type: "string" },
      "peer-batch": { type: "string" },
      "peer-order": { type: "string" },
      skip: { type: "string" },
      "peak-gflops": { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const backends = values.backend !== undefined ? list(values.backend, "--backend") : ["js", "wasm", "q8"];
  for (const b of backends) if (b !== "js" && b !== "wasm" && b !== "q8") throw new UsageError(`--backend: ${b} is not js, wasm or q8`);
  const threads = (values.threads !== undefined ? list(values.threads, "--threads") : ["1", "2"])
    .map((t) => positiveInt(t, "--threads"))
    .filter((t, i, a) => a.indexOf(t) === i);
  const usable = threads.filter((t) => t <= cpuCount);
  if (usable.length === 0) throw new UsageError(`--threads: this machine has ${cpuCount} CPU(s)`);
  const defaultShapes = quick ? ["1x8", "1x32", "1x128", "8x32"] : [...ALL_SHAPES];
  const shapes = (values.shapes !== undefined ? list(values.shapes, "--shapes") : defaultShapes).map(parseShape);
  const skip = new Set<Section>();
  for (const s of list(values.skip, "--skip")) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new UsageError(`--skip: ${s} is not one of ${SECTIONS.join(", ")}`);
    skip.add(s as Section);
  }
  const peers = values.peers ?? "auto";
  if (peers !== "auto" && peers !== "off") throw new UsageError("--peers: auto or off");
  const budget = values.budget !== undefined ? Number(values.budget) : quick ? 6 : 20;
  if (!(budget > 0)) throw new UsageError("--budget: a positive number of seconds");
  const peak = values["peak-gflops"] !== undefined ? Number(values["peak-gflops"]) : undefined;
  if (peak !== undefined && !(peak > 0)) throw new UsageError("--peak-gflops: a positive number");
  return {
    backends,
    threads: usable,
    shapes,
    quick,
    model: values.model ?? null,
    ref: values.ref ?? "/tmp/refmodel-base",
    peers,
    json: values.json ?? null,
    sst2: values.sst2 !== undefined ? positiveInt(values.sst2, "--sst2") : quick ? 128 : null,
    sst2Js: values["sst2-js"] === true,
    fullLastLayer: values["full-last-layer"] === true,
    budget,
    minReps: quick ? 2 : 3,
    maxReps: quick ? 5 : 15,
    peerBatch: values["peer-batch"] !== undefined ? positiveInt(values["peer-batch"], "--peer-batch") : 32,
    peerOrder: parsePeerOrder(values["peer-order"]),
    skip,
    peakGflops: peak,
    seed: values.seed !== undefined ? Number(values.seed) : 0,
  };
}
