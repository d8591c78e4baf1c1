/**
 * Attributions on the token heads (../shared/fixtures/heads): integrated gradients of a masked LM's [MASK] row
 * against the same computation in PyTorch (test/fixtures/grad-heads-expected.json), QA and token classification at a
 * position, what each head refuses; and the attribute command on them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { attribute } from "../src/analysis/attribution.js";
import { studyInput } from "../src/analysis/study.js";
import { GradientEngine } from "../src/grad/index.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { runCli } from "./helpers/cli.js";
import { headsDir, loadHeadsModel } from "./helpers/heads.js";
import { relError } from "./helpers/grad-expected.js";
import { repoRoot } from "./helpers/shared.js";

interface IgCase { input_ids: number[]; steps: number; f_input: number; f_baseline: number; attributions: number[]; completeness_gap: number }
const heads = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/grad-heads-expected.json"), "utf8")) as {
  mlm_integrated_gradients: IgCase & { position: number; target: number };
  embedding_integrated_gradients: IgCase & { other_ids: number[] };
};
const ig = heads.mlm_integrated_gradients;

let mlm: DistilBertClassifier;
let ner: DistilBertClassifier;
let qa: DistilBertClassifier;
let embed: DistilBertClassifier;
beforeAll(async () => {
  const backend = new JsBackend();
  [mlm, ner, qa, embed] = await Promise.all(["mlm-uncased", "ner-cased", "qa-cased", "embed"].map((n) => loadHeadsModel(n, backend)));
});

const input = (m: DistilBertClassifier, ids: number[]) => ({ ids, tokens: m.tokenizer.convertIdsToTokens(ids) });

describe("attribute on token heads", () => {
  it("masked LM: IG (m = 32) at the first [MASK] matches PyTorch within 1e-4 per token", () => {
    const r = attribute(mlm, input(mlm, ig.input_ids), { method: "ig", steps: ig.steps, target: ig.target });
    expect(r.position).toBe(ig.position);
    expect(r.label).toBe(mlm.tokenizer.idToToken(ig.target));
    let worst = 0;
    r.attributions.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ig.attributions[i]))));
    console.log(`masked-LM IG vs PyTorch: max |Δ| per token ${worst.toExponential(2)}; gap ${r.completeness_gap!.toExponential(3)} (PyTorch ${ig.completeness_gap.toExponential(3)})`);
    expect(worst).toBeLessThan(5e-7); // measured 4.7e-8 (float32 products); the bound is 1e-4
    expect(Math.abs(r.f_input! - ig.f_input)).toBeLessThan(1e-5);
    // By vocabulary token, and predicted by default: the expected target is the fixture's argmax at the [MASK].
    const byToken = attribute(mlm, input(mlm, ig.input_ids), { method: "saliency", target: mlm.tokenizer.idToToken(ig.target) });
    expect(byToken.target).toBe(ig.target);
    expect(attribute(mlm, input(mlm, ig.input_ids), { method: "saliency" }).predicted).toBe(r.label);
  });

  it("the completeness gap shrinks as m grows on each token head", () => {
    const cases: [DistilBertClassifier, string, number, string | undefined][] = [
      [mlm, "The capital of France is [MASK].", -1, undefined],
      [ner, "My name is Wolfgang and I live in Berlin.", 4, "B-PER"],
      [qa, "Who designed the tower? The Eiffel Tower was designed by Gustave Eiffel.", 12, "start"],
    ];
    for (const [model, text, position, target] of cases) {
      const gaps = [8, 32, 128].map((steps) => Math.abs(attribute(model, { text }, { method: "ig", steps, target, position: position < 0 ? undefined : position }).completeness_gap!));
      console.log(`${model.model.architecture}: |gap| at m = 8, 32, 128: ${gaps.map((g) => g.toExponential(2)).join(", ")}`);
      expect(gaps[2]).toBeLessThan(gaps[0]);
    }
  });

  it("sentence embedding: IG of the cosine similarity with another text matches PyTorch within 1e-4 per token", () => {
    const e = heads.embedding_integrated_gradients;
    const r = attribute(embed, input(embed, e.input_ids), { method: "ig", steps: e.steps, similarTo: e.other_ids });
    let worst = 0;
    r.attributions.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - e.attributions[i]))));
    console.log(`embedding-similarity IG vs PyTorch: max |Δ| per token ${worst.toExponential(2)}; gap ${r.completeness_gap!.toExponential(3)} (PyTorch ${e.completeness_gap.toExponential(3)})`);
    expect(worst).toBeLessThan(5e-7);
    expect(Math.abs(r.f_input! - e.f_input)).toBeLessThan(1e-6);
    expect(r.label).toBe("similarity");
    expect(() => attribute(embed, input(embed, e.input_ids), { method: "ig" })).toThrow(/sentence embedding.*similarTo/);
    expect(() => attribute(ner, input(ner, e.input_ids), { method: "ig", position: 1, similarTo: "x" })).toThrow(/similarTo: is for sentence-embedding models/);
  });

  it("the inspect report's IG on token heads: the label the page reads, at its row", () => {
    for (const [model, text] of [[mlm, "The capital of France is [MASK]."], [ner, "My name is Wolfgang"]] as const) {
      const s = studyInput(model, { text }, { occlusion: false });
      const igs = (s.attributions ?? []).filter((a) => a.method === "ig");
      expect(igs, model.model.architecture).toHaveLength(1);
      expect(igs[0].position).toBe(s.readout.position);
      expect(igs[0].label).toBe(s.labels[s.labelIndex]);
      expect(Math.abs(igs[0].completeness_gap!)).toBeLessThan(0.2);
    }
  });

  it("rollout takes the position's row; occlusion and a missing position are refused by name", () => {
    const ids = ner.tokenizer.encode("My name is Wolfgang").ids;
    const r = attribute(ner, input(ner, ids), { method: "rollout", position: 2 });
    expect(r.attributions.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(r.meaning).toContain("position 2");
    expect(() => attribute(ner, input(ner, ids), { method: "ig" })).toThrow(/position.*needed/);
    expect(() => attribute(ner, input(ner, ids), { method: "occlusion", position: 1 })).toThrow(/sequence classifiers/);
    expect(() => attribute(qa, input(qa, ids), { method: "saliency", position: 1, target: "middle" })).toThrow(/start or end/);
  });
});

describe("attribute command on token heads", () => {
  it("--target TOKEN at the [MASK]; --position for NER; errors exit 2", () => {
    const dir = join(headsDir(), "mlm-uncased");
    const token = mlm.tokenizer.idToToken(ig.target)!;
    const r = runCli(["attribute", "--model", dir, "--method", "ig", "--steps", "32", "--target", token, "--json", "--ids", ig.input_ids.join(",")]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.target, j.label, j.position]).toEqual([ig.target, token, ig.position]);
    j.attributions.forEach((v: number, i: number) => expect(Math.abs(v - ig.attributions[i])).toBeLessThan(1e-5));
    const human = runCli(["attribute", "--model", join(headsDir(), "ner-cased"), "--method", "gradxinput", "--position", "2", "My name is Wolfgang"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^target: .* at position 2 \(name\)/m);
    for (const args of [["--position", "x"], ["--method", "occlusion", "--position", "1"], []]) {
      const bad = runCli(["attribute", "--model", join(headsDir(), "ner-cased"), ...args, "My name"]);
      expect(bad.code, args.join(" ")).toBe(2);
      expect(bad.stderr.split("\n")[0]).toMatch(/^error: (--position|method occlusion|position): /);
    }
  });

  it("--similar-to TEXT on a sentence-embedding model", () => {
    const r = runCli(["attribute", "--model", join(headsDir(), "embed"), "--method", "gradxinput", "--similar-to", "I love this movie.", "--json", "A man is eating food."]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.label).toBe("similarity");
    expect(j.tokens).toHaveLength(j.attributions.length);
    const bad = runCli(["attribute", "--model", join(headsDir(), "embed"), "A man is eating food."]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: attribute: the model is a sentence embedding/);
  });

  it("inspect --json --gradients with --position and --target on a token head: the API's gradients", () => {
    const text = "My name is Wolfgang";
    const r = runCli(["inspect", "--model", join(headsDir(), "ner-cased"), "--json", "--gradients", "embeddings.out", "--position", "4", "--target", "B-PER", text]);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout).gradients["embeddings.out"] as number[][];
    const ids = ner.tokenizer.encode(text).ids;
    const want = new GradientEngine(ner).gradients({ ids }, { kind: "logit", label: "B-PER", position: 4 }, ["embeddings.out"]).gradients["embeddings.out"];
    expect(got).toHaveLength(ids.length);
    expect(relError(got.flat(), want.data)).toBeLessThan(1e-5); // the CLI's backend (wasm) against the js one here
    // A masked LM defaults to its [MASK]; a NER model without --position is refused.
    const mlmRun = runCli(["inspect", "--model", join(headsDir(), "mlm-uncased"), "--gradients", "embeddings.out", "--target", "paris", "The capital of France is [MASK]."]);
    expect(mlmRun.code, mlmRun.stderr).toBe(0);
    expect(mlmRun.stdout).toMatch(/gradient embeddings\.out \[9, 32\]/);
    const bad = runCli(["inspect", "--model", join(headsDir(), "ner-cased"), "--gradients", "embeddings.out", text]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: objective: position: is missing/);
  });
});
