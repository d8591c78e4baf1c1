/**
 * The deployable Worker of examples/cloudflare-worker (its worker.mjs as is) in workerd: the same handler as
 * `distilbert-ts serve`, answering /predict and the rest as on Node. Modules are named as the Worker imports them
 * (wrangler would bundle "distilbert-ts/server" from the package; here it is dist/browser/server.min.js), the model
 * files are the tiny fixture's.
 */
import { symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { tinyDir } from "../helpers/fixture.js";
import { repoRoot } from "../helpers/shared.js";
import { freePort, runtimeBin, tempDir } from "./helpers.js";
import { checkServe, startHost } from "./serve-checks.js";

const workerd = runtimeBin("workerd");

function capnpConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .tei) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const tei :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "distilbert-ts/server", esModule = embed "server.min.js"),
    (name = "distilbert-ts/kernels.wasm", wasm = embed "kernels.wasm"),
    (name = "model/config.json", json = embed "model/config.json"),
    (name = "model/vocab.txt", text = embed "model/vocab.txt"),
    (name = "model/model.safetensors", data = embed "model/model.safetensors"),
  ],
  bindings = [ (name = "MODEL_ID", text = "tiny") ],
  compatibilityDate = "2025-09-01",
);
`;
}

describe.skipIf(workerd === null)("workerd serves the example Worker", () => {
  const tmp = tempDir("workerd-serve");
  let host: Awaited<ReturnType<typeof startHost>> | null = null;

  beforeAll(async () => {
    mkdirSync(join(tmp.dir, "model"));
    const links: [string, string][] = [
      [join(repoRoot, "examples/cloudflare-worker/worker.mjs"), "worker.mjs"],
      [join(repoRoot, "dist/browser/server.min.js"), "server.min.js"],
      [join(repoRoot, "dist/wasm/kernels.wasm"), "kernels.wasm"],
      [join(tinyDir(), "config.json"), "model/config.json"],
      [join(tinyDir(), "vocab.txt"), "model/vocab.txt"],
      [join(tinyDir(), "model.safetensors"), "model/model.safetensors"],
    ];
    for (const [from, to] of links) symlinkSync(from, join(tmp.dir, to));
    const port = await freePort();
    writeFileSync(join(tmp.dir, "config.capnp"), capnpConfig(port));
    // workerd prints nothing when ready: startHost polls /health.
    host = await startHost(workerd!, ["serve", join(tmp.dir, "config.capnp")], process.env, `http://127.0.0.1:${port}`);
  });

  afterAll(async () => {
    await host?.stop();
    tmp.cleanup();
  });

  it("POST /predict, /tokenize, GET /health, /info and errors through the example Worker, as on Node", async () => {
    await checkServe(host!.url);
  });
});
