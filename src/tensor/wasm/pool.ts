/**
 * The optional worker pool: n-1 workers plus the calling thread share one WebAssembly.Memory (SharedArrayBuffer
 * backed) and split a GEMM's column panels (or attention's (span, head) units, or the row blocks of packing A and of
 * LayerNorm). Each participant instantiates the same module on the same memory;
 * jobs go through a small control block in that memory, synchronised with Atomics (spin briefly, then
 * Atomics.wait), and participants claim chunks of panels as they go. Splitting by whole output panels keeps every
 * element's computation identical to one thread's, so results are bitwise the same whoever computes what.
 *
 * How a worker is started is the host's business (worker_threads in Node, Web Workers in browsers, Deno, Bun), so
 * the pool takes a WorkerFactory; `webWorkerFactory` is the standard-Worker one, src/node has Node's.
 */
import type { KernelExports } from "./kernels.js";

/** The little a pool needs from a worker, whatever the host's worker API looks like. */
export interface PoolWorker {
  postMessage(message: unknown): void;
  onMessage(listener: (data: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  /** Optional: let the host exit while this worker idles (Node's worker.unref()); called once the pool is ready. */
  unref?(): void;
  terminate(): unknown;
}

/** Starts worker number `index` (1-based; the caller is participant 0) running the pool's worker script. */
export type WorkerFactory = (index: number) => PoolWorker;

/** What the pool posts to a new worker. A WebAssembly.Module and a shared Memory are both cloneable. */
export interface WorkerInit {
  readonly type: "distilbert-ts/gemm-worker";
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte address of the control block. */
  readonly ctrl: number;
  readonly index: number;
  /** Microseconds an idle worker polls for the next job before it sleeps in Atomics.wait. */
  readonly spinMicroseconds: number;
}

// Control block layout, in 32-bit words.
export const CTRL_WORDS = 32;
export const CTRL_BYTES = CTRL_WORDS * 4;
/** Job sequence number: bumped to start a job (or to stop the workers). */
const SEQ = 0;
/**
 * (job id << 16) | first unclaimed panel: participants claim chunks of panels with a compare-exchange here. Between
 * jobs it is closed ((next job's id << 16) | CLOSED) while the next job's parameters are written.
 */
const NEXT = 1;
/** Panels finished in the current job. */
const DONE = 2;
const OP = 3;
const FAILED = 4;
const CHUNK = 5;
const A_P = 6;
const B_P = 7;
const C_P = 8;
const LDC = 9;
const M_ = 10;
const K_ = 11;
const PANELS = 12;
const BIAS = 13;
const ALPHA = 14;
const ACT = 15;
// attention jobs (units = PANELS): q, k, v, out addresses, ld, dh, H, span table, scale (f32), scratch, scratch
// stride
const Q_P = 16;
const K_P = 17;
const V_P = 18;
const O_P = 19;
const LD = 20;
const DH = 21;
const HEADS = 22;
const TABLE = 23;
const SCALE = 24;
const WORK = 25;
const WORK_STRIDE = 26;
// packA jobs (units = blocks of MR rows): src A_P, dst B_P, M_, K_, row stride LDC, MR_.
// layerNorm jobs (units = rows): out C_P, x A_P, gamma B_P, beta BIAS, T = M_, C = K_, eps (f64 at EPS).
const MR_ = 28;
/** Word index of the f64 eps (words 30–31: 8-byte aligned, as the control block is 64-aligned). */
const EPS = 30;

const CLOSED = 0xffff;

const OP_GEMM = 1;
const OP_EXIT = 2;
const OP_ATTENTION = 3;
const OP_PACK_A = 4;
const OP_LAYER_NORM = 5;
/**
 * q8 GEMM jobs (units = panels), their 13 parameters in other jobs' words: codes A_P, code row stride Q_P, row
 * scales K_P, zero points V_P, panels B_P, meta O_P, npad LD, hasBias DH, c C_P, ldc LDC, M M_, K4 K_, act ACT.
 */
const OP_GEMM_Q8 = 6;
/** Attention jobs as OP_ATTENTION, on ex.attentionPortable (Backend.attention's `portable`). */
const OP_ATTENTION_PORTABLE = 7;
const OP_NAMES: Record<number, string> = {
  [OP_GEMM]: "gemm", [OP_ATTENTION]: "attention", [OP_PACK_A]: "packA", [OP_LAYER_NORM]: "layerNorm", [OP_GEMM_Q8]: "gemmQ8",
  [OP_ATTENTION_PORTABLE]: "attentionPortable",
};

/**
 * How long an idle participant polls before it sleeps, in µs. Within a forward pass most gaps between GEMMs (the
 * attention's per-head products) are far shorter than waking a sleeping thread; but a thread that polls for long
 * steals its core from the caller when the machine is busy.
 */
export const DEFAULT_SPIN_MICROSECONDS = 200;

const clock: () => number = typeof performance !== "undefined" && typeof performance.now === "function" ? () => performance.now() : () => Date.now();

/** Wait until ctrl[index] !== value: poll for up to `spinMicroseconds`, then sleep in Atomics.wait. */
function waitWhileEqual(ctrl: Int32Array, index: number, value: number, spinMicroseconds: number, timeoutMs = Infinity): number {
  let v = Atomics.load(ctrl, index);
  if (v !== value) return v;
  const until = clock() + spinMicroseconds / 1000;
  for (let i = 1; (v = Atomics.load(ctrl, index)) === value; i++) {
    if ((i & 255) === 0 && clock() > until) {
      if (Atomics.wait(ctrl, index, value, timeoutMs) === "timed-out" && Atomics.load(ctrl, index) === value) return value;
    }
  }
  return v;
}

/** Most panels a job may have (the claim word keeps the next panel in 16 bits). */
export const MAX_POOL_PANELS = 0x8000;

const jobId = (seq: number) => seq & 0x7fff;

/**
 * Claim and compute chunks of job `seq` until none is left: the caller and every worker run this. Work is
 * claimed dynamically rather than split in fixed shares, so a worker the OS has not scheduled yet (a busy machine)
 * delays the job by at most the chunk it holds, never by its whole share.
 *
 * A worker may get here late, when the job it woke for is long done and the caller is writing the next one's
 * parameters. So nothing but the claim word, PANELS and CHUNK (all read atomically) is read before a claim succeeds;
 * a claim only succeeds on an open claim word of this job, unchanged since it was read, and the caller closes that
 * word before it writes the next job's parameters (GemmPool.begin). Once a chunk is claimed the parameters are this
 * job's and stay so: the caller writes no new ones until every claimed chunk is counted in DONE.
 */
function workOn(ex: KernelExports, ctrl: Int32Array, ctrlF: Float32Array, ctrlD: Float64Array, seq: number, participant: number): void {
  const id = jobId(seq);
  for (;;) {
    const w = Atomics.load(ctrl, NEXT);
    const p0 = w & 0xffff;
    if (w >>> 16 !== id) return;
    const P = Atomics.load(ctrl, PANELS);
    if (p0 >= P) return;
    const chunk = Atomics.load(ctrl, CHUNK);
    if (Atomics.compareExchange(ctrl, NEXT, w, w + chunk) !== w) continue;
    const p1 = Math.min(P, p0 + chunk);
    const op = ctrl[OP];
    const ap = ctrl[A_P], bp = ctrl[B_P], c = ctrl[C_P], ldc = ctrl[LDC], M = ctrl[M_], K = ctrl[K_];
    try {
      if (op === OP_ATTENTION || op === OP_ATTENTION_PORTABLE) {
        // An attention unit works in this participant's own scratch.
        const work = ctrl[WORK] + participant * ctrl[WORK_STRIDE];
        const attention = op === OP_ATTENTION ? ex.attention : ex.attentionPortable;
        attention(ctrl[Q_P], ctrl[K_P], ctrl[V_P], ctrl[O_P], ctrl[LD], ctrl[DH], ctrl[HEADS], ctrl[TABLE], p0, p1, ctrlF[SCALE], work);
      } else if (op === OP_PACK_A) {
        // Blocks [p0, p1) of MR rows: their packed copy starts at row p0·MR of the packed layout, as the source does.
        const r0 = p0 * ctrl[MR_];
        const r1 = Math.min(M, p1 * ctrl[MR_]);
        ex.packA(ap + r0 * ldc * 4, bp + r0 * K * 4, r1 - r0, K, ldc);
      } else if (op === OP_GEMM_Q8) {
        ex.gemmQ8(ap, ctrl[Q_P], ctrl[K_P], ctrl[V_P], bp, ctrl[O_P], ctrl[LD], ctrl[DH], c, ldc, M, K, p0, p1, ctrl[ACT]);
      } else if (op === OP_LAYER_NORM) ex.layerNorm(c + p0 * K * 4, ap + p0 * K * 4, bp, ctrl[BIAS], p1 - p0, K, ctrlD[EPS / 2]);
      else ex.gemm(ap, bp, c, ldc, M, K, p0, p1, ctrl[BIAS], ctrlF[ALPHA], ctrl[ACT]);
    } catch {
      Atomics.store(ctrl, FAILED, op);
    }
    if (Atomics.add(ctrl, DONE, p1 - p0) + (p1 - p0) >= P) Atomics.notify(ctrl, DONE);
  }
}

/**
 * The worker side: instantiate, say ready, then serve jobs until told to exit. Blocks the worker's thread (that is
 * the point: no event loop between jobs).
 */
export function serveGemmJobs(init: WorkerInit, post: (message: unknown) => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const ex = instance.exports as unknown as KernelExports;
  const ctrl = new Int32Array(init.memory.buffer, init.ctrl, CTRL_WORDS);
  const ctrlF = new Float32Array(init.memory.buffer, init.ctrl, CTRL_WORDS);
  const ctrlD = new Float64Array(init.memory.buffer, init.ctrl, CTRL_WORDS / 2);
  let seq = Atomics.load(ctrl, SEQ);
  post({ type: "ready" });
  for (;;) {
    seq = waitWhileEqual(ctrl, SEQ, seq, init.spinMicroseconds);
    if (Atomics.load(ctrl, OP) === OP_EXIT) return;
    workOn(ex, ctrl, ctrlF, ctrlD, seq, init.index);
  }
}

/** The caller's side of the pool. */
export class GemmPool {
  private readonly ctrl: Int32Array;
  private readonly ctrlF: Float32Array;
  private readonly ctrlD: Float64Array;
  private disposed = false;

  private constructor(
    private readonly workers: PoolWorker[],
    memory: WebAssembly.Memory,
    ctrlAddr: number,
    private readonly spinMicroseconds: number,
  ) {
    this.ctrl = new Int32Array(memory.buffer, ctrlAddr, CTRL_WORDS);
    this.ctrlF = new Float32Array(memory.buffer, ctrlAddr, CTRL_WORDS);
    this.ctrlD = new Float64Array(memory.buffer, ctrlAddr, CTRL_WORDS / 2);
  }

  /** Participants, the caller included. */
  get size(): number {
    return this.workers.length + 1;
  }

  static async start(threads: number, factory: WorkerFactory, module: WebAssembly.Module, memory: WebAssembly.Memory, ctrl: number, spinMicroseconds = DEFAULT_SPIN_MICROSECONDS): Promise<GemmPool> {
    const workers: PoolWorker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let i = 1; i < threads; i++) {
        const w = factory(i);
        workers.push(w);
        ready.push(
          new Promise<void>((resolve, reject) => {
            w.onMessage((data) => {
              if ((data as { type?: string } | null)?.type === "ready") resolve();
            });
            w.onError(reject);
          }),
        );
        const init: WorkerInit = { type: "distilbert-ts/gemm-worker", module, memory, ctrl, index: i, spinMicroseconds };
        w.postMessage(init);
      }
      await Promise.all(ready);
      // Only now: while the pool starts, the workers are what keeps an awaiting host alive.
      for (const w of workers) w.unref?.();
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new GemmPool(workers, memory, ctrl, spinMicroseconds);
  }

  /** gemm over panels [0, P) with the pool's help; returns when every panel is done. P ≤ MAX_POOL_PANELS. */
  gemm(ex: KernelExports, ap: number, bp: number, c: number, ldc: number, M: number, K: number, P: number, bias: number, alpha: number, act: number): void {
    const ctrl = this.begin();
    ctrl[A_P] = ap;
    ctrl[B_P] = bp;
    ctrl[C_P] = c;
    ctrl[LDC] = ldc;
    ctrl[M_] = M;
    ctrl[K_] = K;
    ctrl[BIAS] = bias;
    this.ctrlF[ALPHA] = alpha;
    ctrl[ACT] = act;
    // About 8 chunks per participant: enough to even out, few enough that claiming costs nothing.
    this.run(ex, OP_GEMM, P, Math.max(1, Math.ceil(P / (8 * this.size))));
  }

  /**
   * ex.attention over units [0, U) with the pool's help (one unit, a head of a span, per claim: units are few and
   * uneven); participant i works in scratch work + i·stride. U ≤ MAX_POOL_PANELS. `portable`: ex.attentionPortable.
   */
  attention(ex: KernelExports, q: number, k: number, v: number, out: number, ld: number, dh: number, H: number, table: number, U: number, scale: number, work: number, stride: number, portable = false): void {
    const ctrl = this.begin();
    ctrl[Q_P] = q;
    ctrl[K_P] = k;
    ctrl[V_P] = v;
    ctrl[O_P] = out;
    ctrl[LD] = ld;
    ctrl[DH] = dh;
    ctrl[HEADS] = H;
    ctrl[TABLE] = table;
    this.ctrlF[SCALE] = scale;
    ctrl[WORK] = work;
    ctrl[WORK_STRIDE] = stride;
    this.run(ex, portable ? OP_ATTENTION_PORTABLE : OP_ATTENTION, U, 1);
  }

  /** ex.packA(src, dst, M, K, lds) with the pool's help, by blocks of mr rows (the kernel's MR). */
  packA(ex: KernelExports, src: number, dst: number, M: number, K: number, lds: number, mr: number): void {
    const ctrl = this.begin();
    ctrl[A_P] = src;
    ctrl[B_P] = dst;
    ctrl[M_] = M;
    ctrl[K_] = K;
    ctrl[LDC] = lds;
    ctrl[MR_] = mr;
    const blocks = Math.ceil(M / mr);
    this.run(ex, OP_PACK_A, blocks, Math.max(1, Math.ceil(blocks / (4 * this.size))));
  }

  /** ex.layerNorm(out, x, gamma, beta, T, C, eps) with the pool's help, by rows. */
  layerNorm(ex: KernelExports, out: number, x: number, gamma: number, beta: number, T: number, C: number, eps: number): void {
    const ctrl = this.begin();
    ctrl[C_P] = out;
    ctrl[A_P] = x;
    ctrl[B_P] = gamma;
    ctrl[BIAS] = beta;
    ctrl[M_] = T;
    ctrl[K_] = C;
    this.ctrlD[EPS / 2] = eps;
    this.run(ex, OP_LAYER_NORM, T, Math.max(1, Math.ceil(T / (4 * this.size))));
  }

  /** ex.gemmQ8 over panels [0, P) with the pool's help (kernels-q8.ts); P ≤ MAX_POOL_PANELS. */
  gemmQ8(ex: KernelExports, xq: number, ldx: number, xs: number, xz: number, bp: number, meta: number, npad: number, hasBias: number, c: number, ldc: number, M: number, K4: number, P: number, act: number): void {
    const ctrl = this.begin();
    ctrl[A_P] = xq;
    ctrl[Q_P] = ldx;
    ctrl[K_P] = xs;
    ctrl[V_P] = xz;
    ctrl[B_P] = bp;
    ctrl[O_P] = meta;
    ctrl[LD] = npad;
    ctrl[DH] = hasBias;
    ctrl[C_P] = c;
    ctrl[LDC] = ldc;
    ctrl[M_] = M;
    ctrl[K_] = K4;
    ctrl[ACT] = act;
    this.run(ex, OP_GEMM_Q8, P, Math.max(1, Math.ceil(P / (8 * this.size))));
  }

  /**
   * Close the claim word before a job's parameters are written. Every job method starts here: a worker that woke
   * late for the previous job must not claim a chunk while the parameters are half written (it did: a chunk of the
   * next job computed with the last job's op, a trap; or a chunk counted in the next job's DONE, whose results were
   * then read before they were written).
   */
  private begin(): Int32Array {
    if (this.disposed) throw new Error("GemmPool: used after dispose()");
    const ctrl = this.ctrl;
    Atomics.store(ctrl, NEXT, (jobId((ctrl[SEQ] + 1) | 0) << 16) | CLOSED);
    return ctrl;
  }

  /** Publish job `op`, whose parameters are written (after begin()), take part in it, wait until its P units are done. */
  private run(ex: KernelExports, op: number, P: number, chunk: number): void {
    const ctrl = this.ctrl;
    const seq = (ctrl[SEQ] + 1) | 0;
    ctrl[OP] = op;
    Atomics.store(ctrl, PANELS, P);
    Atomics.store(ctrl, CHUNK, chunk);
    Atomics.store(ctrl, FAILED, 0);
    Atomics.store(ctrl, DONE, 0);
    // Opening the claim word publishes the plain writes above to any worker that claims a chunk.
    Atomics.store(ctrl, NEXT, jobId(seq) << 16);
    Atomics.store(ctrl, SEQ, seq);
    Atomics.notify(ctrl, SEQ);
    workOn(ex, ctrl, this.ctrlF, this.ctrlD, seq, 0);
    // Only chunks a worker claimed and has not finished remain: wait for them.
    for (let done = Atomics.load(ctrl, DONE); done < P; ) {
      const now = waitWhileEqual(ctrl, DONE, done, this.spinMicroseconds, 60_000);
      if (now === done) throw new Error("GemmPool: a worker did not finish its chunk within 60 s");
      done = now;
    }
    const failed = Atomics.load(ctrl, FAILED);
    if (failed !== 0) throw new Error(`GemmPool: a worker's ${OP_NAMES[failed] ?? "unknown"} kernel trapped`);
  }

  /** Stop the workers (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctrl, OP, OP_EXIT);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) w.terminate();
  }
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
export function canBlock(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A factory over the standard `Worker` (browsers, Deno, Bun) running web-worker.js as a module worker; null where
 * there is no global Worker (Node: use the factory from distilbert-ts/node).
 */
export function webWorkerFactory(url: URL | string = new URL("./web-worker.js", import.meta.url)): WorkerFactory | null {
  const W = (globalThis as { Worker?: new (url: URL | string, options?: { type?: string; name?: string }) => Worker }).Worker;
  if (typeof W !== "function") return null;
  return (index) => {
    const w = new W(url, { type: "module", name: `distilbert-ts gemm ${index}` });
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (l) => w.addEventListener("message", (e) => l((e as MessageEvent).data)),
      onError: (l) => w.addEventListener("error", (e) => l(e)),
      terminate: () => w.terminate(),
    };
  };
}
