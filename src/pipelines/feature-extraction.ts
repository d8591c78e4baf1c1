/**
 * feature-extraction. A sentence-transformers model gives its sentence embedding (its own Pooling, Dense and
 * Normalize, as `SentenceTransformer.encode`); a bare encoder gives the last hidden state of every token, shaped
 * [1][T][dim] per text as transformers' FeatureExtractionPipeline, unless `pooling` asks for one vector.
 */
import { l2Normalize, pool } from "../model/sentence.js";
import { callOptions, flag, type HeadPlan, oneOf, type PretrainedModel, requireHead, runPlan, texts } from "./common.js";

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
  const { list, single } = texts(input, "feature-extraction");
  const out = runPlan(model, featureExtractionPlan(model, list, options));
  return single ? out[0] : out;
}

/** The pipeline around its model call; see HeadPlan. */
export function featureExtractionPlan(model: PretrainedModel, list: readonly string[], options: FeatureExtractionOptions = {}): HeadPlan<Features> {
  requireHead(model, "feature-extraction", "DistilBertModel");
  options = callOptions(options, "feature-extraction", ["pooling", "normalize"]);
  const pooling = oneOf(options.pooling, "feature-extraction: pooling", ["none", "mean", "cls", "max"] as const, "none");
  flag(options.normalize, "feature-extraction: normalize", false);
  const head = model.model;
  const encodings = list.map((t) => model.tokenizer.encode(t, { maxLength: model.maxLength }));
  const ids = encodings.map((e) => e.ids);
  const W = head.width;
  const finish = (rows: readonly Float32Array[]) =>
    rows.map((y, i): Features => {
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
  return { sequences: ids, truncated: encodings.map((e) => e.truncated), finish };
}
