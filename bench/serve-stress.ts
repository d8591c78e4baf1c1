/**
 * `npm run bench:serve`: the server under load and faults, on loopback, in bounded loops that stop by themselves.
 *
 *   load   1 client, then 64 concurrent clients × 5,000 requests of SST-2 dev sentences (mixed lengths): zero
 *          errors, every answer equal to the CLI's (`classify --json`) for that text; throughput and p50/p99.
 *   faults clients that disconnect mid-request, malformed JSON, 10 MB bodies, headers one byte a second
 *          (slowloris), 10,000 requests past --max-concurrent-requests; the server must stay up, answer every
 *          well-formed request, and its RSS come back within 10% of its post-warm-up level.
 *
 * The model: --model DIR, else the bench's DistilBERT-base-shaped model (bench/model.ts). Options: --requests N
 * (5000), --clients N (64), --single N (requests for the one-client run, 300), --threads N (1), --warm N (requests
 * per warm-up round, 5000), --skip-faults.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot, sharedDir } from "./common.js";
import { prepareModel } from "./model.js";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const REQUESTS = Number(opt("requests", "5000"));
const CLIENTS = Number(opt("clients", "64"));
const SINGLE = Number(opt("single", "300"));
const THREADS = opt("threads", "1");
/** Requests per warm-up round. */
const WARM = Number(opt("warm", "5000"));
const CLI = join(repoRoot, "dist/node/cli.js");

type Prediction = { score: number; label: string }[];

function out(line: string): void {
  process.stdout.write(line + "\n");
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? NaN : Number(m[1]);
}

/** One row of the closing table (and of the JSON line): what was checked, what came out, whether it passed. */
const summary: { check: string; result: string; ok: boolean }[] = [];
function row(check: string, result: string, ok: boolean): void {
  summary.push({ check, result, ok });
}

const mb = (pid: number) => `${(rssKb(pid) / 1024).toFixed(1)} MB`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startServer(modelDir: string, extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--model", modelDir, "--port", "0", "--threads", THREADS, ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  let head = "";
  const url = await new Promise<string>((res, rej) => {
    const onData = (d: string) => {
      head += d;
      const m = /listening on (\S+)\n/.exec(head);
      if (m !== null) {
        // The access log is not needed here: keep reading it so the pipe never fills, drop it.
        child.stdout!.removeListener("data", onData);
        child.stdout!.on("data", () => undefined);
        res(m[1]);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => rej(new Error(`serve exited with ${code}`)));
  });
  return { child, url };
}

async function stopServer(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  return exited;
}

/** One POST over a keep-alive agent: status, parsed body, milliseconds. */
function post(agent: Agent, url: string, path: string, body: string): Promise<{ status: number; body: unknown; ms: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const req = httpRequest(url + path, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (r) => {
      let text = "";
      r.setEncoding("utf8").on("data", (d: string) => (text += d));
      r.on("end", () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // kept as text
        }
        res({ status: r.statusCode ?? 0, body: parsed, ms: performance.now() - t0 });
      });
    });
    req.on("error", rej);
    req.end(body);
  });
}

/** `total` requests over `clients` connections, each client sending its next request when the last is answered. */
async function load(url: string, texts: string[], expected: Map<string, Prediction>, clients: number, total: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let mismatches = 0;
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const text = texts[next++ % texts.length];
        try {
          const r = await post(agent, url, "/predict", JSON.stringify({ inputs: text, truncate: true }));
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          latencies.push(r.ms);
          if (r.status !== 200 || JSON.stringify(r.body) !== JSON.stringify(expected.get(text))) mismatches++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { seconds, rps: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), mismatches, errors, statuses };
}

/** The CLI's answers (`classify --json TEXT…`, which prints every label's score), as /predict's sorted list. */
function cliAnswers(modelDir: string, texts: string[]): Map<string, Prediction> {
  const stdout = execFileSync(process.execPath, [CLI, "classify", "--model", modelDir, "--json", ...texts], { maxBuffer: 1 << 30, encoding: "utf8" });
  const map = new Map<string, Prediction>();
  stdout
    .trimEnd()
    .split("\n")
    .forEach((line, i) => {
      const c = JSON.parse(line) as { scores: Record<string, number> };
      const preds = Object.entries(c.scores).map(([label, score]) => ({ score, label }));
      map.set(texts[i], preds.sort((a, b) => a.score - b.score).reverse());
    });
  return map;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's memory gauges from /metrics, MB: its model's wasm memory and (Node host) the V8 heap. */
async function serverMemory(url: string): Promise<{ wasm: number; heapUsed: number; heapTotal: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { wasm: gauge("te_backend_memory_bytes"), heapUsed: gauge("nodejs_heap_size_used_bytes"), heapTotal: gauge("nodejs_heap_size_total_bytes") };
}

/**
 * What batching can gain at most, measured on the engine alone (no HTTP, nothing else running): the same texts
 * classified one per call, as one client's requests arrive, and `clients` per call, the most the server's batches
 * hold under 64 clients. Their throughput ratio bounds the server's 64-client / 1-client ratio.
 */
async function engineBound(modelDir: string, texts: string[], clients: number, n: number): Promise<{ single: number; batched: number }> {
  const lib = (await import(join(repoRoot, "dist/node/index.js"))) as typeof import("../src/node/index.js");
  const threads = Number(THREADS);
  const backend = await lib.WasmBackend.create({ threads, workerFactory: threads > 1 ? lib.nodeWorkerFactory() : undefined });
  const model = await lib.loadModelFromDir(modelDir, { backend });
  const sample = Array.from({ length: n }, (_, i) => texts[i % texts.length]);
  await model.classify(sample.slice(0, clients));
  let t0 = performance.now();
  for (const t of sample) await model.classify(t);
  const single = n / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  for (let i = 0; i < n; i += clients) await model.classify(sample.slice(i, i + clients));
  const batched = n / ((performance.now() - t0) / 1000);
  model.dispose();
  backend.dispose();
  return { single, batched };
}

async function faults(url: string, pid: number, texts: string[], expected: Map<string, Prediction>): Promise<void> {
  const { hostname, port } = new URL(url);
  const wellFormed = async (n: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let bad = 0;
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = texts[i % texts.length];
        const r = await post(agent, url, "/predict", JSON.stringify({ inputs: t, truncate: true })).catch(() => null);
        if (r === null || r.status !== 200 || JSON.stringify(r.body) !== JSON.stringify(expected.get(t))) bad++;
      }),
    );
    agent.destroy();
    return bad;
  };

  // 1. Clients that disconnect: half a body then gone; a whole request then gone before the answer.
  let t = performance.now();
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      new Promise<void>((res) => {
        const s = connect(Number(port), hostname, () => {
          const body = JSON.stringify({ inputs: texts[i % texts.length], truncate: true });
          const head = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
          s.write(i % 2 === 0 ? head + body.slice(0, body.length >> 1) : head + body);
          setTimeout(() => {
            s.destroy();
            res();
          }, i % 2 === 0 ? 5 : 20);
        });
        s.on("error", () => res());
      }),
    ),
  );
  const bad1 = await wellFormed(50);
  row("200 clients disconnecting mid-request", `server up; ${50 - bad1}/50 well-formed answered correctly after`, bad1 === 0);
  out(`fault: 200 clients disconnecting mid-request (100 mid-body, 100 awaiting the answer): ${bad1 === 0 ? "server up, 50/50 well-formed requests answered correctly" : "FAILED"} (${((performance.now() - t) / 1000).toFixed(1)} s), rss ${mb(pid)}`);

  // 2. Malformed JSON.
  t = performance.now();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const malformed = ['{"inputs": "unterminated', "{inputs: 1}", "[]", '{"inputs": 42}', "\u0000\u0001", '{"inputs": ["a", "b", "c"]}'];
  const codes = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const r = await post(agent, url, "/predict", malformed[i % malformed.length]).catch(() => ({ status: -1 }));
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
    }),
  );
  agent.destroy();
  const bad2 = await wellFormed(50);
  row("1,000 malformed JSON bodies", `statuses ${JSON.stringify(Object.fromEntries(codes))}; ${50 - bad2}/50 well-formed correct after`, bad2 === 0 && codes.get(422) === 1000);
  out(`fault: 1,000 malformed JSON bodies: statuses ${JSON.stringify(Object.fromEntries(codes))}; ${bad2 === 0 ? "50/50 well-formed answered correctly" : "FAILED"} (${((performance.now() - t) / 1000).toFixed(1)} s), rss ${mb(pid)}`);

  // 3. 10 MB bodies.
  t = performance.now();
  const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
  const bigCodes = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${url}/predict`, { method: "POST", body: big }).then(
      (x) => String(x.status),
      () => "closed",
    );
    bigCodes.set(r, (bigCodes.get(r) ?? 0) + 1);
  }
  const bad3 = await wellFormed(50);
  row("20 bodies of 10 MB", `${JSON.stringify(Object.fromEntries(bigCodes))}; ${50 - bad3}/50 well-formed correct after`, bad3 === 0 && [...bigCodes.keys()].every((k) => k === "413" || k === "closed"));
  out(`fault: 20 bodies of 10 MB: ${JSON.stringify(Object.fromEntries(bigCodes))} (413, or the socket closed after the 413 while the client still sent); ${bad3 === 0 ? "50/50 well-formed answered correctly" : "FAILED"} (${((performance.now() - t) / 1000).toFixed(1)} s), rss ${mb(pid)}`);

  // 4. Slowloris: 50 connections sending their headers one byte a second.
  t = performance.now();
  let closedByServer = 0;
  const slow = Array.from(
    { length: 50 },
    () =>
      new Promise<void>((res) => {
        const s = connect(Number(port), hostname);
        const head = "POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(100);
        let i = 0;
        const timer = setInterval(() => s.write(head[i++ % head.length]), 1000);
        const giveUp = setTimeout(() => s.destroy(), 30_000);
        s.on("close", () => {
          clearInterval(timer);
          clearTimeout(giveUp);
          if (i < 30) closedByServer++;
          res();
        });
        s.on("error", () => undefined);
      }),
  );
  await sleep(1500);
  const duringSlow = await wellFormed(50);
  await Promise.all(slow);
  row("50 slowloris connections (1 byte/s headers)", `${closedByServer}/50 closed by the header timeout; ${50 - duringSlow}/50 well-formed correct during them`, closedByServer === 50 && duringSlow === 0);
  out(`fault: 50 slowloris connections (headers at one byte a second): ${closedByServer}/50 closed by the server's header timeout after ${((performance.now() - t) / 1000).toFixed(1)} s; during them ${duringSlow === 0 ? "50/50 well-formed answered correctly" : `${duringSlow} FAILED`}`);

  out(`rss after faults: ${(rssKb(pid) / 1024).toFixed(1)} MB`);
}

async function pastLimit(modelDir: string, texts: string[], expected: Map<string, Prediction>): Promise<void> {
  // A second server with a small concurrency limit: 10,000 requests over 256 connections.
  const { child, url } = await startServer(modelDir, ["--max-concurrent-requests", "32", "--log-format", "json"]);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const codes = new Map<number, number>();
  let wrong = 0;
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < 10_000) {
        const text = texts[next++ % texts.length];
        const r = await post(agent, url, "/predict", JSON.stringify({ inputs: text, truncate: true })).catch(() => ({ status: -1, body: null, ms: 0 }));
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status === 200 && JSON.stringify(r.body) !== JSON.stringify(expected.get(text))) wrong++;
        if (r.status === 429 && JSON.stringify(r.body) !== JSON.stringify({ error: "Model is overloaded", error_type: "Overloaded" })) wrong++;
      }
    }),
  );
  agent.destroy();
  const health = (await fetch(`${url}/health`)).status;
  const code = await stopServer(child);
  row("10,000 requests past --max-concurrent-requests 32", `statuses ${JSON.stringify(Object.fromEntries(codes))}; ${wrong} wrong; /health ${health}; exit ${code}`, wrong === 0 && health === 200 && code === 0 && [...codes.keys()].every((k) => k === 200 || k === 429));
  out(
    `fault: 10,000 requests over 256 connections at --max-concurrent-requests 32: statuses ${JSON.stringify(Object.fromEntries(codes))}, ${wrong} wrong answers, ` +
      `/health ${health} after, exit ${code} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const userModel = opt("model", "");
  const model = prepareModel({ model: userModel === "" ? null : userModel, ref: "/tmp/refmodel-base", seed: 1 });
  const shared = sharedDir();
  if (shared === null) throw new Error("needs ../shared/data/sst2-dev.tsv");
  const texts = readFileSync(join(shared, "data/sst2-dev.tsv"), "utf8")
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0].trim())
    .filter((t) => t !== "");
  out(`serve-stress: model ${model.kind} ${resolve(model.dir)}, ${texts.length} SST-2 dev sentences (mixed lengths), threads ${THREADS}`);
  const expected = cliAnswers(model.dir, texts);
  const bound = await engineBound(model.dir, texts, CLIENTS, Math.max(SINGLE, 2 * CLIENTS));
  out(
    `engine alone, ${THREADS} thread(s): ${bound.single.toFixed(1)} sentences/s one per call, ${bound.batched.toFixed(1)} in calls of ${CLIENTS}: ` +
      `batching can gain at most ${(bound.batched / bound.single).toFixed(2)}×`,
  );
  const { child, url } = await startServer(model.dir, ["--log-format", "json", "--header-timeout-ms", "5000"]);
  const pid = child.pid!;
  // Warm-up. First the largest batch 64 clients can make: the longest texts at once, twice (the model's arena keeps
  // the size of the largest batch so far, and a 30-minute load meets it sooner or later: a run whose warm-up did not
  // grew 33% during the load, wasm memory included, then stayed flat). Then the load's own pattern (64 clients),
  // every text at least once (JIT, buffers, heap sized for the load), in rounds until RSS grows less than 2% in a
  // round (at most 8): then the post-warm-up RSS. Rounds of 5,000: under 64 clients V8 reserves a larger heap over
  // the first minute (heap reserved 56 → 150 MB while the heap in use cycles between 18 and 62 MB), which rounds of
  // 1,000 did not reach.
  const longest = [...texts].sort((a, b) => b.length - a.length).slice(0, CLIENTS);
  for (let i = 0; i < 2; i++) await load(url, longest, expected, CLIENTS, CLIENTS);
  let rssWarm = rssKb(pid);
  for (let round = 1; round <= 8; round++) {
    await load(url, texts, expected, CLIENTS, WARM);
    const now = rssKb(pid);
    const grew = (now - rssWarm) / rssWarm;
    rssWarm = now;
    if (round > 1 && grew < 0.02) {
      out(`rss after warm-up: ${(rssWarm / 1024).toFixed(1)} MB (${round} rounds of ${WARM} requests; the last grew ${(grew * 100).toFixed(1)}%)`);
      break;
    }
    if (round === 8) out(`rss after warm-up: ${(rssWarm / 1024).toFixed(1)} MB (still growing ${(grew * 100).toFixed(1)}% a round after 8 rounds)`);
  }

  const one = await load(url, texts, expected, 1, SINGLE);
  out(`load 1 client × ${SINGLE}: ${one.rps.toFixed(1)} req/s, p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms, mismatches ${one.mismatches}, errors ${one.errors}`);
  // RSS and the model's wasm memory every 5 s of the load: flat, or growing?
  const samples: { rss: number; wasm: number; heapUsed: number; heapTotal: number }[] = [];
  const sample = async () => samples.push({ rss: rssKb(pid) / 1024, ...(await serverMemory(url)) });
  await sample();
  const sampler = setInterval(() => void sample(), 5000);
  const many = await load(url, texts, expected, CLIENTS, REQUESTS);
  clearInterval(sampler);
  await sample();
  const rssSeries = samples.map((x) => x.rss);
  const tenths = Array.from({ length: 11 }, (_, i) => rssSeries[Math.min(rssSeries.length - 1, Math.round((i * (rssSeries.length - 1)) / 10))].toFixed(0));
  const tenth = (i: number) => samples[Math.min(samples.length - 1, Math.round((i * (samples.length - 1)) / 10))];
  out(`RSS at each tenth of the load, MB: ${tenths.join(" ")}`);
  out(`V8 heap used / reserved at each tenth, MB: ${Array.from({ length: 11 }, (_, i) => `${tenth(i).heapUsed.toFixed(0)}/${tenth(i).heapTotal.toFixed(0)}`).join(" ")}`);
  const rssMin = Math.min(...rssSeries);
  const rssMax = Math.max(...rssSeries);
  out(
    `memory during the load (${samples.length} samples, every 5 s): RSS ${rssSeries[0].toFixed(1)} → ${rssSeries[rssSeries.length - 1].toFixed(1)} MB ` +
      `(min ${rssMin.toFixed(1)}, max ${rssMax.toFixed(1)}); wasm memory ${samples[0].wasm.toFixed(1)} → ${samples[samples.length - 1].wasm.toFixed(1)} MB`,
  );
  row(
    "memory flat under the load (RSS within 10% of its first sample)",
    `RSS ${rssSeries[0].toFixed(1)} → ${rssSeries[rssSeries.length - 1].toFixed(1)} MB (min ${rssMin.toFixed(1)}, max ${rssMax.toFixed(1)}, ${samples.length} samples); wasm ${samples[0].wasm.toFixed(1)} → ${samples[samples.length - 1].wasm.toFixed(1)} MB`,
    rssMax <= 1.1 * rssSeries[0],
  );
  out(
    `load ${CLIENTS} clients × ${REQUESTS} requests: ${many.rps.toFixed(1)} req/s, p50 ${many.p50.toFixed(1)} ms, p99 ${many.p99.toFixed(1)} ms, ` +
      `statuses ${JSON.stringify(Object.fromEntries(many.statuses))}, mismatches ${many.mismatches}, errors ${many.errors}, ${many.seconds.toFixed(1)} s`,
  );
  row(`load: 1 client × ${SINGLE}`, `${one.rps.toFixed(1)} req/s, p50 ${one.p50.toFixed(1)} ms, p99 ${one.p99.toFixed(1)} ms`, one.mismatches === 0 && one.errors === 0);
  row(`load: ${CLIENTS} clients × ${REQUESTS}`, `${many.rps.toFixed(1)} req/s, p50 ${many.p50.toFixed(1)} ms, p99 ${many.p99.toFixed(1)} ms; ${many.mismatches} mismatches, ${many.errors} errors`, many.mismatches === 0 && many.errors === 0);
  row(
    `throughput ${CLIENTS} clients / 1 client (≥ 3×)`,
    `${(many.rps / one.rps).toFixed(2)}×; the engine alone gains ${(bound.batched / bound.single).toFixed(2)}× from batches of ${CLIENTS} ` +
      `(${bound.single.toFixed(1)} → ${bound.batched.toFixed(1)} sentences/s); server at ${((100 * many.rps) / bound.batched).toFixed(0)}% of the batched engine, ` +
      `${((100 * one.rps) / bound.single).toFixed(0)}% of the one-per-call engine`,
    many.rps / one.rps >= 3,
  );
  out(`throughput ratio ${CLIENTS} clients / 1 client: ${(many.rps / one.rps).toFixed(2)}× (target ≥ 3×)`);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/^te_batch_size_sum (\S+)$/m.exec(metrics)?.[1]);
  const count = Number(/^te_batch_size_count (\S+)$/m.exec(metrics)?.[1]);
  out(`batches: ${count} model calls for ${sum} inputs (mean ${(sum / count).toFixed(1)} inputs a call)`);
  out(`rss after load: ${(rssKb(pid) / 1024).toFixed(1)} MB`);

  if (!args.includes("--skip-faults")) {
    await faults(url, pid, texts, expected);
    await pastLimit(model.dir, texts, expected);
  }
  // Settle, then compare with the post-warm-up level.
  await sleep(3000);
  const rssEnd = rssKb(pid);
  row("rss at the end vs post-warm-up (within 10%)", `${(rssEnd / 1024).toFixed(1)} MB vs ${(rssWarm / 1024).toFixed(1)} MB: ${(((rssEnd - rssWarm) / rssWarm) * 100).toFixed(1)}%`, Math.abs(rssEnd - rssWarm) / rssWarm <= 0.1);
  out(`rss at the end: ${(rssEnd / 1024).toFixed(1)} MB, ${(((rssEnd - rssWarm) / rssWarm) * 100).toFixed(1)}% from post-warm-up (target within 10%)`);
  const health = (await fetch(`${url}/health`)).status;
  const code = await stopServer(child);
  out(`server: /health ${health} at the end; SIGTERM → exit ${code}`);
  row("server after everything", `/health ${health}; SIGTERM → exit ${code}`, health === 200 && code === 0);

  out("");
  out("| check | result | ok |");
  out("|---|---|---|");
  for (const r of summary) out(`| ${r.check} | ${r.result} | ${r.ok ? "yes" : "NO"} |`);
  out(JSON.stringify({ bench: "serve-stress", model: resolve(model.dir), threads: Number(THREADS), requests: REQUESTS, clients: CLIENTS, single: SINGLE, engine: bound, one: { ...one, statuses: Object.fromEntries(one.statuses) }, many: { ...many, statuses: Object.fromEntries(many.statuses) }, rssWarmKb: rssWarm, rssEndKb: rssEnd, summary }));
  if (summary.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`serve-stress: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
