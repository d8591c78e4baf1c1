/**
 * Named activations, capture and hooks on the tiny fixture model: every name in activationTable is emitted once,
 * in order, with its documented shape; captures are copies; patching an activation with its own value changes
 * nothing (bit for bit); hooks that zero or scale a head equal headMask bit for bit; nothing is tapped when nothing
 * is asked for.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { InputError } from "../src/errors.js";
import { activationTable, compilePattern, ForwardTaps, type Hook } from "../src/model/activations.js";
import type { DistilBertClassifier, ForwardOutput } from "../src/model/classifier.js";
import { SafetensorsFile } from "../src/safetensors/index.js";
import { Tensor } from "../src/tensor/tensor.js";
import { backendCases } from "./helpers/backends.js";
import { loadTiny, tinyFiles } from "./helpers/fixture.js";

// [CLS] w w w w w w [SEP] (hello world-like ids from bert-base-uncased's vocab) and a second sentence of equal length.
/**
 * Each activation and the Hugging Face module (DistilBertForSequenceClassification, modeling_distilbert.py) whose
 * output it is, written out here from HF's source rather than derived from src/model/activations.ts.
 */
function HF_PATHS(nLayers: number): Record<string, string> {
  const m: Record<string, string> = {
    "embeddings.word": "distilbert.embeddings.word_embeddings",
    "embeddings.position": "distilbert.embeddings.position_embeddings",
    "embeddings.out": "distilbert.embeddings",
  };
  for (let i = 0; i < nLayers; i++) {
    const p = `distilbert.transformer.layer.${i}`;
    Object.assign(m, {
      [`layer.${i}.attn.q`]: `${p}.attention.q_lin`,
      [`layer.${i}.attn.k`]: `${p}.attention.k_lin`,
      [`layer.${i}.attn.v`]: `${p}.attention.v_lin`,
      [`layer.${i}.attn.scores`]: `${p}.attention (scores after masked_fill)`,
      [`layer.${i}.attn.probs`]: `${p}.attention (weights; output_attentions)`,
      [`layer.${i}.attn.context`]: `${p}.attention.out_lin (input)`,
      [`layer.${i}.attn.out`]: `${p}.attention.out_lin`,
      [`layer.${i}.sa_ln.out`]: `${p}.sa_layer_norm`,
      [`layer.${i}.ffn.pre`]: `${p}.ffn.lin1`,
      [`layer.${i}.ffn.act`]: `${p}.ffn.activation`,
      [`layer.${i}.ffn.out`]: `${p}.ffn.lin2`,
      [`layer.${i}.out`]: `${p}.output_layer_norm`,
    });
  }
  m["head.pre_classifier"] = "pre_classifier";
  m["head.relu"] = "ReLU in DistilBertForSequenceClassification.forward";
  m["head.logits"] = "classifier";
  return m;
}

const A = [101, 7592, 2088, 2003, 1037, 3231, 2000, 102];
const B = [101, 1045, 2293, 2023, 3185, 2172, 999, 102];

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function expectBitIdentical(x: Float32Array, y: Float32Array, what: string): void {
  expect(x.length, what).toBe(y.length);
  expect(Buffer.from(bits(x).buffer, bits(x).byteOffset, x.byteLength).equals(Buffer.from(bits(y).buffer, bits(y).byteOffset, y.byteLength)), what).toBe(true);
}

function expectSameOutput(a: ForwardOutput, b: ForwardOutput, what: string): void {
  expectBitIdentical(a.logits.data, b.logits.data, `${what}: logits`);
  a.hiddenStates?.forEach((h, l) => expectBitIdentical(h.data, b.hiddenStates![l].data, `${what}: hidden_states[${l}]`));
  a.attentions?.forEach((t, l) => expectBitIdentical(t.data, b.attentions![l].data, `${what}: attentions[${l}]`));
}

describe("compilePattern", () => {
  const cases: [string, string, boolean][] = [
    ["layer.*.attn.probs", "layer.3.attn.probs", true],
    ["layer.*.attn.probs", "layer.3.attn.scores", false],
    ["layer.*.attn.probs", "layer.3.4.attn.probs", false],
    ["layer.0.**", "layer.0.attn.q", true],
    ["layer.0.**", "layer.0.out", true],
    ["layer.0.**", "layer.1.out", false],
    ["**.out", "layer.5.out", true],
    ["**.out", "embeddings.out", true],
    ["**.out", "layer.5.ffn.out", true],
    ["**.out", "head.logits", false],
    ["layer.**.out", "layer.2.ffn.out", true],
    ["layer.0.**.out", "layer.0.out", true],
    ["layer.0.**.out", "layer.0.attn.out", true],
    ["layer.**", "layer.3.attn.q", true],
    ["layer.**", "head.logits", false],
    ["layer.1*.out", "layer.1.out", true],
    ["layer.1*.out", "layer.12.out", true],
    ["layer.1*.out", "layer.2.out", false],
    ["**", "head.logits", true],
    ["head.logits", "head.logits", true],
    ["head.logits", "headxlogits", false],
    ["embeddings.(word)", "embeddings.word", false],
  ];
  for (const [p, name, want] of cases) {
    it(`${p} ${want ? "matches" : "does not match"} ${name}`, () => expect(compilePattern(p).test(name)).toBe(want));
  }
});

for (const bc of backendCases) {
  describe(`hooks and capture, ${bc.name} backend`, () => {
    let model: DistilBertClassifier;
    beforeAll(async () => {
      model = await loadTiny(await bc.create());
    });
    afterEach(() => vi.restoreAllMocks());

    it("every activation of the table is emitted once, in table order, with its documented shape", () => {
      const { nLayers, nHeads, dim, hiddenDim, labels } = model.config;
      const table = activationTable(model.config);
      expect(table.length).toBe(3 + 12 * nLayers + 3);
      expect(new Set(table.map((a) => a.name)).size).toBe(table.length);
      const seen: { name: string; shape: readonly number[] }[] = [];
      const ids = [A, B];
      const out = model.forward(ids, undefined, { capture: ["**"], hooks: { "**": (t, ctx) => void seen.push({ name: ctx.name, shape: t.shape }) } });
      expect(seen.map((s) => s.name)).toEqual(table.map((a) => a.name));
      const sym: Record<string, number> = { B: 2, T: A.length, H: nHeads, dh: dim / nHeads, dim, hidden: hiddenDim, labels: labels.length };
      table.forEach((a, i) => {
        const want = a.shape.map((s) => sym[s]);
        expect(seen[i].shape, a.name).toEqual(want);
        expect(out.captured[a.name].shape, a.name).toEqual(want);
      });
      expect(Object.fromEntries(table.map((a) => [a.name, a.hfPath]))).toEqual(HF_PATHS(nLayers));
      // Every path that names a module with parameters names one the checkpoint really has (HF's state_dict keys).
      const tensors = new Set(SafetensorsFile.parse(tinyFiles().weights).tensors.keys());
      const withWeights = table.filter((a) => !/[ (]/.test(a.hfPath) && !a.hfPath.endsWith(".activation") && a.hfPath !== "distilbert.embeddings");
      expect(withWeights.length).toBe(2 + 8 * nLayers + 2);
      for (const a of withWeights) expect(tensors.has(`${a.hfPath}.weight`), `${a.name} → ${a.hfPath}.weight`).toBe(true);
      // the hook context names the block
      const ctxLayers: (number | null)[] = [];
      model.forward([A], undefined, { hooks: { "**.out": (_t, ctx) => void ctxLayers.push(ctx.layer) } });
      // attn.out, sa_ln.out, ffn.out, out of each block
      expect(ctxLayers).toEqual([null, ...Array.from({ length: nLayers }, (_, i) => [i, i, i, i]).flat()]);
    });

    it("captures agree with outputHiddenStates / outputAttentions / logits and are copies", () => {
      const L = model.config.nLayers;
      const out = model.forward([A, B], undefined, {
        outputHiddenStates: true,
        outputAttentions: true,
        capture: ["embeddings.out", "layer.*.out", "layer.*.attn.probs", "head.logits"],
      });
      expectBitIdentical(out.captured["embeddings.out"].data, out.hiddenStates![0].data, "embeddings.out");
      for (let l = 0; l < L; l++) {
        expectBitIdentical(out.captured[`layer.${l}.out`].data, out.hiddenStates![l + 1].data, `layer.${l}.out`);
        expectBitIdentical(out.captured[`layer.${l}.attn.probs`].data, out.attentions![l].data, `layer.${l}.attn.probs`);
      }
      expectBitIdentical(out.captured["head.logits"].data, out.logits.data, "head.logits");
      // copies: scribbling on one does not touch the other or the next run
      out.captured["layer.0.out"].data.fill(0);
      expect(out.hiddenStates![1].data.some((v) => v !== 0)).toBe(true);
      const again = model.forward([A, B], undefined, { capture: ["layer.0.out"] });
      expectBitIdentical(again.captured["layer.0.out"].data, out.hiddenStates![1].data, "a fresh run");
    });

    it("q, k, v are [B, H, T, dh] head splits of q_lin/k_lin/v_lin, and context merges heads back", () => {
      const { nHeads: H, dim } = model.config;
      const dh = dim / H;
      const T = A.length;
      const out = model.forward([A], undefined, { capture: ["layer.0.attn.*", "embeddings.out"] });
      const x = out.captured["embeddings.out"].data;
      const lin = model.model.distilbert.layers[0].attention.qLin;
      const q = lin.forward(model.backend, x, T); // [T, dim]
      const qh = out.captured["layer.0.attn.q"];
      expect(qh.shape).toEqual([1, H, T, dh]);
      for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < dh; d++) expect(qh.get(0, h, t, d)).toBe(q[t * dim + h * dh + d]);
      // context [B, T, dim]: head h of token t = Σ_j probs[h, t, j] · v[h, j, :]
      const p = out.captured["layer.0.attn.probs"];
      const v = out.captured["layer.0.attn.v"];
      const c = out.captured["layer.0.attn.context"];
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < dh; d++) {
            let s = 0;
            for (let j = 0; j < T; j++) s += p.get(0, h, t, j) * v.get(0, h, j, d);
            expect(Math.abs(c.get(0, t, h * dh + d) - s)).toBeLessThan(1e-5);
          }
        }
      }
      // scores → probs is a softmax over keys
      const sc = out.captured["layer.0.attn.scores"];
      for (let t = 0; t < T; t++) {
        let m = -Infinity;
        for (let j = 0; j < T; j++) m = Math.max(m, sc.get(0, 1, t, j));
        let z = 0;
        for (let j = 0; j < T; j++) z += Math.exp(sc.get(0, 1, t, j) - m);
        for (let j = 0; j < T; j++) expect(Math.abs(p.get(0, 1, t, j) - Math.exp(sc.get(0, 1, t, j) - m) / z)).toBeLessThan(1e-6);
      }
    });

    it("masked keys: scores hold finfo(float32).min, probs exactly 0", () => {
      const ids = [[...A], [...B.slice(0, 5), 0, 0, 0]];
      const mask = [A.map(() => 1), [1, 1, 1, 1, 1, 0, 0, 0]];
      const out = model.forward(ids, mask, { capture: ["layer.1.attn.scores", "layer.1.attn.probs"] });
      const s = out.captured["layer.1.attn.scores"];
      const p = out.captured["layer.1.attn.probs"];
      for (let h = 0; h < model.config.nHeads; h++) {
        for (let t = 0; t < 8; t++) {
          for (let j = 5; j < 8; j++) {
            expect(s.get(1, h, t, j)).toBe(-3.4028234663852886e38);
            expect(p.get(1, h, t, j)).toBe(0);
          }
        }
      }
    });

    it("patching every activation with the same run's own value changes nothing, bit for bit", () => {
      const opts = { outputHiddenStates: true, outputAttentions: true };
      const base = model.forward([A, B], undefined, { ...opts, capture: ["**"] });
      for (const info of activationTable(model.config)) {
        const saved = base.captured[info.name];
        const patched = model.forward([A, B], undefined, { ...opts, hooks: { [info.name]: () => saved.clone() } });
        expectSameOutput(patched, base, `patch ${info.name}`);
      }
      // returning the Float32Array, or mutating in place, are the same thing
      const viaArray = model.forward([A, B], undefined, { ...opts, hooks: { "layer.*.ffn.act": (_t, ctx) => base.captured[ctx.name].data.slice() } });
      expectSameOutput(viaArray, base, "Float32Array replacement");
      const inPlace = model.forward([A, B], undefined, { ...opts, hooks: { "layer.*.attn.out": (t, ctx) => void t.data.set(base.captured[ctx.name].data) } });
      expectSameOutput(inPlace, base, "in-place replacement");
    });

    it("capturing changes no number: the fast path and a capture-everything run give the same logits, bit for bit", () => {
      const plain = model.forward([A, B]);
      const all = model.forward([A, B], undefined, { capture: ["**"], outputHiddenStates: true, outputAttentions: true });
      expectBitIdentical(all.logits.data, plain.logits.data, "unpadded batch");
      expectBitIdentical(all.captured["head.logits"].data, plain.logits.data, "head.logits");
    });

    it("patching from another run moves the output to that run's (activation patching)", () => {
      const L = model.config.nLayers;
      const runB = model.forward([B], undefined, { capture: [`layer.${L - 1}.out`, "layer.0.out"] });
      const runA = model.forward([A]);
      // the last block's output decides everything downstream: patching it all gives B's logits exactly
      const whole = model.forward([A], undefined, { hooks: { [`layer.${L - 1}.out`]: () => runB.captured[`layer.${L - 1}.out`] } });
      expectBitIdentical(whole.logits.data, runB.logits.data, "patched last layer");
      // patching one earlier token row moves the logits away from A's
      const dim = model.config.dim;
      const one = model.forward([A], undefined, {
        hooks: { "layer.0.out": (t) => void t.data.set(runB.captured["layer.0.out"].data.subarray(3 * dim, 4 * dim), 3 * dim) },
      });
      expect(Math.abs(one.logits.data[0] - runA.logits.data[0]) + Math.abs(one.logits.data[1] - runA.logits.data[1])).toBeGreaterThan(1e-6);
    });

    it("zeroing a head with a hook on attn.probs equals headMask 0 for that head, bit for bit", () => {
      const { nLayers: L, nHeads: H } = model.config;
      const T = A.length;
      const opts = { outputHiddenStates: true, outputAttentions: true };
      for (const [layer, head] of [[0, 1], [L - 1, 0], [L - 1, H - 1]]) {
        const mask = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => (l === layer && h === head ? 0 : 1)));
        const viaMask = model.forward([A, B], undefined, { ...opts, headMask: mask });
        const zero: Hook = (t) => {
          for (let b = 0; b < 2; b++) t.data.fill(0, ((b * H + head) * T) * T, ((b * H + head) * T + T) * T);
        };
        const viaHook = model.forward([A, B], undefined, { ...opts, hooks: { [`layer.${layer}.attn.probs`]: zero } });
        expectSameOutput(viaHook, viaMask, `zero layer ${layer} head ${head}`);
        const plain = model.forward([A, B]);
        expect(viaMask.logits.data.some((v, i) => v !== plain.logits.data[i]), "the head matters").toBe(true);
        // the fast path (no outputs, no taps) applies the same mask
        expectBitIdentical(model.forward([A, B], undefined, { headMask: mask }).logits.data, viaMask.logits.data, "fast path headMask");
      }
    });

    it("scaling a head with a hook equals a fractional headMask, bit for bit", () => {
      const { nLayers: L, nHeads: H } = model.config;
      const T = A.length;
      const mask = Array.from({ length: L }, () => Array.from({ length: H }, () => 1));
      mask[0][2] = 0.3;
      const viaMask = model.forward([A], undefined, { outputHiddenStates: true, headMask: mask });
      const viaHook = model.forward([A], undefined, {
        outputHiddenStates: true,
        hooks: { "layer.0.attn.probs": (t) => void t.data.subarray(2 * T * T, 3 * T * T).forEach((v, i, a) => (a[i] = v * Math.fround(0.3))) },
      });
      expectSameOutput(viaHook, viaMask, "scale head 2 of layer 0");
    });

    it("zeroing an FFN neuron before GELU equals zeroing it after (gelu(0) = 0)", () => {
      const hidden = model.config.hiddenDim;
      const zeroCol = (j: number): Hook => (t) => {
        for (let r = 0; r < t.size / hidden; r++) t.data[r * hidden + j] = 0;
      };
      const pre = model.forward([A], undefined, { hooks: { "layer.1.ffn.pre": zeroCol(7) }, capture: ["layer.1.ffn.act"] });
      const act = model.forward([A], undefined, { hooks: { "layer.1.ffn.act": zeroCol(7) }, capture: ["layer.1.ffn.act"] });
      expectBitIdentical(pre.logits.data, act.logits.data, "neuron 7");
      expectBitIdentical(pre.captured["layer.1.ffn.act"].data, act.captured["layer.1.ffn.act"].data, "ffn.act");
      // the capture sees what the model computed with: the zeroed column
      for (let r = 0; r < A.length; r++) expect(act.captured["layer.1.ffn.act"].data[r * hidden + 7]).toBe(0);
      const plain = model.forward([A]);
      expect(plain.logits.data.some((v, i) => v !== act.logits.data[i])).toBe(true);
    });

    it("a hook on embeddings.word sees the rows of the ids; changing them equals changing the ids", () => {
      const dim = model.config.dim;
      const other = model.forward([[A[0], B[1], ...A.slice(2)]], undefined, { capture: ["embeddings.word"] });
      const swapped = model.forward([A], undefined, {
        hooks: { "embeddings.word": (t) => void t.data.set(other.captured["embeddings.word"].data.subarray(dim, 2 * dim), dim) },
      });
      expectBitIdentical(swapped.logits.data, other.logits.data, "token 1 swapped via its embedding row");
    });

    it("bad hooks and patterns are InputErrors", () => {
      expect(() => model.forward([A], undefined, { capture: ["layer.99.out"] })).toThrow(InputError);
      expect(() => model.forward([A], undefined, { capture: ["nothing"] })).toThrow(/matches no activation/);
      expect(() => model.forward([A], undefined, { hooks: { "head.logits": () => new Float32Array(3) } })).toThrow(/returned 3 values/);
      expect(() => model.forward([A], undefined, { hooks: { "head.logits": 5 as unknown as Hook } })).toThrow(/not a function/);
      // a Tensor of the right size but another shape is accepted (the data is what counts)
      const out = model.forward([A], undefined, { hooks: { "head.logits": () => new Tensor(new Float32Array([1, 2]), [2]) } });
      expect(Array.from(out.logits.data)).toEqual([1, 2]);
    });

    it("nothing asked, nothing tapped: no ForwardTaps is built and emit is never called", () => {
      const emit = vi.spyOn(ForwardTaps.prototype, "emit");
      const wants = vi.spyOn(ForwardTaps.prototype, "wants");
      model.forward([A, B]);
      model.forward([A, B], undefined, { headMask: [1, 0, 1, 1] });
      model.forward([A, B], undefined, { capture: [], hooks: {} });
      model.classifySync(["a small sentence"]);
      expect(emit).not.toHaveBeenCalled();
      expect(wants).not.toHaveBeenCalled();
      model.forward([A], undefined, { capture: ["head.logits"] });
      expect(emit).toHaveBeenCalled();
    });
  });
}
