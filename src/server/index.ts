/**
 * distilbert-ts/server: the TEI-compatible request handler (Fetch API), with the whole core, for any host:
 *
 *   import { loadModel, createHandler } from "distilbert-ts/server";
 *   const handler = createHandler(await loadModel({ config, vocab, weights }));
 *   Deno.serve((req) => handler.fetch(req));          // or Bun.serve({ fetch: handler.fetch }), or a Worker
 */
export * from "../index.js";
export { createHandler, DEFAULT_LIMITS, DEFAULT_ROUTES, type AccessLogEntry, type HandlerOptions, type ServeExtra, type ServerHandler } from "./handler.js";
export { DynamicBatcher, type BatcherOptions, type BatchStats } from "./batcher.js";
export { HttpError, type ErrorType } from "./http-error.js";
export type { ModelInfo, Route, RouteContext, RouteRequest, ServerLimits } from "./context.js";
export { ServerMetrics } from "./metrics.js";
