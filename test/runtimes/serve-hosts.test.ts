/**
 * The server's Fetch API handler hosted by Deno.serve and Bun.serve (fixtures/serve-host.mjs, the one-module
 * server bundle), answering as on Node. workerd-serve.test.ts hosts it in a Cloudflare Worker.
 */
import { join } from "node:path";
import { describe, it } from "vitest";
import { tinyDir } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";
import { runtimeBin, tempDir } from "./helpers.js";
import { checkServe, startHost } from "./serve-checks.js";

const deno = runtimeBin("deno");
const bun = runtimeBin("bun");
const script = join(repoRoot, "test/runtimes/fixtures/serve-host.mjs");

describe.skipIf(deno === null)("deno serves the handler", () => {
  it("Deno.serve(handler.fetch): /predict, /tokenize, /health, /info, errors as on Node", async () => {
    const tmp = tempDir("deno-serve");
    const allow = [join(repoRoot, "dist"), tinyDir()].join(",");
    const env = { ...process.env, DENO_DIR: join(tmp.dir, "deno-cache"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
    const host = await startHost(deno!, ["run", "--no-config", "--no-npm", `--allow-read=${allow}`, "--allow-net=127.0.0.1", script, tinyDir()], env);
    try {
      await checkServe(host.url);
    } finally {
      await host.stop();
      tmp.cleanup();
    }
  });
});

describe.skipIf(bun === null)("bun serves the handler", () => {
  it("Bun.serve({ fetch: handler.fetch }): /predict, /tokenize, /health, /info, errors as on Node", async () => {
    const tmp = tempDir("bun-serve");
    const env = { ...process.env, BUN_INSTALL_CACHE_DIR: join(tmp.dir, "bun-cache"), NO_COLOR: "1" };
    const host = await startHost(bun!, [script, tinyDir()], env);
    try {
      await checkServe(host.url);
    } finally {
      await host.stop();
      tmp.cleanup();
    }
  });
});
