/**
 * Every public entry point, called with bad arguments, throws an InputError (or the typed error of the file it
 * reads: ConfigError, TokenizerError, SafetensorsError) whose message names the argument, where it is (row, column)
 * and what was expected: never a TypeError or RangeError from inside the engine.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { DistilBertError, InputError } from "../src/errors.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { loadModel } from "../src/model/load.js";
import { loadTiny, tinyFiles } from "./helpers/fixture.js";

let model: DistilBertClassifier;
beforeAll(async () => {
  model = await loadTiny(undefined);
});

/** Runs `call` and returns the error it throws (sync or async); fails when it does not throw. */
async function thrown(call: () => unknown): Promise<Error> {
  try {
    await call();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, but the call succeeded");
}

async function expectInputError(call: () => unknown, ...mentions: (string | RegExp)[]): Promise<void> {
  const e = await thrown(call);
  expect(e, `${e?.name}: ${e?.message}`).toBeInstanceOf(InputError);
  for (const m of mentions) expect(e.message).toMatch(m);
  expect(e.message).not.toMatch(/\n/);
}

const A = [101, 7592, 2088, 102];

describe("forward: input_ids and attention_mask", () => {
  it("an id out of range is named by row and column, not by its flat position", async () => {
    await expectInputError(() => model.forward([[101, 102, 103], [101, 999999, 102]]), "input_ids", /row 1, column 1/, /999999/, /vocab_size/);
    await expectInputError(() => model.forward([101, -1, 102]), "input_ids", /row 0, column 1/, /-1/);
    await expectInputError(() => model.forward([[101, 1.5]]), "input_ids", /row 0, column 1/, /integer/);
    await expectInputError(() => model.forward([[101, NaN]]), "input_ids", /row 0, column 1/);
    await expectInputError(() => model.forward([[101, "7592", 102]] as never), "input_ids", /row 0, column 1/, /number/);
    await expectInputError(() => model.forward([[101, 102], [101]]), "input_ids", /row 1/, /rectangular/);
    await expectInputError(() => model.forward("101 102" as never), "input_ids", /string/);
    await expectInputError(() => model.forward(null as never), "input_ids", /null/);
    await expectInputError(() => model.forward([[101, 102], 5] as never), "input_ids", /row 1/);
  });

  it("a sequence longer than the position table is named with its length", async () => {
    const long = new Array(model.maxLength + 1).fill(7592);
    await expectInputError(() => model.forward([long]), "input_ids", new RegExp(`${model.maxLength + 1}`), new RegExp(`${model.maxLength}`));
    await expectInputError(() => model.logitsOf([A, long]), "sequence 1", new RegExp(`${model.maxLength + 1}`));
  });

  it("attention_mask: shape and values", async () => {
    await expectInputError(() => model.forward([A], [[1, 1, 1]]), "attention_mask", /\[1, 4\]/);
    await expectInputError(() => model.forward([A], [[1, 1, "x", 1]] as never), "attention_mask", /row 0, column 2/);
    await expectInputError(() => model.forward([A], 1 as never), "attention_mask", /number/);
  });

  it("logitsOf names the sequence and position", async () => {
    await expectInputError(() => model.logitsOf([A, [101, 40000, 102]]), "sequence 1", /position 1/, /40000/);
    await expectInputError(() => model.logitsOf([A, []]), "sequence 1", /empty/);
    await expectInputError(() => model.logitsOf("abc" as never), "sequences", /string/);
    await expectInputError(() => model.logitsOf([A], 0), "maxBatchTokens", /0/);
  });
});

describe("forward options", () => {
  it("each option is checked and named", async () => {
    await expectInputError(() => model.forward([A], undefined, { capture: "layer.0.out" as never }), "capture", /string/, /array/);
    await expectInputError(() => model.forward([A], undefined, { capture: [5] as never }), /capture\[0\]/, /number/);
    await expectInputError(() => model.forward([A], undefined, { capture: ["nope.*"] }), "capture", /nope/);
    await expectInputError(() => model.forward([A], undefined, { hooks: () => undefined } as never), "hooks", /function/, /object/);
    await expectInputError(() => model.forward([A], undefined, { hooks: { "layer.0.out": 3 } } as never), "hooks", /layer\.0\.out/, /function/);
    await expectInputError(() => model.forward([A], undefined, { hooks: ["x"] } as never), "hooks", /array/);
    await expectInputError(() => model.forward([A], undefined, { outputHiddenStates: "yes" } as never), "outputHiddenStates", /boolean/);
    await expectInputError(() => model.forward([A], undefined, { outputAttentions: 1 } as never), "outputAttentions", /boolean/);
    await expectInputError(() => model.forward([A], undefined, { headMask: [1, 1] }), "headMask", /heads/);
    await expectInputError(() => model.forward([A], undefined, { headMask: [[1, "a"]] } as never), "headMask", /row 0, column 1/);
    await expectInputError(() => model.forward([A], undefined, { headMask: "1" } as never), "headMask", /string/);
    await expectInputError(() => model.forward([A], undefined, 7 as never), "options", /number/, /object/);
    await expectInputError(() => model.forward([A], undefined, { outputHidden: true } as never), "options", /outputHidden/, /outputHiddenStates/);
  });
});

describe("classify and classifySync", () => {
  it("texts and options are checked and named", async () => {
    await expectInputError(() => model.classifySync("hello" as never), "texts", /string/, /array of strings/);
    await expectInputError(() => model.classifySync(["a", 5] as never), /texts\[1\]/, /number/);
    await expectInputError(() => model.classifySync(["a", , "b"] as never), /texts\[1\]/);
    await expectInputError(() => model.classify(5 as never), /classify/, /number/, /string/);
    await expectInputError(() => model.classify(["a", null] as never), /texts\[1\]/, /null/);
    await expectInputError(() => model.classify("a", "fast" as never), "options", /string/);
    await expectInputError(() => model.classify("a", { maxBatchTokens: 0 }), "maxBatchTokens", /0/, /integer/);
    await expectInputError(() => model.classify("a", { maxBatchTokens: "8" } as never), "maxBatchTokens", /"8"/);
    await expectInputError(() => model.classify("a", { long: "cut" } as never), "long", /cut/, /truncate/);
    await expectInputError(() => model.classify("a", { long: "window", stride: 0 }), "stride", /0/);
    await expectInputError(() => model.classify("a", { maxbatchtokens: 8 } as never), "options", /maxbatchtokens/);
  });
});

describe("tokenizer", () => {
  it("encode, encodeBatch and decode check their arguments", async () => {
    const tok = model.tokenizer;
    await expectInputError(() => tok.encode(5 as never), "text", /number/, /string/);
    await expectInputError(() => tok.encode("a", { maxLength: 1 }), "maxLength", /1/);
    await expectInputError(() => tok.encode("a", { addSpecialTokens: "no" } as never), "addSpecialTokens", /boolean/);
    await expectInputError(() => tok.encode("a", 3 as never), "options", /number/);
    await expectInputError(() => tok.encodeBatch("a" as never), "texts", /array/);
    await expectInputError(() => tok.encodeBatch(["a", 1] as never), /texts\[1\]/);
    await expectInputError(() => tok.decode([101, 1e9]), /ids\[1\]/);
  });
});

describe("loadModel", () => {
  it("options are checked and named", async () => {
    const f = tinyFiles();
    await expectInputError(() => loadModel(undefined as never), "loadModel", /options/);
    await expectInputError(() => loadModel({ ...f, weights: "model.safetensors" as never }), "weights", /string/);
    await expectInputError(() => loadModel({ ...f, backend: "gpu" as never }), "backend", /gpu/);
    await expectInputError(() => loadModel({ ...f, checkWeights: "yes" as never }), "checkWeights", /boolean/);
    await expectInputError(() => loadModel({ ...f, threads: 0, backend: "wasm" }), "threads", /0/);
    await expectInputError(() => loadModel({ ...f, threads: "2" as never }), "threads", /"2"/);
    await expectInputError(() => loadModel({ ...f, sources: 5 } as never), "sources", /number/);
    await expectInputError(() => loadModel({ ...f, vocab: 5 } as never), "vocab", /number/);
    await expectInputError(() => loadModel({ ...f, workerFactory: 5 } as never), "workerFactory", /function/);
    await expectInputError(() => loadModel({ ...f, wasmModule: new Uint8Array(3) } as never), "wasmModule", /WebAssembly.Module/);
    await expectInputError(() => loadModel({ ...f, vocab: undefined }), /vocab/, /tokenizerJson/);
    await expectInputError(() => loadModel({ ...f, weigths: f.weights, weights: undefined } as never), "weights");
  });
});

describe("property: any value in any argument is accepted or refused with a typed error", () => {
  const anything = fc.oneof(fc.anything(), fc.constantFrom(NaN, Infinity, -1, 0, 1e9, "", "layer.0.out", [], {}, [[]], () => 1, Symbol("s"), 10n));
  const typed = async (call: () => unknown) => {
    try {
      await call();
    } catch (e) {
      if (!(e instanceof DistilBertError)) throw e;
      expect(e.message).not.toMatch(/\n/);
    }
  };
  it("forward(ids, mask, options) and logitsOf", async () => {
    await fc.assert(
      fc.asyncProperty(anything, anything, anything, async (a, b, c) => {
        await typed(() => model.forward(a as never));
        await typed(() => model.forward([A], a as never));
        await typed(() => model.forward([A], undefined, a as never));
        await typed(() => model.forward([A], undefined, { capture: a, hooks: b, headMask: c } as never));
        await typed(() => model.forward([A], undefined, { outputHiddenStates: a, outputAttentions: b } as never));
        await typed(() => model.logitsOf(a as never, b as never));
      }),
      { numRuns: 300 },
    );
  });
  it("classify, classifySync and the tokenizer", async () => {
    await fc.assert(
      fc.asyncProperty(anything, anything, async (a, b) => {
        await typed(() => model.classify(a as never, b as never));
        await typed(() => model.classifySync(a as never, b as never));
        await typed(() => model.classify("a film", { maxBatchTokens: a, long: b } as never));
        await typed(() => model.classify("a film", { long: "window", stride: a } as never));
        await typed(() => model.tokenizer.encode(a as never, b as never));
        await typed(() => model.tokenizer.encode("a film", { maxLength: a, addSpecialTokens: b } as never));
        await typed(() => model.tokenizer.encodeBatch(a as never, b as never));
        await typed(() => model.tokenizer.decode(a as never, b as never));
      }),
      { numRuns: 300 },
    );
  });
  it("loadModel options", async () => {
    const f = tinyFiles();
    const keys = ["config", "vocab", "tokenizerJson", "weights", "backend", "wasmModule", "threads", "workerFactory", "checkWeights", "sources"] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), anything, async (k, v) => {
        await typed(async () => {
          const m = await loadModel({ ...f, backend: "js", [k]: v } as never);
          (m.backend as { dispose?: () => void }).dispose?.();
        });
      }),
      { numRuns: 40 },
    );
  });
});
