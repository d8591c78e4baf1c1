/** Bun (npm package `bun`, its binary; JavaScriptCore): the package by name through the exports map, Bun.file. */
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { repoRoot } from "../helpers/shared.js";
import { tinyDir } from "../helpers/fixture.js";
import { checkResult, makeJob, parseResult, run, runtimeBin, tempDir, WASM, writeJob } from "./helpers.js";

const bun = runtimeBin("bun");

describe.skipIf(bun === null)("bun", () => {
  const tmp = tempDir("bun");
  afterAll(() => tmp.cleanup());

  it("js / wasm / auto backends: fixture logits within 1e-4, texts as in Node, typed errors", async () => {
    const jobPath = writeJob(tmp.dir, makeJob(["js", "wasm", "auto"]));
    const env = { ...process.env, BUN_INSTALL_CACHE_DIR: join(tmp.dir, "bun-cache"), NO_COLOR: "1" };
    const { stdout } = await run(bun!, [join(repoRoot, "test/runtimes/fixtures/bun.mjs"), jobPath, tinyDir()], { env });
    await checkResult("bun", parseResult(stdout), { js: "js", wasm: WASM, auto: WASM });
  });
});
