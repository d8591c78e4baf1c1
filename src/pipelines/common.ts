/**
 * What every pipeline shares: the loaded model, argument checks, and one packed forward pass over many sequences.
 */
import { InputError } from "../errors.js";
import type { DistilBertClassifier } from "../model/classifier.js";
import { packSequences } from "../model/classifier.js";
import type { Architecture } from "../model/config.js";

/** A loaded model (what loadModel / loadModelFromDir return), whatever its head. */
export type PretrainedModel = DistilBertClassifier;

export function requireHead(model: PretrainedModel, task: string, ...architectures: Architecture[]): void {
  if (!architectures.includes(model.model.architecture)) {
    throw new InputError(task, `the model is a ${model.model.architecture}`, `a ${architectures.join(" or ")}`);
  }
}

export function texts(input: unknown, task: string): { list: string[]; single: boolean } {
  if (typeof input === "string") return { list: [input], single: true };
  if (!Array.isArray(input)) throw new InputError(task, `input is ${input === null ? "null" : typeof input}`, "a string or an array of strings");
  input.forEach((t, i) => {
    if (typeof t !== "string") throw new InputError(`${task}: inputs[${i}]`, `is ${t === null ? "null" : typeof t}`, "a string");
  });
  return { list: input as string[], single: false };
}

export function positiveInt(v: unknown, where: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new InputError(where, `is ${String(v)}`, "a positive integer");
  return v;
}

/**
 * The head's output rows for token-id sequences run together in packed batches of about `maxBatchTokens` tokens:
 * for a token head `select[i]` (positions inside sequence i) picks the rows computed, default all;
 * → per sequence, [rows, width] row-major.
 */
export function headRows(model: PretrainedModel, sequences: readonly number[][], select?: readonly (readonly number[])[], maxBatchTokens = 8192): Float32Array[] {
  const head = model.model;
  const W = head.width;
  const out = new Array<Float32Array>(sequences.length);
  for (let i = 0; i < sequences.length; ) {
    const members: number[] = [];
    let tokens = 0;
    while (i < sequences.length && (members.length === 0 || tokens + sequences[i].length <= maxBatchTokens)) {
      tokens += sequences[i].length;
      members.push(i++);
    }
    const batch = packSequences(members.map((m) => sequences[m]));
    const rows = select === undefined ? undefined : members.flatMap((m, b) => select[m].map((t) => batch.spans[b].start + t));
    const y = head.forward(model.backend, batch, null, null, rows === undefined ? {} : { select: rows });
    let at = 0;
    members.forEach((m, b) => {
      const n = head.output === "sequence" ? 1 : select === undefined ? batch.spans[b].len : select[m].length;
      out[m] = y.slice(at * W, (at + n) * W);
      at += n;
    });
  }
  return out;
}

/** softmax of a row in float64, as the pipelines compute scores (HF: numpy on the logits). */
export function softmax64(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  const p = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += p[i] = Math.exp(x[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

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
