/**
 * Untrusted text stays data (issue 13, point 6): texts, values and label names reach a terminal escaped, one line
 * per text; CSV/TSV cells that a spreadsheet would run as formulas are neutralised unless --raw; RFC 4180 quoting
 * round-trips through an independent CSV reader (Python's csv module); JSON stays JSON.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatField, neutralizeFormula } from "../src/csv.js";
import { runCli } from "./helpers/cli.js";
import { tinyDir } from "./helpers/fixture.js";

const ESC = "\x1b";
const HOSTILE = `a\nb\t${ESC}[31mRED`;
/** Everything a terminal could act on: C0 (ESC, BEL, CR, BS), DEL, C1 (CSI), line/paragraph separators, bidi overrides. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let dir = "";
let modelDir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "untrusted-"));
  // The tiny model with hostile label names: config.json is as untrusted as the texts.
  modelDir = join(dir, "model");
  cpSync(tinyDir(), modelDir, { recursive: true });
  const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8"));
  config.id2label = { 0: `NEG${ESC}[2J\u202e`, 1: "=HYPERLINK(\"http://x\")" };
  config.label2id = { [config.id2label[0]]: 0, [config.id2label[1]]: 1 };
  writeFileSync(join(modelDir, "config.json"), JSON.stringify(config));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Parses CSV/TSV text with Python's csv module (an implementation that is not ours). */
function pythonCsv(text: string, delimiter = ","): string[][] {
  const r = spawnSync("python3", ["-c", `import csv,io,json,sys\nprint(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline=""), delimiter=sys.argv[1]))))`, delimiter], {
    input: text,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`python3 csv: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function expectOneSafeLinePerText(stdout: string, n: number): string[] {
  const lines = stdout.split("\n");
  expect(lines.pop()).toBe("");
  expect(lines).toHaveLength(n);
  for (const l of lines) expect(l, JSON.stringify(l)).not.toMatch(CONTROLS);
  return lines;
}

describe("human-readable output: one line per text, no raw control characters", () => {
  it(`classify "$(printf 'a\\nb\\t\\033[31mRED')" prints one line, the escapes shown as \\uXXXX`, () => {
    const r = runCli(["classify", "--model", tinyDir(), HOSTILE, "plain"]);
    expect(r.code, r.stderr).toBe(0);
    const [first, second] = expectOneSafeLinePerText(r.stdout, 2);
    expect(first).toMatch(/^(NEGATIVE|POSITIVE) \d\.\d{4}  a\\u000ab\\u0009\\u001b\[31mRED$/);
    expect(second).toMatch(/  plain$/);
  });

  it("classify: label names from config.json, C1 controls, bidi overrides and separators are escaped too", () => {
    const text = `x\u009b31m\u202eevil\u2028y\r`;
    const r = runCli(["classify", "--model", modelDir, text]);
    expect(r.code, r.stderr).toBe(0);
    const [line] = expectOneSafeLinePerText(r.stdout, 1);
    expect(line).toContain("x\\u009b31m\\u202eevil\\u2028y\\u000d");
    expect(line).toMatch(/^(NEG\\u001b\[2J\\u202e|=HYPERLINK\("http:\/\/x"\)) /);
    // JSON stays JSON: the text round-trips exactly.
    const j = runCli(["classify", "--model", modelDir, "--json", text]);
    expect(JSON.parse(j.stdout).text).toBe(text);
  });

  it("classify --file (.csv with line breaks inside quoted cells) prints one escaped line per record; the summary escapes labels", () => {
    const path = join(dir, "in.csv");
    writeFileSync(path, `text\n"line one\nline two"\n"${ESC}]0;title${"\x07"}"\n`);
    const r = runCli(["classify", "--model", modelDir, "--file", path]);
    expect(r.code, r.stderr).toBe(0);
    const lines = expectOneSafeLinePerText(r.stdout, 2);
    expect(lines[0]).toMatch(/  line one\\u000aline two$/);
    expect(lines[1]).toMatch(/  \\u001b\]0;title\\u0007$/);
    expect(r.stderr).not.toMatch(CONTROLS);
    expect(r.stderr).toContain("NEG\\u001b[2J\\u202e");
  });

  it("stdin lines, inspect, tokenize, probe and eval escape what they print", () => {
    const s = runCli(["classify", "--model", modelDir], { input: `one${ESC}[1m\ntwo\u0085three\n` });
    expect(s.code, s.stderr).toBe(0);
    expectOneSafeLinePerText(s.stdout, 2);

    const inspect = runCli(["inspect", "--model", modelDir, "a film"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).not.toMatch(CONTROLS);
    expect(inspect.stdout).toContain("NEG\\u001b[2J\\u202e");

    const tok = runCli(["tokenize", "--model", modelDir, `a${ESC}b`, "c\u202ed"]);
    expect(tok.code, tok.stderr).toBe(0);
    expectOneSafeLinePerText(tok.stdout, 2);

    const values = join(dir, "values.txt");
    writeFileSync(values, `Fr${ESC}[31mance\nPe\u202eru\n`);
    const probe = runCli(["probe", "--model", modelDir, "--template", `In {}${ESC}[0m.`, "--values", values, "--label", "=HYPERLINK(\"http://x\")"]);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout).not.toMatch(CONTROLS);
    expect(probe.stdout).toContain("Fr\\u001b[31mance");
    expect(probe.stdout).toContain("In {}\\u001b[0m.");

    const gold = join(dir, "gold.jsonl");
    writeFileSync(gold, `${JSON.stringify({ text: "good", label: 1 })}\n${JSON.stringify({ text: "bad", label: 0 })}\n`);
    const ev = runCli(["eval", "--model", modelDir, "--file", gold]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).not.toMatch(CONTROLS);
    expect(ev.stdout).toContain("NEG\\u001b[2J\\u202e");
  });
});

describe("CSV output: RFC 4180, formulas neutralised unless --raw", () => {
  const cells = ["=1+2", "+SUM(A1:A2)", "-2+3", "@cmd", "\tlead tab", "\rlead cr", "plain", "-0.25", "+3e-7", "12", 'quote " inside', "comma, inside", "two\nlines", "crlf\r\nend", ""];

  it("neutralizeFormula: OWASP's leading characters get a ', plain numbers and other text stay", () => {
    expect(cells.map(neutralizeFormula)).toEqual(["'=1+2", "'+SUM(A1:A2)", "'-2+3", "'@cmd", "'\tlead tab", "'\rlead cr", "plain", "-0.25", "+3e-7", "12", 'quote " inside', "comma, inside", "two\nlines", "crlf\r\nend", ""]);
  });

  it("formatField round-trips every cell through Python's csv reader, raw and neutralised, CSV and TSV", () => {
    for (const delimiter of [",", "\t"]) {
      const raw = pythonCsv(cells.map((c) => formatField(c, delimiter, { raw: true })).join(delimiter) + "\n", delimiter);
      expect(raw).toEqual([cells]);
      const safe = pythonCsv(cells.map((c) => formatField(c, delimiter)).join(delimiter) + "\n", delimiter);
      expect(safe).toEqual([cells.map(neutralizeFormula)]);
    }
  });

  it("classify --out .csv: input cells, labels and header neutralised; --raw keeps them; both parse back with Python", () => {
    const input = join(dir, "formulas.csv");
    const texts = ["=cmd|' /C calc'!A0", "@SUM(1,2)", "-1+1", "fine, \"quoted\"\nacross lines", "\tlead"];
    writeFileSync(input, ["id,text", ...texts.map((t, i) => `${i === 0 ? "=1" : String(i)},"${t.replaceAll('"', '""')}"`)].join("\n") + "\n");
    const safePath = join(dir, "safe.csv");
    const rawPath = join(dir, "raw.csv");
    const a = runCli(["classify", "--model", modelDir, "--file", input, "--out", safePath, "--quiet"]);
    expect(a.code, a.stderr).toBe(0);
    const b = runCli(["classify", "--model", modelDir, "--file", input, "--out", rawPath, "--quiet", "--raw"]);
    expect(b.code, b.stderr).toBe(0);

    const safe = pythonCsv(readFileSync(safePath, "utf8"));
    const raw = pythonCsv(readFileSync(rawPath, "utf8"));
    expect(raw[0]).toEqual(["id", "text", "label", "score", `score_NEG${ESC}[2J\u202e`, 'score_=HYPERLINK("http://x")', "truncated", "skipped"]);
    expect(safe[0]).toEqual(raw[0]);
    expect(raw.slice(1).map((r) => r[1])).toEqual(texts);
    expect(safe.slice(1).map((r) => r[1])).toEqual(texts.map(neutralizeFormula));
    expect(safe.slice(1).map((r) => r[1])).toEqual(["'=cmd|' /C calc'!A0", "'@SUM(1,2)", "'-1+1", 'fine, "quoted"\nacross lines', "'\tlead"]);
    expect(safe[1][0]).toBe("'=1");
    expect(raw[1][0]).toBe("=1");
    for (let i = 1; i < raw.length; i++) {
      // Scores are plain numbers in both; a label that starts a formula is neutralised only without --raw.
      expect(safe[i][3]).toBe(raw[i][3]);
      expect(Number.isFinite(Number(safe[i][3]))).toBe(true);
      expect(safe[i][2]).toBe(neutralizeFormula(raw[i][2]));
    }
    expect(raw.some((r) => r[2] === '=HYPERLINK("http://x")') || raw.some((r) => r[2].startsWith("NEG"))).toBe(true);
  });

  it("a header cell that starts a formula is neutralised too; --raw is refused where it has no effect", () => {
    const input = join(dir, "header.tsv");
    writeFileSync(input, "text\t=HEADER\nhello\t-5\n");
    const out = join(dir, "header-out.tsv");
    const r = runCli(["classify", "--model", tinyDir(), "--file", input, "--out", out, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = pythonCsv(readFileSync(out, "utf8"), "\t");
    expect(rows[0].slice(0, 2)).toEqual(["text", "'=HEADER"]);
    expect(rows[1].slice(0, 2)).toEqual(["hello", "-5"]);

    const bad = runCli(["classify", "--model", tinyDir(), "--raw", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: .*--raw/);
    const badJson = runCli(["classify", "--model", tinyDir(), "--file", input, "--out", join(dir, "o.jsonl"), "--raw"]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^error: --raw: only applies to CSV\/TSV output/);
  });

  it("probe --csv neutralises values and texts; --raw keeps them; JSON keeps them exactly", () => {
    const values = join(dir, "probe-values.txt");
    writeFileSync(values, "=2+2\n@x\nplain\n");
    const args = ["probe", "--model", tinyDir(), "--template", "{} is here", "--values", values];
    const safe = pythonCsv(runCli([...args, "--csv"]).stdout);
    const raw = pythonCsv(runCli([...args, "--csv", "--raw"]).stdout);
    const byValue = (rows: string[][]) => rows.slice(1).map((r) => [r[1], r[5]]).sort();
    expect(byValue(raw)).toEqual([["=2+2", "=2+2 is here"], ["@x", "@x is here"], ["plain", "plain is here"]]);
    expect(byValue(safe)).toEqual([["'=2+2", "'=2+2 is here"], ["'@x", "'@x is here"], ["plain", "plain is here"]]);
    const json = JSON.parse(runCli([...args, "--json"]).stdout);
    expect(json.rows.map((r: { value: string }) => r.value).sort()).toEqual(["=2+2", "@x", "plain"]);
    expect(runCli([...args, "--raw"]).code).toBe(2);
  });
});
