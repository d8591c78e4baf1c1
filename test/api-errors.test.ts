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
import { GradientEngine } from "../src/grad/engine.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { pipelineFor, pipeline } from "../src/pipelines/index.js";
import { activationPatching, attribute, attributionSection, logitLens, occlusion, renderAttributionReport, renderPatchReport, renderProbeReport, renderStudyReport, rollout, runProbe, studyInput } from "../src/study.js";
import { loadTiny, tinyFiles } from "./helpers/fixture.js";
import { loadHeadsModel } from "./helpers/heads.js";
import { loadModelFromDir, loadTokenizerFromDir } from "../src/node/model-dir.js";
import { pipeline as nodePipeline } from "../src/node/pipeline.js";

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

describe("pipelines", () => {
  it("pipeline(task, source, options) names a bad task, source or options", async () => {
    await expectInputError(() => pipeline("summarization" as never, model), "pipeline: task", /"summarization"/, /fill-mask/);
    await expectInputError(() => pipeline("text-classification", 42 as never), "pipeline: source", /number/, /loaded model/);
    await expectInputError(() => pipeline("text-classification", null as never), "pipeline: source", /null/);
    await expectInputError(() => pipeline("text-classification", ""), "pipeline: source", /absolute URL/);
    await expectInputError(() => pipeline("text-classification", model, 3 as never), "pipeline: options", /number/);
    await expectInputError(() => pipelineFor("text-classification", {} as never), "pipeline: model", /object/);
    await expectInputError(() => pipelineFor("fill-mask", model), "pipeline", /DistilBertForMaskedLM/);
  });

  it("text-classification: inputs and each call option", async () => {
    const classify = await pipeline("text-classification", model);
    await expectInputError(() => classify(5 as never), "text-classification: input", /number/, /string or an array/);
    await expectInputError(() => classify(["a", null] as never), /inputs\[1\]/, /null/, /a string/);
    await expectInputError(() => classify("a", "fast" as never), "text-classification: options", /string/);
    await expectInputError(() => classify("a", { topk: 2 } as never), "options", /topk/, /topK/);
    await expectInputError(() => classify("a", { topK: 0 }), "topK", /0/, /positive integer/);
    await expectInputError(() => classify("a", { topK: "2" } as never), "topK", /"2"/);
    await expectInputError(() => classify("a", { functionToApply: "relu" } as never), "functionToApply", /"relu"/, /softmax/);
  });

  describe.each([["js"]])("heads (%s)", () => {
    it("fill-mask, question-answering, token-classification, feature-extraction: call options", async () => {
      const be = new JsBackend();
      const fill = pipelineFor("fill-mask", await loadHeadsModel("mlm-uncased", be));
      await expectInputError(() => fill("a [MASK] b", { topK: -1 }), "fill-mask: topK", /-1/);
      await expectInputError(() => fill("a [MASK] b", { targets: [] }), "fill-mask: targets", /empty/);
      await expectInputError(() => fill("a [MASK] b", { targets: ["good", 5] } as never), /targets\[1\]/, /number/);
      await expectInputError(() => fill("a [MASK] b", { targets: 5 } as never), "targets", /number/);
      await expectInputError(() => fill("no mask here"), /inputs\[0\]/, /\[MASK\]/);
      await expectInputError(() => fill("a [MASK] b", { top_k: 3 } as never), "fill-mask: options", /top_k/);

      const qa = pipelineFor("question-answering", await loadHeadsModel("qa-cased", be));
      await expectInputError(() => qa("who?" as never), /inputs\[0\]/, /string/, /question, context/);
      await expectInputError(() => qa({ question: "who?" } as never), /inputs\[0\]\.context/, /missing/, /a string/);
      await expectInputError(() => qa([{ question: "who?", context: "me" }, { question: 1, context: "x" }] as never), /inputs\[1\]\.question/, /number/);
      await expectInputError(() => qa({ question: "q", context: "c" }, { docStride: -1 }), "docStride", /-1/);
      await expectInputError(() => qa({ question: "q", context: "c" }, { maxSeqLen: 1e6 }), "maxSeqLen", /1000000/);
      await expectInputError(() => qa({ question: "q", context: "c" }, { alignToWords: "no" } as never), "alignToWords", /"no"/, /boolean/);
      await expectInputError(() => qa({ question: "q", context: "c" }, { handleImpossibleAnswer: 1 } as never), "handleImpossibleAnswer", /boolean/);

      const ner = pipelineFor("token-classification", await loadHeadsModel("ner-cased", be));
      await expectInputError(() => ner("Ada", { aggregation: "mean" } as never), "aggregation", /"mean"/, /simple/);
      await expectInputError(() => ner("Ada", { ignoreLabels: "O" } as never), "ignoreLabels", /string/, /array/);
      await expectInputError(() => ner("Ada", { ignoreLabels: ["O", 0] } as never), /ignoreLabels\[1\]/);

      const embed = pipelineFor("feature-extraction", await loadHeadsModel("embed", be));
      await expectInputError(() => embed("a", { pooling: "sum" } as never), "pooling", /"sum"/, /mean/);
      await expectInputError(() => embed("a", { normalize: "yes" } as never), "normalize", /boolean/);
      await expectInputError(() => embed([""] as never, { pool: "mean" } as never), "options", /pool/);
    });
  });
});

describe("gradients and the study functions", () => {
  it("GradientEngine: constructor, run/gradients arguments, activationNames", async () => {
    await expectInputError(() => new GradientEngine({} as never), "GradientEngine: model", /object/);
    await expectInputError(() => new GradientEngine(model, { precision: "f16" } as never), "precision", /"f16"/, /f64/);
    await expectInputError(() => new GradientEngine(model, { recompute: 1 } as never), "recompute", /boolean/);
    await expectInputError(() => new GradientEngine(model, { recomputed: true } as never), "options", /recomputed/);
    const engine = new GradientEngine(model);
    const logit = { kind: "logit", label: 0 } as const;
    await expectInputError(() => engine.gradients({ ids: [101, 999999, 102] }, logit, []), "input_ids", /position 1/, /999999/, /vocab_size/);
    await expectInputError(() => engine.gradients({ ids: [] }, logit, []), "input_ids", /0 tokens/);
    await expectInputError(() => engine.gradients({ ids: A, embeddings: [1] }, logit, []), "gradients", /exactly one/);
    await expectInputError(() => engine.gradients({ embeddings: "abc" } as never, logit, []), "embeddings", /string/);
    const dim = model.config.dim;
    const e = new Array(2 * dim).fill(0);
    e[dim + 3] = "x";
    await expectInputError(() => engine.gradients({ embeddings: e }, logit, []), "embeddings", /row 1, column 3/, /finite/);
    await expectInputError(() => engine.gradients({ ids: A, attentionMask: [1, "1", 1, 1] } as never, logit, []), "attention_mask", /column 1/);
    await expectInputError(() => engine.gradients(A as never, logit, []), "gradients: input", /array/);
    await expectInputError(() => engine.gradients({ ids: A }, "logit" as never, []), "objective", /string/, /kind/);
    await expectInputError(() => engine.gradients({ ids: A }, { kind: "loss" } as never, []), "objective.kind", /"loss"/);
    await expectInputError(() => engine.gradients({ ids: A }, { kind: "logit", label: "MAYBE" }, []), "target", /MAYBE/, /label/);
    await expectInputError(() => engine.gradients({ ids: A }, { kind: "activations", terms: 3 } as never, []), "objective.terms", /number/);
    await expectInputError(() => engine.gradients({ ids: A }, logit, "embeddings.out" as never), "wrt", /string/, /array/);
    await expectInputError(() => engine.gradients({ ids: A }, logit, ["nowhere.out"]), "wrt", /nowhere/);
    await expectInputError(() => engine.activationNames(0), "activationNames: T", /0/);
  });

  it("attribute, rollout, activationPatching", async () => {
    await expectInputError(() => attribute(null as never, { text: "a" }), "attribute: model", /null/);
    await expectInputError(() => attribute(model, "a film" as never), "attribute: input", /string/, /\{ text \}/);
    await expectInputError(() => attribute(model, { text: 5 } as never), "attribute: input.text", /number/);
    await expectInputError(() => attribute(model, { ids: [101, 70000, 102], tokens: ["a", "b", "c"] }), "attribute: input.ids", /position 1/, /70000/);
    await expectInputError(() => attribute(model, { ids: A, tokens: ["a"] }), "input.tokens", /1 tokens for 4 ids/);
    await expectInputError(() => attribute(model, { text: "a" }, { method: "lime" } as never), "method", /"lime"/, /ig/);
    await expectInputError(() => attribute(model, { text: "a" }, { steps: 0 }), "steps", /0/, /4096/);
    await expectInputError(() => attribute(model, { text: "a" }, { rule: "simpson" } as never), "rule", /simpson/);
    await expectInputError(() => attribute(model, { text: "a" }, { baseline: "noise" } as never), "baseline", /noise/);
    await expectInputError(() => attribute(model, { text: "a" }, { target: 99 }), "target", /99/, /label/);
    await expectInputError(() => attribute(model, { text: "a" }, { engine: {} } as never), "engine", /GradientEngine/);
    await expectInputError(() => attribute(model, { text: "a" }, { step: 3 } as never), "options", /step/);
    await expectInputError(() => rollout(model, [[101, 102]] as never), "rollout: ids", /position 0/);
    await expectInputError(() => activationPatching(model, { text: "good" }, "bad" as never), "activationPatching: corrupted", /string/);
    await expectInputError(() => activationPatching(model, { text: "good" }, { text: "bad" }, { by: "layer" } as never), "by", /"layer"/, /position/);
    await expectInputError(() => activationPatching(model, { text: "good" }, { text: "bad" }, { metric: "kl" } as never), "metric", /kl/);
    await expectInputError(() => activationPatching(model, { text: "good" }, { text: "bad" }, { other: "NOPE" }), "activationPatching: other", /NOPE/);
  });

  it("studyInput, logitLens, occlusion, runProbe", async () => {
    await expectInputError(() => studyInput(model, { ids: "101" } as never), "studyInput: input.ids", /string/);
    await expectInputError(() => studyInput(model, { text: "a" }, { label: 1 } as never), "studyInput: label", /number/);
    await expectInputError(() => studyInput(model, { text: "a" }, { label: "NOPE" }), "studyInput: label", /NOPE/);
    await expectInputError(() => studyInput(model, { text: "a" }, { igSteps: -1 }), "igSteps", /-1/);
    await expectInputError(() => studyInput(model, { text: "a" }, { occlusion: "no" } as never), "occlusion", /boolean/);
    await expectInputError(() => studyInput(model, { text: "a" }, { headMask: [[1, "x"]] } as never), "headMask", /row 0, column 1/);
    await expectInputError(() => logitLens(model, "x" as never), "logitLens: hiddenStates", /string/);
    await expectInputError(() => logitLens(model, [{ shape: [1, 2], data: new Float32Array(2) }] as never), /hiddenStates\[0\]/, /Tensor/);
    const hs = model.forward([A], undefined, { outputHiddenStates: true }).hiddenStates!;
    await expectInputError(() => logitLens(model, hs, 1), "logitLens: b", /1/, /0 to 0/);
    await expectInputError(() => occlusion(model, A, ["a", "b"], 0, 0.5, null), "occlusion.tokens", /2 tokens for 4 ids/);
    await expectInputError(() => occlusion(model, A, ["a", "b", "c", "d"], 7, 0.5, null), "occlusion: labelIndex", /7/);
    await expectInputError(() => occlusion(model, A, ["a", "b", "c", "d"], 0, NaN, null), "fullProb", /NaN/);
    await expectInputError(() => runProbe(model, 5 as never, ["x"]), "template", /number/);
    await expectInputError(() => runProbe(model, "a {} film", "x" as never), "runProbe: values", /string/, /array/);
    await expectInputError(() => runProbe(model, "a {} film", ["x", 2] as never), /values\[1\]/);
    await expectInputError(() => runProbe(model, "a {} film", ["x"], 3 as never), "runProbe: label", /number/);
  });

  it("the report renderers name a result that is not what the study function returned", async () => {
    await expectInputError(() => renderStudyReport({} as never), "renderStudyReport: study.tokens", /missing/, /studyInput/);
    await expectInputError(() => renderStudyReport("x" as never), "renderStudyReport: study", /string/);
    const study = studyInput(model, { text: "a film" }, { occlusion: false, igSteps: 0 });
    await expectInputError(() => renderStudyReport(study, 5 as never), "renderStudyReport: options", /number/);
    await expectInputError(() => renderProbeReport({ ...runProbe(model, "a {} film", ["x"]), rows: null } as never), "renderProbeReport: result.rows", /null/, /runProbe/);
    await expectInputError(() => renderAttributionReport([] as never), "renderAttributionReport: attribution", /array/, /attribute/);
    await expectInputError(() => attributionSection([{ method: "ig" }] as never), /attributionSection: list\[0\]\.tokens/, /missing/);
    await expectInputError(() => renderPatchReport({ rows: [] } as never), "renderPatchReport: result.columns", /missing/, /activationPatching/);
  });
});

describe("Node entry points", () => {
  it("loadModelFromDir, loadTokenizerFromDir and Node's pipeline name a bad folder or options", async () => {
    await expectInputError(() => loadModelFromDir(5 as never), "loadModelFromDir: dir", /number/, /model folder/);
    await expectInputError(() => loadModelFromDir(""), "loadModelFromDir: dir", /""/);
    await expectInputError(() => loadModelFromDir("/nowhere", [] as never), "loadModelFromDir: options", /array/);
    await expectInputError(() => loadTokenizerFromDir(null as never), "loadTokenizerFromDir: dir", /null/);
    await expectInputError(() => nodePipeline("fill-mask", "/nowhere", null as never), "pipeline: options", /null/);
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
  it("pipelines, gradients and the study functions", async () => {
    const classify = await pipeline("text-classification", model);
    const engine = new GradientEngine(model);
    await fc.assert(
      fc.asyncProperty(anything, anything, async (a, b) => {
        await typed(() => classify(a as never, b as never));
        await typed(() => classify("a film", { topK: a, functionToApply: b } as never));
        await typed(() => pipeline(a as never, model));
        await typed(() => pipeline("text-classification", a as never, b as never));
        await typed(() => engine.gradients(a as never, b as never, ["embeddings.out"]));
        await typed(() => engine.gradients({ ids: A }, { kind: "logitDiff", label: a, other: b } as never, a as never));
        await typed(() => engine.gradients({ embeddings: a, attentionMask: b } as never, { kind: "logit", label: 0 }, []));
        await typed(() => attribute(model, a as never, b as never));
        await typed(() => attribute(model, { text: "a film" }, { method: "gradxinput", target: a, baseline: b } as never));
        await typed(() => activationPatching(model, { text: "a film" }, a as never, b as never));
        await typed(() => studyInput(model, a as never, { occlusion: false, igSteps: 0, label: b } as never));
        await typed(() => runProbe(model, a as never, b as never));
        await typed(() => renderStudyReport(a as never, b as never));
        await typed(() => renderProbeReport(a as never, b as never));
        await typed(() => renderAttributionReport(a as never, b as never));
        await typed(() => renderPatchReport(a as never, b as never));
        await typed(() => attributionSection(a as never));
      }),
      { numRuns: 150 },
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
