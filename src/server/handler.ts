/**
 * The server as one Fetch API function (`Request` → `Response`), with no host-specific import: Node (through the
 * adapter in src/node/serve.ts), Deno.serve, Bun.serve and a Cloudflare Worker all call the same `fetch`.
 * Each task is a route module (routes/*.ts); this file routes, applies the limits (concurrency, draining, timeout),
 * turns errors into TEI's `{ error, error_type }`, and counts.
 */
import { DistilBertError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { printable } from "../printable.js";
import { DynamicBatcher } from "./batcher.js";
import type { Architecture } from "../model/config.js";
import { headRows } from "../pipelines/common.js";
import type { EmbedPooling, ModelInfo, Route, RouteContext, ServerLimits } from "./context.js";
import { errorResponse, HttpError } from "./http-error.js";
import { ServerMetrics } from "./metrics.js";
import { embedAllRoute, embedRoute } from "./routes/embed.js";
import { fillMaskRoute, questionAnsweringRoute, tokenClassificationRoute } from "./routes/heads.js";
import { predictRoute } from "./routes/predict.js";
import { healthRoute, infoRoute, metricsRoute } from "./routes/status.js";
import { tokenizeRoute } from "./routes/tokenize.js";

/** TEI's defaults, except the batch wait (TEI has none; a few ms lets concurrent requests meet). */
export const DEFAULT_LIMITS: ServerLimits = {
  maxBatchTokens: 16384,
  maxConcurrentRequests: 512,
  payloadLimit: 2_000_000,
  maxClientBatchSize: 32,
  maxBatchWaitMs: 2,
  requestTimeoutMs: 30_000,
};

export const DEFAULT_ROUTES: readonly Route[] = [
  predictRoute,
  embedRoute,
  embedAllRoute,
  fillMaskRoute,
  questionAnsweringRoute,
  tokenClassificationRoute,
  tokenizeRoute,
  healthRoute,
  infoRoute,
  metricsRoute,
];

/** The route POST / and /invocations stand for, by the model's head (TEI: the model's main route). */
const MAIN_ROUTE: Record<Architecture, Route> = {
  DistilBertForSequenceClassification: predictRoute,
  DistilBertModel: embedRoute,
  DistilBertForMaskedLM: fillMaskRoute,
  DistilBertForQuestionAnswering: questionAnsweringRoute,
  DistilBertForTokenClassification: tokenClassificationRoute,
};

/** One line of the access log (the host writes it: text or JSON). */
export interface AccessLogEntry {
  time: string;
  method: string;
  path: string;
  route: string;
  status: number;
  duration_ms: number;
  /** The client's address, when the host knows it. */
  remote?: string;
  /** For errors: the error's type. */
  error_type?: string;
}

export interface HandlerOptions extends Partial<ServerLimits> {
  info?: Partial<ModelInfo>;
  routes?: readonly Route[];
  /**
   * "dynamic" (default): inputs of concurrent requests share model calls. "per-request": each request's inputs run
   * together, never with another request's (Cloudflare Workers: one request must not settle another's promise).
   */
  batching?: "dynamic" | "per-request";
  /** Called once per answered request. */
  log?: (entry: AccessLogEntry) => void;
  /** How /embed pools a bare encoder's token vectors (TEI's --pooling); default "mean". */
  pooling?: EmbedPooling;
  /** Called with errors that are the server's fault (500s), for the host's log; the client gets no detail. */
  onInternalError?: (e: unknown) => void;
  /** Prometheus text the host appends to /metrics (the Node host: its process's memory, nodeProcessMetrics). */
  hostMetrics?: () => string;
}

export interface ServeExtra {
  remote?: string;
}

export interface ServerHandler {
  fetch(request: Request, extra?: ServeExtra): Promise<Response>;
  /** Stop taking inference requests (503, and /health answers 503); requests already in flight finish. */
  drain(): void;
  readonly draining: boolean;
  /** Requests in progress, of every route. */
  readonly inFlight: number;
  /** Resolves once no request is in progress. */
  idle(): Promise<void>;
  readonly limits: ServerLimits;
  readonly metrics: ServerMetrics;
  readonly batcher: DynamicBatcher;
}

export function createHandler(model: DistilBertClassifier, options: HandlerOptions = {}): ServerHandler {
  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const v = options[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < (k === "maxBatchWaitMs" ? 0 : 1)) {
      throw new HttpError(500, "Backend", `server option ${k} is ${String(v)}; expected a ${k === "maxBatchWaitMs" ? "non-negative" : "positive"} integer`);
    }
    limits[k] = v;
  }
  const pooling = options.pooling ?? "mean";
  if (!["mean", "cls", "max"].includes(pooling)) throw new HttpError(500, "Backend", `server option pooling is ${JSON.stringify(pooling)}; expected "mean", "cls" or "max"`);
  const main = MAIN_ROUTE[model.model.architecture];
  const routes = [...(options.routes ?? DEFAULT_ROUTES), { ...main, paths: ["/", "/invocations"] }];
  const byPath = new Map<string, Route[]>();
  for (const r of routes) for (const p of r.paths) byPath.set(p, [...(byPath.get(p) ?? []), r]);

  let draining = false;
  let inFlight = 0;
  let inferenceInFlight = 0;
  let idleWaiters: (() => void)[] = [];
  // The metrics read the batcher, which reports to the metrics: made in this order, joined by closures.
  let batcher: DynamicBatcher;
  const metrics = new ServerMetrics(
    () => batcher.depth,
    () => inferenceInFlight,
    () => (model.backend as { memoryBytes?: number }).memoryBytes ?? 0,
    options.hostMetrics,
  );
  // Every row of each sequence: the model's own batched call. Some rows only (fill-mask's masks): the pipelines' call.
  const run = (seqs: readonly (readonly number[])[], select: readonly (readonly number[] | undefined)[]) =>
    select.every((s) => s === undefined) ? model.logitsOf(seqs, limits.maxBatchTokens) : headRows(model, seqs, select, limits.maxBatchTokens);
  batcher = new DynamicBatcher(run, {
    maxBatchTokens: limits.maxBatchTokens,
    maxWaitMs: limits.maxBatchWaitMs,
    mode: options.batching ?? "dynamic",
    onBatch: (s) => {
      metrics.batchSize.observe(s.size);
      metrics.batchTokens.observe(s.tokens);
      metrics.batchDuration.observe(s.ms / 1000);
    },
    onQueued: (ms) => metrics.queueDuration.observe(ms / 1000),
  });
  const ctx: RouteContext = {
    model,
    batcher,
    limits,
    info: {
      modelId: options.info?.modelId ?? "distilbert",
      modelSha: options.info?.modelSha ?? null,
      modelDtype: options.info?.modelDtype ?? "float32",
      version: options.info?.version ?? "unknown",
    },
    metrics,
    draining: () => draining,
    inFlight: () => inferenceInFlight,
    pooling,
  };

  async function dispatch(request: Request, url: URL): Promise<{ route: string; response: Response }> {
    const candidates = byPath.get(url.pathname);
    if (candidates === undefined) throw Object.assign(new HttpError(404, "NotFound", `no route ${request.method} ${printable(url.pathname, 100)}`), { routeName: "other" });
    const route = candidates.find((r) => r.method === request.method);
    if (route === undefined) {
      throw Object.assign(new HttpError(405, "Validation", `${request.method} is not allowed on ${url.pathname}; use ${candidates.map((r) => r.method).join(" or ")}`), {
        routeName: candidates[0].name,
        allow: candidates.map((r) => r.method).join(", "),
      });
    }
    const fail = (e: HttpError) => Object.assign(e, { routeName: route.name });
    if (!route.inference) return { route: route.name, response: await route.handle(ctx, { request, signal: request.signal }) };
    if (draining) throw fail(new HttpError(503, "Unhealthy", "the server is shutting down"));
    if (inferenceInFlight >= limits.maxConcurrentRequests) throw fail(new HttpError(429, "Overloaded", "Model is overloaded"));
    inferenceInFlight++;
    // One signal for "stop waiting": the client went away, or the timeout passed. Queued inputs then leave the queue.
    const abort = new AbortController();
    const onClientAbort = () => abort.abort(new HttpError(499, "Validation", "the client closed the connection"));
    request.signal.addEventListener("abort", onClientAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = fail(new HttpError(504, "Timeout", `the request took longer than ${limits.requestTimeoutMs} ms`));
        abort.abort(e);
        reject(e);
      }, limits.requestTimeoutMs);
    });
    try {
      const response = await Promise.race([route.handle(ctx, { request, signal: abort.signal }), timeout]);
      return { route: route.name, response };
    } catch (e) {
      throw e instanceof HttpError ? fail(e) : Object.assign(e as object, { routeName: route.name });
    } finally {
      clearTimeout(timer);
      request.signal.removeEventListener("abort", onClientAbort);
      inferenceInFlight--;
    }
  }

  async function fetch(request: Request, extra: ServeExtra = {}): Promise<Response> {
    const started = Date.now();
    inFlight++;
    let routeName = "other";
    let response: Response;
    let errorType: string | undefined;
    try {
      const url = new URL(request.url);
      const r = await dispatch(request, url);
      routeName = r.route;
      response = r.response;
    } catch (e) {
      routeName = (e as { routeName?: string } | null)?.routeName ?? routeName;
      let err: HttpError;
      if (e instanceof HttpError) err = e;
      else if (e instanceof DistilBertError) err = new HttpError(422, "Tokenizer", e.message);
      else {
        options.onInternalError?.(e);
        err = new HttpError(500, "Backend", "internal error");
      }
      errorType = err.errorType;
      const allow = (e as { allow?: string }).allow;
      response = errorResponse(err, allow === undefined ? {} : { allow });
    } finally {
      inFlight--;
      if (inFlight === 0) {
        const w = idleWaiters;
        idleWaiters = [];
        w.forEach((f) => f());
      }
    }
    const seconds = (Date.now() - started) / 1000;
    metrics.requests.inc({ route: routeName, status: String(response.status) });
    metrics.duration.observe(seconds, { route: routeName });
    if (options.log !== undefined) {
      const u = safePath(request.url);
      const entry: AccessLogEntry = { time: new Date(started).toISOString(), method: request.method, path: u, route: routeName, status: response.status, duration_ms: Date.now() - started };
      if (extra.remote !== undefined) entry.remote = extra.remote;
      if (errorType !== undefined) entry.error_type = errorType;
      options.log(entry);
    }
    return response;
  }

  return {
    fetch,
    drain: () => {
      draining = true;
    },
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    limits,
    metrics,
    batcher,
  };
}

/** The request's path for the log: at most 200 characters, controls escaped. */
function safePath(url: string): string {
  try {
    return printable(new URL(url).pathname, 200);
  } catch {
    return "?";
  }
}
