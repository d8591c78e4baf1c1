/**
 * Activation patching (as TransformerLens made standard): run the corrupted input with one activation of the clean
 * run patched in, for every layer × position (the residual stream: embeddings.out and each block's output) or every
 * layer × head (the head's slice of attn.context, all positions), and measure a metric of the logits.
 *
 * Each grid row is one batched forward: row b of the batch is the corrupted input with patch b, applied by a hook.
 */
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";

export type PatchBy = "position" | "head";
export type PatchMetric = "logit-diff";

export interface PatchOptions {
  by?: PatchBy;
  metric?: PatchMetric;
  /** The label the metric favours (default: the clean run's prediction). */
  target?: string | number;
  /** The label it is measured against (default: the corrupted run's prediction, or if that is the target, the
   * clean run's runner-up). */
  other?: string | number;
}

export interface PatchResult {
  by: PatchBy;
  metric: PatchMetric;
  cleanTokens: string[];
  corruptedTokens: string[];
  target: string;
  other: string;
  /** logit(target) - logit(other) of the clean and the corrupted runs. */
  clean: number;
  corrupted: number;
  /** Row names: "embeddings.out", "layer.0.out", … (by position) or "layer.0", … (by head). */
  rows: string[];
  /** Column names: the clean tokens with their positions, or "head 0", …. */
  columns: string[];
  /** [rows][columns] the metric with that activation patched. */
  grid: number[][];
  /** (grid - corrupted) / (clean - corrupted): 1 = the patch restores the clean metric, 0 = no effect. */
  normalized: number[][];
}

type In = { text: string } | { ids: number[]; tokens: string[] };

function encode(model: DistilBertClassifier, input: In): { ids: number[]; tokens: string[] } {
  if ("text" in input) {
    const e = model.tokenizer.encode(input.text, { maxLength: model.maxLength });
    return { ids: e.ids, tokens: e.tokens };
  }
  return input;
}

export function activationPatching(model: DistilBertClassifier, cleanIn: In, corruptedIn: In, options: PatchOptions = {}): PatchResult {
  const by = options.by ?? "position";
  const metric = options.metric ?? "logit-diff";
  if (by !== "position" && by !== "head") throw new InputError("by", `${JSON.stringify(by)} is unknown`, "position or head");
  if (metric !== "logit-diff") throw new InputError("metric", `${JSON.stringify(metric)} is unknown`, "logit-diff");
  const clean = encode(model, cleanIn);
  const corrupted = encode(model, corruptedIn);
  const T = clean.ids.length;
  if (corrupted.ids.length !== T) {
    throw new InputError("patch", `the clean input has ${T} tokens and the corrupted one ${corrupted.ids.length}`, "two inputs of the same number of tokens, so that positions correspond (e.g. change one word for another of one word piece)");
  }
  const { config } = model;
  const { labels, nLayers, nHeads: H, dim } = config;
  if (labels.length < 2) throw new InputError("patch", "the model has a single label", "a model with at least two labels for a logit difference");
  const names = ["embeddings.out", ...Array.from({ length: nLayers }, (_, i) => `layer.${i}.out`)];
  const cleanRun = model.forward([clean.ids], undefined, { capture: by === "position" ? names : ["layer.*.attn.context"] });
  const corruptedLogits = Array.from(model.forward([corrupted.ids]).logits.data);
  const cleanLogits = Array.from(cleanRun.logits.data);
  const labelIndex = (l: string | number, what: string) => {
    const i = typeof l === "number" ? l : labels.indexOf(l);
    if (!Number.isInteger(i) || i < 0 || i >= labels.length) throw new InputError(what, `${JSON.stringify(l)} is not a label of this model`, `one of ${labels.join(", ")}`);
    return i;
  };
  const argmax = (a: number[], skip = -1) => a.reduce((best, v, i) => (i !== skip && (best < 0 || v > a[best]) ? i : best), -1);
  const target = options.target === undefined ? argmax(cleanLogits) : labelIndex(options.target, "target");
  let other: number;
  if (options.other !== undefined) other = labelIndex(options.other, "other");
  else {
    other = argmax(corruptedLogits);
    if (other === target) other = argmax(cleanLogits, target);
  }
  if (other === target) throw new InputError("other", "is the target label", "two different labels");
  const diff = (logits: ArrayLike<number>, b: number) => logits[b * labels.length + target] - logits[b * labels.length + other];
  const cleanM = diff(cleanLogits, 0);
  const corruptedM = diff(corruptedLogits, 0);

  const rows: string[] = [];
  const grid: number[][] = [];
  if (by === "position") {
    for (const name of names) {
      const src = cleanRun.captured[name].data; // [1, T, dim]
      // Batch of T corrupted copies; copy b gets the clean row b of this activation.
      const out = model.forward(Array.from({ length: T }, () => corrupted.ids), undefined, {
        hooks: { [name]: (t) => { for (let b = 0; b < T; b++) t.data.set(src.subarray(b * dim, (b + 1) * dim), (b * T + b) * dim); } },
      });
      rows.push(name);
      grid.push(Array.from({ length: T }, (_, b) => diff(out.logits.data, b)));
    }
  } else {
    const dh = dim / H;
    for (let l = 0; l < nLayers; l++) {
      const name = `layer.${l}.attn.context`;
      const src = cleanRun.captured[name].data; // [1, T, dim], head h = columns h·dh … (h+1)·dh-1
      const out = model.forward(Array.from({ length: H }, () => corrupted.ids), undefined, {
        hooks: {
          [name]: (t) => {
            for (let b = 0; b < H; b++) {
              for (let p = 0; p < T; p++) t.data.set(src.subarray(p * dim + b * dh, p * dim + (b + 1) * dh), (b * T + p) * dim + b * dh);
            }
          },
        },
      });
      rows.push(`layer.${l}`);
      grid.push(Array.from({ length: H }, (_, b) => diff(out.logits.data, b)));
    }
  }
  const span = cleanM - corruptedM;
  return {
    by,
    metric,
    cleanTokens: clean.tokens,
    corruptedTokens: corrupted.tokens,
    target: labels[target],
    other: labels[other],
    clean: cleanM,
    corrupted: corruptedM,
    rows,
    columns: by === "position" ? clean.tokens.map((t, i) => `${i}:${t}`) : Array.from({ length: H }, (_, h) => `head ${h}`),
    grid,
    normalized: grid.map((r) => r.map((v) => (span === 0 ? 0 : (v - corruptedM) / span))),
  };
}
