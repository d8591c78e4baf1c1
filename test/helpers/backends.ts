/** Every backend the kernel and model tests run against; a new backend adds itself here. */
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { nodeWorkerFactory } from "../../src/node/wasm-workers.js";
import type { Backend } from "../../src/tensor/backend.js";
import { JsBackend } from "../../src/tensor/js-backend.js";
import { WasmBackend, relaxedSimdSupported, type WasmBackendOptions } from "../../src/tensor/wasm/backend.js";

export interface BackendCase {
  name: string;
  create: () => Promise<Backend>;
}

/**
 * The pool's worker runs the compiled dist/node/wasm-worker.js (vitest's global setup builds dist/ first): a worker
 * thread cannot load the TypeScript sources the tests import.
 */
export const distWorkerUrl = new URL("../../dist/node/wasm-worker.js", import.meta.url);
export const testWorkerFactory = nodeWorkerFactory(fileURLToPath(distWorkerUrl));

const created: WasmBackend[] = [];
// Pools are stopped when the test file that made them is done (the workers are unref'd in any case).
afterAll(() => {
  for (const b of created.splice(0)) b.dispose();
});

async function wasm(options: WasmBackendOptions): Promise<Backend> {
  const b = await WasmBackend.create({ workerFactory: testWorkerFactory, ...options });
  created.push(b);
  return b;
}

/** Relaxed SIMD needs Node 22+ (Node 20's V8 has it behind a flag): without it that case is left out, not faked. */
export const hasRelaxedSimd = relaxedSimdSupported();

export const backendCases: BackendCase[] = [
  { name: "js", create: async () => new JsBackend() },
  { name: "wasm", create: () => wasm({ relaxed: false }) },
  ...(hasRelaxedSimd ? [{ name: "wasm-relaxed", create: () => wasm({ relaxed: true }) }] : []),
  { name: `wasm-${hasRelaxedSimd ? "relaxed-" : ""}2-threads`, create: () => wasm({ threads: 2 }) },
];
