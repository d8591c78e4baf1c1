/** Node's WorkerFactory for the WebAssembly backend's thread pool (worker_threads running wasm-worker.js). */
import { Worker } from "node:worker_threads";
import type { WorkerFactory } from "../tensor/wasm/pool.js";

/**
 * Workers are unref'd: an idle pool never keeps the process alive, even if nobody calls dispose(). `url` is the
 * compiled worker script, by default the wasm-worker.js beside this module.
 */
export function nodeWorkerFactory(url: URL | string = new URL("./wasm-worker.js", import.meta.url)): WorkerFactory {
  return (index) => {
    const w = new Worker(url, { name: `distilbert-ts gemm ${index}` });
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (l) => w.on("message", l),
      onError: (l) => {
        w.on("error", l);
        w.on("exit", (code) => l(new Error(`gemm worker ${index} exited with code ${code}`)));
      },
      terminate: () => w.terminate(),
    };
  };
}
