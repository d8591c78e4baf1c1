/**
 * The hostile model corpus (test/hostile/corpus, built by scripts/make-hostile-corpus.mjs): every case must fail
 * with the typed error its row in cases.json names, naming the broken file and the problem, within a time budget
 * and without allocating more than its files justify; through the CLI it must print exactly one `error:` line and
 * exit 2. Plus hostile inputs too large to commit (deep nesting, megabyte strings), built here in memory.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCorpus, type HostileCase } from "../scripts/make-hostile-corpus.mjs";
import * as errors from "../src/errors.js";
import { DistilBertError } from "../src/errors.js";
import { loadModel } from "../src/model/load.js";
import { loadModelFromDir } from "../src/node/model-dir.js";
import { SafetensorsFile } from "../src/safetensors/index.js";
import { WordPieceTokenizer } from "../src/tokenizer/index.js";
import { CLI } from "./helpers/cli.js";
import { repoRoot } from "./helpers/shared.js";
import { tinyDir } from "./helpers/fixture.js";

const HOSTILE = join(repoRoot, "test/hostile");
const CORPUS = join(HOSTILE, "corpus");
const BASE = join(HOSTILE, "base");
const cases: HostileCase[] = JSON.parse(readFileSync(join(HOSTILE, "cases.json"), "utf8"));
const LOAD_BUDGET_MS = 1000;

function filesOf(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) out[name] = new Uint8Array(readFileSync(join(dir, name)));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Allocation accounting. Every large allocation the loaders can make is a typed array, an ArrayBuffer or an Array
// with a length; while `f` runs, the global constructors are swapped for proxies that add up the bytes asked for
// (views on an existing buffer cost nothing). With the js backend loadModel awaits only settled promises, so the
// whole load runs in microtasks before anything else can: the count is the load's and nothing else's. (JS objects
// such as Map entries and strings are not counted; they follow the number of vocabulary tokens and header entries.)

const TYPED = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"] as const;

async function countAllocations(f: () => unknown): Promise<number> {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  let bytes = 0;
  const lengthOf = (x: unknown): number => {
    if (typeof x === "number") return x;
    if (x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && x instanceof SharedArrayBuffer)) return 0;
    const n = (x as { length?: unknown } | null)?.length;
    return typeof n === "number" ? n : 0;
  };
  const wrap = (name: string, size: (args: unknown[], ctor: { BYTES_PER_ELEMENT?: number }) => number) => {
    const ctor = g[name] as (new (...a: unknown[]) => unknown) & { BYTES_PER_ELEMENT?: number };
    saved.set(name, ctor);
    g[name] = new Proxy(ctor, {
      construct(target, args, newTarget) {
        bytes += size(args, ctor);
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
      apply(target, thisArg, args) {
        bytes += size(args, ctor);
        return Reflect.apply(target, thisArg, args);
      },
    });
  };
  for (const name of TYPED) wrap(name, (args, c) => lengthOf(args[0]) * (c.BYTES_PER_ELEMENT ?? 1));
  wrap("ArrayBuffer", (args) => (typeof args[0] === "number" ? args[0] : 0));
  wrap("Array", (args) => (args.length === 1 && typeof args[0] === "number" ? args[0] * 8 : args.length * 8));
  try {
    await f();
  } finally {
    for (const [name, ctor] of saved) g[name] = ctor;
  }
  return bytes;
}

/** Runs loadModel on a folder's bytes (as loadModelFromDir does), counting allocations; resolves to the outcome. */
async function loadCounted(dir: string, c: HostileCase | null): Promise<{ bytes: number; error: unknown }> {
  const files = filesOf(dir);
  const text = (name: string) => (files[name] === undefined ? undefined : new TextDecoder("utf-8", { fatal: true }).decode(files[name]));
  let error: unknown = null;
  const bytes = await countAllocations(() =>
    loadModel({
      config: text("config.json") ?? "",
      ...(files["vocab.txt"] ? { vocab: text("vocab.txt") } : { tokenizerJson: text("tokenizer.json") }),
      weights: files["model.safetensors"] ?? new Uint8Array(0),
      checkWeights: c?.options?.checkWeights,
      backend: "js",
    }).catch((e: unknown) => (error = e)),
  );
  return { bytes, error };
}

/**
 * What a load may allocate for a folder's files: F16/BF16 weights are widened to float32 (2 bytes per byte; aligned
 * F32 is used in place), the tokenizer's trie takes up to 16 bytes per byte of vocabulary text, the config is
 * parsed, and the tokenizer has fixed-size tables (measured below) whatever its files.
 */
function allocationBound(dir: string, fixed: number): number {
  const size = (n: string) => (existsSync(join(dir, n)) ? statSync(join(dir, n)).size : 0);
  return 2 * size("model.safetensors") + 16 * (size("vocab.txt") + size("tokenizer.json")) + size("config.json") + fixed;
}

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((a, n) => a + statSync(join(dir, n)).size, 0);
}

// ---------------------------------------------------------------------------------------------------------------

describe("hostile model corpus", () => {
  let fixedTokenizerBytes = 0;
  const measured: { name: string; ms: number; bytes: number; files: number }[] = [];

  beforeAll(async () => {
    // The smallest tokenizer allocates fixed-size tables (a direct 64K-entry lookup per trie root, the word cache);
    // they do not grow with any file, so the allocation bound below adds them as a constant.
    fixedTokenizerBytes = await countAllocations(() => WordPieceTokenizer.fromVocab("[UNK]\n[CLS]\n[SEP]\n"));
    console.log(`hostile corpus: ${cases.length} cases (${new Set(cases.map((c) => c.file)).size} file kinds) in ${CORPUS}`);
  });

  afterAll(() => {
    if (measured.length === 0) return;
    const slowest = measured.reduce((a, b) => (b.ms > a.ms ? b : a));
    const heaviest = measured.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    console.log(
      `hostile corpus: ${measured.length} loads; slowest ${slowest.name} ${slowest.ms.toFixed(1)} ms; ` +
        `largest allocation ${heaviest.name} ${heaviest.bytes} bytes for ${heaviest.files} bytes of files ` +
        `(fixed tokenizer tables: ${fixedTokenizerBytes} bytes)`,
    );
  });

  it("has at least 40 cases, each with a unique name and a committed folder", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(readdirSync(CORPUS).sort()).toEqual(cases.map((c) => c.name).sort());
  });

  it("re-running the generator reproduces the committed corpus byte for byte", () => {
    const { files } = buildCorpus(tinyDir());
    const onDisk: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(HOSTILE, rel))) {
        const r = rel === "" ? name : `${rel}/${name}`;
        if (statSync(join(HOSTILE, r)).isDirectory()) walk(r);
        else onDisk.push(r);
      }
    };
    walk("");
    expect(onDisk.sort()).toEqual([...files.keys()].sort());
    for (const [rel, bytes] of files) {
      const disk = new Uint8Array(readFileSync(join(HOSTILE, rel)));
      expect(Buffer.compare(disk, bytes), rel).toBe(0);
    }
  });

  it("the base model is valid: it loads from vocab.txt and from tokenizer.json and classifies", async () => {
    const model = await loadModelFromDir(BASE, { checkWeights: true });
    const r = await model.classify("this film was good");
    expect(r.tokens).toEqual(["[CLS]", "this", "film", "was", "good", "[SEP]"]);
    expect(r.logits.every(Number.isFinite)).toBe(true);
    const files = filesOf(BASE);
    // The folder has both: tokenizer.json is the one loadModelFromDir reads, so vocab.txt is checked here.
    const viaVocab = await loadModel({
      config: new TextDecoder().decode(files["config.json"]),
      vocab: new TextDecoder().decode(files["vocab.txt"]),
      weights: files["model.safetensors"],
    });
    expect((await viaVocab.classify("this film was good")).logits).toEqual(r.logits);
  });

  it("every case breaks one file only: the folder's other files are the base's bytes", () => {
    const base = filesOf(BASE);
    for (const c of cases) {
      const files = filesOf(join(CORPUS, c.name));
      for (const [name, bytes] of Object.entries(files)) {
        if (name === c.file) continue;
        expect(Buffer.compare(bytes, base[name]), `${c.name}/${name}`).toBe(0);
      }
      const expected = Object.keys(base).filter((n) => n !== (c.tokenizer === "tokenizer.json" ? "vocab.txt" : "tokenizer.json"));
      const present = Object.keys(files);
      // The case's own file is either present (broken) or removed; every other expected file is there.
      expect(present.filter((n) => n !== c.file).sort(), c.name).toEqual(expected.filter((n) => n !== c.file).sort());
    }
  });

  describe.each(cases)("$name", (c) => {
    const dir = join(CORPUS, c.name);
    const path = join(dir, c.file);

    it(`${c.rule}: ${c.error} naming ${c.file}, in under ${LOAD_BUDGET_MS} ms`, async () => {
      const t0 = performance.now();
      let caught: unknown = null;
      try {
        await loadModelFromDir(dir, c.options ?? {});
      } catch (e) {
        caught = e;
      }
      const ms = performance.now() - t0;
      expect(caught, "the load must fail").not.toBeNull();
      const Cls = (errors as unknown as Record<string, new (...a: never[]) => Error>)[c.error];
      expect(caught).toBeInstanceOf(Cls);
      const e = caught as DistilBertError;
      expect(e.message).toContain(path);
      expect(e.message).toContain(c.message);
      expect(e.message).not.toMatch(/[\n\r]/);
      expect(e.message.length).toBeLessThan(600);
      expect(ms).toBeLessThan(LOAD_BUDGET_MS);

      // Same files through loadModel (js backend), counting what it allocates: linear in the files' bytes (see
      // allocationBound), never sized by a number a file claims.
      // FileError cases fail while reading the folder, before loadModel sees any byte.
      if (c.error !== "FileError") {
        const { bytes, error } = await loadCounted(dir, c);
        expect(error).toBeInstanceOf(Cls);
        const files = folderBytes(dir);
        measured.push({ name: c.name, ms, bytes, files });
        expect(bytes).toBeLessThanOrEqual(allocationBound(dir, fixedTokenizerBytes));
      }
    });

    if (c.options?.checkWeights) {
      it("loads without checkWeights (non-finite weights are only refused on request) and classifies", async () => {
        const model = await loadModelFromDir(dir);
        const r = await model.classify("good");
        expect(r.logits).toHaveLength(2);
      });
    }
  });

  it("a header claiming 2^40 elements, or a config at every size limit, fails before allocating for the claim", async () => {
    for (const name of ["st-offsets-2p40-elements", "cfg-sizes-at-limits", "cfg-vocab-2p40", "st-shape-product-above-2p53"]) {
      const { bytes, error } = await loadCounted(join(CORPUS, name), null);
      expect(error, name).toBeInstanceOf(DistilBertError);
      // Parsing only (and, for the config case, the tokenizer's fixed tables): nothing sized by a claimed dimension.
      expect(bytes, name).toBeLessThan(64 * 1024 + (name.startsWith("cfg-sizes") ? fixedTokenizerBytes : 0));
    }
  });

  it("through the CLI: exit 2, nothing on stdout, exactly one `error:` line naming the file and the problem", async () => {
    const run = (c: HostileCase) =>
      new Promise<{ c: HostileCase; code: number; stdout: string; stderr: string }>((resolve) => {
        const args = [CLI, "classify", "--model", join(CORPUS, c.name), ...(c.options?.checkWeights ? ["--check-weights"] : []), "x"];
        execFile(process.execPath, args, { encoding: "utf8" }, (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
          resolve({ c, code, stdout, stderr });
        });
      });
    // Two at a time: the machine has two cores, and each run is mostly process start-up.
    const results: Awaited<ReturnType<typeof run>>[] = [];
    const queue = [...cases];
    await Promise.all(
      [0, 1].map(async () => {
        for (let c = queue.shift(); c !== undefined; c = queue.shift()) results.push(await run(c));
      }),
    );
    for (const { c, code, stdout, stderr } of results) {
      const lines = stderr.split("\n").filter((l) => l.length > 0);
      // On failure the whole stderr is shown (an exit 1 is an internal error: its message says what broke).
      const err = lines.length === 1 ? 1 : stderr;
      expect({ name: c.name, code, stdout, stderr: err }).toEqual({ name: c.name, code: 2, stdout: "", stderr: 1 });
      expect(lines[0].startsWith("error: "), c.name).toBe(true);
      expect(lines[0], c.name).toContain(join(CORPUS, c.name, c.file));
      expect(lines[0], c.name).toContain(c.message);
    }
    console.log(`hostile corpus via the CLI: ${results.length} cases, all exit 2 with one error: line`);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile inputs too large or too many to commit: built here, each against an otherwise valid base model.

describe("hostile inputs built in memory", () => {
  const base = () => {
    const f = filesOf(BASE);
    const d = new TextDecoder();
    return {
      config: JSON.parse(d.decode(f["config.json"])) as Record<string, unknown>,
      vocab: d.decode(f["vocab.txt"]),
      tokenizerJson: JSON.parse(d.decode(f["tokenizer.json"])) as Record<string, unknown>,
      weights: f["model.safetensors"],
    };
  };
  const DEEP = 200_000;
  const deep = "[".repeat(DEEP) + "]".repeat(DEEP);

  async function rejectsTyped(p: Promise<unknown>, Cls: typeof DistilBertError, fragment: string): Promise<void> {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(Cls);
    const msg = (e as Error).message;
    expect(msg).toContain(fragment);
    expect(msg).not.toMatch(/[\n\r\u001b\u2028\u2029\u202e]/);
    expect(msg.length).toBeLessThan(600);
  }

  it("deeply nested values in config.json (200,000 levels) give a ConfigError, not a stack overflow", async () => {
    const b = base();
    const text = (field: string) => JSON.stringify({ ...b.config, [field]: null }).replace(`"${field}":null`, `"${field}":${deep}`);
    for (const field of ["model_type", "activation", "dim", "id2label", "pad_token_id", "sinusoidal_pos_embds"]) {
      await rejectsTyped(loadModel({ ...b, config: text(field) }), errors.ConfigError, field === "id2label" ? "id2label" : field);
    }
  });

  it("deeply nested values in tokenizer.json give a TokenizerError", async () => {
    const b = base();
    const j = b.tokenizerJson as { model: Record<string, unknown> };
    const variants: [string, string][] = [
      [JSON.stringify({ ...j, normalizer: null }).replace('"normalizer":null', `"normalizer":${deep}`), "normalizer"],
      [JSON.stringify({ ...j, model: { ...j.model, type: null } }).replace('"type":null', `"type":${deep}`), "model type"],
      [JSON.stringify({ ...j, post_processor: { type: "BertProcessing", sep: null, cls: ["[CLS]", 2] } }).replace('"sep":null', `"sep":${deep}`), "post_processor.sep"],
    ];
    for (const [text, fragment] of variants) await rejectsTyped(loadModel({ ...b, vocab: undefined, tokenizerJson: text }), errors.TokenizerError, fragment);
  });

  it("10 MB strings in config.json and tokenizer.json give short messages", async () => {
    const b = base();
    const big = "x".repeat(10_000_000);
    await rejectsTyped(loadModel({ ...b, config: JSON.stringify({ ...b.config, activation: big }) }), errors.ConfigError, "(10000000 characters)");
    await rejectsTyped(loadModel({ ...b, config: JSON.stringify({ ...b.config, model_type: big }) }), errors.ConfigError, "(10000000 characters)");
    const j = b.tokenizerJson as { model: Record<string, unknown> };
    await rejectsTyped(loadModel({ ...b, vocab: undefined, tokenizerJson: JSON.stringify({ ...j, model: { ...j.model, type: big } }) }), errors.TokenizerError, "(10000000 characters)");
  });

  it("JSON syntax errors quoting newlines, ESC sequences and RTL overrides stay on one printable line", async () => {
    const b = base();
    const nasty = '{\n"dim": \u001b[2J\u202e\u2028 x\n}';
    await rejectsTyped(loadModel({ ...b, config: nasty }), errors.ConfigError, "not valid JSON");
    await rejectsTyped(loadModel({ ...b, vocab: undefined, tokenizerJson: nasty }), errors.TokenizerError, "malformed JSON");
    const h = new TextEncoder().encode(nasty);
    const weights = new Uint8Array(8 + h.length);
    new DataView(weights.buffer).setUint32(0, h.length, true);
    weights.set(h, 8);
    await rejectsTyped(loadModel({ ...b, weights }), errors.SafetensorsError, "not valid JSON");
  });

  it("a weight shape with 400,000 dimensions gives a short WeightsError", async () => {
    const b = base();
    const n = new DataView(b.weights.buffer, b.weights.byteOffset, 8).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(b.weights.subarray(8, 8 + n))) as Record<string, { shape: number[] }>;
    const name = "distilbert.embeddings.LayerNorm.bias";
    header[name].shape = [...new Array<number>(400_000).fill(1), header[name].shape[0]];
    const h = new TextEncoder().encode(JSON.stringify(header));
    const data = b.weights.subarray(8 + n);
    const weights = new Uint8Array(8 + h.length + data.length);
    new DataView(weights.buffer).setUint32(0, h.length, true);
    weights.set(h, 8);
    weights.set(data, 8 + h.length);
    await rejectsTyped(loadModel({ ...b, weights }), errors.WeightsError, "(400001 dims)");
  });

  it("a valid 2.6 MB header of 40,000 empty tensors is refused by the model loader before it is parsed", async () => {
    const b = base();
    const n = new DataView(b.weights.buffer, b.weights.byteOffset, 8).getUint32(0, true);
    const text = new TextDecoder().decode(b.weights.subarray(8, 8 + n)).trimEnd();
    const extra: string[] = [];
    for (let i = 0; i < 40_000; i++) extra.push(`"extra.${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const h = new TextEncoder().encode(`${text.slice(0, -1)},${extra.join(",")}}`);
    const data = b.weights.subarray(8 + n);
    const weights = new Uint8Array(8 + h.length + data.length);
    new DataView(weights.buffer).setUint32(0, h.length, true);
    weights.set(h, 8);
    weights.set(data, 8 + h.length);
    // The format allows it (the generic reader parses it) ...
    expect(SafetensorsFile.parse(weights).tensors.size).toBe(40_000 + 24);
    // ... a DistilBERT loader has no use for it, and refuses it from the 8-byte length alone.
    let pending: Promise<unknown> = Promise.resolve();
    const bytes = await countAllocations(() => {
      pending = loadModel({ ...b, weights, backend: "js" });
      return pending.catch(() => undefined);
    });
    await rejectsTyped(pending, errors.SafetensorsError, `header length ${h.length} exceeds the`);
    expect(bytes).toBeLessThan(64 * 1024);
  });

  it("tensors named __proto__, constructor and toString are ordinary (ignored) tensors; nothing is polluted", async () => {
    const b = base();
    const n = new DataView(b.weights.buffer, b.weights.byteOffset, 8).getUint32(0, true);
    const text = new TextDecoder().decode(b.weights.subarray(8, 8 + n)).trimEnd();
    const data = b.weights.subarray(8 + n);
    const end = data.length;
    const extra = `,"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[${end},${end + 4}]},"constructor":{"dtype":"U8","shape":[2],"data_offsets":[${end + 4},${end + 6}]},"toString":{"dtype":"BOOL","shape":[2],"data_offsets":[${end + 6},${end + 8}]}}`;
    const h = new TextEncoder().encode(text.slice(0, -1) + extra);
    const weights = new Uint8Array(8 + h.length + end + 8);
    new DataView(weights.buffer).setUint32(0, h.length, true);
    weights.set(h, 8);
    weights.set(data, 8 + h.length);
    const model = await loadModel({ ...b, weights, config: JSON.stringify({ ...b.config, id2label: { 0: "__proto__", 1: "constructor" } }) });
    expect(model.loadReport.ignored.sort()).toEqual(["__proto__", "constructor", "toString"]);
    const r = await model.classify("good");
    expect(Object.keys(r.scores).sort()).toEqual(["__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "shape")).toBe(false);
  });

  it("vocab.txt with tokens named __proto__ and constructor loads and encodes them as tokens", async () => {
    const b = base();
    const lines = b.vocab.trimEnd().split("\n");
    lines[lines.length - 1] = "__proto__";
    lines[lines.length - 2] = "constructor";
    // tokenizerJson left out: given, it would be the tokenizer (it is preferred, as AutoTokenizer prefers it).
    const model = await loadModel({ ...b, tokenizerJson: undefined, vocab: lines.join("\n") + "\n" });
    expect(model.tokenizer.tokenToId("__proto__")).toBe(lines.length - 1);
    expect(model.tokenizer.tokenToId("toString")).toBeUndefined();
  });
});
