/**
 * The pool's worker script for hosts with standard Web Workers (browsers, Deno, Bun): wait for the init message,
 * then serve GEMM jobs (see pool.ts). Loaded as a module worker by `webWorkerFactory`.
 */
import { serveGemmJobs, type WorkerInit } from "./pool.js";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (e: MessageEvent) => {
  const init = e.data as WorkerInit;
  if (init?.type !== "distilbert-ts/gemm-worker") return;
  scope.onmessage = null;
  serveGemmJobs(init, (m) => scope.postMessage(m));
};
