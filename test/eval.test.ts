/**
 * `eval` on the fixture model. The expected labels come from model.forward, one row at a time, here in the test; the
 * file's gold labels are a known mix of right and wrong ones, so every number eval prints is known exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { labelIndex, metricsFromConfusion } from "../src/node/commands/eval.js";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { rng } from "./helpers/random.js";

const WORDS = ["good", "bad", "film", "great", "awful", "plot", "acting", "was", "not", "very", "boring", "fun", "loved", "hated"];

let model: DistilBertClassifier;
const dirs: string[] = [];
beforeAll(async () => {
  model = await loadTiny();
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The class model.forward picks for one text: argmax of the logits, computed row by row. */
function predict(text: string): number {
  const ids = model.tokenizer.encode(text, { maxLength: model.maxLength }).ids;
  const logits = Array.from(model.forward([ids]).logits.data);
  return logits.indexOf(Math.max(...logits));
}

interface Case {
  texts: string[];
  gold: number[];
  predicted: number[];
}

/** 60 texts; rows where i % 3 === 0 get the wrong gold label, the rest the predicted one. */
function makeCase(): Case {
  const r = rng(11);
  const texts = Array.from({ length: 60 }, () => Array.from({ length: 3 + Math.floor(r() * 12) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" "));
  const predicted = texts.map(predict);
  const gold = predicted.map((p, i) => (i % 3 === 0 ? 1 - p : p));
  return { texts, gold, predicted };
}

function confusionOf(c: Case): number[][] {
  const m = [
    [0, 0],
    [0, 0],
  ];
  c.gold.forEach((g, i) => m[g][c.predicted[i]]++);
  return m;
}

function write(name: string, content: string): string {
  const d = mkdtempSync(join(tmpdir(), "distilbert-ts-eval-"));
  dirs.push(d);
  writeFileSync(join(d, name), content);
  return join(d, name);
}

describe("eval", () => {
  it("numeric and named labels (any case); exact accuracy, confusion matrix, per-class P/R/F1 in --json", () => {
    const c = makeCase();
    // Labels written three ways: ids, names, lower-case names.
    const labelText = (g: number, i: number) => (i % 4 === 1 ? model.config.labels[g] : i % 4 === 2 ? model.config.labels[g].toLowerCase() : String(g));
    const file = write("dev.tsv", "sentence\tlabel\n" + c.texts.map((t, i) => `${t} \t${labelText(c.gold[i], i)}\n`).join(""));
    const r = runCli(["eval", "--model", tinyDir(), "--file", file, "--json", "--batch-size", "7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const confusion = confusionOf(c);
    const correct = confusion[0][0] + confusion[1][1];
    expect(correct).toBe(40);
    expect(rep).toMatchObject({ accuracy: 40 / 60, correct: 40, total: 60, labels: ["NEGATIVE", "POSITIVE"], confusion, truncated: 0, skipped: 0, batch_size: 7 });
    for (let k = 0; k < 2; k++) {
      const tp = confusion[k][k];
      const precision = tp / (confusion[0][k] + confusion[1][k]);
      const recall = tp / (confusion[k][0] + confusion[k][1]);
      const m = rep.per_class[model.config.labels[k]];
      expect(m.precision).toBeCloseTo(precision, 12);
      expect(m.recall).toBeCloseTo(recall, 12);
      expect(m.f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
      expect(m.support).toBe(confusion[k][0] + confusion[k][1]);
    }
    expect(rep.examples_per_second).toBeGreaterThan(0);
    expect(rep.mean_latency_ms).toBeGreaterThan(0);
  });

  it("the text report: accuracy with its count, the matrix, per-class lines, speed", () => {
    const c = makeCase();
    const file = write("dev.csv", "review,gold\n" + c.texts.map((t, i) => `"${t}",${c.gold[i]}\n`).join(""));
    const r = runCli(["eval", "--model", tinyDir(), "--file", file, "--text-column", "review", "--label-column", "gold"]);
    expect(r.code).toBe(0);
    const confusion = confusionOf(c);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("accuracy 0.6667 (40/60)");
    expect(lines[2]).toBe("confusion matrix (rows: true label, columns: predicted)");
    expect(lines[4].trim().split(/\s+/)).toEqual(["NEGATIVE", String(confusion[0][0]), String(confusion[0][1])]);
    expect(lines[5].trim().split(/\s+/)).toEqual(["POSITIVE", String(confusion[1][0]), String(confusion[1][1])]);
    expect(lines[7].trim().split(/\s+/)).toEqual(["class", "precision", "recall", "f1", "support"]);
    expect(r.stdout).toMatch(/\n60 examples in \d+:\d\d: [\d.]+ examples\/s, mean latency [\d.]+ ms per model call \(batch size 32\)\n$/);
  });

  it("JSONL input; bad labels stop the run with their line, or are skipped and counted", () => {
    const c = makeCase();
    const rows = c.texts.map((t, i) => JSON.stringify({ text: t, label: c.gold[i] }));
    rows.splice(5, 0, JSON.stringify({ text: "x", label: "MAYBE" }));
    const file = write("dev.jsonl", rows.join("\n") + "\n");
    const bad = runCli(["eval", "--model", tinyDir(), "--file", file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`error: ${file}:6: label "MAYBE" is neither a class id (0..1) nor a label name (NEGATIVE, POSITIVE); expected labels the model knows (or --skip-bad-lines to skip such records)\n`);
    const skip = runCli(["eval", "--model", tinyDir(), "--file", file, "--skip-bad-lines", "--json"]);
    expect(skip.code).toBe(0);
    expect(JSON.parse(skip.stdout)).toMatchObject({ correct: 40, total: 60, skipped: 1 });
    expect(skip.stderr).toMatch(/^warning: .*dev\.jsonl:6: label "MAYBE" is neither/);
  });

  it("usage errors: no --file, a .txt file, a missing label column", () => {
    expect(runCli(["eval", "--model", tinyDir()]).stderr).toMatch(/^error: eval: no --file given[\s\S]*usage: distilbert-ts eval/);
    const txt = write("a.txt", "x\n");
    expect(runCli(["eval", "--model", tinyDir(), "--file", txt]).code).toBe(2);
    const tsv = write("b.tsv", "sentence\tstars\nx\t1\n");
    const r = runCli(["eval", "--model", tinyDir(), "--file", tsv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --label-column: .*b\.tsv has no column "label" \(columns: "sentence", "stars"\)/);
  });

  it("labelIndex and metricsFromConfusion on their own", () => {
    expect([0, 1, "0", "1", " 1 ", "NEGATIVE", "positive", "Positive"].map((v) => labelIndex(v, model))).toEqual([0, 1, 0, 1, 1, 0, 1, 1]);
    expect([2, -1, 0.5, "2", "neutral", null, ""].map((v) => labelIndex(v, model))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    const m = metricsFromConfusion(["A", "B"], [
      [3, 1],
      [0, 0],
    ]);
    expect(m.correct).toBe(3);
    expect(m.total).toBe(4);
    expect(m.perClass.A).toEqual({ precision: 1, recall: 0.75, f1: (2 * 0.75) / 1.75, support: 4 });
    // B: never the truth, predicted once (wrongly): precision 0, recall undefined.
    expect(m.perClass.B).toEqual({ precision: 0, recall: null, f1: null, support: 0 });
    expect(m.macroF1).toBe((2 * 0.75) / 1.75);
  });
});
