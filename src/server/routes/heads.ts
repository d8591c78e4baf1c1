/**
 * The other DistilBERT heads, in TEI's style (one POST route per task, `inputs` plus snake_case options, errors as
 * `{error, error_type}`): POST /fill-mask, /question-answering (alias /qa), /token-classification (alias /ner).
 * TEI has no such routes; the bodies follow Hugging Face's Inference API for these tasks, and each answer is the
 * pipeline's (src/pipelines) for that input alone: the route runs the pipeline's own plan, with its model call made
 * by the batcher alongside other requests' inputs.
 */
import type { QaInput } from "../../pipelines/question-answering.js";
import { questionAnsweringPlan } from "../../pipelines/question-answering.js";
import { fillMaskPlan } from "../../pipelines/fill-mask.js";
import { AGGREGATIONS, type Aggregation, tokenClassificationPlan } from "../../pipelines/token-classification.js";
import { batchTooLarge, boolField, countField, intField, plan, readJsonObject, requireArchitecture, runPlan, stringInputs, type Route, type RouteContext, type RouteRequest } from "../context.js";
import { jsonResponse, validation } from "../http-error.js";

/** `{ inputs: string | string[], top_k?, targets?: string | string[], truncate? }` → candidates per mask. */
async function fillMask(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  requireArchitecture(ctx, "DistilBertForMaskedLM");
  const { batch, texts } = stringInputs(body, ctx.limits);
  const topK = intField(body, "top_k");
  const targets = body.targets ?? undefined;
  if (targets !== undefined && typeof targets !== "string" && !(Array.isArray(targets) && targets.length > 0 && targets.every((t) => typeof t === "string"))) {
    throw validation("`targets` must be a string or a non-empty list of strings");
  }
  const p = plan(() => fillMaskPlan(ctx.model, texts, { topK, targets: targets as string | string[] | undefined }));
  const out = await runPlan(ctx, p, texts, boolField(body, "truncate", false), signal);
  return jsonResponse(batch ? out : out[0]);
}

/** `inputs` of /question-answering: one `{question, context}` or a list of them. */
function qaInputs(v: unknown, max: number): { batch: boolean; list: QaInput[] } {
  const one = (q: unknown, where: string): QaInput => {
    const o = q as { question?: unknown; context?: unknown } | null;
    if (o === null || typeof o !== "object" || Array.isArray(o) || typeof o.question !== "string" || typeof o.context !== "string") {
      throw validation(`\`${where}\` must be an object {question: string, context: string}`);
    }
    if (o.question.trim() === "" || o.context.trim() === "") throw validation(`\`${where}\`: question and context cannot be empty`);
    return { question: o.question, context: o.context };
  };
  if (!Array.isArray(v)) return { batch: false, list: [one(v, "inputs")] };
  if (v.length === 0) throw validation("`inputs` cannot be empty");
  if (v.length > max) throw batchTooLarge(v.length, max);
  return { batch: true, list: v.map((q, i) => one(q, `inputs[${i}]`)) };
}

/**
 * `{ inputs: {question, context} | [...], top_k?, max_seq_len?, doc_stride?, max_answer_len?, align_to_words?,
 * handle_impossible_answer?, stop_at_max_length? }` → `{score, start, end, answer}` (a list of them when top_k > 1).
 * A long context is read in overlapping windows, as the pipeline reads it, so there is nothing to truncate
 * (stop_at_max_length: the windows of tokenizers 0.23, which stop after about max_seq_len tokens of the context).
 */
async function questionAnswering(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  requireArchitecture(ctx, "DistilBertForQuestionAnswering");
  const { batch, list } = qaInputs(body.inputs, ctx.limits.maxClientBatchSize);
  const p = plan(() =>
    questionAnsweringPlan(ctx.model, list, {
      topK: intField(body, "top_k"),
      maxSeqLen: intField(body, "max_seq_len"),
      docStride: countField(body, "doc_stride"),
      maxAnswerLen: intField(body, "max_answer_len"),
      alignToWords: boolField(body, "align_to_words", true),
      handleImpossibleAnswer: boolField(body, "handle_impossible_answer", false),
      stopAtMaxLength: boolField(body, "stop_at_max_length", false),
    }),
  );
  const out = await runPlan(ctx, p, null, true, signal);
  return jsonResponse(batch ? out : out[0]);
}

/** `{ inputs: string | string[], aggregation_strategy? = "none", ignore_labels? = ["O"], truncate? }` → entities. */
async function tokenClassification(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  requireArchitecture(ctx, "DistilBertForTokenClassification");
  const { batch, texts } = stringInputs(body, ctx.limits);
  const aggregation = body.aggregation_strategy ?? "none";
  if (typeof aggregation !== "string" || !AGGREGATIONS.includes(aggregation as Aggregation)) {
    throw validation(`\`aggregation_strategy\` must be one of ${AGGREGATIONS.map((a) => `"${a}"`).join(", ")}`);
  }
  const ignore = body.ignore_labels ?? undefined;
  if (ignore !== undefined && !(Array.isArray(ignore) && ignore.every((l) => typeof l === "string"))) throw validation("`ignore_labels` must be a list of strings");
  const p = plan(() => tokenClassificationPlan(ctx.model, texts, { aggregation: aggregation as Aggregation, ignoreLabels: ignore as string[] | undefined }));
  const out = await runPlan(ctx, p, texts, boolField(body, "truncate", false), signal);
  return jsonResponse(batch ? out : out[0]);
}

export const fillMaskRoute: Route = { method: "POST", paths: ["/fill-mask"], name: "fill_mask", inference: true, handle: fillMask };
export const questionAnsweringRoute: Route = { method: "POST", paths: ["/question-answering", "/qa"], name: "question_answering", inference: true, handle: questionAnswering };
export const tokenClassificationRoute: Route = { method: "POST", paths: ["/token-classification", "/ner"], name: "token_classification", inference: true, handle: tokenClassification };
