/**
 * Checks of the public API's arguments, so that a wrong call ends in an InputError naming the argument, where in it
 * the problem is (row, column) and what was expected, never in a TypeError from deep inside the engine. Values are
 * described, not printed raw: a caller's string may hold anything (see printable.ts).
 */
import { InputError } from "./errors.js";
import { describeValue, printable } from "./printable.js";

/**
 * A value in a few words ("the number 5", "the string \"a\""): strings quoted and shortened, containers by their
 * size, functions and symbols by kind.
 */
export function described(v: unknown): string {
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "function") return "a function";
  if (typeof v === "bigint") return `the bigint ${v}n`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return `the ${typeof v} ${describeValue(v)}`;
  return describeValue(v);
}

/** An options object (undefined → {}), with no key outside `known` (a misspelt option would be ignored silently). */
export function optionsObject(v: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new InputError(where, `is ${described(v)}`, `an object with some of ${known.join(", ")}`);
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) throw new InputError(where, `has an unknown option ${printable(JSON.stringify(k), 80)}`, `only ${known.join(", ")}`);
  }
  return v as Record<string, unknown>;
}

export function optionalBoolean(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new InputError(where, `is ${described(v)}`, "a boolean (true or false)");
  return v;
}

/** An integer ≥ min (or Infinity when allowed); `fallback` when undefined. */
export function optionalInteger(v: unknown, where: string, fallback: number, min: number, allowInfinity = false): number {
  if (v === undefined) return fallback;
  if (typeof v === "number" && ((Number.isInteger(v) && v >= min) || (allowInfinity && v === Infinity))) return v;
  throw new InputError(where, `is ${described(v)}`, `an integer of at least ${min}${allowInfinity ? ", or Infinity" : ""}`);
}

/** An array of strings; a hole or a non-string is named by its index. */
export function stringArray(v: unknown, where: string, hint = ""): readonly string[] {
  if (!Array.isArray(v)) throw new InputError(where, `is ${described(v)}`, `an array of strings${hint}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw new InputError(`${where}[${i}]`, `is ${i in v ? described(v[i]) : "a hole (missing)"}`, "a string");
  }
  return v as string[];
}

/** forward's `hooks`: a plain object of functions. */
export function hookObject(v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new InputError("hooks", `is ${described(v)}`, 'an object of name or pattern → function, e.g. { "layer.0.out": (t) => … }');
  }
  for (const [k, fn] of Object.entries(v)) {
    if (typeof fn !== "function") throw new InputError(`hooks[${printable(JSON.stringify(k), 80)}]`, `is ${described(fn)}`, "a function");
  }
  return v as Record<string, unknown>;
}

/**
 * Rows of numbers from `x`: one sequence [T] or a batch [B][T]. Every element is checked and named by row and
 * column; `id` adds that each is an integer in [0, vocabSize).
 */
export function numberRows(x: unknown, what: string, vocabSize?: number): number[][] {
  if (x === null || typeof x !== "object" || typeof (x as ArrayLike<unknown>).length !== "number") {
    throw new InputError(what, `is ${described(x)}`, "an array of numbers (one sequence) or an array of such arrays (a batch)");
  }
  const arr = x as ArrayLike<unknown>;
  if (arr.length === 0) return [];
  const nested = typeof arr[0] === "object" && arr[0] !== null;
  const rows = nested ? Array.from(arr) : [arr];
  return rows.map((r, b) => {
    if (r === null || typeof r !== "object" || typeof (r as ArrayLike<unknown>).length !== "number") {
      throw new InputError(what, `row ${b} is ${described(r)}`, "every row an array of numbers");
    }
    return Array.from(r as ArrayLike<unknown>, (v, t) => number(v, what, nested ? `row ${b}, column ${t}` : `row 0, column ${t}`, vocabSize));
  });
}

/** One element, at `at` (e.g. "row 1, column 2"). */
export function number(v: unknown, what: string, at: string, vocabSize?: number): number {
  const n = typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (typeof n !== "number") throw new InputError(what, `${described(v)} at ${at} is not a number`, vocabSize === undefined ? "numbers" : "integer token ids");
  if (vocabSize !== undefined && !(Number.isInteger(n) && n >= 0 && n < vocabSize)) {
    throw new InputError(what, `id ${String(n)} at ${at} is ${Number.isInteger(n) ? "out of range" : "not an integer"}`, `integer ids with 0 ≤ id < vocab_size (${vocabSize})`);
  }
  return n;
}

/** An optional value that must be of one kind (`test`), described as `expected` when it is not. */
export function optionalOf(v: unknown, where: string, test: (v: unknown) => boolean, expected: string): void {
  if (v !== undefined && !test(v)) throw new InputError(where, `is ${described(v)}`, expected);
}

/** Token ids of one sequence: an array of 1 to `maxLength` integers in [0, vocabSize), each named by position. */
export function tokenIds(v: unknown, where: string, vocabSize: number, maxLength: number): number[] {
  if (v === null || typeof v !== "object" || typeof (v as ArrayLike<unknown>).length !== "number") {
    throw new InputError(where, `is ${described(v)}`, "an array of token ids");
  }
  const a = v as ArrayLike<unknown>;
  if (a.length < 1 || a.length > maxLength) throw new InputError(where, `has ${a.length} tokens`, `1 to ${maxLength} (max_position_embeddings)`);
  return Array.from(a, (x, t) => number(x, where, `position ${t}`, vocabSize));
}

/**
 * The study functions' input: `{ text }`, or `{ ids, tokens }` (ids checked as tokenIds, one token string per id).
 */
export function textOrIds(v: unknown, where: string, vocabSize: number, maxLength: number): { text: string } | { ids: number[]; tokens: string[] } {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new InputError(where, `is ${described(v)}`, "{ text } or { ids, tokens }");
  const o = v as Record<string, unknown>;
  if ("text" in o) {
    if (typeof o.text !== "string") throw new InputError(`${where}.text`, `is ${described(o.text)}`, "a string");
    return { text: o.text };
  }
  if (!("ids" in o)) throw new InputError(where, "has neither text nor ids", "{ text } or { ids, tokens }");
  const ids = tokenIds(o.ids, `${where}.ids`, vocabSize, maxLength);
  const tokens = stringArray(o.tokens, `${where}.tokens`, " (one per id)");
  if (tokens.length !== ids.length) throw new InputError(`${where}.tokens`, `has ${tokens.length} tokens for ${ids.length} ids`, "one token per id");
  return { ids, tokens: [...tokens] };
}

/** A label by name or index among `labels`. */
export function labelRef(v: unknown, where: string, labels: readonly string[]): number {
  const i = typeof v === "number" ? v : typeof v === "string" ? labels.indexOf(v) : -1;
  if (!Number.isInteger(i) || i < 0 || i >= labels.length) {
    throw new InputError(where, `${described(v)} is not a label of this model`, `one of ${labels.map((l) => printable(l, 40)).join(", ")} (or an index below ${labels.length})`);
  }
  return i;
}

/** An optional value from a fixed list of strings; `fallback` when undefined. */
export function optionalChoice<T extends string>(v: unknown, where: string, choices: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) throw new InputError(where, `is ${described(v)}`, choices.map((c) => `"${c}"`).join(", "));
  return v as T;
}

/** A model loadModel returned (checked by shape, so that a second copy of the package still passes). */
export function loadedModel<M>(v: M, where: string): M {
  const o = v as { config?: unknown; tokenizer?: unknown; forward?: unknown } | null;
  if (o === null || typeof o !== "object" || typeof o.forward !== "function" || typeof o.config !== "object" || typeof o.tokenizer !== "object") {
    throw new InputError(where, `is ${described(v)}`, "a model loadModel (or loadModelFromDir) returned");
  }
  return v;
}

/**
 * A result object one of the library's functions returned (`from` names it), checked for the fields a renderer reads,
 * so that a wrong object is named instead of failing deep inside the HTML.
 */
export function resultOf(v: unknown, where: string, from: string, fields: Record<string, "array" | "object" | "string" | "number">): void {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new InputError(where, `is ${described(v)}`, `what ${from} returned`);
  const o = v as Record<string, unknown>;
  for (const [k, kind] of Object.entries(fields)) {
    const x = o[k];
    const ok = kind === "array" ? Array.isArray(x) : kind === "object" ? x !== null && typeof x === "object" : typeof x === kind;
    if (!ok) throw new InputError(`${where}.${k}`, `is ${described(x)}`, `${kind === "array" ? "an array" : `a ${kind}`} (what ${from} returned)`);
  }
}
