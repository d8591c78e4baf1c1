/**
 * workerd (npm `workerd`, Cloudflare's Workers runtime): a real Worker script (fixtures/workerd-worker.mjs) with the
 * browser bundle and the model files as its modules, served on 127.0.0.1; the test POSTs text and jobs over HTTP.
 * The isolate forbids eval, new Function and compiling WebAssembly from bytes; /probes confirms that from inside.
 * The wasm backend runs there from dist/wasm/kernels.wasm, given to the Worker as a wasm module (precompiled by
 * workerd) and passed to loadModel as `wasmModule`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTiny, tinyDir } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";
import { JsBackend } from "../../src/tensor/js-backend.js";
import { checkResult, freePort, makeJob, run, runtimeBin, tempDir, WASM, type RuntimeResult } from "./helpers.js";

const workerd = runtimeBin("workerd");

function capnpConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .classifier) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const classifier :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "distilbert-ts.min.js", esModule = embed "distilbert-ts.min.js"),
    (name = "cases.mjs", esModule = embed "cases.mjs"),
    (name = "config.json", text = embed "config.json"),
    (name = "vocab.txt", text = embed "vocab.txt"),
    (name = "model.safetensors", data = embed "model.safetensors"),
    (name = "kernels.wasm", wasm = embed "kernels.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
`;
}

describe.skipIf(workerd === null)("workerd", () => {
  const tmp = tempDir("workerd");
  let child: ChildProcess | null = null;
  let base = "";
  let log = "";
  let version = "";
  const kill = () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };

  beforeAll(async () => {
    const { stdout } = await run(workerd!, ["--version"]);
    version = stdout.trim();
    console.log(`[workerd] ${version}`);
    const links: [string, string][] = [
      [join(repoRoot, "test/runtimes/fixtures/workerd-worker.mjs"), "worker.mjs"],
      [join(repoRoot, "dist/browser/distilbert-ts.min.js"), "distilbert-ts.min.js"],
      [join(repoRoot, "test/runtimes/fixtures/cases.mjs"), "cases.mjs"],
      [join(tinyDir(), "config.json"), "config.json"],
      [join(tinyDir(), "vocab.txt"), "vocab.txt"],
      [join(tinyDir(), "model.safetensors"), "model.safetensors"],
      [join(repoRoot, "dist/wasm/kernels.wasm"), "kernels.wasm"],
    ];
    for (const [from, to] of links) symlinkSync(from, join(tmp.dir, to));
    const port = await freePort();
    writeFileSync(join(tmp.dir, "config.capnp"), capnpConfig(port));
    base = `http://127.0.0.1:${port}`;
    child = spawn(workerd!, ["serve", join(tmp.dir, "config.capnp")], { cwd: tmp.dir, stdio: ["ignore", "pipe", "pipe"] });
    process.once("exit", kill);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (log += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${log}`);
      try {
        const r = await fetch(`${base}/probes`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`workerd did not answer on ${base} within 20 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    process.removeListener("exit", kill);
    tmp.cleanup();
  });

  const post = async (path: string, body: unknown) => {
    const r = await fetch(base + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it("the isolate forbids eval, new Function and WebAssembly compilation from bytes; the kernels arrive compiled", async () => {
    const probes = (await (await fetch(`${base}/probes`)).json()) as Record<string, unknown>;
    console.log(`[workerd] inside the isolate: ${JSON.stringify(probes)}`);
    expect(probes).toMatchObject({ userAgent: "Cloudflare-Workers", eval: "EvalError", newFunction: "EvalError", wasmCompile: "CompileError", kernelsModule: true });
  });

  const job = async (query: string, backends: string[]) => {
    const r = await post(`/job${query}`, makeJob(backends));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { ...(r.body as unknown as RuntimeResult), runtime: `${version} (${String(r.body.runtime)})` };
  };

  it("POST /job without the kernels module: js works, auto falls back to js, wasm is refused", async () => {
    await checkResult("workerd", await job("", ["js", "auto", "wasm"]), { js: "js", auto: "js", wasm: { fails: /CompileError/ } });
  });

  it("POST /job with the precompiled kernels (wasm module binding): wasm and auto run WebAssembly SIMD", async () => {
    await checkResult("workerd", await job("?module=1", ["wasm", "auto"]), { wasm: WASM, auto: WASM });
  });

  it("POST /classify: a text's label and score as in Node; bad input is a 400 with the typed error", async () => {
    const text = "The acting was superb and the story moved me.";
    const want = await (await loadTiny(new JsBackend())).classify(text);
    const r = await fetch(`${base}/classify`, { method: "POST", body: JSON.stringify({ text }), headers: { "content-type": "application/json" } });
    const body = (await r.json()) as Record<string, unknown>;
    expect(r.status).toBe(200);
    expect(r.headers.get("x-backend")).toMatch(WASM);
    expect(body.label).toBe(want.label);
    expect(body.tokens).toEqual(want.tokens);
    expect(Math.abs((body.score as number) - want.score)).toBeLessThanOrEqual(1e-5);
    const bad = await post("/classify", { texts: ["fine", 42] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^InputError: classify: texts\[1\]: is the number 42; expected a string$/);
  });
});
