/** `distilbert-ts serve`: the TEI-compatible HTTP server (src/server) on Node's http module. */
import { printable } from "../../printable.js";
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { UsageError } from "../../errors.js";
import { createHandler, type AccessLogEntry } from "../../server/handler.js";
import { resolveModelDir, stringOpt, type CliIO, type Command, type Values } from "../cli-support.js";
import { readManifest } from "../download.js";
import { positiveInt } from "../formats/batch.js";
import { loadModelFromDir } from "../model-dir.js";
import { nodeProcessMetrics, serveNode } from "../serve.js";

function nonNegativeInt(s: string, option: string): number {
  return s === "0" ? 0 : positiveInt(s, option);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

export const serveCommand: Command = {
  name: "serve",
  summary: "serve the model over HTTP with Text Embeddings Inference's API (/predict, /embed, /fill-mask, /qa, /ner, /tokenize, /info, /health, /metrics)",
  usage: [
    "distilbert-ts serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--threads N] [--dtype float32|q8]",
    "                    [--max-batch-tokens 16384] [--max-concurrent-requests 512] [--max-client-batch-size 32]",
    "                    [--payload-limit 2000000] [--max-batch-wait-ms 2] [--request-timeout-ms 30000]",
    "                    [--header-timeout-ms 10000] [--log-format text|json] [--pooling mean|cls|max]",
    "  routes by the model's head: POST /predict (sequence classifier), /embed and /embed_all (encoder or",
    "  sentence-transformers folder; --pooling for a bare encoder), /fill-mask, /qa, /ner; for every model",
    "  POST /tokenize, GET /health, /info, /metrics; POST / is the head's route.",
    "  prints `listening on http://HOST:PORT` when ready (--port 0: any free port); SIGTERM/SIGINT: stop taking",
    "  requests, finish those in flight, exit 0. One access-log line per request on stdout (--log-format json: JSON).",
  ].join("\n"),
  options: {
    model: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    threads: { type: "string" },
    dtype: { type: "string" },
    "max-batch-tokens": { type: "string" },
    "max-concurrent-requests": { type: "string" },
    "max-client-batch-size": { type: "string" },
    "payload-limit": { type: "string" },
    "max-batch-wait-ms": { type: "string" },
    "request-timeout-ms": { type: "string" },
    "header-timeout-ms": { type: "string" },
    "log-format": { type: "string" },
    pooling: { type: "string" },
  },
  async run(values: Values, _positionals: string[], io: CliIO): Promise<number> {
    const int = (name: string) => {
      const v = stringOpt(values, name);
      return v === undefined ? undefined : name === "max-batch-wait-ms" ? nonNegativeInt(v, `--${name}`) : positiveInt(v, `--${name}`);
    };
    const host = stringOpt(values, "host") ?? "127.0.0.1";
    const portArg = stringOpt(values, "port") ?? "8080";
    const port = nonNegativeInt(portArg, "--port");
    if (port > 65535) throw new UsageError("--port", `is ${portArg}`, "a port from 0 to 65535");
    const logFormat = stringOpt(values, "log-format") ?? "text";
    if (logFormat !== "text" && logFormat !== "json") throw new UsageError("--log-format", `is ${JSON.stringify(logFormat)}`, "text or json");
    const pooling = stringOpt(values, "pooling") ?? "mean";
    if (pooling !== "mean" && pooling !== "cls" && pooling !== "max") throw new UsageError("--pooling", `is ${JSON.stringify(pooling)}`, "mean, cls or max");
    // TEI's name for f32 is float32; q8 runs int8 weights and activations (a quantized folder runs q8 by itself).
    const dtypeArg = stringOpt(values, "dtype");
    if (dtypeArg !== undefined && !["float32", "f32", "q8", "auto"].includes(dtypeArg)) {
      throw new UsageError("--dtype", `is ${JSON.stringify(dtypeArg)}`, "float32, q8 or auto (float16 is not computed by this engine)");
    }
    const dtype = dtypeArg === undefined ? "auto" : dtypeArg === "float32" ? "f32" : (dtypeArg as "f32" | "q8" | "auto");
    const limits = {
      maxBatchTokens: int("max-batch-tokens"),
      maxConcurrentRequests: int("max-concurrent-requests"),
      maxClientBatchSize: int("max-client-batch-size"),
      payloadLimit: int("payload-limit"),
      maxBatchWaitMs: int("max-batch-wait-ms"),
      requestTimeoutMs: int("request-timeout-ms"),
    };
    const headersTimeoutMs = int("header-timeout-ms");
    const threads = int("threads") ?? 1;

    const dir = await resolveModelDir(stringOpt(values, "model"), io);
    const model = await loadModelFromDir(dir, { threads, dtype, checkWeights: values["check-weights"] === true });
    const manifest = await readManifest(dir);
    const write = (line: string) => io.stdout.write(line + "\n");
    const log =
      logFormat === "json"
        ? (e: AccessLogEntry) => write(JSON.stringify(e))
        : (e: AccessLogEntry) => write(`${e.time} ${printable(e.method, 20)} ${printable(e.path, 200)} ${e.status} ${e.duration_ms}ms${e.error_type ? ` ${e.error_type}` : ""}`);
    // What the matrices run in: q8 when asked, or by itself for a quantized (I8) folder (weights.ts's "auto").
    const computed = dtype === "q8" || (dtype === "auto" && (model.loadReport.dtypes.I8 ?? 0) > 0) ? "q8" : "float32";
    const handler = createHandler(model, {
      ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
      info: { modelId: manifest?.model_id ?? basename(resolve(dir)), modelSha: manifest?.commit ?? manifest?.revision ?? null, modelDtype: computed, version: packageVersion() },
      log,
      pooling,
      hostMetrics: nodeProcessMetrics,
      onInternalError: (e) => io.stderr.write(`error: internal error while serving: ${printable(e instanceof Error ? e.message : String(e), 400)}\n`),
    });
    const served = await serveNode(handler, { host, port, headersTimeoutMs });
    write(`listening on ${served.url}`);

    // The first SIGTERM/SIGINT drains; the process exits once every request in flight is answered.
    await new Promise<void>((done) => {
      const stop = (signal: NodeJS.Signals) => {
        process.removeListener("SIGTERM", stop);
        process.removeListener("SIGINT", stop);
        const msg = `${signal}: finishing ${handler.inFlight} request${handler.inFlight === 1 ? "" : "s"} in flight, then stopping`;
        write(logFormat === "json" ? JSON.stringify({ time: new Date().toISOString(), event: "shutdown", signal, in_flight: handler.inFlight }) : msg);
        void served.shutdown().then(done);
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
    return 0;
  },
};
