import { UsageError } from "../../errors.js";
import type { DistilBertClassifier } from "../../model/classifier.js";

/** --ids 101,7592,102 → the ids and their tokens ("[?]" for an id the vocabulary lacks; the model checks range). */
export function parseIdsOption(text: string, model: DistilBertClassifier, flag = "--ids"): { ids: number[]; tokens: string[] } {
  const ids = text.split(",").map((s, i) => {
    const v = Number(s.trim());
    if (s.trim() === "" || !Number.isInteger(v)) throw new UsageError(flag, `item ${i + 1} (${JSON.stringify(s)}) is not an integer`, "comma-separated token ids");
    return v;
  });
  return { ids, tokens: ids.map((id) => model.tokenizer.idToToken(id) ?? "[?]") };
}
