/**
 * Dynamic batching: inputs of concurrent requests wait in one queue and go to the model together, up to a token
 * budget. The engine packs sequences without padding and its results do not depend on what a sequence is batched
 * with, so batching changes the cost, never an answer.
 *
 * A batch starts when the budget is full, or `maxWaitMs` after the first input arrived at an idle queue; inputs that
 * arrive while a batch computes form the next batch without waiting. Between batches the loop yields to the host's
 * event loop, so health checks and new connections are answered between two model calls.
 */
import { HttpError } from "./http-error.js";

export interface BatchStats {
  size: number;
  tokens: number;
  ms: number;
}

export interface BatcherOptions {
  /** Most tokens per model call (one input alone may exceed it: it then goes alone). */
  maxBatchTokens: number;
  /** How long the first input at an idle queue waits for company, in ms (0: the next turn of the event loop). */
  maxWaitMs: number;
  /**
   * "per-request": no batching across requests: the inputs one request submits in one go run together at the end of
   * the current microtask checkpoint. For hosts where one request may not settle another's promise (Workers).
   */
  mode?: "dynamic" | "per-request";
  onBatch?: (stats: BatchStats) => void;
  onQueued?: (ms: number) => void;
}

interface Job {
  ids: readonly number[];
  signal: AbortSignal | undefined;
  queuedAt: number;
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

/** One turn of the event loop: setImmediate where the host has it (I/O is polled first), else a 0 ms timer. */
const nextTurn: () => Promise<void> =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? () => new Promise((r) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(r))
    : () => new Promise((r) => setTimeout(r, 0));

export class DynamicBatcher {
  /** Jobs from `head` on wait (a head index, not shift(): thousands may queue). */
  private queue: Job[] = [];
  private head = 0;
  private queuedTokens = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    /** [n][tokens] token ids → n logit rows; synchronous (the model call). */
    private readonly run: (sequences: readonly (readonly number[])[]) => Float32Array[],
    private readonly options: BatcherOptions,
  ) {}

  /** Inputs waiting for a batch. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Logits of one token sequence; rejects with the signal's reason if it is aborted before its batch starts. */
  submit(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      this.queue.push({ ids, signal, queuedAt: Date.now(), resolve, reject });
      this.queuedTokens += ids.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.options.mode === "per-request") {
      if (this.timer === undefined && !this.running) {
        this.running = true;
        queueMicrotask(() => {
          while (this.depth > 0) this.runOne();
          this.running = false;
        });
      }
      return;
    }
    if (this.running) return;
    if (this.queuedTokens >= this.options.maxBatchTokens) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      void this.loop();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.loop();
      }, this.options.maxWaitMs);
    }
  }

  private async loop(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.depth > 0) {
        this.runOne();
        await nextTurn();
      }
    } finally {
      this.running = false;
    }
  }

  /** Takes inputs in arrival order up to the budget (at least one), drops aborted ones, runs the model once. */
  private runOne(): void {
    const batch: Job[] = [];
    let tokens = 0;
    while (this.head < this.queue.length) {
      const job = this.queue[this.head];
      if (batch.length > 0 && tokens + job.ids.length > this.options.maxBatchTokens) break;
      this.head++;
      this.queuedTokens -= job.ids.length;
      if (job.signal?.aborted) {
        job.reject(job.signal.reason);
        continue;
      }
      batch.push(job);
      tokens += job.ids.length;
    }
    if (this.head === this.queue.length || this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (batch.length === 0) return;
    const started = Date.now();
    for (const job of batch) this.options.onQueued?.(started - job.queuedAt);
    let logits: Float32Array[];
    try {
      logits = this.run(batch.map((j) => j.ids));
    } catch (e) {
      // The engine validated these ids already (the tokenizer made them): a throw here is the server's fault.
      const err = new HttpError(424, "Backend", `inference failed: ${e instanceof Error ? e.message : String(e)}`);
      for (const job of batch) job.reject(err);
      return;
    }
    this.options.onBatch?.({ size: batch.length, tokens, ms: Date.now() - started });
    batch.forEach((job, i) => job.resolve(logits[i]));
  }
}
