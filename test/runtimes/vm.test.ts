/**
 * A bare node:vm context with `codeGeneration: { strings: false, wasm: false }` and no host globals: the browser
 * bundle linked in as an ES module must load the fixture and classify. The sandbox is checked from inside (eval,
 * new Function and WebAssembly compilation throw; process, require, Buffer, TextDecoder, fetch, timers are absent),
 * so a green run proves the engine needs none of them.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/shared.js";
import { tinyDir } from "../helpers/fixture.js";
import { checkResult, makeJob, parseResult, run, systemNode, tempDir, writeJob } from "./helpers.js";

const node = systemNode();
const BUNDLE = join(repoRoot, "dist/browser/distilbert-ts.min.js");

describe.skipIf(node === null)("node:vm context without eval, WebAssembly or host globals", () => {
  const tmp = tempDir("vm");
  afterAll(() => tmp.cleanup());

  it("the sandbox is real, and the engine gives the fixture logits within 1e-4 in it", async () => {
    const jobPath = writeJob(tmp.dir, makeJob(["js", "auto", "wasm"]));
    const host = join(repoRoot, "test/runtimes/fixtures/vm-host.mjs");
    const { stdout } = await run(node!, ["--experimental-vm-modules", "--no-warnings=ExperimentalWarning", host, BUNDLE, jobPath, tinyDir()]);
    const result = parseResult(stdout);
    const checks = result.checks as { eval: string; newFunction: string; wasmCompile: string; hostGlobalsPresent: string[]; globals: string[] };
    console.log(`[vm] inside the context: eval → ${checks.eval}, new Function → ${checks.newFunction}, WebAssembly.Module → ${checks.wasmCompile}; globals: ${checks.globals.join(" ")}`);
    expect(checks.eval).toBe("EvalError");
    expect(checks.newFunction).toBe("EvalError");
    expect(checks.wasmCompile).toBe("CompileError");
    expect(checks.hostGlobalsPresent).toEqual([]);
    // No WebAssembly may be compiled here: "auto" must fall back to js, and asking for "wasm" must be refused (how it
    // is refused is the wasm backend's business; the message is printed).
    await checkResult("vm", result, { js: "js", auto: "js", wasm: { fails: /./ } });
  });
});
