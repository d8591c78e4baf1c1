/**
 * POST /tokenize, as TEI: `{ inputs: string | string[], add_special_tokens? = true }` → one list of tokens per input
 * (always a list of lists), each `{ id, text, special, start, stop }`. start/stop are UTF-8 byte offsets into the
 * input (TEI's, from the Rust tokenizers); special tokens have null offsets and their own name as text.
 */
import type { DistilBertClassifier } from "../../model/classifier.js";
import { boolField, readJsonObject, stringInputs, type Route, type RouteContext, type RouteRequest } from "../context.js";
import { jsonResponse } from "../http-error.js";

export interface SimpleToken {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

export function tokenizeText(model: DistilBertClassifier, text: string, addSpecial: boolean): SimpleToken[] {
  const { tokenizer } = model;
  const { ids, offsets } = tokenizer.tokenizeToIds(text);
  // UTF-16 offsets (ours) → UTF-8 byte offsets (TEI's): bytes before each UTF-16 index.
  const bytesBefore = new Uint32Array(text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytesBefore[i + 1] = bytesBefore[i] + (c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : c >= 0xdc00 && c <= 0xdfff ? 0 : 3);
  }
  const special = (id: number): SimpleToken => ({ id, text: tokenizer.idToToken(id)!, special: true, start: null, stop: null });
  const out: SimpleToken[] = [];
  if (addSpecial) out.push(special(tokenizer.clsId));
  ids.forEach((id, k) => {
    const [s, e] = offsets[k];
    out.push({ id, text: text.slice(s, e), special: false, start: bytesBefore[s], stop: bytesBefore[e] });
  });
  if (addSpecial) out.push(special(tokenizer.sepId));
  return out;
}

async function handle(ctx: RouteContext, { request }: RouteRequest): Promise<Response> {
  const body = await readJsonObject(request, ctx.limits.payloadLimit);
  const addSpecial = boolField(body, "add_special_tokens", true);
  const { texts } = stringInputs(body, ctx.limits);
  return jsonResponse(texts.map((t) => tokenizeText(ctx.model, t, addSpecial)));
}

// Tokenizing costs no model call, but a long text costs time: counted against the concurrency limit like the rest.
export const tokenizeRoute: Route = { method: "POST", paths: ["/tokenize"], name: "tokenize", inference: true, handle };
