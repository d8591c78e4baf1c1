/**
 * POST /embed and /embed_all, as TEI, for a model whose head gives embeddings (a bare encoder, or a
 * sentence-transformers folder). /embed: `{ inputs, normalize? = true, truncate? }` → one vector per input, always
 * a list of vectors. A sentence-transformers model pools as its modules say (Pooling, Dense, Normalize); a bare
 * encoder pools as the server's --pooling says (TEI's flag; default mean). /embed_all: every token's vector
 * (`[input][token][dim]`), for a bare encoder only. A classifier has no embeddings: 424 Backend "model is not an
 * embedding model", as TEI answers. Each vector is the feature-extraction pipeline's for that input alone.
 */
import { featureExtractionPlan } from "../../pipelines/feature-extraction.js";
import { boolField, plan, readJsonObject, requireArchitecture, runPlan, stringInputs, type Route, type RouteContext, type RouteRequest } from "../context.js";
import { HttpError, jsonResponse } from "../http-error.js";

async function embed(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  // The body is read and checked first (413/422 before 424, as in TEI, whose JSON extractor runs before the handler).
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  requireArchitecture(ctx, "DistilBertModel");
  const { texts } = stringInputs(body, ctx.limits);
  const normalize = boolField(body, "normalize", true);
  const pooling = ctx.model.model.output === "sequence" ? undefined : ctx.pooling;
  const p = plan(() => featureExtractionPlan(ctx.model, texts, { pooling, normalize }));
  return jsonResponse(await runPlan(ctx, p, texts, boolField(body, "truncate", false), signal));
}

async function embedAll(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  requireArchitecture(ctx, "DistilBertModel");
  if (ctx.model.model.output === "sequence") throw new HttpError(424, "Backend", "`embed_all` is only available for models without pooling (this folder's sentence-transformers modules pool)");
  const { texts } = stringInputs(body, ctx.limits);
  const p = plan(() => featureExtractionPlan(ctx.model, texts, { pooling: "none", normalize: false }));
  // The pipeline's [1][T][dim] per text (transformers' shape) → TEI's [T][dim].
  const out = (await runPlan(ctx, p, texts, boolField(body, "truncate", false), signal)) as number[][][][];
  return jsonResponse(out.map((x) => x[0]));
}

export const embedRoute: Route = { method: "POST", paths: ["/embed"], name: "embed", inference: true, handle: embed };
export const embedAllRoute: Route = { method: "POST", paths: ["/embed_all"], name: "embed_all", inference: true, handle: embedAll };
