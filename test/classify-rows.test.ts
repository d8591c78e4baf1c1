/**
 * Output rows pair with input rows in every format (issue 18): an empty text keeps its row marked "empty input",
 * a bad record skipped with --skip-bad-lines keeps a row saying why, and a bad record that stops the run leaves the
 * results before it written.
 */
import { readFileSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { DelimitedParser } from "../src/node/formats/delimited.js";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";
import { tempDirs } from "./helpers/temp-dirs.js";

let model: DistilBertClassifier;
const tmp = tempDirs("rows");
beforeAll(async () => {
  model = await loadTiny();
});

const jsonl = (s: string) => s.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
function table(s: string, d: string): string[][] {
  const p = new DelimitedParser(d);
  const out: string[][] = [];
  for (const m of s.matchAll(/([^\n]*?)(\r\n|\n)/g)) {
    const r = p.feed(m[1], m[2]);
    if (r !== undefined) out.push(r);
  }
  return out;
}
const classify = (args: string[], input?: string) => runCli(["classify", "--model", tinyDir(), ...args], input === undefined ? {} : { input });

describe("empty input: one rule in every format", () => {
  it("TEXT arguments and stdin: the row is kept, marked, not classified", async () => {
    const good = await model.classify("good");
    const args = classify(["good", "", "  "]);
    expect(args.stdout).toBe(`${good.label} ${good.score.toFixed(4)}  good\n-  (skipped: empty input)\n-  (skipped: empty input)\n`);
    const stdin = classify(["--json"], "good\n\n \t\n");
    const rows = jsonl(stdin.stdout);
    expect(rows.map((r) => r.skipped)).toEqual([undefined, "empty input", "empty input"]);
    expect(rows[1]).toEqual({ text: "", label: null, score: null, scores: null, logits: null, tokens: null, truncated: null, skipped: "empty input" });
    expect(rows[0]).toMatchObject({ text: "good", label: good.label, score: good.score, scores: good.scores });
  });

  it(".txt, .jsonl (a blank line) and .csv (an empty field) → JSONL, CSV and plain: same rows, same marks", async () => {
    const d = tmp();
    writeFileSync(join(d, "in.txt"), "good\n\nbad\n");
    writeFileSync(join(d, "in.jsonl"), '{"text":"good"}\n\n{"text":"  "}\n{"text":"bad"}\n');
    writeFileSync(join(d, "in.csv"), "id,text\n1,good\n2,\n3,bad\n");
    const [good, bad] = await model.classify(["good", "bad"]);
    const txt = jsonl(classify(["--file", join(d, "in.txt"), "--json", "--quiet"]).stdout);
    expect(txt.map((r) => [r.text, r.label, r.skipped])).toEqual([["good", good.label, undefined], ["", null, "empty input"], ["bad", bad.label, undefined]]);
    const j = classify(["--file", join(d, "in.jsonl"), "--out", join(d, "out.jsonl")]);
    expect(j.stderr).toMatch(/^classified 2 texts .*; 2 empty inputs not classified; results in/);
    // A blank JSONL line has no fields; a record with a blank text keeps its own.
    expect(jsonl(readFileSync(join(d, "out.jsonl"), "utf8")).map((r) => [r.text, r.label, r.skipped])).toEqual([["good", good.label, undefined], [undefined, null, "empty input"], ["  ", null, "empty input"], ["bad", bad.label, undefined]]);
    expect(classify(["--file", join(d, "in.csv"), "--out", join(d, "out.csv"), "--quiet"]).code).toBe(0);
    expect(table(readFileSync(join(d, "out.csv"), "utf8"), ",")).toEqual([
      ["id", "text", "label", "score", "score_NEGATIVE", "score_POSITIVE", "truncated", "skipped"],
      ["1", "good", good.label, String(good.score), String(good.scores.NEGATIVE), String(good.scores.POSITIVE), "false", ""],
      ["2", "", "", "", "", "", "", "empty input"],
      ["3", "bad", bad.label, String(bad.score), String(bad.scores.NEGATIVE), String(bad.scores.POSITIVE), "false", ""],
    ]);
    const plain = classify(["--file", join(d, "in.csv"), "--quiet"]);
    expect(plain.stdout.split("\n")[1]).toBe("-  (skipped: empty input)");
  });
});

describe("ragged CSV rows", () => {
  const csv = "id,text\n1,good\n2,bad,extra\n3,fine\n";

  it("without --skip-bad-lines: the run stops at the row, and the results before it are written (exit 2)", async () => {
    const d = tmp();
    writeFileSync(join(d, "in.csv"), csv);
    const out = join(d, "out.csv");
    const r = classify(["--file", join(d, "in.csv"), "--out", out, "--batch-size", "8"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`stopped at a bad record; the results of the 1 record before it are in ${out}\nerror: ${join(d, "in.csv")}:3: has 3 fields but the header has 2; expected a well-formed record (or --skip-bad-lines to skip such records)\n`);
    const good = await model.classify("good");
    expect(table(readFileSync(out, "utf8"), ",").slice(1)).toEqual([["1", "good", good.label, String(good.score), String(good.scores.NEGATIVE), String(good.scores.POSITIVE), "false", ""]]);
  });

  it("with --skip-bad-lines: a row that says why keeps output row i on input record i, in CSV and JSONL", () => {
    const d = tmp();
    writeFileSync(join(d, "in.csv"), csv);
    const r = classify(["--file", join(d, "in.csv"), "--out", join(d, "out.csv"), "--skip-bad-lines"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: .*in\.csv:3: has 3 fields but the header has 2; skipped\nclassified 2 texts .*; 1 bad record skipped; results in/);
    const rows = table(readFileSync(join(d, "out.csv"), "utf8"), ",");
    expect(rows.map((row) => [row[0], row[row.length - 1]])).toEqual([["id", "skipped"], ["1", ""], ["", "line 3: has 3 fields but the header has 2"], ["3", ""]]);
    expect(rows[2].slice(2, -1).every((c) => c === "")).toBe(true);
    const j = jsonl(classify(["--file", join(d, "in.csv"), "--json", "--skip-bad-lines", "--quiet"]).stdout);
    expect(j.map((o) => o.id ?? null)).toEqual(["1", null, "3"]);
    expect(j[1]).toEqual({ label: null, score: null, scores: null, logits: null, truncated: null, skipped: "line 3: has 3 fields but the header has 2" });
  });
});
