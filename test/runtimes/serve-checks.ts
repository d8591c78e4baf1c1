/**
 * What every host of the server's handler must answer the same way (Node, Deno, Bun, workerd): /predict for a text,
 * a batch and a pair (labels and tokens as the engine in this Node process, scores within NODE_PARITY_TOL), concurrent
 * requests, /tokenize, /health, /info, and a 422 in TEI's error shape.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import type { DistilBertClassifier } from "../../src/model/classifier.js";
import { JsBackend } from "../../src/tensor/js-backend.js";
import { loadTiny } from "../helpers/fixture.js";
import { NODE_PARITY_TOL, TEXTS } from "./helpers.js";

let reference: DistilBertClassifier | undefined;

async function expectedFor(text: string): Promise<{ label: string; score: number }[]> {
  reference ??= await loadTiny(new JsBackend());
  const c = reference.classifySync([text])[0];
  return reference.config.labels.map((label) => ({ score: c.scores[label], label })).sort((a, b) => a.score - b.score).reverse();
}

function close(got: { label: string; score: number }[], want: { label: string; score: number }[]): void {
  expect(got.map((p) => p.label)).toEqual(want.map((p) => p.label));
  got.forEach((p, i) => expect(Math.abs(p.score - want[i].score)).toBeLessThanOrEqual(NODE_PARITY_TOL));
}

export async function checkServe(url: string): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(url + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    return { status: r.status, body: (await r.json()) as any };
  };
  const texts = TEXTS.filter((t) => t !== "");
  for (const t of texts) {
    const r = await post("/predict", { inputs: t });
    expect(r.status).toBe(200);
    close(r.body, await expectedFor(t));
  }
  const batch = await post("/predict", { inputs: texts.map((t) => [t]) });
  expect(batch.status).toBe(200);
  for (let i = 0; i < texts.length; i++) close(batch.body[i], await expectedFor(texts[i]));
  const concurrent = await Promise.all(texts.map((t) => post("/predict", { inputs: t })));
  for (let i = 0; i < texts.length; i++) close(concurrent[i].body, await expectedFor(texts[i]));
  const tok = await post("/tokenize", { inputs: texts[2] });
  reference ??= await loadTiny(new JsBackend());
  expect(tok.body[0].map((t: { id: number }) => t.id)).toEqual(reference.tokenizer.encode(texts[2]).ids);
  expect((await fetch(`${url}/health`)).status).toBe(200);
  const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
  expect(info.model_type).toEqual({ classifier: { id2label: { "0": "NEGATIVE", "1": "POSITIVE" }, label2id: { NEGATIVE: 0, POSITIVE: 1 } } });
  const bad = await post("/predict", { inputs: 42 });
  expect(bad.status).toBe(422);
  expect(Object.keys(bad.body).sort()).toEqual(["error", "error_type"]);
  expect(bad.body.error_type).toBe("Validation");
}

/**
 * Starts a host process; ready when it prints `listening on URL`, or, given `url` (workerd prints nothing), when
 * `url`/health answers. Resolves with the URL and a stop function.
 */
export async function startHost(cmd: string, args: string[], env: NodeJS.ProcessEnv, known?: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (log += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}:\n${log}`);
    if (known === undefined && /listening on (\S+)/.test(log)) return { url: /listening on (\S+)/.exec(log)![1], stop };
    if (known !== undefined && (await fetch(`${known}/health`).then(() => true, () => false))) return { url: known, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${cmd} did not start within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
