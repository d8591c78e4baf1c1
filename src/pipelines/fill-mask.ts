/**
 * fill-mask, as transformers' FillMaskPipeline: for each [MASK] the top_k tokens by softmax probability, each with
 * the sequence it makes (special tokens skipped when there is one mask, kept when there are several).
 */
import { InputError } from "../errors.js";
import { headRows, positiveInt, type PretrainedModel, requireHead, softmax64, texts, topK } from "./common.js";

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

export interface FillMaskOptions {
  /** Candidates per mask (default 5). */
  topK?: number;
  /** Only score these words (each a token of the vocabulary, else its first word piece, as HF). */
  targets?: string | readonly string[];
}

/** One mask: a list of candidates; several masks: one list per mask, in order. */
export type FillMaskOutput = FillMaskResult[] | FillMaskResult[][];

export function fillMask(model: PretrainedModel, input: string, options?: FillMaskOptions): FillMaskOutput;
export function fillMask(model: PretrainedModel, input: readonly string[], options?: FillMaskOptions): FillMaskOutput[];
export function fillMask(model: PretrainedModel, input: string | readonly string[], options: FillMaskOptions = {}): FillMaskOutput | FillMaskOutput[] {
  requireHead(model, "fill-mask", "DistilBertForMaskedLM");
  const { list, single } = texts(input, "fill-mask");
  const { tokenizer } = model;
  const maskId = tokenizer.maskId;
  if (maskId === undefined) throw new InputError("fill-mask", "the tokenizer has no [MASK] token");
  let k = positiveInt(options.topK, "fill-mask: topK", 5);
  const targetIds = options.targets === undefined ? null : targetTokenIds(model, options.targets);
  if (targetIds !== null) k = Math.min(k, targetIds.length);
  const encodings = list.map((t) => tokenizer.encode(t, { maxLength: model.maxLength }));
  const masks = encodings.map((e, i) => {
    const at = e.ids.flatMap((id, t) => (id === maskId ? [t] : []));
    if (at.length === 0) throw new InputError(`fill-mask: inputs[${i}]`, `has no ${tokenizer.idToToken(maskId)} token${e.truncated ? " within the model's maximum length" : ""}`, "a text with at least one mask token");
    return at;
  });
  const logits = headRows(model, encodings.map((e) => e.ids), masks);
  const V = model.model.width;
  const out = encodings.map((e, i): FillMaskOutput => {
    const one = masks[i].length === 1;
    const perMask = masks[i].map((pos, m) => {
      const probs = softmax64(logits[i].subarray(m * V, (m + 1) * V));
      const candidates = targetIds === null ? probs : Float64Array.from(targetIds, (id) => probs[id]);
      return topK(candidates, k).map((c) => {
        const token = targetIds === null ? c : targetIds[c];
        const ids = e.ids.slice();
        ids[pos] = token;
        return {
          score: candidates[c],
          token,
          token_str: tokenizer.decode([token]),
          sequence: tokenizer.decode(ids.filter((id) => id !== tokenizer.padId), { skipSpecialTokens: one }),
        };
      });
    });
    return one ? perMask[0] : perMask;
  });
  return single ? out[0] : out;
}

/** HF's get_target_ids: a word of the vocabulary is its id; another is tokenized and its first piece used. */
export function targetTokenIds(model: PretrainedModel, targets: string | readonly string[]): number[] {
  const list = typeof targets === "string" ? [targets] : targets;
  if (!Array.isArray(list) || list.length === 0) throw new InputError("fill-mask: targets", "is empty", "one or more words");
  const ids: number[] = [];
  for (const t of list) {
    if (typeof t !== "string") throw new InputError("fill-mask: targets", `holds ${typeof t}`, "strings");
    let id = model.tokenizer.tokenToId(t);
    if (id === undefined) {
      const pieces = model.tokenizer.tokenizeToIds(t).ids;
      if (pieces.length === 0) throw new InputError("fill-mask: targets", `${JSON.stringify(t)} is no token at all`, "words");
      id = pieces[0];
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}
