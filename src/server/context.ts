/** What every route module gets: the model, the batcher, the limits, the metrics, and request-body helpers. */
import type { DistilBertClassifier } from "../model/classifier.js";
import { quoted } from "../printable.js";
import type { DynamicBatcher } from "./batcher.js";
import { HttpError, tooLarge, validation } from "./http-error.js";
import type { ServerMetrics } from "./metrics.js";

export interface ServerLimits {
  /** Token budget of one model batch (TEI's --max-batch-tokens). */
  maxBatchTokens: number;
  /** Inference requests in progress at once; past it, 429 Overloaded. */
  maxConcurrentRequests: number;
  /** Largest request body, in bytes; past it, 413. */
  payloadLimit: number;
  /** Most inputs in one request (TEI's --max-client-batch-size); past it, 413. */
  maxClientBatchSize: number;
  /** How long the first input at an idle queue waits for others, in ms. */
  maxBatchWaitMs: number;
  /** A request not answered by then gets 504 Timeout (its inputs leave the queue if they have not started). */
  requestTimeoutMs: number;
}

/** What /info reports beyond the limits (the host knows where the model came from). */
export interface ModelInfo {
  modelId: string;
  modelSha: string | null;
  modelDtype: string;
  version: string;
}

export interface RouteContext {
  model: DistilBertClassifier;
  batcher: DynamicBatcher;
  limits: ServerLimits;
  info: ModelInfo;
  metrics: ServerMetrics;
  draining: () => boolean;
  inFlight: () => number;
}

export interface RouteRequest {
  request: Request;
  /** Aborted when the client goes away or the request times out: queued inputs then leave the queue. */
  signal: AbortSignal;
}

export interface Route {
  method: "GET" | "POST";
  /** The path, and aliases (TEI also answers POST / and /invocations with the model's main route). */
  paths: readonly string[];
  /** The route's name in metrics and logs. */
  name: string;
  /** Counted against --max-concurrent-requests and refused with 503 while the server drains. */
  inference: boolean;
  handle(ctx: RouteContext, req: RouteRequest): Promise<Response>;
}

/** The body as UTF-8 text, refused (413) as soon as it passes the payload limit, whatever Content-Length says. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(`the body is ${declared} bytes; the payload limit is ${limit} bytes`);
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`the body is over the payload limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw validation("the body is not valid UTF-8");
  }
}

/** The body parsed as a JSON object (TEI's requests are all objects). */
export async function readJsonObject(request: Request, limit: number): Promise<Record<string, unknown>> {
  const text = await readBody(request, limit);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw validation(text.trim() === "" ? "the body is empty; expected a JSON object" : "the body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw validation("the body is not a JSON object");
  return value as Record<string, unknown>;
}

/** An optional boolean field (absent or null: the default). */
export function boolField(body: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw validation(`\`${name}\` must be a boolean`);
  return v;
}

/** TEI's `inputs` for /embed and /tokenize: a string or a list of strings. */
export function stringInputs(body: Record<string, unknown>, limits: ServerLimits): { batch: boolean; texts: string[] } {
  const v = body.inputs;
  if (typeof v === "string") return { batch: false, texts: [v] };
  if (!Array.isArray(v)) throw validation("`inputs` must be a string or a list of strings");
  if (v.length === 0) throw validation("`inputs` cannot be empty");
  if (v.length > limits.maxClientBatchSize) throw batchTooLarge(v.length, limits.maxClientBatchSize);
  v.forEach((t, i) => {
    if (typeof t !== "string") throw validation(`\`inputs[${i}]\` must be a string`);
  });
  return { batch: true, texts: v as string[] };
}

export function batchTooLarge(n: number, max: number): HttpError {
  return tooLarge(`batch size ${n} > maximum allowed batch size ${max}`);
}

/** A field's value for an error message: short, on one line. */
export function show(v: unknown): string {
  return typeof v === "string" ? quoted(v, 40) : typeof v;
}
