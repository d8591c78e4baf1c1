/** GET /health, /info and /metrics: answered from memory, never queued behind the model. */
import type { Route, RouteContext } from "../context.js";
import { HttpError, jsonResponse } from "../http-error.js";

export const healthRoute: Route = {
  method: "GET",
  paths: ["/health", "/ping"],
  name: "health",
  inference: false,
  async handle(ctx) {
    // A draining server says so, so that a load balancer stops sending it work.
    if (ctx.draining()) throw new HttpError(503, "Unhealthy", "the server is shutting down");
    return new Response(null, { status: 200 });
  },
};

export function info(ctx: RouteContext): Record<string, unknown> {
  const { config } = ctx.model;
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  config.labels.forEach((l, i) => {
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  const l = ctx.limits;
  return {
    model_id: ctx.info.modelId,
    model_sha: ctx.info.modelSha,
    model_dtype: ctx.info.modelDtype,
    // TEI: a classifier with one label is a re-ranker.
    model_type: config.labels.length > 1 ? { classifier: { id2label, label2id } } : { reranker: { id2label, label2id } },
    max_concurrent_requests: l.maxConcurrentRequests,
    max_input_length: ctx.model.maxLength,
    max_batch_tokens: l.maxBatchTokens,
    max_batch_requests: null,
    max_client_batch_size: l.maxClientBatchSize,
    auto_truncate: false,
    tokenization_workers: 1,
    version: ctx.info.version,
    sha: null,
    docker_label: null,
    // Ours, beyond TEI's fields.
    backend: ctx.model.backend.name,
    max_batch_wait_ms: l.maxBatchWaitMs,
    request_timeout_ms: l.requestTimeoutMs,
    payload_limit: l.payloadLimit,
  };
}

export const infoRoute: Route = { method: "GET", paths: ["/info"], name: "info", inference: false, handle: async (ctx) => jsonResponse(info(ctx)) };

export const metricsRoute: Route = {
  method: "GET",
  paths: ["/metrics"],
  name: "metrics",
  inference: false,
  handle: async (ctx) => new Response(ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
};
