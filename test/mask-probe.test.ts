/**
 * probe's fill-mask mode on ../shared/fixtures/heads/mlm-uncased: every number is checked against the masked LM's own
 * forward (softmax of the logits at the [MASK] row), and the command's table, CSV, JSON and HTML against runMaskProbe.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maskProbeCsv, runMaskProbe } from "../src/analysis/mask-probe.js";
import { InputError } from "../src/errors.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { softmax } from "../src/model/classifier.js";
import { JsBackend } from "../src/tensor/js-backend.js";
import { runCli } from "./helpers/cli.js";
import { headsDir, loadHeadsModel } from "./helpers/heads.js";

const TEMPLATE = "The {} worked as a [MASK].";
const VALUES = ["White man", "Black woman"];

/** P(every vocabulary token) at the text's single [MASK], from a plain forward. */
function maskProbs(model: DistilBertClassifier, text: string): Float64Array {
  const ids = model.tokenizer.encode(text).ids;
  const at = ids.indexOf(model.tokenizer.maskId!);
  const V = model.config.vocabSize;
  return softmax(model.forward([ids]).logits.data.subarray(at * V, (at + 1) * V));
}

describe("runMaskProbe", () => {
  let model: DistilBertClassifier;
  beforeAll(async () => {
    model = await loadHeadsModel("mlm-uncased", new JsBackend());
  });

  it("each value's top-k and target probabilities are the softmax at its [MASK]", () => {
    const r = runMaskProbe(model, TEMPLATE, VALUES, { topK: 7, targets: ["he", "she", "carpenter"] });
    expect(r.rows.map((x) => x.value)).toEqual(VALUES);
    expect(r.targets.map((t) => t.token)).toEqual(["he", "she", "carpenter"].map((w) => model.tokenizer.tokenToId(w)));
    for (const row of r.rows) {
      expect(row.text).toBe(TEMPLATE.replace("{}", row.value));
      const p = maskProbs(model, row.text);
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
      expect(row.top.map((c) => c.token)).toEqual(order.slice(0, 7));
      row.top.forEach((c) => {
        expect(Math.abs(c.score - p[c.token])).toBeLessThan(1e-12);
        expect(c.token_str).toBe(model.tokenizer.decode([c.token]));
      });
      r.targets.forEach((t, k) => expect(Math.abs(row.targets[k] - p[t.token])).toBeLessThan(1e-12));
    }
  });

  it("a target word outside the vocabulary is scored by its first word piece, as the pipeline's targets", () => {
    const word = "carpenterish";
    expect(model.tokenizer.tokenToId(word)).toBeUndefined();
    const r = runMaskProbe(model, TEMPLATE, VALUES, { topK: 1, targets: [word] });
    expect(r.targets[0].token).toBe(model.tokenizer.tokenizeToIds(word).ids[0]);
    expect(Math.abs(r.rows[0].targets[0] - maskProbs(model, r.rows[0].text)[r.targets[0].token])).toBeLessThan(1e-12);
  });

  it("refuses a template without exactly one [MASK], and CSV quotes what needs quoting", () => {
    expect(() => runMaskProbe(model, "The {} worked.", VALUES)).toThrow(/has 0 \[MASK\]/);
    expect(() => runMaskProbe(model, "[MASK] {} [MASK]", VALUES)).toThrow(/has 2 \[MASK\]/);
    expect(() => runMaskProbe(model, "no slot [MASK]", VALUES)).toThrow(InputError);
    const r = runMaskProbe(model, "In {}, a [MASK].", ['Bosnia, "and" more'], { topK: 2, targets: ["he"] });
    const csv = maskProbeCsv(r).trim().split("\n");
    expect(csv[0]).toBe("value,kind,rank,word,token_id,probability,text");
    expect(csv.length).toBe(1 + 2 + 1);
    expect(csv[1].startsWith('"Bosnia, ""and"" more",top,1,')).toBe(true);
    expect(csv[3].startsWith('"Bosnia, ""and"" more",target,,he,')).toBe(true);
  });
});

describe("distilbert-ts probe, fill-mask mode (CLI)", () => {
  let dir: string;
  let model: DistilBertClassifier;
  const mlm = () => join(headsDir(), "mlm-uncased");
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mask-probe-"));
    model = await loadHeadsModel("mlm-uncased", new JsBackend());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const args = (...extra: string[]) => ["probe", "--model", mlm(), "--template", TEMPLATE, "--value", VALUES[0], "--value", VALUES[1], "--top-k", "5", "--targets", "he,she", ...extra];

  it("--json is runMaskProbe's result; --csv its CSV", () => {
    const want = runMaskProbe(model, TEMPLATE, VALUES, { topK: 5, targets: ["he", "she"] });
    const j = runCli(args("--json"));
    expect(j.stderr).toBe("");
    expect(j.code).toBe(0);
    const got = JSON.parse(j.stdout);
    expect(got.mode).toBe("fill-mask");
    expect(got.rows.map((r: { top: { token: number }[] }) => r.top.map((c) => c.token))).toEqual(want.rows.map((r) => r.top.map((c) => c.token)));
    got.rows.forEach((r: { targets: number[] }, i: number) => r.targets.forEach((p, k) => expect(Math.abs(p - want.rows[i].targets[k])).toBeLessThan(1e-6)));
    const c = runCli(args("--csv"));
    expect(c.code).toBe(0);
    expect(c.stdout.split("\n")[0]).toBe("value,kind,rank,word,token_id,probability,text");
    expect(c.stdout.trim().split("\n").length).toBe(1 + 2 * (5 + 2));
  });

  it("the table puts the values side by side, then P(target) per value; --html writes the page", () => {
    const html = join(dir, "mask.html");
    const t = runCli(args("--html", html));
    expect(t.code).toBe(0);
    const lines = t.stdout.split("\n");
    expect(lines[0]).toContain(`words at the mask for "${TEMPLATE}" over 2 values`);
    expect(lines[1]).toMatch(/^rank\s+White man\s+Black woman$/);
    const want = runMaskProbe(model, TEMPLATE, VALUES, { topK: 5, targets: ["he", "she"] });
    for (let k = 0; k < 5; k++) {
      const cells = lines[2 + k].trim().split(/\s+/);
      expect(cells[0]).toBe(String(k + 1));
      expect([cells[1], cells[3]]).toEqual(want.rows.map((r) => r.top[k].token_str));
      expect([Number(cells[2]), Number(cells[4])]).toEqual(want.rows.map((r) => Number(r.top[k].score.toFixed(4))));
    }
    expect(lines.find((l) => l.startsWith("P(he)"))!.trim().split(/\s+/).slice(1).map(Number)).toEqual(want.rows.map((r) => Number(r.targets[0].toPrecision(4))));
    expect(t.stdout).toContain(`chart: ${html}`);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("Fill-mask probe");
    expect(page.match(/<div class="col">/g)!.length).toBe(2);
    expect(page.match(/<g class="row">/g)!.length).toBe(2 * 2); // two targets × two values
  });

  it("usage errors exit 2 with an error: line first", () => {
    const cases: [string[], RegExp][] = [
      [[...args(), "--label", "POSITIVE"], /--label: applies to a classifier/],
      [[...args(), "--set", "countries"], /both --set and --value/],
      [["probe", "--model", mlm(), "--template", "The {} worked.", "--value", "x"], /has 0 \[MASK\] tokens/],
      [["probe", "--model", mlm(), "--template", TEMPLATE, "--value", "x", "--top-k", "0"], /--top-k/],
      [["probe", "--model", join(headsDir(), "qa-cased"), "--template", "{} [MASK]", "--value", "x"], /DistilBertForQuestionAnswering/],
      [["probe", "--model", join(headsDir(), "multilabel"), "--template", "{}", "--value", "x", "--targets", "he"], /--targets: applies to a masked language model/],
    ];
    for (const [a, re] of cases) {
      const r = runCli(a);
      expect(r.code, a.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^error: /);
      expect(r.stderr.split("\n")[0]).toMatch(re);
    }
  });
});
