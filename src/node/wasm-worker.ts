/** The pool's worker script under Node's worker_threads: wait for the init message, then serve GEMM jobs. */
import { parentPort } from "node:worker_threads";
import { serveGemmJobs, type WorkerInit } from "../tensor/wasm/pool.js";

const port = parentPort;
if (port === null) throw new Error("wasm-worker.js runs as a worker_threads worker");
port.once("message", (init: WorkerInit) => {
  if (init?.type !== "distilbert-ts/gemm-worker") throw new Error("wasm-worker.js: unexpected first message");
  serveGemmJobs(init, (m) => port.postMessage(m));
});
