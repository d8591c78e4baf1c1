/** Node's WorkerFactory for the WebAssembly backend's thread pool (worker_threads running wasm-worker.js). */
import { Worker } from "node:worker_threads";
import type { PoolWorker, WorkerFactory } from "../tensor/wasm/pool.js";

/**
 * `url` is the compiled worker script, by default the wasm-worker.js beside this module. Workers are ref'd while
 * they start (an await on a pool that is starting must keep the process alive) and unref'd once the pool runs
 * (PoolWorker.unref): an idle pool never keeps the process alive, even if nobody calls dispose().
 *
 * Every listener is attached here, before unref(): in Node, adding a "message" listener to a Worker refs it again
 * (its MessagePort), which is how a script with `threads: 2` used to never exit.
 */
export function nodeWorkerFactory(url: URL | string = new URL("./wasm-worker.js", import.meta.url)): WorkerFactory {
  return (index) => {
    // The worker gets no execArgv of ours: flags meant for the entry script (--input-type, --eval, a loader) make
    // no sense for a worker file, and --input-type makes Node refuse to start it (ERR_INPUT_TYPE_NOT_ALLOWED).
    const w = new Worker(url, { name: `distilbert-ts gemm ${index}`, execArgv: workerExecArgv() });
    const onMessage: ((data: unknown) => void)[] = [];
    const onError: ((error: unknown) => void)[] = [];
    w.on("message", (data) => onMessage.forEach((l) => l(data)));
    w.on("error", (e) => onError.forEach((l) => l(e)));
    w.on("exit", (code) => onError.forEach((l) => l(new Error(`gemm worker ${index} exited with code ${code}`))));
    const worker: PoolWorker = {
      postMessage: (m) => w.postMessage(m),
      onMessage: (l) => onMessage.push(l),
      onError: (l) => onError.push(l),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
    };
    return worker;
  };
}

/**
 * The parent's V8 and Node flags minus those that only concern the entry script: --input-type (refused for a file),
 * -e/--eval/-p/--print (and their argument), --test*, --watch*. Memory, GC and WebAssembly flags stay.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-e" || a === "--eval" || a === "-p" || a === "--print" || a === "-pe" || a === "--input-type") {
      i++; // the code or the type that follows
      continue;
    }
    if (a.startsWith("--input-type=") || a.startsWith("--eval=") || a.startsWith("--print=") || a.startsWith("--test") || a.startsWith("--watch")) continue;
    out.push(a);
  }
  return out;
}
