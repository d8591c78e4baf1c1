/**
 * What every pipeline shares: the loaded model, argument checks, and one packed forward pass over many sequences.
 */
import { described, optionsObject } from "../arguments.js";
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { packSequences } from "../model/classifier.js";
import type { Architecture } from "../model/config.js";

/** A loaded model (what loadModel / loadModelFromDir return), whatever its head. */
export type PretrainedModel = DistilBertClassifier;

export function requireHead(model: PretrainedModel, task: string, ...architectures: Architecture[]): void {
  if (!architectures.includes(model.head.architecture)) {
    throw new InputError(task, `the model is a ${model.head.architecture}`, `a ${architectures.join(" or ")}`);
  }
}

export function texts(input: unknown, task: string): { list: string[]; single: boolean } {
  if (typeof input === "string") return { list: [input], single: true };
  if (!Array.isArray(input)) throw new InputError(`${task}: input`, `is ${described(input)}`, "a string or an array of strings");
  for (let i = 0; i < input.length; i++) {
    if (typeof input[i] !== "string") throw new InputError(`${task}: inputs[${i}]`, `is ${i in input ? described(input[i]) : "a hole (missing)"}`, "a string");
  }
  return { list: input as string[], single: false };
}

export function positiveInt(v: unknown, where: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new InputError(where, `is ${described(v)}`, "a positive integer");
  return v;
}

/** A pipeline's call options: an object (undefined → {}) with only the task's keys, so a misspelt one is refused. */
export function callOptions<T extends object>(v: T | undefined, task: string, known: readonly (keyof T & string)[]): T {
  return optionsObject(v, `${task}: options`, known) as T;
}

/** An optional boolean option. */
export function flag(v: unknown, where: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new InputError(where, `is ${described(v)}`, "a boolean (true or false)");
  return v;
}

export { optionalChoice as oneOf } from "../arguments.js";

/**
 * What a pipeline does around the model call, split so that a caller other than the pipeline (the server's batcher)
 * can make the call: the token-id sequences to run, for a token head the rows wanted of each (undefined: all), and
 * `finish`, which turns the head's rows of every sequence into the pipeline's outputs, one per input.
 */
export interface HeadPlan<O> {
  sequences: number[][];
  select?: readonly (readonly number[] | undefined)[];
  /** Per input: whether its text was cut at the model's maximum length. */
  truncated: boolean[];
  finish(rows: readonly Float32Array[]): O[];
}

/** The plan's model call made here, in packed batches (the pipelines' own path). */
export function runPlan<O>(model: PretrainedModel, plan: HeadPlan<O>): O[] {
  return plan.finish(headRows(model, plan.sequences, plan.select));
}

/**
 * The head's output rows for token-id sequences run together in packed batches of about `maxBatchTokens` tokens:
 * for a token head `select[i]` (positions inside sequence i) picks the rows computed, default (or undefined) all;
 * → per sequence, [rows, width] row-major.
 */
export function headRows(model: PretrainedModel, sequences: readonly (readonly number[])[], select?: readonly (readonly number[] | undefined)[], maxBatchTokens = 8192): Float32Array[] {
  const head = model.model;
  const W = head.width;
  const out = new Array<Float32Array>(sequences.length);
  const picked = (m: number) => select?.[m];
  for (let i = 0; i < sequences.length; ) {
    const members: number[] = [];
    let tokens = 0;
    while (i < sequences.length && (members.length === 0 || tokens + sequences[i].length <= maxBatchTokens)) {
      tokens += sequences[i].length;
      members.push(i++);
    }
    const batch = packSequences(members.map((m) => sequences[m]));
    const rows = members.every((m) => picked(m) === undefined)
      ? undefined
      : members.flatMap((m, b) => (picked(m) ?? Array.from({ length: batch.spans[b].len }, (_, t) => t)).map((t) => batch.spans[b].start + t));
    const y = head.forward(model.backend, batch, null, null, rows === undefined ? {} : { select: rows });
    let at = 0;
    members.forEach((m, b) => {
      const n = head.output === "sequence" ? 1 : (picked(m)?.length ?? batch.spans[b].len);
      out[m] = y.slice(at * W, (at + n) * W);
      at += n;
    });
  }
  return out;
}

/** softmax of a row in float64, as the pipelines compute scores (HF: numpy on the logits): the classifier's own. */
export { softmax as softmax64 } from "../model/classifier.js";

/** Indices of the k largest values, largest first; ties keep the lower index first (as a stable sort). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  k = Math.min(k, n);
  // A small sorted buffer: k is small next to the vocabulary.
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (best.length === k && !(v > values[best[k - 1]])) continue;
    let j = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (j > 0 && v > values[best[j - 1]]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best;
}
