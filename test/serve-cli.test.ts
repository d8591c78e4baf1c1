/**
 * `distilbert-ts serve` as a process: the ready line, one JSON access-log line per request, and the graceful stop:
 * SIGTERM or SIGINT with requests in flight answers every one of them (none lost), then exits 0.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tinyDir } from "./helpers/fixture.js";
import { CLI, runCli } from "./helpers/cli.js";

function startServe(args: string[]) {
  const child = spawn(process.execPath, [CLI, "serve", "--model", tinyDir(), "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const ready = (async () => {
    const deadline = Date.now() + 30_000;
    while (!/listening on (\S+)\n/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return /listening on (\S+)\n/.exec(out)![1];
  })();
  return { child, ready, exited, out: () => out, err: () => err };
}

describe("serve (CLI)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} with requests in flight: every one answered, then exit 0; JSON access log, one line per request`, async () => {
      // The batch waits 1.5 s, so the requests are surely in flight (queued) when SIGTERM arrives.
      const s = startServe(["--log-format", "json", "--max-batch-wait-ms", "1500"]);
      const url = await s.ready;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const texts = Array.from({ length: 16 }, (_, i) => `request number ${i} in flight`);
      const answers = texts.map((t) => fetch(`${url}/predict`, { method: "POST", body: JSON.stringify({ inputs: t }) }).then(async (r) => ({ status: r.status, body: await r.json() })));
      let m = "";
      for (;;) {
        m = await (await fetch(`${url}/metrics`)).text();
        if (/^te_requests_in_flight 16$/m.test(m)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // the Node host's own memory gauges, beside the handler's
      for (const g of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "nodejs_heap_size_total_bytes", "te_backend_memory_bytes"]) {
        expect(Number(new RegExp(`^${g} (\\d+)$`, "m").exec(m)?.[1]), g).toBeGreaterThan(0);
      }
      s.child.kill(signal);
      const done = await Promise.all(answers);
      expect(done.map((d) => d.status)).toEqual(texts.map(() => 200));
      expect(await s.exited).toBe(0);
      // Gone: no new connections.
      await expect(fetch(`${url}/health`)).rejects.toThrow();
      const lines = s.out().trim().split("\n");
      expect(lines[0]).toBe(`listening on ${url}`);
      const entries = lines.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
      const predicts = entries.filter((e) => e.route === "predict");
      expect(predicts.length).toBe(16);
      for (const e of predicts) expect(e).toMatchObject({ method: "POST", path: "/predict", status: 200, remote: "127.0.0.1" });
      expect(entries.some((e) => e.event === "shutdown" && e.signal === signal && e.in_flight === 16)).toBe(true);
      expect(s.err()).toBe("");
    });
  }

  it("--dtype q8: /info says q8, and /predict answers as `classify --dtype q8` does", async () => {
    const s = startServe(["--dtype", "q8"]);
    const url = await s.ready;
    const info = (await (await fetch(`${url}/info`)).json()) as { model_dtype: string };
    expect(info.model_dtype).toBe("q8");
    const texts = ["I loved this film, it was wonderful!", "A dull, lifeless and overlong mess."];
    const answers = (dtype: string) => {
      const cli = runCli(["classify", "--model", tinyDir(), "--dtype", dtype, "--json", ...texts]);
      expect(cli.code).toBe(0);
      return cli.stdout
        .trim()
        .split("\n")
        .map((l) => Object.entries((JSON.parse(l) as { scores: Record<string, number> }).scores).map(([label, score]) => ({ score, label })).sort((a, b) => b.score - a.score));
    };
    const want = answers("q8");
    // q8's scores are not float32's, so the comparison below tells the two apart.
    expect(want).not.toEqual(answers("f32"));
    const got = await Promise.all(texts.map(async (t) => (await fetch(`${url}/predict`, { method: "POST", body: JSON.stringify({ inputs: t }) })).json()));
    expect(got).toEqual(want);
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  });

  it("bad options are one error line and exit 2", () => {
    for (const [args, msg] of [
      [["--port", "70000"], /--port: is 70000/],
      [["--log-format", "xml"], /--log-format/],
      [["--dtype", "q4"], /--dtype/],
      [["--max-batch-tokens", "0"], /--max-batch-tokens/],
      [["--pooling", "sum"], /--pooling/],
    ] as const) {
      const r = runCli(["serve", "--model", tinyDir(), ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(msg);
    }
  });
});
