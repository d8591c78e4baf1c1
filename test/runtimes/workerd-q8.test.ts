/**
 * The full-size model in q8 inside workerd (Cloudflare's Workers runtime), where a Worker has 128 MB per isolate: a
 * DistilBERT-base-shaped random model (seeded here), quantized by the CLI's `quantize`, served as the Worker's own
 * modules, classifying a 512-token text on the precompiled wasm kernels. Prints the memory it took: the wasm memory
 * (from inside) and the workerd process's peak RSS (from /proc; the process also holds workerd itself and the
 * 68 MB weights module, which a deployed Worker would fetch instead of embedding).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomModel } from "../../src/model/random-model.js";
import { repoRoot } from "../helpers/shared.js";
import { freePort, runtimeBin, tempDir } from "./helpers.js";

const workerd = runtimeBin("workerd");

const capnp = (port: number) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .q8) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const q8 :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "distilbert-ts.min.js", esModule = embed "distilbert-ts.min.js"),
    (name = "config.json", text = embed "q8/config.json"),
    (name = "vocab.txt", text = embed "q8/vocab.txt"),
    (name = "model.safetensors", data = embed "q8/model.safetensors"),
    (name = "kernels.wasm", wasm = embed "kernels.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
`;

/** VmHWM / VmRSS of a process, MB (Linux). */
function procMemory(pid: number): { peakMb: number; rssMb: number } | null {
  const path = `/proc/${pid}/status`;
  if (!existsSync(path)) return null;
  const s = readFileSync(path, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return { peakMb: (kb("VmHWM") * 1024) / 1e6, rssMb: (kb("VmRSS") * 1024) / 1e6 };
}

describe.skipIf(workerd === null)("workerd: the full-size model in q8", () => {
  const tmp = tempDir("workerd-q8");
  let child: ChildProcess | null = null;
  let base = "";
  let log = "";

  beforeAll(async () => {
    // DistilBERT-base's shape, seed 14; written as a model folder, then quantized by the CLI.
    const m = randomModel({ vocabSize: 30522, dim: 768, nLayers: 6, nHeads: 12, hiddenDim: 3072, maxPositionEmbeddings: 512, labels: ["NEGATIVE", "POSITIVE"], seed: 14 });
    const f32 = join(tmp.dir, "f32");
    mkdirSync(f32);
    writeFileSync(join(f32, "config.json"), m.config);
    writeFileSync(join(f32, "vocab.txt"), m.vocab);
    writeFileSync(join(f32, "model.safetensors"), m.weights);
    const q = spawnSync(process.execPath, [join(repoRoot, "dist/node/cli.js"), "quantize", "--model", f32, "--out", join(tmp.dir, "q8")], { encoding: "utf8" });
    expect(q.status, q.stderr).toBe(0);
    console.log(`[workerd q8] ${q.stdout.trim()}`);
    symlinkSync(join(repoRoot, "test/runtimes/fixtures/workerd-q8-worker.mjs"), join(tmp.dir, "worker.mjs"));
    symlinkSync(join(repoRoot, "dist/browser/distilbert-ts.min.js"), join(tmp.dir, "distilbert-ts.min.js"));
    symlinkSync(join(repoRoot, "dist/wasm/kernels.wasm"), join(tmp.dir, "kernels.wasm"));
    const port = await freePort();
    writeFileSync(join(tmp.dir, "config.capnp"), capnp(port));
    base = `http://127.0.0.1:${port}`;
    child = spawn(workerd!, ["serve", join(tmp.dir, "config.capnp")], { cwd: tmp.dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (log += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
  }, 120_000);

  afterAll(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
    tmp.cleanup();
  });

  it("classifies a 512-token text on the wasm kernels, from the I8 checkpoint, and prints its memory", async () => {
    let body: Record<string, unknown> | null = null;
    const deadline = Date.now() + 60_000;
    while (body === null) {
      if (child!.exitCode !== null) throw new Error(`workerd exited with ${child!.exitCode}:\n${log}`);
      try {
        const r = await fetch(`${base}/classify512`, { method: "POST" });
        body = (await r.json()) as Record<string, unknown>;
        expect(r.status, JSON.stringify(body)).toBe(200);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`workerd did not answer within 60 s (${(e as Error).message}):\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(body.backend).toMatch(/^wasm/);
    expect(body.i8Tensors).toBe(6 * 6 + 3);
    expect(body.tokens).toBe(512);
    expect(body.truncated).toBe(true);
    expect(["NEGATIVE", "POSITIVE"]).toContain(body.label);
    const mem = procMemory(child!.pid!);
    console.log(
      `[workerd q8] 512 tokens → ${String(body.label)} (${Number(body.score).toFixed(4)}); wasm memory ${(Number(body.wasmBytes) / 1e6).toFixed(1)} MB, ` +
        `weights module ${(Number(body.weightsModuleBytes) / 1e6).toFixed(1)} MB` +
        (mem ? `; workerd process RSS ${mem.rssMb.toFixed(0)} MB, peak ${mem.peakMb.toFixed(0)} MB` : ""),
    );
  }, 120_000);
});
