/** Deno (npm package `deno`, its binary): the ES module build by path, files read with Deno.readFile. */
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { repoRoot } from "../helpers/shared.js";
import { tinyDir } from "../helpers/fixture.js";
import { checkResult, makeJob, parseResult, run, runtimeBin, tempDir, WASM, writeJob } from "./helpers.js";

const deno = runtimeBin("deno");

describe.skipIf(deno === null)("deno", () => {
  const tmp = tempDir("deno");
  afterAll(() => tmp.cleanup());

  it("js / wasm / auto backends: fixture logits within 1e-4, texts as in Node, typed errors", async () => {
    const jobPath = writeJob(tmp.dir, makeJob(["js", "wasm", "auto"]));
    // Least privilege: read access to the built code, the fixture and the job only; no config file, no npm.
    const allow = [join(repoRoot, "dist"), join(repoRoot, "test/runtimes/fixtures"), tinyDir(), tmp.dir].join(",");
    const env = { ...process.env, DENO_DIR: join(tmp.dir, "deno-cache"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const { stdout } = await run(deno!, ["run", "--no-config", "--no-npm", `--allow-read=${allow}`, join(repoRoot, "test/runtimes/fixtures/deno.mjs"), jobPath, tinyDir()], { env });
    await checkResult("deno", parseResult(stdout), { js: "js", wasm: WASM, auto: WASM });
  });
});
