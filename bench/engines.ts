/**
 * The engines a bench group runs side by side: ours (a backend of distilbert-ts) and the peers (onnxruntime-web's
 * wasm backend and onnxruntime-node's native CPU backend, from bench/peers/node_modules). Every engine turns the same
 * workload (token-id sequences) into logits; `prepare` does all input preparation, so a timed call is inference only.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import type { Backend } from "../src/tensor/backend.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { peersDir } from "./common.js";

export interface Workload {
  label: string;
  /** Token ids per sequence, unpadded, [CLS] … [SEP]. */
  sequences: number[][];
  /**
   * How a padding engine batches it: "one" = a single [B, maxLen] batch (with an attention mask when lengths differ);
   * a number = batches of that many sequences, each padded to its longest.
   */
  peerBatching: "one" | number;
  /** With numbered batches: sort by length first (little padding) or keep the workload's order. Default true. */
  peerSorted?: boolean;
}

/** One timed call: logits per sequence, in workload order. */
export type Run = () => Promise<Float32Array[]>;

export interface Engine {
  /** "ours-js", "ours-wasm", "ort-web", "ort-node" */
  readonly id: string;
  readonly ours: boolean;
  readonly threads: number;
  readonly loadMs: number;
  /** What ran, for the report (e.g. the backend's own name: "wasm-relaxed-2t"). */
  readonly detail: string;
  prepare(w: Workload): Run;
  dispose(): Promise<void>;
}

export function engineLabel(id: string, threads: number): string {
  return `${id} (${threads}t)`;
}

// ---- ours ----------------------------------------------------------------------------------------------------------

interface WasmModule {
  WasmBackend: { create(options: { threads?: number; workerFactory?: unknown }): Promise<Backend & { dispose?(): void }> };
}
interface WorkersModule {
  nodeWorkerFactory(): unknown;
}

/**
 * One of our backends by name. The WebAssembly one is imported at run time from the build next to the bench
 * (dist-bench/src/tensor/wasm), so the bench still runs, without it, on a build that has none; this throws why not.
 */
export async function createOurBackend(name: string, threads: number): Promise<Backend & { dispose?(): void }> {
  if (name === "js") {
    if (threads !== 1) throw new Error("the js backend is single-threaded");
    return new JsBackend();
  }
  if (name !== "wasm") throw new Error(`unknown backend ${name}`);
  const here = new URL(".", import.meta.url);
  const wasmUrl = new URL("../src/tensor/wasm/backend.js", here);
  const workersUrl = new URL("../src/node/wasm-workers.js", here);
  if (!existsSync(wasmUrl)) throw new Error("this build has no WebAssembly backend (src/tensor/wasm/backend.ts)");
  const wasm = (await import(wasmUrl.href)) as WasmModule;
  const options: { threads: number; workerFactory?: unknown } = { threads };
  if (threads > 1) options.workerFactory = ((await import(workersUrl.href)) as WorkersModule).nodeWorkerFactory();
  return wasm.WasmBackend.create(options);
}

export class OursEngine implements Engine {
  readonly ours = true;
  private constructor(
    readonly id: string,
    readonly threads: number,
    readonly loadMs: number,
    readonly detail: string,
    readonly classifier: DistilBertClassifier,
    private readonly backend: Backend & { dispose?(): void },
    private readonly fullLastLayer: boolean,
  ) {}

  /**
   * backendName "q8": the wasm backend on a q8 folder (`distilbert-ts quantize`'s output, which loads as q8 with no
   * flag), or on a float folder quantized at load.
   */
  static async create(modelDir: string, backendName: string, threads: number, fullLastLayer: boolean, id = `ours-${backendName}`): Promise<OursEngine> {
    const q8 = backendName === "q8";
    const backend = await createOurBackend(q8 ? "wasm" : backendName, threads);
    const t0 = performance.now();
    const classifier = await loadModelFromDir(modelDir, { backend, dtype: q8 ? "q8" : "auto" });
    const loadMs = performance.now() - t0;
    return new OursEngine(id, threads, loadMs, q8 ? `${backend.name} q8` : backend.name, classifier, backend, fullLastLayer);
  }

  prepare(w: Workload): Run {
    // Our engine never pads: it packs the sequences as they are.
    const seqs = w.sequences.map((s) => Int32Array.from(s));
    return async () => this.classifier.logitsOf(seqs, 8192, { fullLastLayer: this.fullLastLayer });
  }

  async dispose(): Promise<void> {
    this.backend.dispose?.();
  }
}

// ---- peers ---------------------------------------------------------------------------------------------------------

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => unknown;
  env: { wasm: { numThreads?: number; simd?: boolean } };
}

/** Whether `npm ci --ignore-scripts` has been run in bench/peers. */
export function peersInstalled(): { web: boolean; node: boolean } {
  const nm = join(peersDir, "node_modules");
  return {
    web: existsSync(join(nm, "onnxruntime-web", "dist", "ort.node.min.mjs")),
    node: existsSync(join(nm, "onnxruntime-node", "package.json")),
  };
}

let ortWebThreads: number | null = null;

async function importOrt(kind: "web" | "node"): Promise<Ort> {
  if (kind === "node") return createRequire(join(peersDir, "package.json"))("onnxruntime-node") as Ort;
  const file = join(peersDir, "node_modules", "onnxruntime-web", "dist", "ort.node.min.mjs");
  return (await import(pathToFileURL(file).href)) as Ort;
}

export class OrtEngine implements Engine {
  readonly ours = false;
  private constructor(
    readonly id: string,
    readonly threads: number,
    readonly loadMs: number,
    readonly detail: string,
    private readonly ort: Ort,
    private readonly session: OrtSession,
  ) {}

  /** q8: onnxPath is the quantized twin (bench/quantize-onnx.py); the engine's id gets "-q8". */
  static async create(kind: "web" | "node", onnxPath: string, threads: number, q8 = false): Promise<OrtEngine> {
    const ort = await importOrt(kind);
    const options: Record<string, unknown> = { graphOptimizationLevel: "all" };
    if (kind === "web") {
      // onnxruntime-web fixes its thread count when its wasm module starts: one count per process.
      if (ortWebThreads !== null && ortWebThreads !== threads) throw new Error("onnxruntime-web: one thread count per process");
      ortWebThreads = threads;
      ort.env.wasm.numThreads = threads;
      options.executionProviders = ["wasm"];
    } else {
      options.executionProviders = ["cpu"];
      options.intraOpNumThreads = threads;
      options.interOpNumThreads = 1;
    }
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(onnxPath, options);
    const loadMs = performance.now() - t0;
    const pkg = join(peersDir, "node_modules", `onnxruntime-${kind}`, "package.json");
    const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
    return new OrtEngine(`ort-${kind}${q8 ? "-q8" : ""}`, threads, loadMs, `onnxruntime-${kind} ${version}${kind === "web" ? " wasm" : " cpu"}${q8 ? " q8" : ""}`, ort, session);
  }

  prepare(w: Workload): Run {
    const n = w.sequences.length;
    let order = w.sequences.map((_, i) => i);
    let size = n;
    if (w.peerBatching !== "one") {
      if (w.peerSorted !== false) order = order.sort((a, b) => w.sequences[a].length - w.sequences[b].length);
      size = w.peerBatching;
    }
    const batches: { members: number[]; feeds: Record<string, unknown> }[] = [];
    for (let i = 0; i < n; i += size) {
      const members = order.slice(i, i + size);
      let T = 0;
      for (const m of members) T = Math.max(T, w.sequences[m].length);
      const ids = new BigInt64Array(members.length * T);
      const mask = new BigInt64Array(members.length * T);
      members.forEach((m, b) => {
        const s = w.sequences[m];
        for (let t = 0; t < s.length; t++) {
          ids[b * T + t] = BigInt(s[t]);
          mask[b * T + t] = 1n;
        }
      });
      batches.push({
        members,
        feeds: {
          input_ids: new this.ort.Tensor("int64", ids, [members.length, T]),
          attention_mask: new this.ort.Tensor("int64", mask, [members.length, T]),
        },
      });
    }
    return async () => {
      const out = new Array<Float32Array>(n);
      for (const { members, feeds } of batches) {
        const r = await this.session.run(feeds);
        const logits = r.logits;
        const L = logits.dims[1];
        members.forEach((m, b) => (out[m] = Float32Array.from(logits.data.subarray(b * L, (b + 1) * L))));
      }
      return out;
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
