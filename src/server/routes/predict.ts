/**
 * POST /predict, as TEI: `{ inputs, truncate?, raw_scores? }` where inputs is a string, a pair [a, b], or a batch of
 * [text] and [a, b] lists. Answers `[{score, label}]` sorted by score (a list of those per input for a batch).
 * A pair is read as Hugging Face reads it for DistilBERT: [CLS] a [SEP] b [SEP].
 */
import type { DistilBertClassifier } from "../../model/classifier.js";
import { batchTooLarge, boolField, readJsonObject, type Route, type RouteContext, type RouteRequest } from "../context.js";
import { HttpError, jsonResponse, tooLarge, validation } from "../http-error.js";

type Sequence = string | readonly [string, string];

/** TEI's rules: a first element that is a string makes the whole array one input (1 string, or a pair of 2). */
export function parsePredictInputs(v: unknown, maxBatch: number): { batch: boolean; sequences: Sequence[] } {
  const expected = "`inputs` must be a string, a pair of strings [string, string] or a batch of mixed strings and pairs [[string], [string, string], ...]";
  if (typeof v === "string") return { batch: false, sequences: [v] };
  if (!Array.isArray(v) || v.length === 0) throw validation(expected);
  if (typeof v[0] === "string") {
    if (v.length > 2 || !v.every((s) => typeof s === "string")) throw validation(expected);
    return { batch: false, sequences: [v.length === 1 ? v[0] : [v[0], v[1]]] };
  }
  if (v.length > maxBatch) throw batchTooLarge(v.length, maxBatch);
  const sequences = v.map((s: unknown, i): Sequence => {
    if (!Array.isArray(s) || s.length < 1 || s.length > 2 || !s.every((x) => typeof x === "string")) {
      throw validation(`\`inputs[${i}]\`: ${expected}`);
    }
    return s.length === 1 ? (s[0] as string) : [s[0] as string, s[1] as string];
  });
  return { batch: true, sequences };
}

/** Token ids of one input: [CLS] text [SEP] or [CLS] a [SEP] b [SEP]; too long is 413 unless truncate. */
export function encodeSequence(model: DistilBertClassifier, seq: Sequence, truncate: boolean): number[] {
  const { tokenizer } = model;
  const max = model.maxLength;
  if (typeof seq === "string") {
    if (seq.length === 0) throw validation("`inputs` cannot be empty");
    const e = tokenizer.encode(seq, { maxLength: max });
    if (e.truncated && !truncate) throw tooLong(max, e.numTokens);
    return e.ids;
  }
  if (seq[0].length === 0 || seq[1].length === 0) throw validation("`inputs` cannot be empty");
  const a = tokenizer.tokenizeToIds(seq[0]).ids;
  const b = tokenizer.tokenizeToIds(seq[1]).ids;
  const total = a.length + b.length + 3;
  if (total > max) {
    if (!truncate) throw tooLong(max, total);
    // Hugging Face's "longest_first": one token at a time from whichever part is longer (the second on a tie).
    let [na, nb] = [a.length, b.length];
    for (let over = total - max; over > 0; over--) {
      if (na > nb) na--;
      else nb--;
    }
    a.length = na;
    b.length = nb;
  }
  return [tokenizer.clsId, ...a, tokenizer.sepId, ...b, tokenizer.sepId];
}

function tooLong(max: number, given: number): HttpError {
  return tooLarge(`Input validation error: \`inputs\` must have less than ${max} tokens. Given: ${given}`);
}

/** TEI's order: by score, highest first; ties in reverse label order (TEI sorts ascending, then reverses). */
export function predictions(model: DistilBertClassifier, logits: Float32Array, raw: boolean): { score: number; label: string }[] {
  const c = model.toClassification(logits, [], false);
  const labels = model.config.labels;
  const list = labels.map((label, j) => ({ score: raw ? c.logits[j] : c.scores[label], label }));
  if (list.some((p) => Number.isNaN(p.score))) throw new HttpError(424, "Backend", "score is NaN");
  return list.sort((x, y) => x.score - y.score).reverse();
}

async function handle(ctx: RouteContext, { request, signal }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  const truncate = boolField(body, "truncate", false);
  const raw = boolField(body, "raw_scores", false);
  const { batch, sequences } = parsePredictInputs(body.inputs, ctx.limits.maxClientBatchSize);
  const ids = sequences.map((s) => encodeSequence(ctx.model, s, truncate));
  const logits = await Promise.all(ids.map((s) => ctx.batcher.submit(s, signal)));
  const out = logits.map((l) => predictions(ctx.model, l, raw));
  return jsonResponse(batch ? out : out[0]);
}

export const predictRoute: Route = { method: "POST", paths: ["/predict", "/", "/invocations"], name: "predict", inference: true, handle };
