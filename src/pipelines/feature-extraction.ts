/**
 * feature-extraction. A sentence-transformers model gives its sentence embedding (its own Pooling, Dense and
 * Normalize, as `SentenceTransformer.encode`); a bare encoder gives the last hidden state of every token, shaped
 * [1][T][dim] per text as transformers' FeatureExtractionPipeline, unless `pooling` asks for one vector.
 */
import { InputError } from "../errors.js";
import { l2Normalize, pool } from "../model/sentence.js";
import { headRows, type PretrainedModel, requireHead, texts } from "./common.js";

export interface FeatureExtractionOptions {
  /** A bare encoder: pool its token vectors into one ("none": every token, the default). */
  pooling?: "none" | "mean" | "cls" | "max";
  /** Divide each vector by its L2 norm (a sentence-transformers model: as its modules say). */
  normalize?: boolean;
}

/** A sentence embedding [width], or the token vectors [1][T][dim]. */
export type Features = number[] | number[][][];

export function featureExtraction(model: PretrainedModel, input: string, options?: FeatureExtractionOptions): Features;
export function featureExtraction(model: PretrainedModel, input: readonly string[], options?: FeatureExtractionOptions): Features[];
export function featureExtraction(model: PretrainedModel, input: string | readonly string[], options: FeatureExtractionOptions = {}): Features | Features[] {
  requireHead(model, "feature-extraction", "DistilBertModel");
  const { list, single } = texts(input, "feature-extraction");
  const pooling = options.pooling ?? "none";
  if (!["none", "mean", "cls", "max"].includes(pooling)) throw new InputError("feature-extraction: pooling", `is ${JSON.stringify(pooling)}`, '"none", "mean", "cls" or "max"');
  const head = model.model;
  const ids = list.map((t) => model.tokenizer.encode(t, { maxLength: model.maxLength }).ids);
  const rows = headRows(model, ids);
  const W = head.width;
  const out = rows.map((y, i): Features => {
    if (head.output === "sequence") {
      if (options.normalize === true) l2Normalize(y, 1, W);
      return Array.from(y);
    }
    if (pooling === "none") {
      if (options.normalize === true) l2Normalize(y, ids[i].length, W);
      return [Array.from({ length: ids[i].length }, (_, t) => Array.from(y.subarray(t * W, (t + 1) * W)))];
    }
    const v = pool(y, [{ start: 0, len: ids[i].length, keyMask: null }], W, [pooling]);
    if (options.normalize === true) l2Normalize(v, 1, W);
    return Array.from(v);
  });
  return single ? out[0] : out;
}
