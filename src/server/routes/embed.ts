/**
 * POST /embed, as TEI: `{ inputs, normalize? = true, truncate? }` → one vector per input. It needs a model whose
 * head gives embeddings (an encoder or sentence-transformers folder); a sequence classifier has none, and TEI answers
 * that case with 424 Backend "model is not an embedding model", as here.
 */
import { readJsonObject, type Route, type RouteContext, type RouteRequest } from "../context.js";
import { HttpError } from "../http-error.js";

async function handle(ctx: RouteContext, { request }: RouteRequest): Promise<Response> {
  // The body is still read and checked (413/422 come first, as in TEI, whose JSON extractor runs before the handler).
  await readJsonObject(request, ctx.limits.payloadLimit);
  throw new HttpError(424, "Backend", "model is not an embedding model");
}

export const embedRoute: Route = { method: "POST", paths: ["/embed"], name: "embed", inference: true, handle };
