/** The template probe: statistics, value lists, the bundled countries, and the `probe` command end to end. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTRIES } from "../src/analysis/countries.js";
import { defaultProbeLabel, fillTemplate, parseValueList, probeCsv, probeStats, runProbe } from "../src/analysis/probe.js";
import { InputError } from "../src/errors.js";
import type { DistilBertClassifier } from "../src/model/classifier.js";
import { niceCountStep } from "../src/report/probe-report.js";
import { runCli } from "./helpers/cli.js";
import { loadTiny, tinyDir } from "./helpers/fixture.js";

describe("probe statistics", () => {
  it("min, max, spread, mean, median and population std of known numbers", () => {
    const s = probeStats([
      { value: "a", prob: 0.2 },
      { value: "b", prob: 0.9 },
      { value: "c", prob: 0.4 },
      { value: "d", prob: 0.5 },
    ]);
    expect(s.n).toBe(4);
    expect(s.min).toEqual({ value: "a", prob: 0.2 });
    expect(s.max).toEqual({ value: "b", prob: 0.9 });
    expect(s.spread).toBeCloseTo(0.7, 15);
    expect(s.mean).toBeCloseTo(0.5, 15);
    expect(s.median).toBeCloseTo(0.45, 15);
    // deviations -0.3, 0.4, -0.1, 0: variance 0.26/4
    expect(s.std).toBeCloseTo(Math.sqrt(0.065), 15);
    const one = probeStats([{ value: "x", prob: 0.3 }]);
    expect([one.spread, one.std, one.median]).toEqual([0, 0, 0.3]);
  });

  it("templates, value lists and the default label", () => {
    expect(fillTemplate("This film was filmed in {}.", "France")).toBe("This film was filmed in France.");
    expect(fillTemplate("{} and {}", "x")).toBe("x and x");
    expect(parseValueList("\uFEFFFrance\r\n# a comment\n\n  Chad  \nFrance\n")).toEqual(["France", "Chad"]);
    expect(defaultProbeLabel(["NEGATIVE", "POSITIVE"])).toBe("POSITIVE");
    expect(defaultProbeLabel(["LABEL_0", "LABEL_1", "LABEL_2"])).toBe("LABEL_2");
  });

  it("the bundled countries: 195 distinct names (193 UN members + 2 observers), with France and Afghanistan", () => {
    expect(COUNTRIES.length).toBe(195);
    expect(new Set(COUNTRIES).size).toBe(195);
    expect(COUNTRIES).toContain("France");
    expect(COUNTRIES).toContain("Afghanistan");
    for (const c of COUNTRIES) expect(c).toBe(c.trim());
  });
});

describe("runProbe on the tiny model", () => {
  let model: DistilBertClassifier;
  beforeAll(async () => {
    model = await loadTiny();
  });

  it("rows are sorted by P(label), each equal to classify on the filled sentence", async () => {
    const values = ["France", "Afghanistan", "Chad", "Peru", "Japan"];
    const r = runProbe(model, "This film was filmed in {}.", values);
    expect(r.label).toBe("POSITIVE");
    expect(r.rows.map((x) => x.value).sort()).toEqual([...values].sort());
    for (let i = 1; i < r.rows.length; i++) expect(r.rows[i - 1].prob).toBeGreaterThanOrEqual(r.rows[i].prob);
    for (const row of r.rows) {
      const c = await model.classify(`This film was filmed in ${row.value}.`);
      expect(row.prob).toBe(c.scores.POSITIVE);
      expect(row.predicted).toBe(c.label);
    }
    expect(r.stats.max.prob).toBe(r.rows[0].prob);
    expect(r.stats.min.prob).toBe(r.rows[r.rows.length - 1].prob);
    const neg = runProbe(model, "This film was filmed in {}.", values, "NEGATIVE");
    neg.rows.forEach((row) => expect(row.prob).toBeCloseTo(1 - r.rows.find((x) => x.value === row.value)!.prob, 12));
  });

  it("refuses a template without {}, an empty list and an unknown label", () => {
    expect(() => runProbe(model, "no placeholder", ["x"])).toThrow(InputError);
    expect(() => runProbe(model, "{}", [])).toThrow(/empty/);
    expect(() => runProbe(model, "{}", ["x"], "MAYBE")).toThrow(/not a label/);
  });

  it("CSV quotes what needs quoting", () => {
    const r = runProbe(model, "In {}, yes.", ['Bosnia, "and" more', "Chad"]);
    const csv = probeCsv(r).trim().split("\n");
    expect(csv[0]).toBe("rank,value,p_POSITIVE,predicted,score,text");
    expect(csv.some((l) => l.includes('"Bosnia, ""and"" more"') && l.includes('"In Bosnia, ""and"" more, yes."'))).toBe(true);
  });
});

describe("distilbert-ts probe (CLI)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "probe-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--json over the bundled countries: 195 sorted rows and their statistics", () => {
    const r = runCli(["probe", "--model", tinyDir(), "--template", "This film was filmed in {}.", "--set", "countries", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rows.length).toBe(195);
    expect(j.label).toBe("POSITIVE");
    for (let i = 1; i < j.rows.length; i++) expect(j.rows[i - 1].prob).toBeGreaterThanOrEqual(j.rows[i].prob);
    expect(j.stats.spread).toBeCloseTo(j.stats.max.prob - j.stats.min.prob, 12);
  });

  it("the default text table, --values FILE, --values - (stdin), --csv and --html", () => {
    const list = join(dir, "values.txt");
    writeFileSync(list, "France\nAfghanistan\n# skipped\nJapan\n");
    const table = runCli(["probe", "--model", tinyDir(), "--template", "This film was filmed in {}.", "--values", list]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toBe(`P(POSITIVE) for "This film was filmed in {}." over 3 values (values from ${list}), highest first:`);
    expect(lines.filter((l) => /^\s+[123]\s+0\.\d{4}\s+\S/.test(l)).length).toBe(3);
    for (const k of ["max", "min", "spread", "mean", "median", "std"]) expect(lines.some((l) => l.startsWith(k))).toBe(true);

    const stdin = runCli(["probe", "--model", tinyDir(), "--template", "Made in {}.", "--values", "-", "--csv"], { input: "Chad\nPeru\n" });
    expect(stdin.code).toBe(0);
    expect(stdin.stdout.split("\n")[0]).toBe("rank,value,p_POSITIVE,predicted,score,text");
    expect(stdin.stdout.trim().split("\n").length).toBe(3);

    const html = join(dir, "probe.html");
    const h = runCli(["probe", "--model", tinyDir(), "--template", "Made in {}.", "--values", list, "--html", html]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain(`chart: ${html}`);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<svg");
    expect(page.match(/<g class="row">/g)!.length).toBe(2 * 3); // full and zoomed charts
  });

  it("usage errors exit 2 with one error line", () => {
    const cases: [string[], RegExp][] = [
      [["probe", "--model", tinyDir()], /--template: missing/],
      [["probe", "--model", tinyDir(), "--template", "no slot"], /has no \{\}/],
      [["probe", "--model", tinyDir(), "--template", "{}", "--set", "planets"], /unknown set "planets"/],
      [["probe", "--model", tinyDir(), "--template", "{}", "--csv", "--json"], /both --csv and --json/],
      [["probe", "--model", tinyDir(), "--template", "{}", "--values", join(dir, "missing.txt")], /cannot read the value list/],
      [["probe", "--model", tinyDir(), "--template", "{}", "--label", "MAYBE"], /not a label/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(/^error: /);
      expect(r.stderr).toMatch(re);
    }
  });
});

describe("probe page axis", () => {
  it("count ticks step by 1, 2 or 5 × 10^k, at most 5 intervals: 91 values → 0, 20, …, 100 (not 23/46/68/91)", () => {
    const cases: [number, number][] = [[1, 1], [3, 1], [5, 1], [6, 2], [10, 2], [11, 5], [91, 20], [100, 20], [101, 50], [195, 50], [1000, 200]];
    for (const [max, step] of cases) expect(niceCountStep(max), String(max)).toBe(step);
  });
});
